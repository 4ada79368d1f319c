/*
 * tcpconn.c - no delayed-ACK stall on TCP milter connections.
 *
 * Over TCP, two small writes in a row wait on a delayed ACK (about 40 ms
 * on Linux), twice per message through a real MTA:
 * - the MTA writes each stage's macro packet and then its command as two
 *   writes; a milter never answers a macro packet, so its kernel delays
 *   the ACK and the MTA's command waits on the MTA's Nagle;
 * - at end of message sluice writes the inserted hop-marker header and
 *   then the reply; the reply waits on sluice's Nagle for the MTA's
 *   delayed ACK of the header.
 * So sluice's side of each TCP milter connection sends at once
 * (TCP_NODELAY, set when the connection is accepted) and acknowledges at
 * once (TCP_QUICKACK, set at accept and again after every reply sluice
 * writes). Linux delays ACKs only in its "pingpong" (interactive) mode,
 * which it enters when the socket sends data soon after receiving, that
 * is, at each reply; TCP_QUICKACK leaves that mode, and out of it the
 * kernel ACKs a small segment as soon as sluice reads it. Nothing but a
 * send enters the mode again, so once per reply is enough: a read costs
 * no system call more (before and after every read, as this file first
 * did, cost four per packet, about 90 a message through Postfix).
 *
 * How: libmilter accepts, reads and closes the MTA's connections itself
 * and never hands out their descriptors. sluice links Debian's static
 * libmilter.a with the linker's --wrap=accept,--wrap=writev,--wrap=close
 * (CMakeLists.txt, SLUICE_TCP_WRAP), so libmilter's own calls of
 * accept(2), writev(2) (every reply, comm.c) and close(2) come here
 * first. This keeps libmilter
 * the engine, unchanged, and touches nothing else: only descriptors that
 * accept(2) returned for a TCP peer are marked, in a bitmap indexed by
 * descriptor; every other writev and close costs one atomic load more. A
 * preloaded library would do the same for any process; this is explicit,
 * in the one binary, and checked at start-up (tcpconn_selftest).
 *
 * Thread-safe: the bitmap is atomic; a descriptor is marked by the thread
 * that accepted it and unmarked by the one that closes it.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "tcpconn.h"

#ifndef SLUICE_TCP_WRAP		/* 1: linked with libmilter.a and --wrap */
#define SLUICE_TCP_WRAP	0
#endif

#define MARK_FDS	(1u << 20)	/* descriptors tracked: 128 KiB bitmap */
#define WORD_BITS	64u

static _Atomic uint64_t marked[MARK_FDS / WORD_BITS];
static _Atomic int first_errno;		/* first setsockopt failure */
static atomic_flag errno_told = ATOMIC_FLAG_INIT;

int	 __real_accept(int, struct sockaddr *, socklen_t *);
ssize_t	 __real_writev(int, const struct iovec *, int);
int	 __real_close(int);
int	 __wrap_accept(int, struct sockaddr *, socklen_t *);
ssize_t	 __wrap_writev(int, const struct iovec *, int);
int	 __wrap_close(int);

/* mark - record fd as a TCP milter connection, or not */
static void
mark(int fd, int on)
{
	uint64_t bit;

	if (fd < 0 || (unsigned)fd >= MARK_FDS)
		return;
	bit = (uint64_t)1 << ((unsigned)fd % WORD_BITS);
	if (on)
		atomic_fetch_or_explicit(&marked[(unsigned)fd / WORD_BITS],
		    bit, memory_order_relaxed);
	else
		atomic_fetch_and_explicit(&marked[(unsigned)fd / WORD_BITS],
		    ~bit, memory_order_relaxed);
}

/* is_marked - whether fd was accepted as a TCP milter connection */
static int
is_marked(int fd)
{
	if (fd < 0 || (unsigned)fd >= MARK_FDS)
		return 0;
	return (atomic_load_explicit(&marked[(unsigned)fd / WORD_BITS],
	    memory_order_relaxed) >> ((unsigned)fd % WORD_BITS)) & 1;
}

/* note_failure - remember the first errno a socket option failed with */
static void
note_failure(int e)
{
	int zero = 0;

	atomic_compare_exchange_strong(&first_errno, &zero, e);
}

