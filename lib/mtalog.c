/*
 * mtalog.c - the delivery outcomes in an MTA's own log, one line at a
 * time: which queue id was bounced (5xx) or deferred (4xx) by the remote
 * server, with its DSN code.
 *
 * Public: mtalog_parse.
 *
 * Postfix: "... postfix/smtp[PID]: QUEUEID: to=<...>, relay=..., ...,
 * dsn=5.1.1, status=bounced (...)", from smtp or lmtp (any syslog_name
 * prefix, "postfix-out/smtp"); local, virtual, pipe and error are not
 * remote and are skipped, and so is relay=none (no server answered:
 * DNS, connection refused). The "service[pid]: " part may be missing (a
 * journal MESSAGE). Queue ids short (hex) or long (Postfix 3.x
 * enable_long_queue_ids: base 52 plus 'z').
 * Sendmail: "... sm-mta[PID]: QUEUEID: to=<...>, ..., dsn=5.1.1,
 * stat=User unknown" and "stat=Deferred: ..."; the outcome is the dsn
 * class (5 bounced, 4 deferred), "stat=Sent" and dsn 2.x are not
 * counted, nor mailer=local or prog.
 *
 * No I/O, no allocation, reads at most len bytes; thread-safe.
 */
#include <string.h>

#include "mtalog.h"

/* find - first occurrence of a NUL-terminated needle in [s, s+len) */
static const char *
find(const char *s, size_t len, const char *needle)
{
	size_t n = strlen(needle), i;

	for (i = 0; n <= len && i <= len - n; i++)
		if (memcmp(s + i, needle, n) == 0)
			return s + i;
	return NULL;
}

/* qid_char - a byte of a queue id (both MTAs: letters and digits) */
static int
qid_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9');
}

/*
 * after_tag - where the message text starts: after "NAME[PID]: " whose
 * NAME ends with one of tags (NULL-terminated list; "" any name), or at
 * the line's start when there is no such part and bare is allowed
 */
static const char *
after_tag(const char *s, size_t len, const char *const *tags, int bare)
{
	const char *p, *end = s + len, *name;
	size_t i, tl;

	for (p = s; (p = find(p, (size_t)(end - p), "[")) != NULL; p++) {
		name = p;
		while (name > s && name[-1] != ' ')
			name--;
		for (i = 0; tags[i] != NULL; i++) {
			tl = strlen(tags[i]);
			if ((size_t)(p - name) >= tl &&
			    memcmp(p - tl, tags[i], tl) == 0)
				break;
		}
		if (tags[i] == NULL)
			continue;
		for (p++; p < end && *p >= '0' && *p <= '9'; p++)
			;
		if (end - p >= 3 && p[0] == ']' && p[1] == ':' && p[2] == ' ')
			return p + 3;
		return NULL;
	}
	if (!bare)
		return NULL;
	/* no "name[pid]: ": a bare message, unless it looks like syslog */
	return s;
}

/* value - the value of ", KEY=" (or "KEY=" right after "QID: ") up to
 * the next ',' or ' (' or end; its length in *vlen */
static const char *
value(const char *s, const char *end, const char *key, size_t *vlen)
{
	const char *p = s, *v;
	size_t kl = strlen(key);

	while ((p = find(p, (size_t)(end - p), key)) != NULL) {
		if ((p == s || p[-1] == ' ') && (size_t)(end - p) > kl &&
		    p[kl] == '=') {
			v = p + kl + 1;
			for (p = v; p < end && *p != ',' && !(*p == ' ' &&
			    end - p > 1 && p[1] == '('); p++)
				;
			*vlen = (size_t)(p - v);
			return v;
		}
		p += kl;
	}
	return NULL;
}

/* parse - mtalog_parse's work; rec may be left half-filled */
static enum mtalog_outcome
parse(enum mtalog_format fmt, const char *line, size_t len,
    struct mtalog_rec *rec)
{
	static const char *const pf_tags[] = { "/smtp", "/lmtp", NULL };
	static const char *const sm_tags[] = { "", NULL };
	const char *p, *end, *q, *v;
	size_t n, vlen, i;

	memset(rec, 0, sizeof(*rec));
	if (line == NULL || len == 0 || len > MTALOG_LINE_MAX)
		return MTALOG_NONE;
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	end = line + len;
	if ((p = after_tag(line, len, fmt == MTALOG_POSTFIX ? pf_tags :
	    sm_tags, 1)) == NULL)
		return MTALOG_NONE;
	/* "QUEUEID: to=<" */
	for (q = p; q < end && qid_char(*q); q++)
		;
	n = (size_t)(q - p);
	if (n < 5 || n > MTALOG_QID_MAX || end - q < 6 ||
	    memcmp(q, ": to=", 5) != 0)
		return MTALOG_NONE;
	memcpy(rec->qid, p, n);
	rec->qid[n] = '\0';
	q += 2;
	if ((v = value(q, end, "dsn", &vlen)) != NULL) {
		if (vlen > MTALOG_DSN_MAX)
			vlen = MTALOG_DSN_MAX;
		for (i = 0; i < vlen && ((v[i] >= '0' && v[i] <= '9') ||
		    v[i] == '.'); i++)
			rec->dsn[i] = v[i];
		rec->dsn[i] = '\0';
	}
	if (fmt == MTALOG_POSTFIX) {
		/* relay=none: no server answered (DNS, connect): not a
		 * remote outcome of the mail, whoever sent it */
		if ((v = value(q, end, "relay", &vlen)) == NULL ||
		    (vlen == 4 && memcmp(v, "none", 4) == 0) ||
		    (v = value(q, end, "status", &vlen)) == NULL)
			return MTALOG_NONE;
		if (vlen == 7 && memcmp(v, "bounced", 7) == 0)
			rec->outcome = MTALOG_BOUNCED;
		else if (vlen == 8 && memcmp(v, "deferred", 8) == 0)
			rec->outcome = MTALOG_DEFERRED;
	} else {
		/* the local and program mailers are no remote server */
		if (value(q, end, "stat", &vlen) == NULL ||
		    ((v = value(q, end, "mailer", &vlen)) != NULL &&
		    ((vlen == 5 && memcmp(v, "local", 5) == 0) ||
		    (vlen == 4 && memcmp(v, "prog", 4) == 0))))
			return MTALOG_NONE;
		if (rec->dsn[0] == '5')
			rec->outcome = MTALOG_BOUNCED;
		else if (rec->dsn[0] == '4')
			rec->outcome = MTALOG_DEFERRED;
	}
	if (rec->outcome == MTALOG_NONE)
		return MTALOG_NONE;
	rec->unknown = strcmp(rec->dsn, "5.1.1") == 0;
	return rec->outcome;
}

/* mtalog_parse - a remote outcome in one log line? */
enum mtalog_outcome
mtalog_parse(enum mtalog_format fmt, const char *line, size_t len,
    struct mtalog_rec *rec)
{
	if (parse(fmt, line, len, rec) == MTALOG_NONE)
		memset(rec, 0, sizeof(*rec));
	return rec->outcome;
}
