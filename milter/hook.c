/*
 * hook.c - run the administrator's lock command without stalling SMTP.
 *
 * The command gets the login and the reason as two separate arguments
 * (never through a shell: a login may hold any byte), stdin/stdout/stderr
 * on /dev/null. posix_spawn starts it from the SMTP thread at once; a
 * detached thread waits for it, kills it after the timeout, and logs how
 * it ended. Thread-safe; each run owns its copies of the arguments.
 */
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

#include "sluice.h"

extern char **environ;

struct hook_run {
	pid_t		 pid;
	unsigned	 timeout_ms;
	char		 cmd[256];
	char		 who[128];	/* printable login, for the log */
};

/* hook_wait - wait for one command, kill it at its timeout, log the end */
static void *
hook_wait(void *arg)
{
	struct hook_run *h = arg;
	struct timespec ts = { 0, 50 * 1000000L };
	unsigned waited = 0;
	int status = 0;
	pid_t r;

	while ((r = waitpid(h->pid, &status, WNOHANG)) == 0 &&
	    waited < h->timeout_ms) {
		nanosleep(&ts, NULL);
		waited += 50;
	}
	if (r == 0) {
		kill(h->pid, SIGKILL);
		waitpid(h->pid, &status, 0);
		log_warnx("lock command %s for %s killed after %u ms",
		    h->cmd, h->who, h->timeout_ms);
	} else if (r == -1)
		log_warnx("lock command %s for %s: waitpid: %s", h->cmd,
		    h->who, strerror(errno));
	else if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		log_info("lock command %s for %s: exit 0", h->cmd, h->who);
	else if (WIFEXITED(status))
		log_warnx("lock command %s for %s: exit %d", h->cmd, h->who,
		    WEXITSTATUS(status));
	else
		log_warnx("lock command %s for %s: killed by signal %d",
		    h->cmd, h->who, WTERMSIG(status));
	free(h);
	return NULL;
}

/* hook_run - start `cmd LOGIN REASON` and return at once */
void
hook_run(const char *cmd, const char *login, const char *shown,
    const char *reason, unsigned timeout_ms)
{
	posix_spawn_file_actions_t fa;
	struct hook_run *h;
	pthread_attr_t attr;
	pthread_t tid;
	char *argv[4];
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
	argv[3] = NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	rc = posix_spawn(&h->pid, h->cmd, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0) {
		log_warnx("lock command %s for %s: %s", h->cmd, h->who,
		    strerror(rc));
		free(h);
		return;
	}
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	if (pthread_create(&tid, &attr, hook_wait, h) != 0) {
		log_warnx("lock command %s for %s: cannot wait for it",
		    h->cmd, h->who);
		free(h);	/* the child is reaped by nobody: rare, logged */
	}
	pthread_attr_destroy(&attr);
}
