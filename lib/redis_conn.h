/*
 * redis_conn.h - one connection to Redis, opened the one way sluice opens
 * them: TCP or unix socket, connect and command timeouts, close-on-exec,
 * AUTH (user and password), and ROLE when the address came from Sentinel.
 * Used by the store, the control channel, sluicectl and the Sentinel
 * client; redis_conn_store_opts maps a config to the store's options.
 */
#ifndef SLUICE_REDIS_CONN_H
#define SLUICE_REDIS_CONN_H

#include <stddef.h>
#include <sys/time.h>

#include <hiredis/hiredis.h>

struct config;
struct store_redis_opts;

struct redis_conn_opts {
	const char	*host;		/* TCP host, or NULL with unix_path */
	int		 port;
	const char	*unix_path;	/* unix socket path, or NULL */
	const char	*username;	/* ACL user (Redis 6+), or NULL */
	const char	*password;	/* AUTH password, or NULL: no AUTH */
	unsigned	 connect_timeout_ms;
	unsigned	 command_timeout_ms;
	int		 role_check;	/* ROLE must say master (an address
					   a sentinel gave may lag) */
};

/*
 * redis_conn_open - a connection ready for commands; NULL with *what the
 * step that failed ("connect", "AUTH", "ROLE") and err its reason
 */
redisContext	*redis_conn_open(const struct redis_conn_opts *,
		    const char **what, char *err, size_t errlen);

/*
 * redis_conn_why - why a command on c failed (saved_errno: errno right
 * after it), naming timeouts as such ("timeout", "timeout (N ms)")
 */
void		 redis_conn_why(const redisContext *c, int saved_errno,
		    const char *what, unsigned command_ms, char *err,
		    size_t errlen);

/* redis_conn_tv - milliseconds as a timeval */
struct timeval	 redis_conn_tv(unsigned ms);

/*
 * redis_conn_store_opts - the store's options as the config says (store
 * redis); the secrets read from the config's files are the caller's
 */
void		 redis_conn_store_opts(const struct config *,
		    const char *password, const char *sentinel_password,
		    struct store_redis_opts *);

#endif
