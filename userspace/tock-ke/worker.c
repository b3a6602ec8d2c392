// SPDX-License-Identifier: MIT
/*
 * A KE worker thread: one epoll set over its listening sockets and its connections, each
 * connection a small state machine
 *
 *   IDLE (accepted, nothing read yet) → HANDSHAKE → READ → WRITE → SHUTDOWN → DRAIN → closed
 *
 * with one deadline for the whole session (ntstimeout). Every connection gets the same
 * timeout when it is accepted, so appending to a list keeps it sorted by deadline: expiry
 * looks at the head only, and insert/remove are O(1) with no timer per connection.
 *
 * The TLS object is made when the connection is accepted, which with TCP_DEFER_ACCEPT is
 * when its first bytes have arrived; connections that never send stay in the kernel until
 * the defer timeout (ntstimeout) and only then cost a TLS object here. At the connection cap, the
 * oldest connection of this thread that is stalled before the end of its handshake makes room for
 * the new one; when there is none, the new one is refused.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ke.h"
#include "ke_proto.h"
#include "log.h"
#include "rand.h"
#include "tls.h"

#define MAX_EVENTS   64
#define ACCEPT_BATCH 64  /* accepts per readiness event, so one listener cannot starve */
#define TICK_MS      200 /* longest sleep: the stop flag is checked this often */
#define REQ_START    512
#define RESP_CAP     2048
#define EVICT_SCAN   32 /* eviction candidates looked at from the oldest end */

enum conn_state { CS_IDLE, CS_HANDSHAKE, CS_READ, CS_WRITE, CS_SHUTDOWN, CS_DRAIN, CS_CLOSED };

enum item_kind { ITEM_LISTENER, ITEM_CONN };

/* The head of everything registered in epoll: a listener or a connection. */
struct ep_item {
	enum item_kind kind;
	int fd;
};

struct conn {
	struct ep_item item;
	enum conn_state state;
	uint32_t events; /* epoll mask now registered */
	int64_t deadline;
	struct conn *prev, *next;
	struct ke_tls_conn *tls;
	uint8_t *req;
	size_t req_len, req_cap;
	uint8_t *resp;
	size_t resp_len;
};

struct worker {
	struct ke_server *srv;
	int index;
	int epfd;
	struct ep_item *listeners;
	struct conn *head, *tail; /* by deadline, oldest first */
	struct conn *dead;        /* closed during this epoll batch, freed after it */
	struct ke_sealer sealer;
	struct rand_pool rp;
};

int64_t ke_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void list_append(struct worker *w, struct conn *c)
{
	c->prev = w->tail;
	c->next = NULL;
	if (w->tail)
		w->tail->next = c;
	else
		w->head = c;
	w->tail = c;
}

static void list_remove(struct worker *w, struct conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		w->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		w->tail = c->prev;
}

/* Releases everything but the struct itself: events for it may still sit in the batch
 * epoll_wait returned (an eviction closes another connection), so it is freed after. */
static void conn_close(struct worker *w, struct conn *c)
{
	list_remove(w, c);
	ke_tls_conn_free(c->tls);
	c->tls = NULL;
	close(c->item.fd); /* also removes it from the epoll set */
	if (c->req)
		explicit_bzero(c->req, c->req_cap);
	free(c->req);
	free(c->resp);
	c->req = c->resp = NULL;
	c->state = CS_CLOSED;
	c->next = w->dead;
	w->dead = c;
	atomic_fetch_sub_explicit(&w->srv->n_conns, 1, memory_order_relaxed);
}

static void free_dead(struct worker *w)
{
	struct conn *c;

	while ((c = w->dead)) {
		w->dead = c->next;
		free(c);
	}
}

/* Registers the events the state machine waits for, if they changed. */
static int conn_want(struct worker *w, struct conn *c, int want)
{
	struct epoll_event ev = {.data.ptr = c};

	ev.events = want == KE_TLS_WANT_WRITE ? EPOLLOUT : EPOLLIN;
	if (ev.events == c->events)
		return 0;
	c->events = ev.events;
	return epoll_ctl(w->epfd, EPOLL_CTL_MOD, c->item.fd, &ev) < 0 ? -errno : 0;
}

static int conn_start_tls(struct worker *w, struct conn *c)
{
	struct ke_tls_server *s = ke_server_tls(w->srv);
	int err = ke_tls_conn_new(s, c->item.fd, &c->tls);

	ke_tls_server_put(s);
	if (!err)
		c->state = CS_HANDSHAKE;
	return err;
}

static int conn_handshake(struct worker *w, struct conn *c)
{
	int ret = ke_tls_handshake(c->tls);

	if (ret == 0)
		c->state = CS_READ;
	else if (ret < 0)
		ke_count(w->srv, KE_STAT_HANDSHAKE_FAILED, 1);
	return ret;
}

