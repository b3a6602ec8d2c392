// SPDX-License-Identifier: MIT
/*
 * One generator thread (load.h). It owns a few UDP sockets and a share of the simulated
 * clients, keeps a ring of ready-built requests per socket (filled while idle, so NTS's
 * authenticator costs little at send time), paces sendmmsg batches to the step's rate and
 * drains responses with recvmmsg, matching each one to its request through the token in
 * the echoed origin timestamp. Latency uses the kernel's receive timestamp, so time spent
 * verifying earlier responses does not inflate it.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "load.h"
#include "ntp.h"
#include "nts_client.h"
#include "wire.h"

#define SLOT_BITS   18 /* requests in flight a thread can tell apart */
#define SLOT_MASK   ((1u << SLOT_BITS) - 1)
#define RECV_ROUNDS 4 /* recvmmsg calls per ready socket before looking at the clock */
#define SEND_ROUNDS 4 /* sendmmsg calls per loop turn */
#define MAX_WAIT_NS 2000000ull
#define MIN_TICK_NS 20000ull
#define SOCK_BUF    (4 << 20)

#define REFID_RATE 0x52415445u
#define REFID_DENY 0x44454e59u
#define REFID_RSTR 0x52535452u

/* A request in flight, found again by seq & SLOT_MASK. */
struct slot {
	uint64_t send_ns;
	uint32_t seq, client, step;
	uint8_t pending;
	uint8_t uid[NTS_CLIENT_UID_LEN];
};

/* A request built ahead of time. */
struct prebuilt {
	uint32_t client, seq;
	uint16_t len;
	uint8_t uid[NTS_CLIENT_UID_LEN];
	uint8_t pkt[LOAD_PKT_MAX] __attribute__((aligned(8)));
};

struct gen_sock {
	int fd;
	uint32_t n_clients, cursor; /* its clients are l = index + nsock * k */
	struct prebuilt *ring;
	uint32_t head, count;
};

union gen_ctl {
	char buf[CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(struct timespec))];
	struct cmsghdr align;
};

struct gen {
	const struct load_cfg *cfg;
	int id, epfd, nsock;
	uint32_t n_clients, ring_cap, next_sock, fill_sock, seq, step;
	uint64_t pending, ts_hi;
	uint64_t tick_ns; /* this step's shortest sleep */
	struct gen_sock *socks;
	struct slot *slots;
	struct ntsgen *nts;
	struct load_counts *c;
	struct mmsghdr msgs[LOAD_BATCH];
	struct iovec iov[LOAD_BATCH];
	union gen_ctl ctl[LOAD_BATCH];
	uint8_t rbuf[LOAD_BATCH][LOAD_PKT_MAX];
};

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void load_counts_merge(struct load_counts *dst, const struct load_counts *src)
{
	dst->sent += src->sent;
	dst->skipped += src->skipped;
	dst->answered += src->answered;
	dst->lost += src->lost;
	dst->invalid += src->invalid;
	dst->late += src->late;
	dst->nak += src->nak;
	dst->kod += src->kod;
	dst->unsync += src->unsync;
	dst->send_err += src->send_err;
	dst->gen_cpu_ns += src->gen_cpu_ns;
	hist_merge(&dst->lat, &src->lat);
}

/* ---- set-up ------------------------------------------------------------------------ */

static void set_bufs(int fd)
{
	int v = SOCK_BUF, on = 1;

	/* FORCE works as root even where net.core.*mem_max cannot be raised (netns). */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof(v)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
	setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on));
}

/* A non-blocking socket on the wildcard address and an ephemeral port: with source
 * addresses, IP(V6)_PKTINFO picks each message's source, and replies to any of them come
 * back to this port. */
