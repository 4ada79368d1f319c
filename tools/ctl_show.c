/*
 * ctl_show.c - sluicectl's read-only views of the counters: top, show.
 *
 * top SCANs every message counter of one window (P{*}:msg:W:B), sums
 * each one's live buckets (ctl_live_sum: window.h's rule on Redis's
 * clock), ranks the senders, and names the first N from P{H}:who; top
 * --domains the same with the domain totals (P{*}:dom_msg:W:B of the
 * "@domain" keys, named by the who the daemon writes for them). show
 * reads every counter of one login's class by its exact key, its
 * repeat sub-counters by a SCAN of P{H}:rep:*, and its lock. Nothing
 * here writes to Redis. Single-threaded; memory freed before returning.
 */
#include <stdlib.h>
#include <string.h>

#include "sender.h"
#include "sluicectl.h"
#include "window.h"


struct top_row {
	char		 sender[65];
	uint32_t	 buckets;
	uint64_t	 msg;
	uint64_t	 rcpt;
	uint64_t	 ext;		/* external recipients (kinds only) */
	uint64_t	 in;		/* internal recipients (kinds only) */
};

struct top_acc {
	const char	*item;		/* "msg" or "dom_msg" */
	uint32_t	 window;
	uint64_t	 now;
	struct top_row	*rows;
	size_t		 n, cap;
	size_t		 keys;		/* counters seen */
};

/* top_page - sum the live buckets of one page of message counters */
static void
top_page(struct ctl *x, const redisReply *keys, void *arg)
{
	struct top_acc *a = arg;
	struct contract_counter *k;
	const char *argv[2] = { "HGETALL", NULL };
	redisReply *r;
	size_t i, j, n = 0;
	uint64_t c;

	if ((k = calloc(keys->elements + 1, sizeof(*k))) == NULL)
		ctl_die(x, "top", "out of memory");
	for (i = 0; i < keys->elements; i++) {
		if (ctl_counter_parse(x, keys->element[i]->str, &k[n]) == -1 ||
		    strcmp(k[n].name, a->item) != 0 || k[n].sub[0] != '\0' ||
		    k[n].window != a->window)
			continue;
		argv[1] = keys->element[i]->str;
		ctl_pipe(x, "HGETALL", 2, argv);
		n++;
	}
	for (j = 0; j < n; j++) {
		r = ctl_pipe_get(x, "HGETALL");
		c = ctl_live_sum(r, k[j].window, k[j].buckets, a->now, NULL);
		freeReplyObject(r);
		a->keys++;
		if (c == 0)
			continue;
		if (a->n == a->cap) {
			a->cap = a->cap ? a->cap * 2 : 256;
			a->rows = realloc(a->rows, a->cap * sizeof(*a->rows));
			if (a->rows == NULL)
				ctl_die(x, "top", "out of memory");
		}
		memset(&a->rows[a->n], 0, sizeof(a->rows[a->n]));
		memcpy(a->rows[a->n].sender, k[j].sender,
		    sizeof(a->rows[a->n].sender));
		a->rows[a->n].buckets = k[j].buckets;
		a->rows[a->n++].msg = c;
	}
	free(k);
}

/* by_sender - order rows by sender key */
static int
by_sender(const void *p, const void *q)
{
	return strcmp(((const struct top_row *)p)->sender,
	    ((const struct top_row *)q)->sender);
}

/* by_count - heaviest first, then by key for a stable order */
static int
by_count(const void *p, const void *q)
{
	const struct top_row *a = p, *b = q;

	if (a->msg != b->msg)
		return a->msg > b->msg ? -1 : 1;
	return strcmp(a->sender, b->sender);
}

/* who_get - the GET P{H}:who reply's string, or NULL */
static const char *
who_str(const redisReply *r)
{
	return r->type == REDIS_REPLY_STRING ? r->str : NULL;
}

/* kinds_on - does a class of this config count external and internal
 * recipients apart? (then top shows them too) */
static int
kinds_on(const struct config *cfg)
{
	size_t i;

	for (i = 0; i < cfg->nclasses; i++)
		if (cfg->classes[i].nexternal_recipients > 0 ||
		    cfg->classes[i].ninternal_recipients > 0)
			return 1;
	return 0;
}