/* Makes room for at least one more request byte, up to KE_MAX_REQUEST. */
static int req_grow(struct conn *c)
{
	size_t cap = c->req_cap ? 2 * c->req_cap : REQ_START;
	uint8_t *p;

	if (c->req_len < c->req_cap)
		return 0;
	if (cap > KE_MAX_REQUEST)
		cap = KE_MAX_REQUEST;
	if (cap <= c->req_cap)
		return -EMSGSIZE; /* cannot happen: the parser refuses a full buffer */
	p = realloc(c->req, cap);
	if (!p)
		return -ENOMEM;
	c->req = p;
	c->req_cap = cap;
	return 0;
}

/* Reads what is there and answers once the request is complete. */
static int conn_read(struct worker *w, struct conn *c)
{
	size_t got;
	int ret = req_grow(c);

	if (!ret)
		ret = ke_tls_read(c->tls, c->req + c->req_len, c->req_cap - c->req_len, &got);
	if (ret)
		return ret;
	c->req_len += got;
	if (!c->resp && !(c->resp = malloc(RESP_CAP)))
		return -ENOMEM;
	ret = ke_session_answer(w->srv, c->tls, &w->sealer, &w->rp, c->req, c->req_len, c->resp,
	                        RESP_CAP);
	if (ret == -EAGAIN)
		return 0; /* read again: more may already be buffered */
	if (ret < 0)
		return ret;
	c->resp_len = (size_t)ret;
	c->state = CS_WRITE;
	ke_tls_hold(c->tls); /* pushed with the FIN by conn_shutdown() */
	return 0;
}

static int conn_write(struct conn *c)
{
	int ret = ke_tls_write(c->tls, c->resp, c->resp_len);

	if (ret == 0)
		c->state = CS_SHUTDOWN;
	return ret;
}

/* close_notify, then our FIN; the peer's remaining bytes are drained before close() so
 * that unread data does not turn our FIN into a RST that could destroy the response. The
 * peer has not answered yet this early: wait for it rather than try a read now. */
static int conn_shutdown(struct conn *c)
{
	int ret = ke_tls_shutdown(c->tls);

	if (ret)
		return ret;
	shutdown(c->item.fd, SHUT_WR);
	c->state = CS_DRAIN;
	return KE_TLS_WANT_READ;
}

static int conn_drain(struct conn *c)
{
	uint8_t buf[4096];
	ssize_t n;
	int i;

	for (i = 0; i < 4; i++) {
		n = recv(c->item.fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0)
			return -ECONNRESET; /* the peer closed: done */
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? KE_TLS_WANT_READ : -errno;
	}
	return KE_TLS_WANT_READ;
}

/* Runs the state machine until it has to wait (KE_TLS_WANT_*) or fails/ends (< 0). */
static int conn_step(struct worker *w, struct conn *c)
{
	int ret = 0;

	while (ret == 0) {
		switch (c->state) {
		case CS_IDLE:
			ret = conn_start_tls(w, c);
			break;
		case CS_HANDSHAKE:
			ret = conn_handshake(w, c);
			break;
		case CS_READ:
			ret = conn_read(w, c);
			break;
		case CS_WRITE:
			ret = conn_write(c);
			break;
		case CS_SHUTDOWN:
			ret = conn_shutdown(c);
			break;
		case CS_DRAIN:
			ret = conn_drain(c);
			break;
		case CS_CLOSED:
			return -EBADF;
		}
	}
	return ret;
}

static void conn_event(struct worker *w, struct conn *c)
{
	int ret;

	if (c->state == CS_CLOSED)
		return;
	ret = conn_step(w, c);

	if (ret > 0)
		ret = conn_want(w, c, ret);
	if (ret < 0)
		conn_close(w, c);
}

/*
 * At the cap: closes the oldest connection that has not finished its TLS handshake within
 * a quarter of the timeout (a real client needs about one round trip), so that a flood of
 * stalled connections cannot lock out new clients for the whole timeout. 1 if one closed.
 */
static int evict_stalled(struct worker *w, int64_t now)
{
	int64_t timeout = w->srv->timeout_ms;
	struct conn *c = w->head;
	int i;

	for (i = 0; c && i < EVICT_SCAN; i++, c = c->next) {
		if (now - (c->deadline - timeout) < timeout / 4)
			return 0; /* the list is by age: everyone further is younger */
		if (c->state == CS_IDLE || c->state == CS_HANDSHAKE) {
			conn_close(w, c);
			ke_count(w->srv, KE_STAT_EVICTED, 1);
			return 1;
		}
	}
	return 0;
}

/* Admission: the per-source rate, then the global cap. 0 to accept, or the counter that
 * records the refusal (never 0: that is KE_STAT_ACCEPTED). */
