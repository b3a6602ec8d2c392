// SPDX-License-Identifier: MIT
/*
 * Both worker transports — io_uring multishot recvmsg and the recvmmsg/sendmmsg fallback —
 * driven through the transport table on real UDP sockets on loopback, with the same checks:
 *   - a batch from many source sockets arrives with its payload, peer address, a kernel
 *     receive timestamp and the destination address; replies leave from that address;
 *   - a datagram over TRANSPORT_PKT_MAX is counted and never passed on cut; so is cut
 *     control data (the packet is still served, with a stamp of the daemon's own);
 * and for io_uring, a multishot request that ends — for lack of provided buffers, or
 * because the completion queue overflowed — is re-armed and no datagram is lost.
 * Ephemeral ports on 127.0.0.1, 127.0.0.2 and ::1; no root needed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "transport.h"

#define T_NAME      "test_transport"
#define N_CLIENTS   24
#define REQ_LEN     48
#define DEADLINE_MS 3000
#define MAX_TRACK   512 /* datagrams one test tracks */

/* The two wildcard server sockets every transport under test serves: [0] IPv4, [1] IPv6. */
struct server {
	int fd[2];
	int n; /* 1 when IPv6 is unavailable here */
	uint16_t port[2];
};

struct client {
	int fd;
	int family;
	struct sockaddr_storage dst;  /* the server address it sends to */
	struct sockaddr_storage self; /* its own address: what the server must see as peer */
	int reqs, replies;
};

/* What a test expects from one pump of the transport. */
struct expect {
	struct client *cl;
	int n_cl;
	enum tock_ts_source want_src; /* every packet must carry it */
	int want_local;               /* pktinfo must name the destination address */
	struct timespec t0;           /* nothing was sent before this */
	uint32_t next_seq[N_CLIENTS];
	int seen;
	int bad_order;
};

static unsigned seed;
static unsigned lo_index;

static int64_t ts_ns(const struct timespec *ts)
{
	return ts->tv_sec * 1000000000LL + ts->tv_nsec;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts_ns(&ts) / 1000000;
}

/* Payload of request (id, seq): the pair, then bytes that follow from it and the seed. */
static void fill_payload(uint8_t *p, size_t len, uint32_t id, uint32_t seq)
{
	uint32_t x = id * 2654435761u ^ seq * 40503u ^ seed;

	for (size_t i = 0; i < len; i++) {
		x = x * 1103515245u + 12345u;
		p[i] = (uint8_t)(x >> 24);
	}
	memcpy(p, &id, 4);
	memcpy(p + 4, &seq, 4);
}

static int payload_ok(const uint8_t *p, size_t len, uint32_t *id, uint32_t *seq)
{
	uint8_t want[TRANSPORT_PKT_MAX + 1];

	if (len < 8 || len > sizeof(want))
		return 0;
	memcpy(id, p, 4);
	memcpy(seq, p + 4, 4);
	fill_payload(want, len, *id, *seq);
	return memcmp(want, p, len) == 0;
}

static void set_addr(struct sockaddr_storage *ss, int family, const char *ip, uint16_t port)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		inet_pton(AF_INET, ip, &a->sin_addr);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		inet_pton(AF_INET6, ip, &a->sin6_addr);
	}
}

static socklen_t ss_len(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
}

/* Same family, address and port (the IPv6 flow info and scope are not compared). */
static int same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;

		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;

	return x->sin6_port == y->sin6_port &&
	       !memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr));
}

/* Does pktinfo name the address dst (port aside)? */
static int local_is(const struct transport_local *l, const struct sockaddr_storage *dst)
{
	if (l->family != dst->ss_family || (unsigned)l->ifindex != lo_index)
		return 0;
	if (l->family == AF_INET)
		return l->addr.v4.s_addr == ((const struct sockaddr_in *)dst)->sin_addr.s_addr;
	return !memcmp(&l->addr.v6, &((const struct sockaddr_in6 *)dst)->sin6_addr,
	               sizeof(l->addr.v6));
}

static void big_rcvbuf(int fd)
{
	int size = 4 << 20;

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
}

