/*
 * log.c - the daemon's log lines: syslog(3), and stderr in the foreground.
 *
 * Severities: info (one line per decision), warning (something an
 * administrator should look at: a store outage, a bad reload), err
 * (sluice cannot do its job). syslog(3) is thread-safe in glibc.
 *
 * Under systemd (the unit runs -f), stderr is the journal, which gets
 * syslog's line as well: when JOURNAL_STREAM names stderr's descriptor
 * (systemd.exec(5)) and syslog is on, stderr is left out, so each line is
 * in the journal once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "sluice.h"

#define LOG_LINE_MAX	4096	/* bytes of one stderr line, newline included */

static int log_syslog = 1;
static int log_stderr = 0;

static const struct {
	const char	*name;
	int		 facility;
} facilities[] = {
	{ "mail", LOG_MAIL }, { "daemon", LOG_DAEMON }, { "user", LOG_USER },
	{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },
	{ "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
	{ "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
};

/* stderr_is_journal - is stderr the stream systemd's JOURNAL_STREAM names? */
static int
stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	return js != NULL && sscanf(js, "%llu:%llu", &dev, &ino) == 2 &&
	    fstat(STDERR_FILENO, &st) == 0 &&
	    (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

/* log_open - start logging */
void
log_open(const char *facility, int use_syslog, int foreground)
{
	int fac = LOG_MAIL;
	size_t i;

	for (i = 0; facility && i < sizeof(facilities) / sizeof(facilities[0]);
	    i++)
		if (strcasecmp(facility, facilities[i].name) == 0)
			fac = facilities[i].facility;
	log_syslog = use_syslog;
	log_stderr = foreground && !(use_syslog && stderr_is_journal());
	if (log_syslog)
		openlog("sluice", LOG_PID | LOG_NDELAY, fac);
}

/* log_v - one line at a priority */
static void
log_v(int pri, const char *fmt, va_list ap)
{
	va_list ap2;
	char line[LOG_LINE_MAX];
	int n;

	if (log_stderr) {
		/* one write per line, so threads' lines never interleave */
		va_copy(ap2, ap);
		memcpy(line, "sluice: ", 8);
		n = vsnprintf(line + 8, sizeof(line) - 9, fmt, ap2);
		va_end(ap2);
		if (n < 0)
			n = 0;
		if ((size_t)n > sizeof(line) - 10)
			n = (int)(sizeof(line) - 10);	/* truncated */
		line[8 + n] = '\n';
		if (write(STDERR_FILENO, line, (size_t)n + 9) == -1)
			(void)0;	/* nowhere left to complain */
	}
	if (log_syslog)
		vsyslog(pri, fmt, ap);
}

/* log_info - a decision or a state change */
void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_v(LOG_INFO, fmt, ap);
	va_end(ap);
}

/* log_warnx - something an administrator should look at */
void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_v(LOG_WARNING, fmt, ap);
	va_end(ap);
}

/* log_err - sluice cannot do its job */
void
log_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_v(LOG_ERR, fmt, ap);
	va_end(ap);
}