static int open_sock(struct gen *g, int i)
{
	int family = g->cfg->server.ss_family, fd;
	struct sockaddr_storage any = {.ss_family = (sa_family_t)family};
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
	socklen_t len =
	    family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);

	fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	set_bufs(fd);
	if (bind(fd, (struct sockaddr *)&any, len) < 0 ||
	    epoll_ctl(g->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	g->socks[i].fd = fd;
	return 0;
}

/* This thread's share of n items dealt round-robin over the threads. */
static uint32_t share(int n, int threads, int id)
{
	return (uint32_t)((n - id + threads - 1) / threads);
}

static int gen_alloc(struct gen *g)
{
	g->socks = calloc((size_t)g->nsock, sizeof(*g->socks));
	g->slots = calloc(SLOT_MASK + 1, sizeof(*g->slots));
	if (!g->socks || !g->slots)
		return -ENOMEM;
	for (int i = 0; i < g->nsock; i++) {
		g->socks[i].fd = -1;
		g->socks[i].n_clients = share((int)g->n_clients, g->nsock, i);
		g->socks[i].ring = calloc(g->ring_cap, sizeof(struct prebuilt));
		if (!g->socks[i].ring)
			return -ENOMEM;
	}
	return 0;
}

static void gen_sizes(struct gen *g)
{
	const struct load_cfg *cfg = g->cfg;
	struct timespec now;
	uint32_t nsock = share(cfg->sockets, cfg->threads, g->id);

	g->n_clients = share(cfg->clients, cfg->threads, g->id);
	g->nsock = (int)(nsock < 1 ? 1 : nsock > g->n_clients ? g->n_clients : nsock);
	g->ring_cap = (uint32_t)cfg->ring / (uint32_t)g->nsock;
	if (g->ring_cap < LOAD_BATCH)
		g->ring_cap = LOAD_BATCH;
	/* Tokens live in the fraction; the seconds look like a real client's. */
	clock_gettime(CLOCK_REALTIME, &now);
	g->ts_hi = ntp_ts_from_timespec(&now) & 0xffffffff00000000ull;
}

int gen_new(const struct load_cfg *cfg, int id, struct gen **out)
{
	struct gen *g = calloc(1, sizeof(*g));
	int err = -ENOMEM;

	if (!g)
		return -ENOMEM;
	g->cfg = cfg;
	g->id = id;
	gen_sizes(g);
	g->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (g->epfd < 0 || (err = gen_alloc(g)) < 0)
		goto fail;
	for (int i = 0; i < g->nsock; i++)
		if ((err = open_sock(g, i)) < 0)
			goto fail;
	if (cfg->nts && !(g->nts = ntsgen_new(cfg, id, (int)g->n_clients))) {
		err = -ENOMEM;
		goto fail;
	}
	*out = g;
	return 0;
fail:
	fprintf(stderr, "tock-bench: generator thread %d: %s\n", id, strerror(-err));
	gen_free(g);
	return err;
}

void gen_free(struct gen *g)
{
	if (!g)
		return;
	for (int i = 0; g->socks && i < g->nsock; i++) {
		if (g->socks[i].fd >= 0)
			close(g->socks[i].fd);
		free(g->socks[i].ring);
	}
	if (g->epfd >= 0)
		close(g->epfd);
	ntsgen_free(g->nts);
	free(g->socks);
	free(g->slots);
	free(g);
}

/* ---- building and sending ---------------------------------------------------------- */

/* Appends one request for the socket's next client to its ring. 0 or -errno. */
static int build_one(struct gen *g, int si)
{
	struct gen_sock *k = &g->socks[si];
	struct prebuilt *p = &k->ring[(k->head + k->count) % g->ring_cap];
	uint32_t l = (uint32_t)si + (uint32_t)g->nsock * k->cursor;
	uint64_t ts;
	int len;

	if (++k->cursor >= k->n_clients)
		k->cursor = 0;
	p->client = l;
	p->seq = g->seq++;
	ts = g->ts_hi | p->seq;
	if (g->nts)
		len = ntsgen_build(g->nts, l, ts, p->uid, p->pkt, sizeof(p->pkt));
	else
		len = nts_client_build_plain(ts, (unsigned)g->cfg->version, p->pkt, sizeof(p->pkt));
	if (len < 0)
		return len;
	p->len = (uint16_t)len;
	k->count++;
	return 0;
}

/* Builds ahead while idle: up to n requests over the sockets whose rings are not full. */
static int prefill(struct gen *g, int n)
{
	int built = 0;

	for (int tries = 0; tries < g->nsock && built < n; tries++) {
		int si = (int)(g->fill_sock++ % (uint32_t)g->nsock);

		while (g->socks[si].count < g->ring_cap && built < n && build_one(g, si) == 0)
			built++;
	}
	return built;
}

/* The simulated client's source address, as an IP(V6)_PKTINFO control message. */
static void set_source(struct gen *g, struct msghdr *m, uint32_t l, int i)
{
	const struct load_cfg *cfg = g->cfg;
	uint32_t gid = (uint32_t)g->id + (uint32_t)cfg->threads * l, n = (uint32_t)cfg->n_src;
	/* Every address before any repeats (servers limit per address); the shift per round
	 * keeps a client's (address, port) pair apart from the earlier rounds'. */
	uint32_t idx = (gid + gid / n) % n;
	struct cmsghdr *cm;

	m->msg_control = g->ctl[i].buf;
	cm = (struct cmsghdr *)g->ctl[i].buf;
	if (cfg->src_first.ss_family == AF_INET) {
		struct in_pktinfo pi = {0};
		const struct sockaddr_in *a = (const struct sockaddr_in *)&cfg->src_first;

		pi.ipi_spec_dst.s_addr = htonl(ntohl(a->sin_addr.s_addr) + idx);
		m->msg_controllen = CMSG_SPACE(sizeof(pi));
		*cm = (struct cmsghdr){CMSG_LEN(sizeof(pi)), IPPROTO_IP, IP_PKTINFO};
		memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
	} else {
		struct in6_pktinfo pi = {0};
		uint32_t low;

		pi.ipi6_addr = ((const struct sockaddr_in6 *)&cfg->src_first)->sin6_addr;
		memcpy(&low, &pi.ipi6_addr.s6_addr[12], 4);
		low = htonl(ntohl(low) + idx);
		memcpy(&pi.ipi6_addr.s6_addr[12], &low, 4);
		m->msg_controllen = CMSG_SPACE(sizeof(pi));
		*cm = (struct cmsghdr){CMSG_LEN(sizeof(pi)), IPPROTO_IPV6, IPV6_PKTINFO};
		memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
	}
}

/* Takes a slot for a request just sent; an older request of this step still waiting
 * there is lost (the thread cannot tell its answer apart any more). */
static void record_sent(struct gen *g, const struct prebuilt *p, uint64_t now)
{
	struct slot *s = &g->slots[p->seq & SLOT_MASK];

	if (s->pending && s->step == g->step) {
		g->c->lost++;
		g->pending--;
	}
	s->send_ns = now;
	s->seq = p->seq;
	s->client = p->client;
	s->step = g->step;
	s->pending = 1;
	if (g->nts)
		memcpy(s->uid, p->uid, sizeof(s->uid));
	g->c->sent++;
	g->pending++;
}

/* Sends up to n requests from socket si's ring (building more if it is short).
 * Returns how many the kernel took. */
static unsigned send_batch(struct gen *g, int si, unsigned n)
{
	struct gen_sock *k = &g->socks[si];
	uint64_t now;
	int r;

	while (k->count < n && build_one(g, si) == 0)
		;
	n = n < k->count ? n : k->count;
	for (unsigned i = 0; i < n; i++) {
		struct prebuilt *p = &k->ring[(k->head + i) % g->ring_cap];
		struct msghdr *m = &g->msgs[i].msg_hdr;

		g->iov[i] = (struct iovec){p->pkt, p->len};
		*m = (struct msghdr){.msg_name = (void *)&g->cfg->server,
		                     .msg_namelen = g->cfg->server_len,
		                     .msg_iov = &g->iov[i],
		                     .msg_iovlen = 1};
		if (g->cfg->n_src)
			set_source(g, m, p->client, (int)i);
	}
	now = clock_ns(CLOCK_REALTIME);
	r = n ? sendmmsg(k->fd, g->msgs, n, 0) : 0;
	if (r < 0) {
		if (errno != EAGAIN && errno != ENOBUFS)
			g->c->send_err++;
		return 0;
	}
	for (int i = 0; i < r; i++)
		record_sent(g, &k->ring[(k->head + (unsigned)i) % g->ring_cap], now);
	k->head = (k->head + (unsigned)r) % g->ring_cap;
	k->count -= (unsigned)r;
	return (unsigned)r;
}

/* Spreads `due` requests over the sockets, a batch each; stops when the kernel pushes
 * back (the rest stays due). */
static void send_due(struct gen *g, uint64_t due)
{
	for (int round = 0; round < SEND_ROUNDS && due; round++) {
		int si = (int)(g->next_sock++ % (uint32_t)g->nsock);
		unsigned want = due < LOAD_BATCH ? (unsigned)due : LOAD_BATCH;
		unsigned sent = send_batch(g, si, want);

		due -= sent;
		if (sent < want)
			break;
	}
}

/* ---- receiving --------------------------------------------------------------------- */

/* Counts a matched response by what it is; latency only for real answers. */
static void classify(struct gen *g, struct slot *s, const uint8_t *pkt, size_t len, uint64_t rx)
{
	uint32_t refid = wire_get32(pkt + 12);
	int r = NTSGEN_OK;

	if (pkt[1] == 0 && (refid == REFID_RATE || refid == REFID_DENY || refid == REFID_RSTR)) {
		g->c->kod++;
		return;
	}
	if (g->nts)
		r = ntsgen_check(g->nts, s->client, g->ts_hi | s->seq, s->uid, pkt, len);
	if (r == NTSGEN_NAK) {
		g->c->nak++;
	} else if (r != NTSGEN_OK) {
		g->c->invalid++;
	} else {
		g->c->answered++;
		g->c->unsync += ntp_leap(pkt[0]) == 3;
		hist_add(&g->c->lat, rx > s->send_ns ? rx - s->send_ns : 0);
	}
}

static void handle_response(struct gen *g, const uint8_t *pkt, size_t len, uint64_t rx)
{
	uint64_t origin;
	struct slot *s;

	if (len < NTP_HEADER_LEN || ntp_mode(pkt[0]) != NTP_MODE_SERVER) {
		g->c->invalid++;
		return;
	}
	origin = wire_get64(pkt + 24);
	s = &g->slots[(uint32_t)origin & SLOT_MASK];
	if ((origin & 0xffffffff00000000ull) != g->ts_hi || !s->pending ||
	    s->seq != (uint32_t)origin) {
		g->c->invalid++; /* unknown origin or a duplicate */
		return;
	}
	s->pending = 0;
	if (s->step != g->step) {
		g->c->late++;
		return;
	}
	g->pending--;
	classify(g, s, pkt, len, rx);
}

/* The kernel's receive time (CLOCK_REALTIME) from SO_TIMESTAMPNS, else `fallback`. */
static uint64_t rx_stamp(struct msghdr *m, uint64_t fallback)
{
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(m); cm; cm = CMSG_NXTHDR(m, cm)) {
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS) {
			struct timespec ts;

			memcpy(&ts, CMSG_DATA(cm), sizeof(ts));
			return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
		}
	}
	return fallback;
}