/* A wildcard server socket set up the way tockd sets up its own. */
static int server_socket(int family, uint16_t *port)
{
	int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), on = 1;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (fd < 0)
		return -1;
	set_addr(&ss, family, family == AF_INET ? "0.0.0.0" : "::", 0);
	if ((family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) < 0) ||
	    transport_sockopts(fd, family) != TS_MODE_TIMESTAMPING ||
	    bind(fd, (struct sockaddr *)&ss, ss_len(&ss)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
		close(fd);
		return -1;
	}
	big_rcvbuf(fd);
	*port = ntohs(((struct sockaddr_in *)&ss)->sin_port); /* same offset in sockaddr_in6 */
	return fd;
}

/*
 * The kernel turns software receive stamps on for the whole host when the first socket asks
 * and off when the last one closes, both later from a work queue: a datagram that follows a
 * fresh socket's request closely can come unstamped. A socket that keeps asking for the
 * whole test, and a first stamped datagram seen on it, keep every check here deterministic.
 * Returns the socket, or -1 if no stamp came within the deadline.
 */
static int stamps_keeper(void)
{
	int64_t end = now_ms() + DEADLINE_MS;
	struct sockaddr_storage self;
	socklen_t len = sizeof(self);
	uint8_t ctl[TRANSPORT_CMSG_SPACE], buf[8] = {0};
	int fd = server_socket(AF_INET, &(uint16_t){0});

	if (fd < 0 || getsockname(fd, (struct sockaddr *)&self, &len) < 0)
		return -1;
	set_addr(&self, AF_INET, "127.0.0.1", ntohs(((struct sockaddr_in *)&self)->sin_port));
	while (now_ms() < end) {
		struct iovec iov = {buf, sizeof(buf)};
		struct msghdr m = {.msg_iov = &iov,
		                   .msg_iovlen = 1,
		                   .msg_control = ctl,
		                   .msg_controllen = sizeof(ctl)};
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		struct transport_pkt p;

		sendto(fd, buf, sizeof(buf), 0, (struct sockaddr *)&self, ss_len(&self));
		if (poll(&pfd, 1, 10) == 1 && recvmsg(fd, &m, 0) > 0) {
			transport_parse_cmsgs(&m, NULL, &p);
			if (p.meta.rx_source == TS_SRC_KERNEL)
				return fd;
		}
		usleep(10000);
	}
	close(fd);
	return -1;
}

static int server_open(struct server *srv)
{
	srv->fd[0] = server_socket(AF_INET, &srv->port[0]);
	srv->fd[1] = server_socket(AF_INET6, &srv->port[1]);
	srv->n = srv->fd[1] >= 0 ? 2 : 1;
	if (srv->fd[1] < 0)
		printf("%s: no IPv6 loopback here, IPv6 cases left out\n", T_NAME);
	return srv->fd[0] >= 0 ? 0 : -1;
}

static void server_close(struct server *srv)
{
	for (int i = 0; i < 2; i++)
		if (srv->fd[i] >= 0)
			close(srv->fd[i]);
}

/* Client i: IPv4 to 127.0.0.1 or 127.0.0.2, or IPv6 to ::1, from a loopback address. */
static int client_open(struct client *c, int i, const struct server *srv, int v6_ok)
{
	static const char *const dst4[] = {"127.0.0.1", "127.0.0.2"};
	int kind = v6_ok ? i % 3 : i % 2;
	socklen_t len = sizeof(c->self);

	memset(c, 0, sizeof(*c));
	c->family = kind == 2 ? AF_INET6 : AF_INET;
	if (kind == 2)
		set_addr(&c->dst, AF_INET6, "::1", srv->port[1]);
	else
		set_addr(&c->dst, AF_INET, dst4[kind], srv->port[0]);
	set_addr(&c->self, c->family, c->family == AF_INET ? "127.0.0.1" : "::1", 0);
	c->fd = socket(c->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || bind(c->fd, (struct sockaddr *)&c->self, ss_len(&c->self)) < 0 ||
	    getsockname(c->fd, (struct sockaddr *)&c->self, &len) < 0)
		return -1;
	big_rcvbuf(c->fd);
	return 0;
}

