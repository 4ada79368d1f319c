/*
 * hook.c - run the administrator's commands without stalling SMTP: the
 * lock command (COMMAND LOGIN REASON ORIGIN) and the hold command (COMMAND
 * QUEUEID..., in batches).
 *
 * Never through a shell (a login may hold any byte): posix_spawn with
 * stdin/stdout/stderr on /dev/null, every other descriptor closed (the
 * daemon's own are close-on-exec; libmilter's milter socket and MTA
 * connections are not, and no hook may inherit them or a Redis
 * connection), the signal mask emptied and SIGPIPE back to its default
 * (the daemon blocks TERM, HUP, INT and USR1 in every thread and ignores
 * SIGPIPE; a child must not inherit that). The lock
 * command is started from the SMTP thread at once; a detached thread
 * waits for it, kills it after the timeout, and logs how it ended. The
 * hold command runs its batches one after another in a detached thread
 * of its own. Thread-safe; each run owns its copies of the arguments.
 */
#define _GNU_SOURCE		/* posix_spawn_file_actions_addclosefrom_np */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "qidmem.h"
#include "sluice.h"

extern char **environ;

#define HOLD_ARGS_MAX	16	/* program + its arguments in hold_command */

struct hook_run {
	pid_t		 pid;
	unsigned	 timeout_ms;
	char		 cmd[256];
	char		 who[256];	/* printable login, for the log */
};

/* how a command ended */
struct hook_end {
	int		 spawn_err;	/* errno of posix_spawn, or 0 */
	int		 killed;	/* killed at the timeout */
	int		 status;	/* waitpid status */
	int		 wait_err;	/* errno of waitpid, or 0 */
};

/* hook_spawn - start argv[0] with argv, quietly; 0 or an errno */
static int
hook_spawn(char *const argv[], pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, pipe;
	int rc;

	sigemptyset(&none);
	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &pipe);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK |
	    POSIX_SPAWN_SETSIGDEF);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
#ifdef HAVE_SPAWN_CLOSEFROM
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
#endif
	rc = posix_spawn(pid, argv[0], &fa, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	return rc;
}

/* hook_reap - wait for pid, kill it at the timeout; how it ended */
static void
hook_reap(pid_t pid, unsigned timeout_ms, struct hook_end *end)
{
	struct timespec ts = { 0, 20 * 1000000L };
	unsigned waited = 0;
	pid_t r;

	while ((r = waitpid(pid, &end->status, WNOHANG)) == 0 &&
	    waited < timeout_ms) {
		nanosleep(&ts, NULL);
		waited += 20;
	}
	if (r == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &end->status, 0);
		end->killed = 1;
	} else if (r == -1)
		end->wait_err = errno;
}

/* hook_end_text - "exit 0", "killed after 1000 ms", ... */
static void
hook_end_text(const struct hook_end *e, unsigned timeout_ms, char *out,
    size_t outlen)
{
	if (e->spawn_err != 0)
		snprintf(out, outlen, "%s", strerror(e->spawn_err));
	else if (e->killed)
		snprintf(out, outlen, "killed after %u ms", timeout_ms);
	else if (e->wait_err != 0)
		snprintf(out, outlen, "waitpid: %s", strerror(e->wait_err));
	else if (WIFEXITED(e->status))
		snprintf(out, outlen, "exit %d", WEXITSTATUS(e->status));
	else
		snprintf(out, outlen, "killed by signal %d",
		    WTERMSIG(e->status));
}

/* hook_ok - did it exit 0? */
static int
hook_ok(const struct hook_end *e)
{
	return e->spawn_err == 0 && !e->killed && e->wait_err == 0 &&
	    WIFEXITED(e->status) && WEXITSTATUS(e->status) == 0;
}

