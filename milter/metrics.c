/*
 * metrics.c - the Prometheus endpoint: libmicrohttpd serves GET /metrics
 * on the loopback address of metrics_listen, the page made by
 * lib/metrics.c from the counters in sluice_metrics and the store's own
 * breaker statistics.
 *
 * libmicrohttpd serves every scraper from one thread of its own (a
 * scrape is small and rare), polling with epoll rather than select: with a
 * thousand milter connections open, a scraper's descriptor is above
 * FD_SETSIZE. It is started after the daemon has forked and blocked its
 * signals, so that thread inherits the mask and never takes SIGTERM from
 * libmilter. At most METRICS_CONNS scrapers at once, each given
 * METRICS_TIMEOUT seconds.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "metrics.h"
#include "sluice.h"

#define METRICS_CONNS	8	/* scrapers at once */
#define METRICS_TIMEOUT	10	/* seconds a scraper may take */
#define METRICS_PAGE	8192	/* first guess at the page's size */

#if MHD_VERSION < 0x00097002
typedef int MHD_RESULT;
#else
typedef enum MHD_Result MHD_RESULT;
#endif

struct metrics sluice_metrics;

static struct MHD_Daemon *mhd;

/* page - the metrics text, malloc'ed; NULL when out of memory */
static char *
page(size_t *lenp)
{
	struct store_guard_stats gs;
	struct metrics_store_state st;
	size_t len = METRICS_PAGE, need;
	char *buf = NULL, *nb;

	store_guard_stats(rt.store, &gs);
	memset(&st, 0, sizeof(st));
	st.breaker = (int)gs.state;
	st.errors = gs.errors;
	st.fallbacks = gs.fallbacks;
	st.opened = gs.opened;
	for (;;) {
		if ((nb = realloc(buf, len)) == NULL) {
			free(buf);
			return NULL;
		}
		buf = nb;
		need = metrics_format(&sluice_metrics, &st, SLUICE_VERSION, buf,
		    len);
		if (need < len)
			break;
		len = need + 1;
	}
	*lenp = need;
	return buf;
}

/* reply - queue a response with a body and a status */
static MHD_RESULT
reply(struct MHD_Connection *conn, unsigned status, const char *type,
    char *body, size_t len, enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *r;
	MHD_RESULT rc;

	r = MHD_create_response_from_buffer(len, body, mode);
	if (r == NULL) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	rc = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return rc;
}

/* handle - one request: GET (or HEAD) /metrics, nothing else */
static MHD_RESULT
handle(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_len, void **state)
{
	static char notfound[] = "not found: try /metrics\n";
	static char badmethod[] = "only GET\n";
	static int first;
	char *body;
	size_t len;

	(void)cls;
	(void)version;
	(void)upload;
	if (*state == NULL) {		/* headers only so far: go on */
		*state = &first;
		return MHD_YES;
	}
	if (*upload_len != 0) {
		*upload_len = 0;	/* a body we ignore */
		return MHD_YES;
	}
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
	    strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain",
		    badmethod, strlen(badmethod), MHD_RESPMEM_PERSISTENT);
	if (strcmp(url, "/metrics") != 0)
		return reply(conn, MHD_HTTP_NOT_FOUND, "text/plain", notfound,
		    strlen(notfound), MHD_RESPMEM_PERSISTENT);
	if ((body = page(&len)) == NULL)
		return MHD_NO;
	return reply(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; "
	    "charset=utf-8", body, len, MHD_RESPMEM_MUST_FREE);
}

/* metrics_start - serve the page on cfg's metrics_listen; -1 with err */
int
metrics_start(const struct config *cfg, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)(void *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)(void *)&ss;
	unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD;

	if (cfg->metrics_host == NULL)
		return 0;
	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, cfg->metrics_host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)cfg->metrics_port);
	} else if (inet_pton(AF_INET6, cfg->metrics_host, &s6->sin6_addr) ==
	    1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)cfg->metrics_port);
		flags |= MHD_USE_IPv6;
	} else {
		snprintf(err, errlen, "metrics_listen: bad address %s",
		    cfg->metrics_host);
		return -1;
	}
	metrics_enable(&sluice_metrics, 1);
	mhd = MHD_start_daemon(flags, (uint16_t)cfg->metrics_port, NULL, NULL,
	    handle, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)METRICS_CONNS,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)METRICS_TIMEOUT,
	    MHD_OPTION_END);
	if (mhd == NULL) {
		metrics_enable(&sluice_metrics, 0);
		snprintf(err, errlen, "metrics_listen %s%s%s:%d: cannot listen "
		    "(address in use?)", s6->sin6_family == AF_INET6 ? "[" : "",
		    cfg->metrics_host, s6->sin6_family == AF_INET6 ? "]" : "",
		    cfg->metrics_port);
		return -1;
	}
	return 0;
}

/* metrics_stop - stop serving; nothing to do when it never started */
void
metrics_stop(void)
{
	if (mhd != NULL)
		MHD_stop_daemon(mhd);
	mhd = NULL;
}