static int clients_open(struct client *cl, int n, const struct server *srv)
{
	for (int i = 0; i < n; i++)
		if (client_open(&cl[i], i, srv, srv->n == 2) < 0)
			return -1;
	return 0;
}

static void clients_close(struct client *cl, int n)
{
	for (int i = 0; i < n; i++)
		if (cl[i].fd > 0)
			close(cl[i].fd);
}

static int client_send(struct client *c, uint32_t id, uint32_t seq, size_t len)
{
	uint8_t buf[TRANSPORT_PKT_MAX + 1];

	ssize_t r;

	fill_payload(buf, len, id, seq);
	r = sendto(c->fd, buf, len, 0, (struct sockaddr *)&c->dst, ss_len(&c->dst));
	return r == (ssize_t)len ? 0 : -1;
}

/* Checks one received packet against what its client sent, and answers it (payload
 * inverted) so the reply can be recognised. */
static void on_packet(struct expect *ex, struct transport_pkt *p)
{
	struct timespec now;
	uint32_t id, seq;
	struct client *c;

	clock_gettime(CLOCK_REALTIME, &now);
	CHECK(p->req_len > 0 && payload_ok(p->req, p->req_len, &id, &seq), "len %zu", p->req_len);
	if (!payload_ok(p->req, p->req_len, &id, &seq) || id >= (uint32_t)ex->n_cl)
		return;
	c = &ex->cl[id];
	ex->seen++;
	c->reqs++;
	if (seq != ex->next_seq[id])
		ex->bad_order++;
	ex->next_seq[id] = seq + 1;
	CHECK(p->peer_len == ss_len(&c->self) && same_addr(&p->meta.peer, &c->self), "peer");
	CHECK_EQ(p->sock, c->family == AF_INET ? 0 : 1);
	CHECK_EQ(p->meta.rx_source, ex->want_src);
	CHECK(ts_ns(&p->meta.rx_time) >= ts_ns(&ex->t0) && ts_ns(&p->meta.rx_time) <= ts_ns(&now),
	      "rx time %lld not in [%lld, %lld]", (long long)ts_ns(&p->meta.rx_time),
	      (long long)ts_ns(&ex->t0), (long long)ts_ns(&now));
	if (ex->want_local)
		CHECK(local_is(&p->local, &c->dst), "pktinfo family %d ifindex %d", p->local.family,
		      p->local.ifindex);
	for (size_t i = 0; i < p->req_len; i++)
		p->resp[i] = (uint8_t)~p->req[i];
	p->resp_len = p->req_len;
}

/* Receives and answers batches until `want` packets were seen or the deadline passed. */
static void pump(struct transport *t, struct expect *ex, int want, int max)
{
	struct transport_pkt pkts[TRANSPORT_BATCH];
	int64_t end = now_ms() + DEADLINE_MS;

	while (ex->seen < want && now_ms() < end) {
		int n = t->ops->recv(t, pkts, max, 50);

		CHECK(n >= 0 && n <= max, "recv: %d", n);
		if (n <= 0)
			continue;
		for (int i = 0; i < n; i++)
			on_packet(ex, &pkts[i]);
		CHECK_EQ(t->ops->send(t, pkts, n), 0);
	}
}

/* Reads a client's replies: each must come from the address it sent to, payload inverted. */
static int read_replies(struct client *c, int want)
{
	int64_t end = now_ms() + DEADLINE_MS;
	uint8_t buf[TRANSPORT_PKT_MAX];
	struct pollfd pfd = {.fd = c->fd, .events = POLLIN};

	while (c->replies < want && now_ms() < end) {
		struct sockaddr_storage from;
		socklen_t flen = sizeof(from);
		uint32_t id, seq;
		ssize_t r;

		if (poll(&pfd, 1, 50) <= 0)
			continue;
		r = recvfrom(c->fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen);
		if (r <= 0)
			continue;
		for (ssize_t i = 0; i < r; i++)
			buf[i] = (uint8_t)~buf[i];
		CHECK(payload_ok(buf, (size_t)r, &id, &seq), "reply payload");
		CHECK(same_addr(&from, &c->dst), "reply from the wrong address");
		c->replies++;
	}
	return c->replies;
}

