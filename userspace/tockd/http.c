// SPDX-License-Identifier: MIT
/*
 * The Prometheus listener (see http.h). Each connection reads one request up to the blank
 * line that ends its header, gets one complete response (built at once, so a slow reader
 * costs memory for one body, never a second render). After it was written our side is shut
 * and whatever the client still sends is read and dropped until it closes — closing with
 * unread data would reset the connection and could destroy the response in flight. A
 * client that is too slow, sends too much or never finishes meets the deadline or the size
 * bound; nothing it sends is logged.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "log.h"
#include "metrics.h"

void http_init(struct http_server *h)
{
	memset(h, 0, sizeof(*h));
	h->fd = -1;
	for (int i = 0; i < HTTP_MAX_CONNS; i++)
		h->conns[i].fd = -1;
}

int http_open(struct http_server *h, const struct conf_addr *addr, http_body_fn body, void *arg)
{
	int one = 1, fd, err;

	fd = socket(addr->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&addr->ss, addr->len) < 0 ||
	    listen(fd, HTTP_MAX_CONNS) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	h->fd = fd;
	h->body = body;
	h->arg = arg;
	return 0;
}

static void conn_close(struct http_conn *c)
{
	close(c->fd);
	free(c->out);
	c->fd = -1;
	c->out = NULL;
	c->in_len = c->out_len = c->out_off = 0;
	c->draining = 0;
}

int http_pollfds(struct http_server *h, struct pollfd *p)
{
	int n = 0;

	if (h->fd < 0)
		return 0;
	p[n++] = (struct pollfd){.fd = h->fd, .events = POLLIN};
	for (int i = 0; i < HTTP_MAX_CONNS; i++) {
		struct http_conn *c = &h->conns[i];

		c->pidx = -1;
		if (c->fd < 0)
			continue;
		c->pidx = n;
		p[n++] = (struct pollfd){.fd = c->fd, .events = c->out ? POLLOUT : POLLIN};
	}
	return n;
}

/* The complete response with a status line and the usual headers, or NULL. */
static char *response(const char *status, const char *type, const char *body, size_t body_len,
                      size_t *len)
{
	char head[256];
	int n = snprintf(head, sizeof(head),
	                 "HTTP/1.0 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
	                 "Connection: close\r\n\r\n",
	                 status, type, body_len);
	char *out = malloc((size_t)n + body_len);

	if (!out)
		return NULL;
	memcpy(out, head, (size_t)n);
	memcpy(out + n, body, body_len);
	*len = (size_t)n + body_len;
	return out;
}

static char *error_response(const char *status, size_t *len)
{
	char body[64];
	int n = snprintf(body, sizeof(body), "%s\n", status);

	return response(status, "text/plain; charset=utf-8", body, (size_t)n, len);
}

/* "GET /metrics HTTP/1.x" (a query string is ignored); anything else is an error. */
static char *answer(struct http_server *h, const char *req, size_t *len)
{
	static const char path[] = "/metrics";
	char *body, *out;
	size_t blen;

	if (strncmp(req, "GET ", 4) != 0)
		return error_response("405 Method Not Allowed", len);
	req += 4;
	if (strncmp(req, path, sizeof(path) - 1) != 0 || !strchr(" ?", req[sizeof(path) - 1]))
		return error_response("404 Not Found", len);
	body = h->body(h->arg, &blen);
	if (!body)
		return error_response("500 Internal Server Error", len);
	out = response("200 OK", METRICS_CONTENT_TYPE, body, blen, len);
	free(body);
	if (out)
		h->requests++;
	return out;
}

/* Where the request header ends (its blank line), or NULL while it is incomplete. */
static const char *header_end(const struct http_conn *c)
{
	const char *e = memmem(c->in, c->in_len, "\r\n\r\n", 4);

	return e ? e : memmem(c->in, c->in_len, "\n\n", 2);
}

/* Reads what arrived; once the header is complete (or too long) prepares the response. */
static void conn_read(struct http_server *h, struct http_conn *c)
{
	ssize_t n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - 1 - c->in_len, 0);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_close(c);
		return;
	}
	c->in_len += (size_t)n;
	c->in[c->in_len] = 0;
	if (header_end(c))
		c->out = answer(h, c->in, &c->out_len);
	else if (c->in_len == sizeof(c->in) - 1)
		c->out = error_response("431 Request Header Fields Too Large", &c->out_len);
	else
		return;
	if (!c->out)
		conn_close(c);
}

static void conn_write(struct http_conn *c)
{
	ssize_t n =
	    send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0)
		c->out_off += (size_t)n;
	if (n <= 0) {
		conn_close(c);
	} else if (c->out_off == c->out_len) {
		shutdown(c->fd, SHUT_WR);
		free(c->out);
		c->out = NULL;
		c->draining = 1;
	}
}

/* Discards what the client still sends after the response; closes at its end. */
static void conn_drain(struct http_conn *c)
{
	char buf[HTTP_MAX_REQUEST];
	ssize_t n = recv(c->fd, buf, sizeof(buf), 0);

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
		conn_close(c);
}

/* Takes every waiting connection; beyond the limit they are closed at once. */
static void accept_all(struct http_server *h, int64_t now_ms)
{
	for (int k = 0; k < 2 * HTTP_MAX_CONNS; k++) {
		int fd = accept4(h->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), i;

		if (fd < 0)
			return;
		for (i = 0; i < HTTP_MAX_CONNS && h->conns[i].fd >= 0; i++)
			;
		if (i == HTTP_MAX_CONNS) {
			h->refused++;
			close(fd);
			continue;
		}
		h->conns[i].fd = fd;
		h->conns[i].pidx = -1;
		h->conns[i].deadline = now_ms + HTTP_DEADLINE_MS;
	}
}

void http_serve(struct http_server *h, const struct pollfd *p, int64_t now_ms)
{
	if (h->fd < 0)
		return;
	for (int i = 0; i < HTTP_MAX_CONNS; i++) {
		struct http_conn *c = &h->conns[i];
		short ev = c->fd >= 0 && c->pidx >= 0 ? p[c->pidx].revents : 0;

		if (ev & (POLLERR | POLLHUP | POLLNVAL) && !(ev & POLLIN))
			conn_close(c);
		else if (ev && c->draining)
			conn_drain(c);
		else if (ev && !c->out)
			conn_read(h, c);
		else if (ev && c->out)
			conn_write(c);
		if (c->fd >= 0 && now_ms >= c->deadline)
			conn_close(c);
	}
	if (p[0].revents & POLLIN)
		accept_all(h, now_ms);
}

void http_close(struct http_server *h)
{
	for (int i = 0; i < HTTP_MAX_CONNS; i++)
		if (h->conns[i].fd >= 0)
			conn_close(&h->conns[i]);
	if (h->fd >= 0)
		close(h->fd);
	h->fd = -1;
}
