/* sentinel.h - finding the Redis primary through Redis Sentinel */
#ifndef SLUICE_SENTINEL_H
#define SLUICE_SENTINEL_H

#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#define SENTINEL_MAX		16	/* sentinels in one list */
#define SENTINEL_HOST_MAX	255	/* host name or address, without NUL */
#define SENTINEL_NAME_MAX	64	/* master name, without NUL */

struct sentinel_addr {
	char		 host[SENTINEL_HOST_MAX + 1];	/* no brackets */
	int		 port;		/* 1..65535; 0: none */
};

struct sentinel_opts {
	const struct sentinel_addr *sentinels;	/* borrowed */
	size_t		 nsentinels;
	const char	*master;	/* the name the sentinels monitor */
	const char	*password;	/* sentinel AUTH, or NULL */
	unsigned	 timeout_ms;	/* connect and command, per sentinel */
};

/* sentinel_parse_list - "host:port, [v6]:port ..." into out; count or -1 */
int	sentinel_parse_list(const char *, struct sentinel_addr *out,
	    size_t max, char *err, size_t errlen);

/* sentinel_master_reply - a get-master-addr-by-name reply: 1 address,
 * 0 master unknown (nil), -1 garbled */
int	sentinel_master_reply(const redisReply *, struct sentinel_addr *);

/* sentinel_role_master - does a ROLE reply say "master"? */
int	sentinel_role_master(const redisReply *);

/* sentinel_due - may we ask the sentinels again, last asked at last_ms? */
int	sentinel_due(uint64_t now_ms, uint64_t last_ms, uint64_t every_ms);

/* sentinel_addr_text - "host:port" or "[v6]:port" into out */
const char *sentinel_addr_text(const struct sentinel_addr *, char *out,
	    size_t outlen);

/* sentinel_discover - ask each sentinel in turn for the primary; 0 with
 * *a filled, -1 with err naming what each sentinel said */
int	sentinel_discover(const struct sentinel_opts *,
	    struct sentinel_addr *a, char *err, size_t errlen);

#endif