/* The kernel's drop count for a socket (/proc/net/udp{,6}, matched by inode). */
static long udp_drops(int fd, int family)
{
	char line[512];
	struct stat st;
	long drops = -1;
	FILE *f;

	if (fstat(fd, &st) < 0)
		return -1;
	f = fopen(family == AF_INET ? "/proc/net/udp" : "/proc/net/udp6", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long inode;
		long d;

		if (sscanf(line, "%*s %*s %*s %*s %*s %*s %*s %*s %*s %lu %*s %*s %ld", &inode,
		           &d) == 2 &&
		    inode == st.st_ino)
			drops = d;
	}
	fclose(f);
	return drops;
}

static int open_tr(struct transport *t, const struct transport_ops *ops, struct server *srv,
                   struct tock_worker_stats *st, unsigned bufs, unsigned ctl)
{
	struct transport_cfg cfg = {.fds = srv->fd,
	                            .n_fds = srv->n,
	                            .stats = st,
	                            .ring_entries = 2 * TRANSPORT_BATCH,
	                            .buf_entries = bufs,
	                            .cmsg_space = ctl};
	int err;

	memset(st, 0, sizeof(*st));
	err = transport_open(t, ops, &cfg);
	CHECK(err == 0, "%s open: %s", ops->name, strerror(-err));
	return err;
}

static void expect_init(struct expect *ex, struct client *cl, int n, enum tock_ts_source src,
                        int local)
{
	memset(ex, 0, sizeof(*ex));
	ex->cl = cl;
	ex->n_cl = n;
	ex->want_src = src;
	ex->want_local = local;
	clock_gettime(CLOCK_REALTIME, &ex->t0);
}

/* A batch of requests from many sources, answered from the address each was sent to. */
static void test_batch(const struct transport_ops *ops)
{
	struct tock_worker_stats st;
	struct client cl[N_CLIENTS];
	struct transport t;
	struct server srv;
	struct expect ex;
	int replies = 0;

	CHECK_EQ(server_open(&srv), 0);
	CHECK_EQ(clients_open(cl, N_CLIENTS, &srv), 0);
	expect_init(&ex, cl, N_CLIENTS, TS_SRC_KERNEL, 1);
	if (open_tr(&t, ops, &srv, &st, 0, 0) == 0) {
		for (int i = 0; i < N_CLIENTS; i++)
			CHECK_EQ(client_send(&cl[i], (uint32_t)i, 0, REQ_LEN), 0);
		pump(&t, &ex, N_CLIENTS, TRANSPORT_BATCH);
		CHECK_EQ(ex.seen, N_CLIENTS);
		for (int i = 0; i < N_CLIENTS; i++) {
			CHECK_EQ(cl[i].reqs, 1);
			replies += read_replies(&cl[i], 1);
		}
		CHECK_EQ(replies, N_CLIENTS);
		CHECK_EQ(st.c[STAT_RX_TRUNCATED] + st.c[STAT_RX_NOBUFS] + st.c[STAT_TX_ERRORS], 0);
		transport_close(&t);
	}
	printf("%s: %s batch: %d requests from %d sources, %d replies\n", T_NAME, ops->name,
	       ex.seen, N_CLIENTS, replies);
	clients_close(cl, N_CLIENTS);
	server_close(&srv);
}

