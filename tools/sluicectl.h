/* sluicectl.h - the administrator's tool: shared by its source files */
#ifndef SLUICECTL_H
#define SLUICECTL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <hiredis/hiredis.h>

#include "config.h"
#include "contract.h"
#include "sender.h"

/* exit codes, documented in sluicectl(8) */
#define CTL_OK		0	/* done */
#define CTL_NOTFOUND	1	/* nothing to do: not locked, no override */
#define CTL_USAGE	2	/* bad arguments or refused value */
#define CTL_STORE	3	/* Redis unreachable or answering errors */
#define CTL_CONFIG	78	/* the config cannot be read (EX_CONFIG) */

#define CTL_KEY_MAX	CONTRACT_KEY_MAX	/* a Redis key built here */

/* a connection to the store, and what the config says about it */
struct ctl {
	const struct config	*cfg;
	struct redis_link	*link;		/* the server, the primary
						   behind Sentinel, a Cluster */
	char			*pw, *spw;	/* the link's passwords */
	const char		*prefix;	/* cfg->redis_prefix */
	char			 where[300];	/* "redis host:port" */
	int			 json;		/* --json output */
	int			 sock;		/* the daemon's control socket,
						   not Redis (store memory) */
	enum sender_origin	 origin;	/* --origin: the LOGIN's */
};

struct store;

/* ctl_redis.c */
void		 ctl_connect(struct ctl *);
struct store	*ctl_store(struct ctl *);
void		 ctl_close(struct ctl *);
void		 ctl_die(const struct ctl *, const char *what, const char *why);
redisReply	*ctl_cmdv(struct ctl *, const char *what, int argc,
		    const char **argv);
redisReply	*ctl_cmd(struct ctl *, const char *what, ...);
void		 ctl_pipe(struct ctl *, const char *what, int argc,
		    const char **argv);
redisReply	*ctl_pipe_get(struct ctl *, const char *what);
uint64_t	 ctl_now_ms(struct ctl *);
void		 ctl_key(const struct ctl *, char *out, const char *sender,
		    const char *rest);
void		 ctl_global(const struct ctl *, char *out, const char *name);
void		 ctl_counter_key(const struct ctl *, char *out,
		    const char *sender, const char *name, uint32_t window,
		    uint32_t buckets);
int		 ctl_counter_parse(const struct ctl *, const char *key,
		    struct contract_counter *);
uint64_t	 ctl_live_sum(const redisReply *, uint32_t window,
		    uint32_t buckets, uint64_t now_ms, int64_t *newest);
uint64_t	 ctl_counter_get(struct ctl *, const char *sender,
		    const char *name, uint32_t window, uint32_t buckets,
		    uint64_t now_ms);
typedef void	 ctl_scan_fn(struct ctl *, const redisReply *keys, void *);
void		 ctl_scan(struct ctl *, const char *pattern, ctl_scan_fn *,
		    void *);

/* ctl_sock.c */
struct ctlproto_line;
void		 ctl_sock_open(struct ctl *);
void		 ctl_sock_call(struct ctl *, size_t n, const char *const *f,
		    void (*fn)(struct ctl *, const struct ctlproto_line *,
		    void *), void *arg);
redisReply	*ctl_sock_cmd(struct ctl *, const char *what, int argc,
		    const char **argv);
/* ctl_who - split a who value ("login" or "login\torigin", as the
 * daemons write it) in place: the login, and its origin's name */
const char	*ctl_who(char *who, const char **origin);

/* ctl_show.c */
int		 cmd_top(struct ctl *, uint32_t window, size_t n,
		    int domains);
int		 cmd_show(struct ctl *, const char *login);
void		 class_of(struct ctl *, const char *login,
		    const struct config_class **, const char **source,
		    char *override, size_t olen);

/* ctl_status.c */
int		 cmd_status(struct ctl *);

/* ctl_out.c */
void		 json_str(FILE *, const char *s);
void		 json_strn(FILE *, const char *s, size_t len);
void		 text_login(FILE *, const char *s, int width);
void		 fmt_time(uint64_t unix_s, char *out, size_t outlen);
void		 fmt_window(uint32_t s, char *out, size_t outlen);

#endif
