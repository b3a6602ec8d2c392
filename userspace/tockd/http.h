/* SPDX-License-Identifier: MIT */
/*
 * tockd's Prometheus listener (`metrics ADDR:PORT`): a tiny HTTP/1.0 server driven by the
 * main thread's poll loop. Non-blocking, one request per connection, GET /metrics only, the
 * request bounded to HTTP_MAX_REQUEST bytes and the whole connection to HTTP_DEADLINE_MS,
 * at most HTTP_MAX_CONNS connections at once (more are closed on accept). Nothing here
 * knows about counters: the body comes from a callback.
 */
#ifndef TOCKD_HTTP_H
#define TOCKD_HTTP_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"

#define HTTP_MAX_CONNS   16
#define HTTP_MAX_REQUEST 4096
#define HTTP_DEADLINE_MS 5000

/* Returns a malloc'd body of *len bytes (NULL: answer 500). */
typedef char *(*http_body_fn)(void *arg, size_t *len);

struct http_conn {
	int fd;           /* -1: slot free */
	int pidx;         /* its entry in the last pollfd array, -1 if none */
	int64_t deadline; /* CLOCK_MONOTONIC ms */
	size_t in_len;
	char in[HTTP_MAX_REQUEST];
	char *out; /* the whole response, once the request is complete */
	size_t out_len, out_off;
	int draining; /* response sent and our side shut: reading until the client closes */
};

struct http_server {
	int fd; /* listening socket, -1 when off */
	http_body_fn body;
	void *arg;
	uint64_t requests, refused; /* answered with 200; closed for lack of a slot */
	struct http_conn conns[HTTP_MAX_CONNS];
};

/* Marks h as off (call before anything else). */
void http_init(struct http_server *h);

/* Binds and listens on addr. 0 or -errno. */
int http_open(struct http_server *h, const struct conf_addr *addr, http_body_fn body, void *arg);

/* Appends the listening socket and the connections to p (room for HTTP_MAX_CONNS + 1).
 * Returns the number of entries added. */
int http_pollfds(struct http_server *h, struct pollfd *p);

/* Handles the events of the entries http_pollfds added at p (base of that call), accepts
 * new connections and closes the ones past their deadline. */
void http_serve(struct http_server *h, const struct pollfd *p, int64_t now_ms);

/* Closes every connection and the listening socket. */
void http_close(struct http_server *h);

#endif