/* TRANSPORT_PKT_MAX bytes pass whole; one more is counted and never passed on. */
static void test_truncation(const struct transport_ops *ops)
{
	struct tock_worker_stats st;
	struct client cl[3];
	struct transport t;
	struct server srv;
	struct expect ex;
	int n_cl;

	CHECK_EQ(server_open(&srv), 0);
	n_cl = srv.n == 2 ? 3 : 2;
	CHECK_EQ(clients_open(cl, n_cl, &srv), 0);
	if (open_tr(&t, ops, &srv, &st, 0, 0) == 0) {
		expect_init(&ex, cl, n_cl, TS_SRC_KERNEL, 1);
		for (int i = 0; i < n_cl; i++) {
			CHECK_EQ(client_send(&cl[i], (uint32_t)i, 0, TRANSPORT_PKT_MAX), 0);
			CHECK_EQ(client_send(&cl[i], (uint32_t)i, 1, TRANSPORT_PKT_MAX + 1), 0);
			CHECK_EQ(client_send(&cl[i], (uint32_t)i, 2, REQ_LEN), 0);
		}
		pump(&t, &ex, 2 * n_cl, TRANSPORT_BATCH);
		CHECK_EQ(ex.seen, 2 * n_cl);
		CHECK_EQ(ex.bad_order, n_cl); /* seq 1 never came: 0 then 2 from every client */
		CHECK_EQ(st.c[STAT_RX_TRUNCATED], (uint64_t)n_cl);
		for (int i = 0; i < n_cl; i++)
			CHECK_EQ(read_replies(&cl[i], 2), 2);
		transport_close(&t);
		printf("%s: %s truncation: %llu cut datagrams counted, none passed on\n", T_NAME,
		       ops->name, (unsigned long long)st.c[STAT_RX_TRUNCATED]);
	}
	clients_close(cl, n_cl);
	server_close(&srv);
}

/*
 * Control space for pktinfo alone: the timestamp, which the kernel writes first, is cut
 * (MSG_CTRUNC) and leaves no room for pktinfo. Without the destination address the reply
 * would leave from the routing's pick, so every such request is counted and dropped — and
 * the cut message is never read as a timestamp. A following request on a transport with room
 * enough is served as usual (the drop is per request, not a stuck socket).
 */
static void test_ctrunc(const struct transport_ops *ops)
{
	struct tock_worker_stats st;
	struct client cl[3];
	struct transport t;
	struct server srv;
	struct expect ex;
	int n_cl;

	CHECK_EQ(server_open(&srv), 0);
	n_cl = srv.n == 2 ? 3 : 2;
	CHECK_EQ(clients_open(cl, n_cl, &srv), 0);
	if (open_tr(&t, ops, &srv, &st, 0, CMSG_SPACE(sizeof(struct in_pktinfo))) == 0) {
		expect_init(&ex, cl, n_cl, TS_SRC_DAEMON, 0);
		for (int i = 0; i < n_cl; i++)
			CHECK_EQ(client_send(&cl[i], (uint32_t)i, 0, REQ_LEN), 0);
		for (int tries = 0; tries < 40 && st.c[STAT_RX_TRUNCATED] < (uint64_t)n_cl;
		     tries++) {
			struct transport_pkt pkts[TRANSPORT_BATCH];
			int n = t.ops->recv(&t, pkts, TRANSPORT_BATCH, 50);

			CHECK_EQ(n, 0); /* nothing passed on */
		}
		CHECK_EQ(ex.seen, 0);
		CHECK_EQ(st.c[STAT_RX_TRUNCATED], (uint64_t)n_cl);
		for (int i = 0; i < n_cl; i++) {
			struct pollfd pfd = {.fd = cl[i].fd, .events = POLLIN};

			CHECK(poll(&pfd, 1, 100) == 0, "client %d got a reply without pktinfo", i);
		}
		transport_close(&t);
		printf("%s: %s control truncation: %llu counted and dropped, none answered\n",
		       T_NAME, ops->name, (unsigned long long)st.c[STAT_RX_TRUNCATED]);
	}
	if (open_tr(&t, ops, &srv, &st, 0, 0) == 0) {
		expect_init(&ex, cl, n_cl, TS_SRC_KERNEL, 1);
		for (int i = 0; i < n_cl; i++)
			CHECK_EQ(client_send(&cl[i], (uint32_t)i, 1, REQ_LEN), 0);
		pump(&t, &ex, n_cl, TRANSPORT_BATCH);
		CHECK_EQ(ex.seen, n_cl);
		CHECK_EQ(st.c[STAT_RX_TRUNCATED], 0);
		for (int i = 0; i < n_cl; i++)
			CHECK_EQ(read_replies(&cl[i], 1), 1);
		transport_close(&t);
	}
	clients_close(cl, n_cl);
	server_close(&srv);
}

