/*
 * main.c - the sluice daemon: arguments, configuration, the store,
 * privileges, pidfile, signals, then libmilter's loop.
 *
 * Signals: libmilter owns SIGHUP, SIGTERM and SIGINT (smfi_main returns on
 * TERM/INT and the daemon exits cleanly). SIGUSR1 reloads the
 * configuration: a thread waits for it with sigwait, builds the new
 * config, and swaps it in under a lock; connections keep the config they
 * started with until they close, and the last one frees it.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "cloexec.h"
#include "config_dump.h"
#include "control.h"
#include "localctl.h"
#include "feedback.h"
#include "hopmark.h"
#include "redis_conn.h"
#include "secret.h"
#include "sluice.h"
#include "tcpconn.h"

#define DEFAULT_CONFIG	"/etc/sluice/sluice.conf"
#define OKCACHE_SLOTS	16384	/* senders remembered as far from limits (80 B each) */

/* usage - print the synopsis and exit */
static void
usage(int code)
{
	fprintf(code ? stderr : stdout,
	    "usage: sluice [-fnvV] [-c config] [-p socket]\n"
	    "  -c config  configuration file (default " DEFAULT_CONFIG ")\n"
	    "  -f         stay in the foreground, log to stderr too\n"
	    "  -n         check the configuration and exit\n"
	    "  -v         with -n: print the effective configuration\n"
	    "  -p socket  milter socket, overrides the config's \"socket\"\n"
	    "  -V         print the version and exit\n");
	exit(code);
}

/* store_notify - the redis store's news (the primary moved), logged */
static void
store_notify(void *ctx, const char *msg)
{
	(void)ctx;
	log_info("redis: %s", msg);
}

/* store_open - the store the config asks for; pw, spw: the Redis and
 * Sentinel passwords or NULL */
static struct store *
store_open(const struct config *cfg, const char *pw, const char *spw,
    char *err, size_t errlen)
{
	struct store_redis_opts ro;
	struct store_guard_opts go;
	struct store *s;

	if (cfg->store == CONFIG_STORE_MEMORY) {
		if ((s = store_memory_new(NULL, NULL)) == NULL)
			snprintf(err, errlen, "out of memory");
		return s;
	}
	redis_conn_store_opts(cfg, pw, spw, &ro);
	ro.notify = store_notify;
	if ((s = store_redis_new(&ro, err, errlen)) == NULL)
		return NULL;
	memset(&go, 0, sizeof(go));
	go.fallback = (enum store_fallback)cfg->fallback;
	go.failures = cfg->breaker_failures;
	go.cooldown_ms = cfg->breaker_cooldown_ms;
	return store_guard_new(s, &go);
}

/*
 * socket_own - give a unix socket to the user sluice becomes, mode 0660:
 * the MTA's user joins that user's group to connect (usermod -aG sluice
 * postfix), and nobody else can speak for a login to sluice.
 */