/* top_pipe_sum - queue HGETALL of one counter of a row (top_get_sum) */
static void
top_pipe_sum(struct ctl *x, const struct top_row *row, const char *item,
    uint32_t window)
{
	char key[CTL_KEY_MAX];
	const char *argv[2] = { "HGETALL", key };

	ctl_counter_key(x, key, row->sender, item, window, row->buckets);
	ctl_pipe(x, "HGETALL", 2, argv);
}

/* top_get_sum - the live sum of the counter top_pipe_sum queued */
static uint64_t
top_get_sum(struct ctl *x, const struct top_row *row, uint32_t window,
    uint64_t now)
{
	redisReply *r = ctl_pipe_get(x, "HGETALL");
	uint64_t c = ctl_live_sum(r, window, row->buckets, now, NULL);

	freeReplyObject(r);
	return c;
}

/* cmd_top - heaviest senders (or domains) in one messages window */
int
cmd_top(struct ctl *x, uint32_t window, size_t n, int domains)
{
	struct top_acc a;
	char pattern[CTL_KEY_MAX], wkey[CTL_KEY_MAX], ws[32];
	const char *argv[2], *rcpt = domains ? "dom_rcpt" : "rcpt";
	const char *noun = domains ? "domains" : "senders";
	redisReply **who;
	size_t i, m;
	int kinds = !domains && kinds_on(x->cfg);

	memset(&a, 0, sizeof(a));
	a.item = domains ? "dom_msg" : "msg";
	a.window = window;
	a.now = ctl_now_ms(x);
	snprintf(pattern, sizeof(pattern), "%s{*}:%s:%u:*", x->prefix, a.item,
	    window);
	ctl_scan(x, pattern, top_page, &a);
	/* one sender may have two series (window_buckets changed): add up */
	qsort(a.rows, a.n, sizeof(*a.rows), by_sender);
	for (i = 0, m = 0; i < a.n; i++) {
		if (m > 0 && strcmp(a.rows[m - 1].sender, a.rows[i].sender) == 0)
			a.rows[m - 1].msg += a.rows[i].msg;
		else
			a.rows[m++] = a.rows[i];
	}
	a.n = m;
	qsort(a.rows, a.n, sizeof(*a.rows), by_count);
	m = a.n < n ? a.n : n;
	const char *origin;

	if ((who = calloc(m + 1, sizeof(*who))) == NULL)
		ctl_die(x, "top", "out of memory");
	for (i = 0; i < m; i++) {
		top_pipe_sum(x, &a.rows[i], rcpt, window);
		ctl_key(x, wkey, a.rows[i].sender, CONTRACT_WHO);
		argv[0] = "GET";
		argv[1] = wkey;
		ctl_pipe(x, "GET", 2, argv);
		if (kinds) {
			top_pipe_sum(x, &a.rows[i], "ext_rcpt", window);
			top_pipe_sum(x, &a.rows[i], "int_rcpt", window);
		}
	}
	for (i = 0; i < m; i++) {
		a.rows[i].rcpt = top_get_sum(x, &a.rows[i], window, a.now);
		who[i] = ctl_pipe_get(x, "GET");
		if (kinds) {
			a.rows[i].ext = top_get_sum(x, &a.rows[i], window,
			    a.now);
			a.rows[i].in = top_get_sum(x, &a.rows[i], window,
			    a.now);
		}
	}
	fmt_window(window, ws, sizeof(ws));
	if (x->json) {
		printf("{\"window\":%u,\"now\":%llu,\"%s_counted\":%zu,"
		    "\"%s\":[", window, (unsigned long long)(a.now / 1000),
		    noun, a.n, noun);
		for (i = 0; i < m; i++) {
			printf("%s{\"key\":\"%s\",\"%s\":", i ? "," : "",
			    a.rows[i].sender, domains ? "domain" : "login");
			origin = NULL;
			json_str(stdout, who_str(who[i]) ?
			    ctl_who(who[i]->str, &origin) : NULL);
			printf(",\"origin\":");
			json_str(stdout, origin);
			printf(",\"messages\":%llu,\"recipients\":%llu",
			    (unsigned long long)a.rows[i].msg,
			    (unsigned long long)a.rows[i].rcpt);
			if (kinds)
				printf(",\"external_recipients\":%llu,"
				    "\"internal_recipients\":%llu",
				    (unsigned long long)a.rows[i].ext,
				    (unsigned long long)a.rows[i].in);
			printf("}");
		}
		printf("]}\n");
	} else {
		printf("messages in the last %s: %zu %s, showing %zu\n",
		    ws, a.n, noun, m);
		if (m > 0)
			printf("%-40s %-8s %10s %10s%s\n", domains ? "DOMAIN" :
			    "LOGIN", "ORIGIN",
			    "MESSAGES", "RECIPIENTS",
			    kinds ? "   EXTERNAL   INTERNAL" : "");
		for (i = 0; i < m; i++) {
			/* unknown name: the key, which is what the store has */
			origin = "?";
			text_login(stdout, who_str(who[i]) ?
			    ctl_who(who[i]->str, &origin) : a.rows[i].sender, 40);
			printf(" %-8s %10llu %10llu", origin,
			    (unsigned long long)a.rows[i].msg,
			    (unsigned long long)a.rows[i].rcpt);
			if (kinds)
				printf(" %10llu %10llu",
				    (unsigned long long)a.rows[i].ext,
				    (unsigned long long)a.rows[i].in);
			printf("\n");
		}
	}
	for (i = 0; i < m; i++)
		freeReplyObject(who[i]);
	free(who);
	free(a.rows);
	return CTL_OK;
}