/* quickack - acknowledge at once (each send clears it again: re-armed) */
static void
quickack(int fd)
{
	int one = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
}

/* tune - set up a just accepted descriptor; marks it if TCP */
static void
tune(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int one = 1;

	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1 ||
	    (ss.ss_family != AF_INET && ss.ss_family != AF_INET6)) {
		mark(fd, 0);
		return;
	}
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) ==
	    -1 || setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one,
	    sizeof(one)) == -1)
		note_failure(errno);
	mark(fd, 1);
}

/* __wrap_accept - libmilter's accept(2): close-on-exec, tune what it returns */
int
__wrap_accept(int fd, struct sockaddr *sa, socklen_t *len)
{
	int c, e;

	c = __real_accept(fd, sa, len);
	if (c >= 0) {
		e = errno;
		/* no hook program inherits an MTA connection */
		(void)fcntl(c, F_SETFD, FD_CLOEXEC);
		tune(c);
		errno = e;
	}
	return c;
}

/* __wrap_writev - libmilter's replies: out of delayed-ACK mode after each */
ssize_t
__wrap_writev(int fd, const struct iovec *iov, int iovcnt)
{
	ssize_t r;
	int e;

	r = __real_writev(fd, iov, iovcnt);
	if (r > 0 && is_marked(fd)) {
		e = errno;
		quickack(fd);
		errno = e;
	}
	return r;
}

/* __wrap_close - close(2): forget the descriptor first */
int
__wrap_close(int fd)
{
	mark(fd, 0);
	return __real_close(fd);
}

/* tcpconn_spec_is_tcp - 1 if a libmilter socket spec is inet: or inet6: */
int
tcpconn_spec_is_tcp(const char *spec)
{
	return spec != NULL && (strncmp(spec, "inet:", 5) == 0 ||
	    strncmp(spec, "inet6:", 6) == 0);
}

/* tcpconn_failed - the first setsockopt errno, reported once */
int
tcpconn_failed(void)
{
	int e = atomic_load_explicit(&first_errno, memory_order_relaxed);

	if (e == 0 || atomic_flag_test_and_set(&errno_told))
		return 0;
	return e;
}

/* option_on - whether a TCP option reads back as set */
static int
option_on(int fd, int opt)
{
	int v = 0;
	socklen_t len = sizeof(v);

	return getsockopt(fd, IPPROTO_TCP, opt, &v, &len) == 0 && v != 0;
}

/* probe - connect to ourselves on loopback and accept it as libmilter
 * does; -1 with err if the accepted side lacks either option */
static int
probe(int lfd, char *err, size_t errlen)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int cfd = -1, afd = -1, rc = -1;

	if (getsockname(lfd, (struct sockaddr *)&sin, &len) == -1 ||
	    (cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(cfd, (struct sockaddr *)&sin, len) == -1 ||
	    (afd = accept(lfd, NULL, NULL)) == -1)
		snprintf(err, errlen, "loopback probe: %s", strerror(errno));
	else if (!option_on(afd, TCP_NODELAY))
		snprintf(err, errlen, "TCP_NODELAY is not set on an accepted "
		    "connection%s", first_errno ? ": setsockopt failed" :
		    " (built without the libmilter.a wrap)");
	else if (!option_on(afd, TCP_QUICKACK))
		snprintf(err, errlen, "TCP_QUICKACK is not set on an "
		    "accepted connection");
	else
		rc = 0;
	if (afd != -1)
		close(afd);
	if (cfd != -1)
		close(cfd);
	return rc;
}

/* tcpconn_selftest - check the options take effect on this host */
int
tcpconn_selftest(char *err, size_t errlen)
{
	struct sockaddr_in sin;
	int lfd, rc;

	if (!SLUICE_TCP_WRAP) {
		snprintf(err, errlen, "built without the static libmilter "
		    "(libmilter.a): libmilter's accept is not wrapped");
		return -1;
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(lfd, 1) == -1) {
		snprintf(err, errlen, "loopback probe: %s", strerror(errno));
		if (lfd != -1)
			close(lfd);
		return -1;
	}
	rc = probe(lfd, err, errlen);
	close(lfd);
	/* the probe's failure is told here, not again at a connection */
	if (rc == -1)
		(void)tcpconn_failed();
	return rc;
}
