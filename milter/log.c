/*
 * log.c - the daemon's log lines: syslog(3), and stderr in the foreground.
 *
 * Severities: info (one line per decision), warning (something an
 * administrator should look at: a store outage, a bad reload), err
 * (sluice cannot do its job). syslog(3) is thread-safe in glibc.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include "sluice.h"

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
	log_stderr = foreground;
	if (log_syslog)
		openlog("sluice", LOG_PID | LOG_NDELAY, fac);
}

/* log_v - one line at a priority */
static void
log_v(int pri, const char *fmt, va_list ap)
{
	va_list ap2;

	if (log_stderr) {
		va_copy(ap2, ap);
		fputs("sluice: ", stderr);
		vfprintf(stderr, fmt, ap2);
		fputc('\n', stderr);
		fflush(stderr);
		va_end(ap2);
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