/* fold - ASCII lower case copy, as the daemon folds logins */
static char *
fold(const char *s)
{
	char *d = strdup(s), *p;

	for (p = d; p != NULL && *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return d;
}

/*
 * class_of - a login's class as the daemons pick it: P:classes (exact
 * login, then @domain), then the class map, then "default"; by the names
 * of its origin (sender_class_names). An override
 * naming a class this config lacks is ignored, and reported in override.
 */
void
class_of(struct ctl *x, const char *login, const struct config_class **cls,
    const char **source, char *override, size_t olen)
{
	char key[CTL_KEY_MAX], whole[SENDER_NAME_MAX + 1];
	char dom[SENDER_NAME_MAX + 1], *f, *at;
	const struct config_class *c;
	const char *w, *d;
	redisReply *r;
	int pass;

	/* the names the daemons look this origin's login up by */
	if (sender_class_names(x->origin, login, whole, dom, &w, &d) == -1) {
		*cls = &x->cfg->classes[0];
		*source = "default";
		override[0] = '\0';
		return;
	}
	ctl_global(x, key, CONTRACT_CLASSES);
	f = fold(w);
	at = d != NULL ? fold(d) : NULL;
	if (f == NULL || (d != NULL && at == NULL))
		ctl_die(x, "show", "out of memory");
	override[0] = '\0';
	for (pass = 0; pass < 2; pass++) {
		const char *field = f;

		if (pass == 1) {
			if (at == NULL || d == login)
				break;	/* no @domain, or the login is one */
			field = at;
		}
		r = ctl_cmd(x, "HGET", "HGET", key, field, NULL);
		if (r->type == REDIS_REPLY_STRING) {
			c = config_find_class(x->cfg, r->str);
			snprintf(override, olen, "%s", r->str);
			freeReplyObject(r);
			if (c != NULL) {
				*cls = c;
				*source = pass == 0 ? "override (login)" :
				    "override (@domain)";
				free(f);
				free(at);
				return;
			}
			break;	/* unknown class: the daemons ignore it */
		}
		freeReplyObject(r);
	}
	free(f);
	free(at);
	*cls = config_class_find(x->cfg, w, d);
	*source = *cls != &x->cfg->classes[0] ? "class map" : "default";
}

/* domain_class_of - the class of a login's domain totals, as the daemons
 * take it: an "@domain" override of P:classes naming a known class, then
 * domain_class_map, then default; NULL for a bare login */
static const struct config_class *
domain_class_of(struct ctl *x, const char *login)
{
	const char *at = strrchr(login, '@');
	const struct config_class *c = NULL;
	char key[CTL_KEY_MAX], *f;
	redisReply *r;

	if (at == NULL || at[1] == '\0')
		return NULL;
	ctl_global(x, key, CONTRACT_CLASSES);
	if ((f = fold(at)) == NULL)
		ctl_die(x, "show", "out of memory");
	r = ctl_cmd(x, "HGET", "HGET", key, f, NULL);
	if (r->type == REDIS_REPLY_STRING)
		c = config_find_class(x->cfg, r->str);
	freeReplyObject(r);
	free(f);
	return c != NULL ? c : config_domain_class_for(x->cfg, login);
}

/* a dimension of a class: what show lists */
struct dim {
	const char		*label;	/* in the output */
	const char		*item;	/* store item name */
	const struct config_limit *lim;
	size_t			 n;
	const char		*subject; /* whose counter: NULL, the login;
					   else a key (its domain's) */
};

/* repeat sub-counters of one login: per window, the worst body */
struct rep_acc {
	const struct dim	*d;
	uint64_t		 now;
	uint64_t		 max[CONFIG_MAX_LIMITS];
	size_t			 bodies[CONFIG_MAX_LIMITS];
};

/* rep_page - one page of P{H}:rep:* keys */
static void
rep_page(struct ctl *x, const redisReply *keys, void *arg)
{
	struct rep_acc *a = arg;
	struct contract_counter k;
	redisReply *r;
	uint64_t c;
	size_t i, j;

	for (i = 0; i < keys->elements; i++) {
		if (ctl_counter_parse(x, keys->element[i]->str, &k) == -1 ||
		    strcmp(k.name, "rep") != 0 || k.sub[0] == '\0')
			continue;
		for (j = 0; j < a->d->n; j++)
			if (a->d->lim[j].window == k.window)
				break;
		if (j == a->d->n)
			continue;
		r = ctl_cmd(x, "HGETALL", "HGETALL", keys->element[i]->str,
		    NULL);
		c = ctl_live_sum(r, k.window, k.buckets, a->now, NULL);
		freeReplyObject(r);
		if (c > 0)
			a->bodies[j]++;
		if (c > a->max[j])
			a->max[j] = c;
	}
}

/* cmd_show - one login: class, counts against every limit, lock */
int
cmd_show(struct ctl *x, const char *login)
{
	const struct config *cfg = x->cfg;
	const struct config_class *cls;
	const char *source;
	char h[SENDER_KEY_LEN + 1], override[256], key[CTL_KEY_MAX];
	char ws[32], until[32], pattern[CTL_KEY_MAX];
	struct config_limit lock_after;
	struct dim dims[13];
	const struct config_class *dcls;
	char dh[SENDER_KEY_LEN + 1];
	struct rep_acc rep;
	redisReply *who, *info, *hist;
	const char *wo;
	int hist_ok;
	uint64_t now, cnt, lock_n, until_ms = 0;
	uint32_t lifetime = cfg->lock_lifetime_ms / 1000;
	int64_t newest;
	size_t nd = 0, i, j, row = 0;
	redisReply *r;

	sender_origin_key(x->origin, login, h);
	now = ctl_now_ms(x);
	class_of(x, login, &cls, &source, override, sizeof(override));

	dims[nd++] = (struct dim){ "messages", "msg", cls->messages,
	    cls->nmessages, NULL };
	dims[nd++] = (struct dim){ "recipients", "rcpt", cls->recipients,
	    cls->nrecipients, NULL };
	dims[nd++] = (struct dim){ "fanout", "hdr", cls->header_recipients,
	    cls->nheader_recipients, NULL };
	dims[nd++] = (struct dim){ "repeats", "rep", cls->repeats,
	    cls->nrepeats, NULL };
	dims[nd++] = (struct dim){ "external", "ext_rcpt",
	    cls->external_recipients, cls->nexternal_recipients, NULL };
	dims[nd++] = (struct dim){ "internal", "int_rcpt",
	    cls->internal_recipients, cls->ninternal_recipients, NULL };
	/* the domain totals: counters of "@domain", shared by its logins */
	if ((dcls = domain_class_of(x, login)) != NULL) {
		sender_key(strrchr(login, '@'), dh);
		dims[nd++] = (struct dim){ "domain_msg", "dom_msg",
		    dcls->domain_messages, dcls->ndomain_messages, dh };
		dims[nd++] = (struct dim){ "domain_rcpt", "dom_rcpt",
		    dcls->domain_recipients, dcls->ndomain_recipients, dh };
	}
	lock_after = cfg->lock_after;
	if (lock_after.count > 0)
		dims[nd++] = (struct dim){ "refused", "refused", &lock_after,
		    1, NULL };
	/* delivery feedback (doc/feedback.md): charged by the reader */
	dims[nd++] = (struct dim){ "remote_rejects", "rrej",
	    cls->remote_rejects, cls->nremote_rejects, NULL };
	dims[nd++] = (struct dim){ "remote_deferrals", "rdef",
	    cls->remote_deferrals, cls->nremote_deferrals, NULL };
	dims[nd++] = (struct dim){ "remote_unknown", "runk",
	    cls->remote_unknown, cls->nremote_unknown, NULL };

	/* the lock: counted as the daemon's lock item counts it */
	ctl_counter_key(x, key, h, CONTRACT_LOCK, lifetime,
	    CONTRACT_LOCK_BUCKETS);
	r = ctl_cmd(x, "HGETALL", "HGETALL", key, NULL);
	lock_n = ctl_live_sum(r, lifetime, CONTRACT_LOCK_BUCKETS, now, &newest);
	freeReplyObject(r);
	if (lock_n > 0)
		until_ms = window_end(newest, lifetime, CONTRACT_LOCK_BUCKETS);
	ctl_key(x, key, h, CONTRACT_LOCKINFO);
	info = ctl_cmd(x, "HGETALL", "HGETALL", key, NULL);
	ctl_key(x, key, h, CONTRACT_WHO);
	who = ctl_cmd(x, "GET", "GET", key, NULL);
	/* the learned usual hour (lib/history.h), as the store keeps it */
	snprintf(pattern, sizeof(pattern), "hist:%u:hist",
	    cfg->history_bucket_ms / 1000);
	ctl_key(x, key, h, pattern);
	/* (Redis only: the control socket does not serve it yet) */
	hist = cfg->history && !x->sock ? ctl_cmd(x, "HMGET", "HMGET", key,
	    "m", "p", "n", NULL) : NULL;
	hist_ok = hist != NULL && hist->type == REDIS_REPLY_ARRAY &&
	    hist->elements == 3 &&
	    hist->element[0]->type == REDIS_REPLY_STRING &&
	    hist->element[1]->type == REDIS_REPLY_STRING &&
	    hist->element[2]->type == REDIS_REPLY_STRING &&
	    hist->element[2]->len > 0 && strspn(hist->element[2]->str,
	    "0123456789") == hist->element[2]->len;

	memset(&rep, 0, sizeof(rep));
	rep.d = &dims[3];
	rep.now = now;
	if (dims[3].n > 0) {
		ctl_key(x, pattern, h, "rep:*");
		ctl_scan(x, pattern, rep_page, &rep);
	}

	if (x->json) {
		printf("{\"login\":");
		json_str(stdout, login);
		printf(",\"origin\":\"%s\",\"key\":\"%s\",\"who\":",
		    sender_origin_name(x->origin), h);
		json_str(stdout, who_str(who) ? ctl_who(who->str, &wo) : NULL);
		printf(",\"class\":{\"name\":");
		json_str(stdout, cls->name);
		printf(",\"source\":\"%s\",\"override\":", source);
		json_str(stdout, override[0] ? override : NULL);
		printf("},\"limits\":[");
	} else {
		printf("login       ");
		text_login(stdout, login, 0);
		printf("\norigin      %s\n", sender_origin_name(x->origin));
		printf("key         %s\n", h);
		printf("class       %s (%s", cls->name, source);
		if (override[0] && strcmp(override, cls->name) != 0) {
			printf("; override \"");
			text_login(stdout, override, 0);
			printf("\" is not a class of this config: ignored");
		}
		printf(")\n");
		printf("%-12s %-8s %10s %10s\n", "LIMIT", "WINDOW", "COUNT",
		    "LIMIT");
	}
	for (i = 0; i < nd; i++) {
		for (j = 0; j < dims[i].n; j++) {
			uint32_t win = dims[i].lim[j].window;

			if (i == 3)
				cnt = rep.max[j];
			else
				cnt = ctl_counter_get(x, dims[i].subject ?
				    dims[i].subject : h, dims[i].item, win,
				    cfg->window_buckets, now);
			fmt_window(win, ws, sizeof(ws));
			if (x->json) {
				printf("%s{\"name\":\"%s\",\"window\":%u,"
				    "\"count\":%llu,\"limit\":%llu", row++ ?
				    "," : "", dims[i].label, win,
				    (unsigned long long)cnt,
				    (unsigned long long)dims[i].lim[j].count);
				if (i == 3)
					printf(",\"bodies\":%zu", rep.bodies[j]);
				printf("}");
			} else {
				printf("%-12s %-8s %10llu %10llu", dims[i].label,
				    ws, (unsigned long long)cnt,
				    (unsigned long long)dims[i].lim[j].count);
				if (i == 3)
					printf("  (the most-sent of %zu bodies)",
					    rep.bodies[j]);
				if (strcmp(dims[i].item, "refused") == 0)
					printf("  (lock_after)");
				printf("\n");
			}
		}
	}
	fmt_time((until_ms + 999) / 1000, until, sizeof(until));
	if (x->json) {
		printf("],\"lock\":{\"locked\":%s,\"until\":", lock_n > 0 ?
		    "true" : "false");
		if (lock_n > 0)
			printf("%llu", (unsigned long long)(until_ms + 999) /
			    1000);
		else
			printf("null");
		for (i = 0; info->type == REDIS_REPLY_ARRAY && i + 1 <
		    info->elements; i += 2)
			if (info->element[i]->type == REDIS_REPLY_STRING &&
			    info->element[i + 1]->type == REDIS_REPLY_STRING &&
			    strspn(info->element[i]->str,
			    "abcdefghijklmnopqrstuvwxyz_") ==
			    info->element[i]->len && info->element[i]->len > 0 &&
			    strcmp(info->element[i]->str, "locked") != 0 &&
			    strcmp(info->element[i]->str, "until") != 0) {
				printf(",\"%s\":", info->element[i]->str);
				json_strn(stdout, info->element[i + 1]->str,
				    info->element[i + 1]->len);
			}
		printf("},\"history\":");
		if (hist_ok)
			printf("{\"typical\":%.3f,\"peak\":%.3f,"
			    "\"active_buckets\":%s}",
			    strtod(hist->element[0]->str, NULL),
			    strtod(hist->element[1]->str, NULL),
			    hist->element[2]->str);
		else
			printf("null");
		printf(",\"detector_hits\":null}\n");
	} else {
		if (lock_n > 0)
			printf("locked      yes, until %s\n", until);
		else
			printf("locked      no\n");
		for (i = 0; lock_n > 0 && info->type == REDIS_REPLY_ARRAY &&
		    i + 1 < info->elements; i += 2) {
			const char *f = info->element[i]->type ==
			    REDIS_REPLY_STRING ? info->element[i]->str : "?";
			const char *v = info->element[i + 1]->type ==
			    REDIS_REPLY_STRING ? info->element[i + 1]->str :
			    "?";

			printf("  ");
			text_login(stdout, f, 9);
			if ((strcmp(f, "at") == 0 || strcmp(f, "until") == 0) &&
			    strspn(v, "0123456789") == strlen(v) && *v) {
				fmt_time(strtoull(v, NULL, 10), ws, sizeof(ws));
				v = ws;
			}
			printf(" ");
			text_login(stdout, v, 0);
			printf("\n");
		}
		fmt_window(cfg->history_bucket_ms / 1000, ws, sizeof(ws));
		if (hist_ok)
			printf("history     usual %.1f per %s, peak %.1f (%s "
			    "active buckets)\n",
			    strtod(hist->element[0]->str, NULL), ws,
			    strtod(hist->element[1]->str, NULL),
			    hist->element[2]->str);
		else if (cfg->history)
			printf("history     none yet\n");
		printf("detector hits: not kept in the store (see the "
		    "daemons' log lines for this login)\n");
	}
	freeReplyObject(info);
	freeReplyObject(who);
	if (hist != NULL)
		freeReplyObject(hist);
	return CTL_OK;
}
