/*
 * redis_conn.c - opening one Redis connection, and the config's Redis
 * options (redis_conn.h).
 *
 * Public: redis_conn_open, redis_conn_why, redis_conn_tv,
 * redis_conn_store_opts.
 *
 * A connection is the caller's (redisFree). hiredis 0.14 sets neither
 * close-on-exec nor, through one call, both timeouts: done here, so a
 * hook the daemon spawns never inherits a Redis socket. Thread-safe: no
 * state.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#include <hiredis/hiredis.h>

#include "cloexec.h"
#include "config.h"
#include "redis_conn.h"
#include "sentinel.h"
#include "store.h"

/* redis_conn_tv - milliseconds as a timeval */
struct timeval
redis_conn_tv(unsigned ms)
{
	struct timeval tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (long)(ms % 1000) * 1000;
	return tv;
}

/* redis_conn_why - a context's error, naming timeouts as such */
void
redis_conn_why(const redisContext *c, int saved_errno, const char *what,
    unsigned command_ms, char *err, size_t errlen)
{
	if (c->err == REDIS_ERR_IO && (saved_errno == EAGAIN ||
	    saved_errno == EWOULDBLOCK || saved_errno == ETIMEDOUT ||
	    strstr(c->errstr, "timed out") != NULL ||
	    strstr(c->errstr, "temporarily unavailable") != NULL)) {
		if (strcmp(what, "connect") == 0)
			snprintf(err, errlen, "timeout");
		else
			snprintf(err, errlen, "timeout (%u ms)", command_ms);
		return;
	}
	snprintf(err, errlen, "%s", c->errstr[0] ? c->errstr :
	    "connection failed");
}

/* auth - AUTH [user] password; 0, or -1 with err */
static int
auth(redisContext *c, const struct redis_conn_opts *o, char *err,
    size_t errlen)
{
	const char *argv[3];
	size_t argvlen[3];
	redisReply *r;
	int argc = 0, e;

	argv[argc++] = "AUTH";
	if (o->username != NULL)
		argv[argc++] = o->username;
	argv[argc++] = o->password;
	for (e = 0; e < argc; e++)
		argvlen[e] = strlen(argv[e]);
	errno = 0;
	r = redisCommandArgv(c, argc, argv, argvlen);
	e = errno;
	if (r != NULL && r->type == REDIS_REPLY_STATUS) {
		freeReplyObject(r);
		return 0;
	}
	if (r == NULL)
		redis_conn_why(c, e, "AUTH", o->command_timeout_ms, err,
		    errlen);
	else
		snprintf(err, errlen, "%s", r->type == REDIS_REPLY_ERROR ?
		    r->str : "unexpected reply");
	if (r != NULL)
		freeReplyObject(r);
	return -1;
}

/* role - does this connection reach the primary (ROLE)? 0, or -1 */
static int
role(redisContext *c, const struct redis_conn_opts *o, char *err,
    size_t errlen)
{
	redisReply *r;
	int e, rc = -1;

	errno = 0;
	r = redisCommand(c, "ROLE");
	e = errno;
	if (r == NULL)
		redis_conn_why(c, e, "ROLE", o->command_timeout_ms, err,
		    errlen);
	else if (!sentinel_role_master(r))
		snprintf(err, errlen, "%s", r->type == REDIS_REPLY_ERROR ?
		    r->str : "not the primary (a replica, or failing over)");
	else
		rc = 0;
	if (r != NULL)
		freeReplyObject(r);
	return rc;
}

/* redis_conn_open - connect, timeouts, close-on-exec, AUTH, ROLE */
redisContext *
redis_conn_open(const struct redis_conn_opts *o, const char **what,
    char *err, size_t errlen)
{
	redisContext *c;
	int e;

	*what = "connect";
	errno = 0;
	if (o->unix_path != NULL)
		c = redisConnectUnixWithTimeout(o->unix_path,
		    redis_conn_tv(o->connect_timeout_ms));
	else
		c = redisConnectWithTimeout(o->host, o->port,
		    redis_conn_tv(o->connect_timeout_ms));
	e = errno;
	if (c == NULL) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		return NULL;
	}
	if (c->err) {
		redis_conn_why(c, e, "connect", o->command_timeout_ms, err,
		    errlen);
		goto fail;
	}
	(void)cloexec_set(c->fd);	/* hiredis 0.14 does not */
	if (redisSetTimeout(c, redis_conn_tv(o->command_timeout_ms)) != REDIS_OK) {
		snprintf(err, errlen, "cannot set the command timeout");
		goto fail;
	}
	*what = "AUTH";
	if (o->password != NULL && auth(c, o, err, errlen) == -1)
		goto fail;
	*what = "ROLE";
	if (o->role_check && role(c, o, err, errlen) == -1)
		goto fail;
	return c;
fail:
	redisFree(c);
	return NULL;
}

/* redis_conn_store_opts - struct config to struct store_redis_opts */
void
redis_conn_store_opts(const struct config *cfg, const char *password,
    const char *sentinel_password, struct store_redis_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->host = cfg->redis_host;
	o->port = cfg->redis_port;
	o->unix_path = cfg->redis_socket;
	o->password = password;
	o->username = cfg->redis_username;
	o->prefix = cfg->redis_prefix;
	o->connect_timeout_ms = cfg->redis_connect_timeout_ms;
	o->command_timeout_ms = cfg->redis_command_timeout_ms;
	o->pool_max = cfg->redis_pool;
	o->wait_replicas = cfg->redis_wait_replicas;
	o->cluster = cfg->redis_cluster;
	o->sentinels = cfg->redis_sentinels;
	o->sentinel_master = cfg->redis_sentinel_master;
	o->sentinel_password = sentinel_password;
}