/* hook_start - a detached waiter thread with a small stack; -1 on error */
static int
hook_start(void *(*fn)(void *), void *arg)
{
	pthread_attr_t attr;
	pthread_t tid;
	int rc;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	rc = pthread_create(&tid, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	return rc == 0 ? 0 : -1;
}

/* hook_wait - wait for one lock command, kill it at its timeout, log */
static void *
hook_wait(void *arg)
{
	struct hook_run *h = arg;
	struct hook_end end;
	char how[128];

	memset(&end, 0, sizeof(end));
	hook_reap(h->pid, h->timeout_ms, &end);
	hook_end_text(&end, h->timeout_ms, how, sizeof(how));
	if (end.killed)
		log_warnx("lock command %s for %s killed after %u ms", h->cmd,
		    h->who, h->timeout_ms);
	else if (hook_ok(&end))
		log_info("lock command %s for %s: %s", h->cmd, h->who, how);
	else
		log_warnx("lock command %s for %s: %s", h->cmd, h->who, how);
	free(h);
	return NULL;
}

/* hook_run - start `cmd LOGIN REASON ORIGIN` and return at once */
void
hook_run(const char *cmd, const char *login, const char *shown,
    const char *reason, const char *origin, unsigned timeout_ms)
{
	struct hook_run *h;
	char *argv[5];
	int rc;

	if ((h = calloc(1, sizeof(*h))) == NULL) {
		log_err("lock command: out of memory");
		return;
	}
	snprintf(h->cmd, sizeof(h->cmd), "%s", cmd);
	snprintf(h->who, sizeof(h->who), "%s", shown);
	h->timeout_ms = timeout_ms;
	argv[0] = h->cmd;
	argv[1] = (char *)(uintptr_t)login;
	argv[2] = (char *)(uintptr_t)reason;
	argv[3] = (char *)(uintptr_t)origin;
	argv[4] = NULL;
	if ((rc = hook_spawn(argv, &h->pid)) != 0) {
		log_warnx("lock command %s for %s: %s", h->cmd, h->who,
		    strerror(rc));
		free(h);
		return;
	}
	if (hook_start(hook_wait, h) == -1) {
		log_warnx("lock command %s for %s: cannot wait for it",
		    h->cmd, h->who);
		free(h);	/* the child is reaped by nobody: rare, logged */
	}
}

/* one lock's queue clean-up: the hold command over its ids, in batches */
struct hold_run {
	char		*cmd;		/* hold_command, cut into words */
	char		*argv[HOLD_ARGS_MAX + 1];
	size_t		 nargs;
	char		*ids;		/* QIDMEM_ID_SIZE apart; owned */
	size_t		 nids, batch;
	unsigned	 timeout_ms;
	char		 who[256];	/* printable login and origin */
	char		 relay[128];	/* who locked it */
};

/* hold_batch - run the command once over ids[off..off+n) */
static void
hold_batch(struct hold_run *h, char **argv, size_t off, size_t n,
    struct hook_end *end)
{
	size_t i;
	pid_t pid;

	memcpy(argv, h->argv, h->nargs * sizeof(*argv));
	for (i = 0; i < n; i++)
		argv[h->nargs + i] = h->ids + (off + i) * QIDMEM_ID_SIZE;
	argv[h->nargs + n] = NULL;
	memset(end, 0, sizeof(*end));
	if ((end->spawn_err = hook_spawn(argv, &pid)) == 0)
		hook_reap(pid, h->timeout_ms, end);
}

/* hold_wait - run every batch, one after another; one line at the end */
static void *
hold_wait(void *arg)
{
	struct hold_run *h = arg;
	struct hook_end end, bad;
	char **argv, how[160], note[64] = "";
	size_t off, n, runs = 0, failed = 0;

	memset(&end, 0, sizeof(end));
	memset(&bad, 0, sizeof(bad));
	if ((argv = calloc(h->nargs + h->batch + 1, sizeof(*argv))) == NULL) {
		bad.spawn_err = ENOMEM;
		failed = 1;
	}
	for (off = 0; argv != NULL && off < h->nids; off += n) {
		n = h->nids - off < h->batch ? h->nids - off : h->batch;
		hold_batch(h, argv, off, n, &end);
		runs++;
		if (!hook_ok(&end) && failed++ == 0)
			bad = end;
	}
	free(argv);
	hook_end_text(failed ? &bad : &end, h->timeout_ms, how, sizeof(how));
	if (failed && runs > 1)
		snprintf(note, sizeof(note), "; %zu of %zu runs failed",
		    failed, runs);
	log_warnx("login=%s locked on relay %s: held %zu queued messages "
	    "(hold_command %s%s)", h->who, h->relay, h->nids, how, note);
	free(h->cmd);
	free(h->ids);
	free(h);
	return NULL;
}

/*
 * hold_run - run `hold_command ID...` over ids (QIDMEM_ID_SIZE apart,
 * taken over: freed here), batch ids a run, in the background
 */
void
hold_run(const char *cmd, char *ids, size_t nids, size_t batch,
    unsigned timeout_ms, const char *who, const char *relay)
{
	struct hold_run *h;
	char *w, *save = NULL;

	if ((h = calloc(1, sizeof(*h))) == NULL ||
	    (h->cmd = strdup(cmd)) == NULL) {
		log_err("hold command: out of memory; %zu queued messages of "
		    "%s not held", nids, who);
		free(h);
		free(ids);
		return;
	}
	for (w = strtok_r(h->cmd, " ", &save); w != NULL &&
	    h->nargs < HOLD_ARGS_MAX; w = strtok_r(NULL, " ", &save))
		h->argv[h->nargs++] = w;
	h->ids = ids;
	h->nids = nids;
	h->batch = batch > 0 ? batch : 1;
	h->timeout_ms = timeout_ms;
	snprintf(h->who, sizeof(h->who), "%s", who);
	snprintf(h->relay, sizeof(h->relay), "%s", relay);
	if (h->nargs == 0 || hook_start(hold_wait, h) == -1) {
		log_warnx("login=%s locked on relay %s: %zu queued messages "
		    "not held (cannot run the hold command)", who, relay,
		    nids);
		free(h->cmd);
		free(h->ids);
		free(h);
	}
}
