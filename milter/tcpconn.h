/* tcpconn.h - no delayed-ACK stall on TCP milter connections */
#ifndef SLUICE_TCPCONN_H
#define SLUICE_TCPCONN_H

#include <stddef.h>

/* what an administrator can do where sluice cannot avoid the stall */
#define TCPCONN_HINT	"use a unix: socket, or set quickack on the " \
	"loopback route: ip route change local 127.0.0.1 dev lo table " \
	"local proto kernel scope host src 127.0.0.1 quickack 1"

/* tcpconn_spec_is_tcp - 1 if a libmilter socket spec is inet: or inet6: */
int		 tcpconn_spec_is_tcp(const char *spec);

/* tcpconn_selftest - -1 with err if accepted TCP connections would not
 * get TCP_NODELAY and TCP_QUICKACK (build without the wrap, or refused
 * by the kernel); checked on a throw-away loopback connection */
int		 tcpconn_selftest(char *err, size_t errlen);

/* tcpconn_failed - the first errno a setsockopt on an accepted
 * connection failed with, once (0 when none, or already reported) */
int		 tcpconn_failed(void);

#endif