/*
 * io_uring only: `total` datagrams from a few IPv4 clients, all sent before the first
 * receive, with `bufs` provided buffers and batches of `max`. Every one must arrive once
 * and in order per client, and be answered; returns RX_NOBUFS.
 */
static uint64_t burst(unsigned bufs, int total, int max, const char *what)
{
	enum { N = 8 };
	struct tock_worker_stats st;
	struct client cl[N];
	struct transport t;
	struct server srv;
	struct expect ex;
	long drops;
	int replies = 0;

	CHECK_EQ(server_open(&srv), 0);
	for (int i = 0; i < N; i++)
		CHECK_EQ(client_open(&cl[i], 2 * i, &srv, 0), 0); /* even: IPv4 to 127.0.0.1 */
	if (open_tr(&t, &uring_transport_ops, &srv, &st, bufs, 0))
		goto out;
	expect_init(&ex, cl, N, TS_SRC_KERNEL, 1);
	for (int k = 0; k < total; k++)
		CHECK_EQ(client_send(&cl[k % N], (uint32_t)(k % N), (uint32_t)(k / N), REQ_LEN), 0);
	pump(&t, &ex, total, max);
	drops = udp_drops(srv.fd[0], AF_INET);
	CHECK_EQ(drops, 0); /* the socket buffer held the burst: nothing may be missing */
	CHECK_EQ(ex.seen, total);
	CHECK_EQ(ex.bad_order, 0);
	/* and the re-armed request still receives what comes later */
	CHECK_EQ(client_send(&cl[0], 0, ex.next_seq[0], REQ_LEN), 0);
	pump(&t, &ex, total + 1, max);
	CHECK_EQ(ex.seen, total + 1);
	for (int i = 0; i < N; i++)
		replies += read_replies(&cl[i], cl[i].reqs);
	CHECK_EQ(replies, total + 1);
	CHECK_EQ(st.c[STAT_RX_TRUNCATED] + st.c[STAT_TX_ERRORS], 0);
	printf("%s: io_uring %s: %u buffers, %d datagrams, %d received, %d answered, "
	       "rx_nobufs %llu, socket drops %ld\n",
	       T_NAME, what, bufs, total + 1, ex.seen, replies,
	       (unsigned long long)st.c[STAT_RX_NOBUFS], drops);
	transport_close(&t);
out:
	clients_close(cl, N);
	server_close(&srv);
	return st.c[STAT_RX_NOBUFS];
}

/* The transport table refuses what it cannot do instead of misbehaving later. */
static void test_bad_cfg(void)
{
	struct tock_worker_stats st = {0};
	int fds[1] = {-1};
	struct transport_cfg cfg = {.fds = fds, .n_fds = 1, .stats = &st, .ring_entries = 256};
	struct transport t;

	cfg.buf_entries = 3;
	CHECK_EQ(transport_open(&t, &uring_transport_ops, &cfg), -EINVAL);
	transport_close(&t);
	cfg.buf_entries = 0;
	cfg.cmsg_space = TRANSPORT_CMSG_SPACE + 1;
	CHECK_EQ(transport_open(&t, &uring_transport_ops, &cfg), -EINVAL);
	CHECK_EQ(transport_open(&t, &mmsg_transport_ops, &cfg), -EINVAL);
	transport_close(&t);
}

/* ---- the thread that opens a transport is not the one that uses it ---------------------- */

#define OWNER_N 200 /* datagrams sent while the opening thread sleeps */

struct owner_run {
	struct transport *t;
	struct expect ex;
	struct client *c;
};

static void *owner_pump(void *arg)
{
	struct owner_run *r = arg;

	pump(r->t, &r->ex, OWNER_N, TRANSPORT_BATCH);
	return NULL;
}