static int admit(struct worker *w, const struct sockaddr_storage *from, int64_t now)
{
	struct ke_server *srv = w->srv;

	if (srv->rl && !ke_ratelimit_allow(srv->rl, from, now))
		return KE_STAT_REFUSED_RATE;
	if (atomic_fetch_add_explicit(&srv->n_conns, 1, memory_order_relaxed) <
	    srv->conf->maxntsconnections)
		return 0;
	if (evict_stalled(w, now))
		return 0; /* its slot is now ours */
	atomic_fetch_sub_explicit(&srv->n_conns, 1, memory_order_relaxed);
	return KE_STAT_REFUSED_LIMIT;
}

static int conn_add(struct worker *w, int fd, int64_t now)
{
	struct conn *c = calloc(1, sizeof(*c));
	struct epoll_event ev = {.events = EPOLLIN};

	if (!c)
		return -ENOMEM;
	c->item.kind = ITEM_CONN;
	c->item.fd = fd;
	c->events = EPOLLIN;
	c->deadline = now + w->srv->timeout_ms;
	ev.data.ptr = c;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		free(c);
		return -errno;
	}
	list_append(w, c);
	return 0;
}

static void accept_one(struct worker *w, int fd, const struct sockaddr_storage *from)
{
	int64_t now = ke_now_ms();
	int refused = admit(w, from, now);

	if (refused) {
		ke_count(w->srv, refused, 1);
		close(fd);
		return;
	}
	if (conn_add(w, fd, now)) {
		close(fd);
		atomic_fetch_sub_explicit(&w->srv->n_conns, 1, memory_order_relaxed);
		LOG_RATELIMITED(10, LOG_ERR, "cannot track a new connection: out of memory");
		return;
	}
	ke_count(w->srv, KE_STAT_ACCEPTED, 1);
	/* TCP_DEFER_ACCEPT (listen.c) hands over a connection once its ClientHello is in, so
	 * start now rather than after another trip through epoll_wait. */
	conn_event(w, w->tail);
}

static void on_listener(struct worker *w, int lfd)
{
	struct sockaddr_storage from;
	socklen_t len;
	int i, fd;

	for (i = 0; i < ACCEPT_BATCH; i++) {
		len = sizeof(from);
		fd = accept4(lfd, (struct sockaddr *)&from, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != ECONNABORTED && errno != EINTR)
				LOG_RATELIMITED(10, LOG_WARNING, "accept: %s", strerror(errno));
			return;
		}
		accept_one(w, fd, &from);
	}
}

/* Closes every session past its deadline; returns how long to sleep (ms). */
static int expire(struct worker *w)
{
	int64_t now = ke_now_ms();

	while (w->head && w->head->deadline <= now) {
		if (w->head->state != CS_DRAIN)
			ke_count(w->srv, KE_STAT_TIMEOUTS, 1);
		conn_close(w, w->head);
	}
	if (!w->head || w->head->deadline - now > TICK_MS)
		return TICK_MS;
	return (int)(w->head->deadline - now);
}

static int worker_setup(struct worker *w)
{
	struct ke_server *srv = w->srv;
	struct epoll_event ev = {.events = EPOLLIN};
	int k;

	rand_pool_init(&w->rp);
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (w->epfd < 0)
		return -errno;
	w->listeners = calloc((size_t)srv->n_listen, sizeof(*w->listeners));
	if (!w->listeners)
		return -ENOMEM;
	for (k = 0; k < srv->n_listen; k++) {
		w->listeners[k].kind = ITEM_LISTENER;
		w->listeners[k].fd = srv->listen_fds[k * srv->n_threads + w->index];
		ev.data.ptr = &w->listeners[k];
		if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->listeners[k].fd, &ev) < 0)
			return -errno;
	}
	return 0;
}

static void worker_teardown(struct worker *w)
{
	while (w->head)
		conn_close(w, w->head);
	free_dead(w);
	ke_sealer_free(&w->sealer);
	explicit_bzero(&w->rp, sizeof(w->rp));
	free(w->listeners);
	if (w->epfd >= 0)
		close(w->epfd);
}

void *ke_worker_main(void *arg)
{
	struct ke_worker_arg *a = arg;
	struct worker w = {.srv = a->srv, .index = a->index, .epfd = -1};
	struct epoll_event ev[MAX_EVENTS];
	struct ep_item *it;
	int i, n, err;

	err = worker_setup(&w);
	if (err) {
		log_err("KE worker %d: setup failed: %s", w.index, strerror(-err));
		atomic_store(&w.srv->stop, 1);
	}
	while (!atomic_load_explicit(&w.srv->stop, memory_order_relaxed)) {
		n = epoll_wait(w.epfd, ev, MAX_EVENTS, expire(&w));
		for (i = 0; i < n; i++) {
			it = ev[i].data.ptr;
			if (it->kind == ITEM_LISTENER)
				on_listener(&w, it->fd);
			else
				conn_event(&w, (struct conn *)it);
		}
		free_dead(&w);
	}
	worker_teardown(&w);
	return NULL;
}