static int
socket_own(const char *spec, const char *user, char *err, size_t errlen)
{
	const char *path = NULL;
	struct passwd *pw;

	if (strncmp(spec, "unix:", 5) == 0)
		path = spec + 5;
	else if (strncmp(spec, "local:", 6) == 0)
		path = spec + 6;
	if (path == NULL)
		return 0;
	if (chmod(path, 0660) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (user == NULL || getuid() != 0)
		return 0;
	if ((pw = getpwnam(user)) == NULL) {
		snprintf(err, errlen, "user \"%s\" does not exist", user);
		return -1;
	}
	if (chown(path, pw->pw_uid, pw->pw_gid) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* drop_privileges - become the configured user; -1 with err */
static int
drop_privileges(const char *user, char *err, size_t errlen)
{
	struct passwd *pw;

	if (user == NULL)
		return 0;
	if ((pw = getpwnam(user)) == NULL) {
		snprintf(err, errlen, "user \"%s\" does not exist", user);
		return -1;
	}
	if (getuid() == pw->pw_uid)
		return 0;
	if (getuid() != 0) {
		snprintf(err, errlen, "must start as root to become \"%s\"",
		    user);
		return -1;
	}
	if (initgroups(user, pw->pw_gid) == -1 || setgid(pw->pw_gid) == -1 ||
	    setuid(pw->pw_uid) == -1) {
		snprintf(err, errlen, "cannot become \"%s\": %s", user,
		    strerror(errno));
		return -1;
	}
	if (setuid(0) != -1) {
		snprintf(err, errlen, "could regain root after dropping it");
		return -1;
	}
	return 0;
}

/* daemonize - detach from the terminal */
static int
daemonize(void)
{
	int fd;

	switch (fork()) {
	case -1:
		return -1;
	case 0:
		break;
	default:
		_exit(0);
	}
	if (setsid() == -1)
		return -1;
	if (chdir("/") == -1)
		return -1;
	if ((fd = open("/dev/null", O_RDWR)) != -1) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	return 0;
}

/*
 * The pid file is written before privileges are dropped (as OpenDKIM
 * does), so it may live in a directory only root can write: it stays
 * root's (the user sluice becomes cannot make root's scripts signal
 * another process by writing it). It is kept open, close-on-exec: at
 * stop it is removed where the directory lets us, else emptied through
 * that descriptor, so it never names a pid that is no longer ours.
 */
static char	*pidfile_path;
static int	 pidfile_fd = -1;

/* pidfile_remove - at exit: remove the pid file, or empty it */
static void
pidfile_remove(void)
{
	int e;

	if (pidfile_fd == -1)
		return;
	if (unlink(pidfile_path) == -1 && errno != ENOENT) {
		e = errno;
		if (ftruncate(pidfile_fd, 0) == -1)
			log_warnx("pidfile %s: cannot remove it (%s) nor empty "
			    "it (%s)", pidfile_path, strerror(e),
			    strerror(errno));
		else
			log_info("pidfile %s: emptied, not removed (%s)",
			    pidfile_path, strerror(e));
	}
	close(pidfile_fd);
	pidfile_fd = -1;
}

/* write_pidfile - write our pid and keep the file open; -1 with err */
static int
write_pidfile(const char *path, char *err, size_t errlen)
{
	char buf[32];
	struct stat sb;
	int fd, n;

	if (path == NULL)
		return 0;
	/* no symlink, nor a hard link to someone else's file, followed */
	if ((fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NOCTTY |
	    O_CLOEXEC, 0644)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode) || sb.st_nlink != 1) {
		snprintf(err, errlen, "%s: not a plain file of its own", path);
		close(fd);
		return -1;
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	/* one left by a run as the unprivileged user becomes root's again */
	if ((getuid() == 0 && sb.st_uid != 0 && fchown(fd, 0, 0) == -1) ||
	    ftruncate(fd, 0) == -1 || write(fd, buf, (size_t)n) != n ||
	    (pidfile_path = strdup(path)) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	pidfile_fd = fd;
	atexit(pidfile_remove);
	return 0;
}

/* config_read - load a config and the secrets it names; NULL with err */
static struct config *
config_read(const char *path, char *err, size_t errlen)
{
	struct config *cfg;

	if ((cfg = config_load(path, err, errlen)) == NULL)
		return NULL;
	if (config_load_secrets(cfg, err, errlen) == -1) {
		config_free(cfg);
		return NULL;
	}
	return cfg;	/* cluster_id: config_load checked its characters */
}

/* reload - load the config again and swap it in; the old one stays on error */
static void
reload(void)
{
	char err[CONFIG_ERR_MAX];
	struct config *cfg;
	struct cfg_ref *cur;

	if ((cfg = config_read(rt.config_path, err, sizeof(err))) == NULL) {
		log_warnx("reload failed, keeping the running configuration: %s",
		    err);
		metrics_count_reload(&sluice_metrics, 0);
		return;
	}
	cur = cfg_acquire();
	if (cfg->store != cur->cfg->store ||
	    strcmp(cfg->socket, cur->cfg->socket) != 0 ||
	    cfg->metrics_port != cur->cfg->metrics_port ||
	    (cfg->metrics_host != NULL &&
	    strcmp(cfg->metrics_host, cur->cfg->metrics_host) != 0))
		log_warnx("reload: socket, store and metrics_listen settings "
		    "take effect at the next restart");
	cfg_release(cur);
	if (cfg_install(cfg) == -1) {
		log_err("reload: out of memory");
		config_free(cfg);
		return;
	}
	okcache_clear(rt.okcache);	/* limits may have changed */
	control_reloaded();
	log_info("configuration reloaded from %s (%zu classes, %zu map "
	    "entries)", rt.config_path, cfg->nclasses, cfg->nmap);
	metrics_count_reload(&sluice_metrics, 1);
}

/* signal_thread - wait for SIGUSR1 and reload */
static void *
signal_thread(void *arg)
{
	sigset_t *set = arg;
	int sig;

	for (;;)
		if (sigwait(set, &sig) == 0 && sig == SIGUSR1)
			reload();
	return NULL;
}

/* raise_nofile - as many descriptors as we may have (a thread each) */
static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* tcp_check - say whether TCP milter connections avoid delayed ACKs */
static void
tcp_check(const char *spec)
{
	char err[256];

	if (!tcpconn_spec_is_tcp(spec))
		return;
	if (tcpconn_selftest(err, sizeof(err)) == -1)
		log_warnx("milter socket %s: %s; each message may wait ~40 ms "
		    "on delayed ACKs: %s", spec, err, TCPCONN_HINT);
	else
		log_info("milter socket %s: TCP_NODELAY and TCP_QUICKACK on "
		    "each connection", spec);
}

/* the command line */
struct args {
	const char	*path;		/* -c, or DEFAULT_CONFIG */
	const char	*sock;		/* -p, or NULL */
	int		 foreground;	/* -f */
	int		 check_only;	/* -n */
	int		 verbose;	/* -v */
};

/* parse_args - the options into a; exits on -h, -V and misuse */
static void
parse_args(int argc, char *argv[], struct args *a)
{
	int ch;

	memset(a, 0, sizeof(*a));
	a->path = DEFAULT_CONFIG;
	while ((ch = getopt(argc, argv, "c:fhnp:vV")) != -1) {
		switch (ch) {
		case 'c':
			a->path = optarg;
			break;
		case 'f':
			a->foreground = 1;
			break;
		case 'h':
			usage(0);
			break;
		case 'n':
			a->check_only = 1;
			break;
		case 'p':
			a->sock = optarg;
			break;
		case 'v':
			a->verbose = 1;
			break;
		case 'V':
			printf("sluice %s\n", SLUICE_VERSION);
			exit(0);
		default:
			usage(EX_USAGE);
		}
	}
	if (optind != argc || (a->verbose && !a->check_only))
		usage(EX_USAGE);
}

/* check_config - -n: say the config is fine, or (-v) print it; exit code */
static int
check_config(struct config *cfg, const struct args *a)
{
	int rc = 0;

	/* -v: the dump is itself a config, so no other line on stdout */
	if (a->verbose)
		rc = config_dump(cfg, stdout);
	else
		printf("sluice: %s: configuration OK\n", a->path);
	config_free(cfg);
	return rc == 0 && fflush(stdout) == 0 ? 0 : EX_IOERR;
}

/* store_setup - the Redis and Sentinel passwords, the store, the MAIL
 * cache; exit code */
static int
store_setup(struct config *cfg, char **pw, char **spw)
{
	char err[CONFIG_ERR_MAX];

	/* read before dropping privileges; the control thread needs them */
	if (cfg->store == CONFIG_STORE_REDIS && ((cfg->redis_password_file !=
	    NULL && (*pw = secret_read(cfg->redis_password_file, err,
	    sizeof(err))) == NULL) || (cfg->redis_sentinel_password_file !=
	    NULL && (*spw = secret_read(cfg->redis_sentinel_password_file, err,
	    sizeof(err))) == NULL))) {
		fprintf(stderr, "sluice: store: %s\n", err);
		config_free(cfg);
		return EX_CONFIG;
	}
	if ((rt.store = store_open(cfg, *pw, *spw, err, sizeof(err))) == NULL) {
		fprintf(stderr, "sluice: store: %s\n", err);
		config_free(cfg);
		return EX_CONFIG;
	}
	/* a shared store costs a round trip: skip MAIL checks it need not do */
	if (cfg->store == CONFIG_STORE_REDIS &&
	    (rt.okcache = okcache_new(OKCACHE_SLOTS)) == NULL) {
		fprintf(stderr, "sluice: out of memory\n");
		return EX_OSERR;
	}
	return 0;
}

/*
 * milter_setup - the milter socket opened and owned, a daemon with its
 * pid file, privileges dropped, the config installed; exit code
 */
static int
milter_setup(struct config *cfg, int foreground)
{
	char err[CONFIG_ERR_MAX];

	if (smfi_setconn(cfg->socket) != MI_SUCCESS ||
	    callbacks_register() == -1) {
		log_err("cannot set up libmilter for socket %s", cfg->socket);
		return EX_SOFTWARE;
	}
	if (smfi_opensocket(1) != MI_SUCCESS) {
		log_err("cannot open milter socket %s", cfg->socket);
		return EX_UNAVAILABLE;
	}
	tcp_check(cfg->socket);
	/* the milter socket (libmilter opens it without O_CLOEXEC), the
	 * store's first connections, whatever we inherited: no hook gets them */
	if (cloexec_from(STDERR_FILENO + 1) == -1)
		log_warnx("cannot mark descriptors close-on-exec: %s",
		    strerror(errno));
	if (socket_own(cfg->socket, cfg->user, err, sizeof(err)) == -1) {
		log_err("%s", err);
		return EX_NOPERM;
	}
	if (!foreground && daemonize() == -1) {
		log_err("cannot become a daemon: %s", strerror(errno));
		return EX_OSERR;
	}
	/* still root, if started so: the pid file may be in root's directory */
	if (write_pidfile(cfg->pidfile, err, sizeof(err)) == -1) {
		log_err("pidfile: %s", err);
		return EX_CANTCREAT;
	}
	if (drop_privileges(cfg->user, err, sizeof(err)) == -1) {
		log_err("%s", err);
		return EX_NOPERM;
	}
	return cfg_install(cfg) == -1 ? EX_OSERR : 0;
}

/*
 * signals_start - block the signals in every thread from here on:
 * libmilter's own thread waits for HUP, TERM and INT, ours for USR1. A
 * thread that left TERM unblocked would die of it instead of stopping
 * cleanly. Exit code.
 */
static int
signals_start(void)
{
	static sigset_t usr1;
	sigset_t blocked;
	pthread_t tid;

	sigemptyset(&blocked);
	sigaddset(&blocked, SIGHUP);
	sigaddset(&blocked, SIGTERM);
	sigaddset(&blocked, SIGINT);
	sigaddset(&blocked, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &blocked, NULL);
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	if (pthread_create(&tid, NULL, signal_thread, &usr1) != 0) {
		log_err("cannot start the signal thread");
		return EX_OSERR;
	}
	return 0;
}

/* threads_start - metrics, control, feedback, sluicectl, state (pw,
 * spw: the passwords, freed here); exit code */
static int
threads_start(char *pw, char *spw)
{
	char err[CONFIG_ERR_MAX];
	struct cfg_ref *start;
	int rc;

	start = cfg_acquire();	/* a reload may come meanwhile */
	if (metrics_start(start->cfg, err, sizeof(err)) == -1) {
		log_err("%s", err);
		return EX_UNAVAILABLE;
	}
	rc = control_start(start->cfg, pw, spw);
	secret_free(pw);
	secret_free(spw);
	if (rc == -1 || feedback_start(start->cfg) == -1)
		return EX_OSERR;
	if (ctlsock_start(rt.store, err, sizeof(err)) == -1 ||
	    statefile_start(start->cfg, rt.store) == -1) {
		log_err("%s", err);
		return EX_OSERR;
	}
	log_info("starting: socket %s, store %s, mode %s, %zu classes",
	    start->cfg->socket, rt.store->kind,
	    start->cfg->mode == CONFIG_MODE_OBSERVE ? "observe" :
	    "enforce", start->cfg->nclasses);
	cfg_release(start);
	return 0;
}

/* main - start up in the order above, run libmilter's loop, stop */
int
main(int argc, char *argv[])
{
	char err[CONFIG_ERR_MAX];
	struct config *cfg;
	struct args a;
	char *pw = NULL, *spw = NULL;
	int rc;

	parse_args(argc, argv, &a);
	if ((cfg = config_read(a.path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "sluice: %s\n", err);
		return EX_CONFIG;
	}
	if (a.sock != NULL) {
		free(cfg->socket);
		if ((cfg->socket = strdup(a.sock)) == NULL)
			return EX_OSERR;
	}
	if (a.check_only)
		return check_config(cfg, &a);
	rt.config_path = a.path;
	if ((rc = store_setup(cfg, &pw, &spw)) != 0)
		return rc;
	log_open(cfg->syslog_facility, cfg->syslog, a.foreground);
	raise_nofile();
	statefile_load(cfg, rt.store);
	/* mail matters more than sluicectl: without the socket, go on */
	if (ctlsock_open(cfg, err, sizeof(err)) == -1)
		log_err("%s: sluicectl cannot reach this daemon", err);
	if ((rc = milter_setup(cfg, a.foreground)) != 0 ||
	    (rc = signals_start()) != 0 || (rc = threads_start(pw, spw)) != 0)
		return rc;

	rc = smfi_main();
	log_info("stopping");
	metrics_stop();
	ctlsock_stop();
	feedback_stop();
	control_stop();
	statefile_stop();
	return rc == MI_SUCCESS ? 0 : EX_SOFTWARE;	/* pidfile_remove */
}