static void *owner_send(void *arg)
{
	struct owner_run *r = arg;

	for (uint32_t i = 0; i < OWNER_N; i++) {
		client_send(r->c, 0, i, REQ_LEN);
		usleep(300); /* one datagram at a time reaches the ring */
	}
	return NULL;
}

/* This thread's voluntary context switches so far: how often it slept and was woken. */
static long wakeups(void)
{
	FILE *f = fopen("/proc/thread-self/status", "r");
	char line[128];
	long n = -1;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "voluntary_ctxt_switches: %ld", &n) == 1)
			break;
	if (f)
		fclose(f);
	return n;
}

/* tockd opens a worker's transport in its main thread and receives in the worker thread.
 * io_uring runs a request's completion work in the task that submitted it: had opening
 * armed the multishot receive, every datagram would wake the main thread (which then
 * contends for the ring). The opening thread must sleep through the load undisturbed. */
static void test_owner_thread(const struct transport_ops *ops)
{
	struct tock_worker_stats st;
	struct client cl;
	struct transport t;
	struct server srv;
	struct owner_run r = {.t = &t, .c = &cl};
	pthread_t pumper, sender;
	long w0, w1;

	CHECK_EQ(server_open(&srv), 0);
	CHECK_EQ(client_open(&cl, 0, &srv, 0), 0);
	expect_init(&r.ex, &cl, 1, TS_SRC_KERNEL, 1);
	if (open_tr(&t, ops, &srv, &st, 0, 0) == 0) {
		CHECK_EQ(pthread_create(&pumper, NULL, owner_pump, &r), 0);
		usleep(20000); /* the worker's first recv() has run */
		w0 = wakeups();
		CHECK_EQ(pthread_create(&sender, NULL, owner_send, &r), 0);
		pthread_join(sender, NULL); /* asleep until the last datagram is sent */
		w1 = wakeups();
		pthread_join(pumper, NULL);
		CHECK_EQ(r.ex.seen, OWNER_N);
		CHECK(w0 >= 0 && w1 - w0 <= OWNER_N / 20,
		      "%s: the opening thread was woken %ld times while %d datagrams came in",
		      ops->name, w1 - w0, OWNER_N);
		printf("%s: %s: opening thread woken %ld times while another thread received %d "
		       "datagrams\n",
		       T_NAME, ops->name, w1 - w0, r.ex.seen);
		transport_close(&t);
	}
	close(cl.fd);
	server_close(&srv);
}

static void test_common(const struct transport_ops *ops)
{
	test_batch(ops);
	test_truncation(ops);
	test_ctrunc(ops);
	test_owner_thread(ops);
}

int main(void)
{
	int uring = probe_io_uring(), keeper;

	seed = check_seed(T_NAME);
	lo_index = if_nametoindex("lo");
	if (!lo_index)
		return check_skip(T_NAME, "no loopback interface");
	keeper = stamps_keeper();
	CHECK(keeper >= 0, "no software receive stamp within %d ms", DEADLINE_MS);
	test_common(&mmsg_transport_ops);
	if (uring) {
		char why[160];

		snprintf(why, sizeof(why),
		         "io_uring unavailable (%s; kernel.io_uring_disabled?): "
		         "only the recvmmsg transport was tested",
		         strerror(-uring));
		return check_failed ? check_done(T_NAME) : check_skip(T_NAME, why);
	}
	test_common(&uring_transport_ops);
	test_bad_cfg();
	/* 4 buffers, 40 queued datagrams: the multishot request runs dry and ends with
	 * ENOBUFS again and again, and each time the next batch re-arms it */
	CHECK(burst(4, 40, TRANSPORT_BATCH, "ENOBUFS") >= 1, "no ENOBUFS seen");
	/* a completion queue of 256 (SQ 128) overflows under 400 datagrams that have 1024
	 * buffers: the kernel ends the multishot request without ENOBUFS (no F_MORE) */
	CHECK_EQ(burst(1024, 400, TRANSPORT_BATCH, "CQ overflow"), 0);
	/* batches of one with 4 buffers and 4 response slots */
	burst(4, 40, 1, "batches of one");
	close(keeper);
	return check_done(T_NAME);
}
