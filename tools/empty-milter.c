/*
 * empty-milter - a libmilter filter that does nothing
 *
 * The floor that sluice is measured against: it answers SMFIS_CONTINUE to
 * every step.  Whatever throughput sluice-bench (or an MTA) reaches
 * against this program is the cost of libmilter and the socket, with no
 * filtering at all.  To be a fair floor it negotiates the steps sluice
 * negotiates (milter/callbacks.c sl_negotiate): no HELO, DATA, end of
 * headers or unknown commands, the body (sluice reads it when a class has
 * a body detector: repeats, body_senders, near_repeats, copies, hop marker),
 * and the actions add header and quarantine.  -n: no body either (sluice
 * with a configuration that reads no body); -a: every step (libmilter's
 * defaults, the old behaviour).
 *
 * Usage: empty-milter -p SOCKET [-f] [-n | -a] [-b BACKLOG]
 *
 * It always runs in the foreground (-f is accepted for symmetry with
 * other milters and ignored), removes a stale unix socket before it
 * binds, raises its open-file limit to the hard limit so it can hold
 * thousands of connections, and exits when libmilter sees SIGTERM or
 * SIGINT.  No state, so the callbacks are trivially thread-safe.
 */

#include <sys/resource.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

static char empty_name[] = "empty-milter";
static int empty_steps;			/* 0: as sluice, 'n': no body, 'a': all */

/* empty_connect - a new SMTP client: carry on */
static sfsistat
empty_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *addr)
{
	(void)ctx;
	(void)host;
	(void)addr;
	return SMFIS_CONTINUE;
}

/* empty_helo - HELO/EHLO: carry on */
static sfsistat
empty_helo(SMFICTX *ctx, char *helo)
{
	(void)ctx;
	(void)helo;
	return SMFIS_CONTINUE;
}

/* empty_envfrom - MAIL FROM: carry on */
static sfsistat
empty_envfrom(SMFICTX *ctx, char **argv)
{
	(void)ctx;
	(void)argv;
	return SMFIS_CONTINUE;
}

/* empty_envrcpt - RCPT TO: carry on */
static sfsistat
empty_envrcpt(SMFICTX *ctx, char **argv)
{
	(void)ctx;
	(void)argv;
	return SMFIS_CONTINUE;
}

/* empty_data - DATA: carry on */
static sfsistat
empty_data(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}

/* empty_header - one header: carry on */
static sfsistat
empty_header(SMFICTX *ctx, char *name, char *value)
{
	(void)ctx;
	(void)name;
	(void)value;
	return SMFIS_CONTINUE;
}

/* empty_eoh - end of headers: carry on */
static sfsistat
empty_eoh(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}

/* empty_body - one body chunk: carry on */
static sfsistat
empty_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	(void)ctx;
	(void)chunk;
	(void)len;
	return SMFIS_CONTINUE;
}

/* empty_eom - end of message: let it through unchanged */
static sfsistat
empty_eom(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}

/* empty_abort - transaction aborted: nothing to clean up */
static sfsistat
empty_abort(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}

/* empty_close - connection closed: nothing to clean up */
static sfsistat
empty_close(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}

/* empty_unknown - unknown SMTP command: carry on */
static sfsistat
empty_unknown(SMFICTX *ctx, const char *cmd)
{
	(void)ctx;
	(void)cmd;
	return SMFIS_CONTINUE;
}

/* empty_negotiate - the steps and actions sluice negotiates (see above) */
static sfsistat
empty_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0,
    unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	unsigned long want = SMFIP_NOHELO | SMFIP_NOEOH | SMFIP_NODATA |
	    SMFIP_NOUNKNOWN;

	(void)ctx;
	(void)f2;
	(void)f3;
	if (empty_steps == 'a')
		return SMFIS_ALL_OPTS;
	if (empty_steps == 'n')
		want |= SMFIP_NOBODY;
	*pf0 = f0 & (SMFIF_ADDHDRS | SMFIF_QUARANTINE);
	*pf1 = f1 & want;
	*pf2 = 0;
	*pf3 = 0;
	return SMFIS_CONTINUE;
}

static struct smfiDesc empty_desc = {
	empty_name,			/* filter name */
	SMFI_VERSION,			/* libmilter version it was built for */
	SMFIF_ADDHDRS | SMFIF_QUARANTINE, /* what sluice asks for too */
	empty_connect,
	empty_helo,
	empty_envfrom,
	empty_envrcpt,
	empty_header,
	empty_eoh,
	empty_body,
	empty_eom,
	empty_abort,
	empty_close,
	empty_unknown,
	empty_data,
	empty_negotiate
};

/* empty_usage - print the synopsis and exit with status */
static void
empty_usage(FILE *fp, int status)
{
	fprintf(fp, "usage: empty-milter -p SOCKET [-f] [-n | -a] "
	    "[-b BACKLOG]\n"
	    "  -p SOCKET   libmilter socket: inet:PORT@HOST, inet6:PORT@HOST,"
	    " unix:PATH\n"
	    "  -f          stay in the foreground (always does; ignored)\n"
	    "  -n          no body (as sluice when no check reads it)\n"
	    "  -a          every step (default: the steps sluice asks for)\n"
	    "  -b BACKLOG  listen(2) backlog\n");
	exit(status);
}

/* empty_raise_nofile - raise the open-file soft limit to the hard limit */
static void
empty_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			fprintf(stderr, "empty-milter: setrlimit: %s\n",
			    strerror(errno));
	}
}

int
main(int argc, char **argv)
{
	char *sock = NULL;
	char *end;
	long backlog = -1;
	int ch;

	while ((ch = getopt(argc, argv, "ab:fhnp:")) != -1) {
		switch (ch) {
		case 'a':
		case 'n':
			empty_steps = ch;
			break;
		case 'b':
			errno = 0;
			backlog = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || backlog < 1 ||
			    backlog > INT_MAX)
				empty_usage(stderr, 2);
			break;
		case 'f':
			break;
		case 'h':
			empty_usage(stdout, 0);
			break;
		case 'p':
			sock = optarg;
			break;
		default:
			empty_usage(stderr, 2);
		}
	}
	if (sock == NULL || optind != argc)
		empty_usage(stderr, 2);

	empty_raise_nofile();
	if (smfi_register(empty_desc) == MI_FAILURE) {
		fprintf(stderr, "empty-milter: smfi_register failed\n");
		return 1;
	}
	if (smfi_setconn(sock) == MI_FAILURE) {
		fprintf(stderr, "empty-milter: bad socket %s\n", sock);
		return 1;
	}
	if (backlog > 0 && smfi_setbacklog((int)backlog) == MI_FAILURE) {
		fprintf(stderr, "empty-milter: bad backlog %ld\n", backlog);
		return 1;
	}
	/* 1: unlink a unix socket left behind by an earlier run. */
	if (smfi_opensocket(1) == MI_FAILURE) {
		fprintf(stderr, "empty-milter: cannot listen on %s\n", sock);
		return 1;
	}
	return smfi_main() == MI_SUCCESS ? 0 : 1;
}
