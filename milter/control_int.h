/*
 * control_int.h - what the control channel's files share (control.c: the
 * message threads' side, start and stop; control_thread.c: the control
 * thread; control_hold.c: holds of queued mail on a lock). Not for other
 * files: they use control.h.
 */
#ifndef SLUICE_CONTROL_INT_H
#define SLUICE_CONTROL_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "classmap.h"
#include "contract.h"
#include "sender.h"
#include "sluice.h"

struct redis_link;

#define JOBS_MAX	1024	/* queued who/lock jobs; beyond, who is dropped */
#define PENDING_MAX	256	/* our locks waiting for Redis to announce */
#define HELD_MAX	4096	/* locks this relay has dealt with */
#define HELD_GRACE	60	/* s a lock is kept without P:locked saying so */
#define WHO_PERIOD	3600	/* s between two writes of a login's who */
#define WHO_TTL_S	"86400"	/* s a who key lives */
#define WHO_KEYS	65536	/* logins remembered for WHO_PERIOD */
#define BACKOFF_MIN_MS	250
#define BACKOFF_MAX_MS	10000
#define CMD_TIMEOUT_MIN_MS 1000	/* no message waits on these commands */
#define SHOWN_MAX	200	/* printable login */
#define REASON_MAX	160
#define KEY_MAX		CONTRACT_KEY_MAX
#define WARN_MAX	20	/* unknown-class warnings per check */

enum job_kind { JOB_WHO, JOB_LOCK, JOB_QID, JOB_QIDGET };

struct job {
	enum job_kind	 kind;
	char		 key[SENDER_KEY_LEN + 1];
	char		 shown[SHOWN_MAX];
	enum sender_origin origin;
	char		 reason[REASON_MAX];
	uint64_t	 at, until;	/* JOB_LOCK: unix seconds; JOB_QIDGET:
					   at is the asker's generation */
};

/* a snapshot of the live classes, shared with the message threads */
struct cm_ref {
	struct snapshot_ref snap;	/* first: the count */
	struct classmap	*map;
};

struct held {
	char		 key[SENDER_KEY_LEN + 1];
	uint64_t	 since;
};

struct ctl_state {
	int		 running;	/* set before the milter threads start */
	int		 local;		/* no control thread: this relay's own
					   locks hold its queued mail (memory
					   store) */
	pthread_t	 tid;
	pthread_mutex_t	 lock;		/* jobs, stop, repoll */
	struct job	*jobs;		/* ring of JOBS_MAX */
	size_t		 jhead, jlen;
	int		 stop, repoll;
	int		 wake[2];	/* self-pipe: jobs or stop */
	struct snapshot	 classes;	/* of cm_ref; none: no live classes */
	struct qidmem	*qids;
	struct recent	*who;
	/* the feedback reader's one question (control_qid_get), ctl.lock */
	pthread_cond_t	 fq_cond;
	uint64_t	 fq_gen;	/* the question being answered */
	int		 fq_done, fq_found;
	char		 fq_val[SENDER_KEY_LEN + SHOWN_MAX + 16];

	/* control thread only */
	char		*host, *unix_path, *user, *password, *prefix;
	char		*sentinels, *master, *sentinel_password;
	struct redis_link *link;	/* borrows the strings above */
	char		 where[300];	/* "redis host:port" for the log */
	int		 connected;	/* link and subscription up */
	redisContext	*sub;
	int		 broken;	/* a command failed: reconnect */
	int		 down_logged;
	char		 hostname[128];
	struct job	 pending[PENDING_MAX];
	size_t		 npending;
	struct held	 held[HELD_MAX];
	size_t		 nheld;
	struct classmap	*warned;	/* unknown classes already logged */
};


extern struct ctl_state ctl;

/* control.c */
struct cm_ref	*ctl_cm_acquire(void);
void		 ctl_cm_release(struct cm_ref *);
void		 ctl_cm_free(struct snapshot_ref *);
int		 ctl_dequeue(struct job *);

/* control_thread.c */
void		*ctl_thread_main(void *);
redisReply	*ctl_command(const char *, ...);
int		 ctl_done(redisReply *);

/* control_hold.c */
int		 ctl_held_find(const char *);
void		 ctl_held_drop(size_t);
void		 ctl_lock_seen(const char *key, const char *who,
		    enum sender_origin, const char *relay, int polled);

#endif