static void recv_sock(struct gen *g, int si)
{
	for (int round = 0; round < RECV_ROUNDS; round++) {
		uint64_t now;
		int n;

		for (int i = 0; i < LOAD_BATCH; i++) {
			g->iov[i] = (struct iovec){g->rbuf[i], LOAD_PKT_MAX};
			g->msgs[i].msg_hdr = (struct msghdr){.msg_iov = &g->iov[i],
			                                     .msg_iovlen = 1,
			                                     .msg_control = g->ctl[i].buf,
			                                     .msg_controllen = sizeof(g->ctl[i])};
		}
		n = recvmmsg(g->socks[si].fd, g->msgs, LOAD_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;
		now = clock_ns(CLOCK_REALTIME);
		for (int i = 0; i < n; i++)
			handle_response(g, g->rbuf[i], g->msgs[i].msg_len,
			                rx_stamp(&g->msgs[i].msg_hdr, now));
		if (n < LOAD_BATCH)
			return;
	}
}

/* Drains every socket that has something to read (one epoll call finds them). */
static void recv_ready(struct gen *g)
{
	struct epoll_event ev[64];
	struct timespec zero = {0, 0};
	int n = epoll_pwait2(g->epfd, ev, 64, &zero, NULL);

	for (int i = 0; i < n; i++)
		recv_sock(g, (int)ev[i].data.u32);
}

/* Nothing is due for wait_ns: build requests ahead while the rings have room, else sleep
 * at least one tick. Responses wait in the socket buffers meanwhile (their latency comes
 * from kernel timestamps), so a busy generator wakes once per tick, not once per packet. */
static void idle(struct gen *g, uint64_t wait_ns)
{
	uint64_t tick = g->tick_ns;
	struct timespec ts;

	if (wait_ns > tick && prefill(g, 8) > 0)
		return;
	if (wait_ns < tick)
		wait_ns = tick;
	if (wait_ns > MAX_WAIT_NS)
		wait_ns = MAX_WAIT_NS;
	ts = (struct timespec){(time_t)(wait_ns / 1000000000ull), (long)(wait_ns % 1000000000ull)};
	nanosleep(&ts, NULL);
}

/* ---- the step ---------------------------------------------------------------------- */

/* How many requests are due now; when none, *wait_ns says how long until the next one.
 * A generator that fell far behind skips the backlog (counted) rather than bursting. */
static uint64_t pace(struct gen *g, const struct load_step *s, uint64_t now, uint64_t *wait_ns)
{
	double elapsed = (double)(now - s->start_ns) / 1e9;
	uint64_t target = (uint64_t)(s->rate * elapsed), done = g->c->sent + g->c->skipped;
	uint64_t cap = (uint64_t)(s->rate * 0.01) + 4 * LOAD_BATCH;

	if (target <= done) {
		double next = (double)(done + 1) / s->rate * 1e9;
		uint64_t at = s->start_ns + (uint64_t)next;

		*wait_ns = at > now ? at - now : 0;
		if (at > s->end_ns)
			*wait_ns = s->drain_ns - now;
		return 0;
	}
	if (target - done > cap) {
		g->c->skipped += target - done - cap;
		return cap;
	}
	return target - done;
}

/* The tick, shortened at high rates so a burst stays within one sendmmsg batch: longer
 * bursts would overflow a server's default receive buffer and measure burstiness. */
static uint64_t step_tick(const struct gen *g, double rate)
{
	uint64_t t = g->cfg->tick_ns;

	if (rate > 0 && LOAD_BATCH * 1e9 / rate < (double)t)
		t = (uint64_t)(LOAD_BATCH * 1e9 / rate);
	return t < MIN_TICK_NS ? MIN_TICK_NS : t;
}

void gen_run_step(struct gen *g, const struct load_step *s, struct load_counts *c)
{
	struct timespec start = {(time_t)(s->start_ns / 1000000000ull),
	                         (long)(s->start_ns % 1000000000ull)};
	uint64_t cpu0 = cpu_thread_ns();

	memset(c, 0, sizeof(*c));
	g->c = c;
	g->step = (uint32_t)s->index + 1; /* 0 never names a step: fresh slots are not late */
	g->pending = 0;
	g->tick_ns = step_tick(g, s->rate);
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &start, NULL) == EINTR)
		;
	for (;;) {
		uint64_t now = clock_ns(CLOCK_MONOTONIC), wait_ns, due = 0;

		if (now >= s->drain_ns)
			break;
		wait_ns = s->drain_ns - now;
		if (now < s->end_ns && s->rate > 0)
			due = pace(g, s, now, &wait_ns);
		if (due)
			send_due(g, due);
		recv_ready(g);
		if (!due)
			idle(g, wait_ns);
	}
	c->lost += g->pending;
	g->pending = 0;
	c->gen_cpu_ns = cpu_thread_ns() - cpu0;
}
