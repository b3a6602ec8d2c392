// SPDX-License-Identifier: MIT
/*
 * AF_XDP workers (`xdp afxdp on`): the XDP program redirects the requests it would pass to
 * the UDP sockets into an AF_XDP socket per (interface, rx queue), and a pinned thread per
 * socket answers them without the kernel's UDP receive and send paths:
 *
 *   poll → RX batch → sync keys once → per frame: frame_parse → the same filter + tock_serve
 *   as the socket workers (worker_serve_one) → frame_reply in place → TX ring
 *   → one sendto kick per batch → completions back to the fill ring
 *
 * The receive time comes from the frame's metadata area, written by the XDP program (NIC
 * stamp or the kernel clock); without it the thread stamps the request itself. Each thread
 * has its own tock_serve() context and counter block (after the socket workers' blocks).
 *
 * Sockets are made at start-up, before the privilege drop (AF_XDP needs CAP_NET_RAW, the
 * UMEM CAP_IPC_LOCK or a large enough RLIMIT_MEMLOCK), for the `xdp` interfaces attached
 * then. An interface that appears or is re-created later is served through the UDP sockets
 * (the program finds no AF_XDP socket for it and passes the request on).
 */
#include <dirent.h>
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "frame.h"
#include "log.h"
#include "tockd.h"
#include "xdp_loader.h"
#include "xsk.h"

#define XSK_BATCH 64 /* frames per batch, at most */

/* The rx queues of an interface, from sysfs (1 when it cannot tell). */
static int rx_queues(const char *ifname)
{
	char path[64];
	struct dirent *e;
	DIR *dir;
	int n = 0;

	snprintf(path, sizeof(path), "/sys/class/net/%s/queues", ifname);
	dir = opendir(path);
	if (!dir)
		return 1;
	while ((e = readdir(dir)) != NULL)
		n += !strncmp(e->d_name, "rx-", 3);
	closedir(dir);
	return n < 1 ? 1 : n > TOCK_XSK_MAX_QUEUES ? TOCK_XSK_MAX_QUEUES : n;
}

/* Whether conf.xdp[i] asks for XDP at all. */
static int iface_wanted(const struct tock_conf *c, int i)
{
	return c->xdp[i].mode != CONF_XDP_OFF;
}

int xsk_workers_plan(const struct tockd *d)
{
	int n = 0;

	if (!d->conf.xdp_afxdp)
		return 0;
	for (int i = 0; i < d->conf.n_xdp; i++)
		if (iface_wanted(&d->conf, i) && if_nametoindex(d->conf.xdp[i].ifname))
			n += rx_queues(d->conf.xdp[i].ifname);
	return n > TOCKD_MAX_XSKS ? TOCKD_MAX_XSKS : n;
}

/* Whether tockd listens on the frame's destination address and port, as its UDP sockets
 * would have to for the kernel to deliver the request. */
static int listening_on(const struct tockd *d, const struct sockaddr_storage *local)
{
	const struct sockaddr_in *l4 = (const struct sockaddr_in *)local;
	const struct sockaddr_in6 *l6 = (const struct sockaddr_in6 *)local;

	for (int i = 0; i < d->conf.n_listen; i++) {
		const struct sockaddr_storage *ss = &d->conf.listen[i].ss;
		const struct sockaddr_in *a4 = (const struct sockaddr_in *)ss;
		const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)ss;

		if (ss->ss_family != local->ss_family)
			continue;
		if (ss->ss_family == AF_INET && a4->sin_port == l4->sin_port &&
		    (a4->sin_addr.s_addr == INADDR_ANY ||
		     a4->sin_addr.s_addr == l4->sin_addr.s_addr))
			return 1;
		if (ss->ss_family == AF_INET6 && a6->sin6_port == l6->sin6_port &&
		    (IN6_IS_ADDR_UNSPECIFIED(&a6->sin6_addr) ||
		     IN6_ARE_ADDR_EQUAL(&a6->sin6_addr, &l6->sin6_addr)))
			return 1;
	}
	return 0;
}

/* The receive time the XDP program left in front of the frame, else our own clock. The
 * magic is cleared after reading: the area is not rewritten for a frame without metadata,
 * and a stale stamp must not be taken for a fresh one. */
static void rx_meta(uint8_t *frame, uint64_t addr, struct tock_rx_meta *m)
{
	struct tock_xsk_meta meta;

	if (addr % XSK_FRAME_SIZE >= sizeof(meta)) {
		memcpy(&meta, frame - sizeof(meta), sizeof(meta));
		if (meta.magic == TOCK_XSK_META_MAGIC) {
			memset(frame - sizeof(meta) + offsetof(struct tock_xsk_meta, magic), 0,
			       sizeof(meta.magic));
			m->rx_time.tv_sec = (time_t)(meta.rx_ns / 1000000000ULL);
			m->rx_time.tv_nsec = (long)(meta.rx_ns % 1000000000ULL);
			m->rx_source =
			    meta.source == TOCK_XSK_TS_HARDWARE ? TS_SRC_HARDWARE : TS_SRC_KERNEL;
			return;
		}
	}
	clock_gettime(CLOCK_REALTIME, &m->rx_time);
	m->rx_source = TS_SRC_DAEMON;
}

/* One received frame: answered in place and queued for TX, or given back to the fill ring. */
static void xsk_one(struct tockd_worker *w, struct tock_filter *f, const struct xdp_desc *desc,
                    uint64_t now)
{
	uint64_t addr = desc->addr;
	uint32_t dlen = desc->len;
	uint8_t *frame = xsk_frame(w->xsk, addr, dlen);
	struct transport_pkt p = {.resp = w->resp};
	struct frame_info fi;
	size_t len = 0;

	STAT_INC(w->stats, AFXDP_RX);
	if (!frame || frame_parse(frame, dlen, TOCK_XDP_NTP_PORT, &fi) != FRAME_OK ||
	    !listening_on(w->d, &fi.local)) {
		STAT_INC(w->stats, DROP_FRAME);
		xsk_fill(w->xsk, addr);
		return;
	}
	p.req = frame + fi.payload_off;
	p.req_len = fi.payload_len;
	p.meta.peer = fi.peer;
	rx_meta(frame, addr, &p.meta);
	worker_serve_one(w, f, &p, now);
	if (p.resp_len)
		len = frame_reply(frame, &fi, p.resp, p.resp_len);
	if (len && xsk_tx(w->xsk, addr, (uint32_t)len) == 0) {
		STAT_INC(w->stats, AFXDP_TX);
		return;
	}
	if (len)
		STAT_INC(w->stats, TX_ERRORS); /* TX ring full */
	xsk_fill(w->xsk, addr);
}

static void xsk_batch(struct tockd_worker *w, uint32_t idx, uint32_t n)
{
	/* as in the socket workers: the filter may be switched on at run time */
	struct tock_filter *f = atomic_load_explicit(&w->d->filter, memory_order_acquire);
	uint64_t now = f ? worker_mono_ns() : 0;
	int err;

	worker_sync_keys(w);
	for (uint32_t i = 0; i < n; i++)
		xsk_one(w, f, xsk_rx_desc(w->xsk, idx + i), now);
	xsk_rx_release(w->xsk, n);
	err = xsk_flush(w->xsk);
	if (err)
		LOG_RATELIMITED(10, LOG_ERR, "afxdp %s queue %u: send failed: %s", w->ifname,
		                w->xsk->queue, strerror(-err));
}

static void *xsk_main(void *arg)
{
	struct tockd_worker *w = arg;
	struct pollfd p = {.fd = w->xsk->fd, .events = POLLIN};

	worker_pin(w);
	filter_seed_thread(((uint64_t)w->id << 32) ^ worker_mono_ns());
	while (!atomic_load_explicit(&w->d->stop, memory_order_relaxed)) {
		uint32_t idx, n = xsk_rx_peek(w->xsk, XSK_BATCH, &idx);

		if (n) {
			xsk_batch(w, idx, n);
			continue;
		}
		xsk_recycle(w->xsk);
		if (poll(&p, 1, WORKER_POLL_MS) < 0 && errno != EINTR)
			break;
		if (p.revents & (POLLERR | POLLHUP | POLLNVAL)) {
			/* the interface went away: the program passes its requests on now */
			log_warn("afxdp %s queue %u: socket unusable; its requests go to the UDP "
			         "sockets",
			         w->ifname, w->xsk->queue);
			break;
		}
	}
	return NULL;
}

/* One socket and its worker for (ifname, queue); the worker takes slot d->n_xsks. */
static int xsk_worker_open(struct tockd *d, const char *ifname, int ifindex, uint32_t queue)
{
	struct tockd_worker *w = &d->xsks[d->n_xsks];
	struct tock_serve_opts opts = {0};
	int blk = d->n_workers + d->n_xsks, err;

	memset(w, 0, sizeof(*w));
	w->id = blk;
	w->d = d;
	w->cpu = d->workers[queue % (uint32_t)d->n_workers].cpu;
	snprintf(w->ifname, sizeof(w->ifname), "%s", ifname);
	w->stats = stats_file_block(d, blk);
	w->resp = malloc(TRANSPORT_PKT_MAX);
	w->ctx = w->resp ? tock_worker_new(&opts, w->stats, &d->clock) : NULL;
	if (!w->ctx) {
		free(w->resp);
		return -ENOMEM;
	}
	err = xsk_open(&w->xsk, ifindex, queue);
	if (!err)
		err = xdp_loader_xsk_register(d->xdp, ifindex, queue, w->xsk->fd);
	if (err) {
		xsk_close(w->xsk);
		tock_worker_free(w->ctx);
		free(w->resp);
		return err;
	}
	log_info("afxdp: %s queue %u in %s mode, worker on CPU %d", ifname, queue,
	         w->xsk->zerocopy ? "zero-copy" : "copy", w->cpu);
	d->n_xsks++;
	return 0;
}

/* Every rx queue of conf.xdp[i]; failures are logged (once per interface). */
static void xsk_iface(struct tockd *d, int i)
{
	const char *name = d->conf.xdp[i].ifname;
	int ifindex = xdp_loader_attached(d->xdp, name, NULL), nq, err = 0;

	if (ifindex <= 0) {
		log_warn("afxdp: %s is not attached (yet); its requests go to the UDP sockets, "
		         "also if it appears later",
		         name);
		return;
	}
	nq = rx_queues(name);
	for (int q = 0; q < nq && !err; q++) {
		if (d->n_xsks >= d->n_xsk_blocks)
			err = -ENOSPC;
		else
			err = xsk_worker_open(d, name, ifindex, (uint32_t)q);
	}
	if (err)
		log_warn("afxdp: %s: %s%s; its remaining queues are served through the UDP sockets",
		         name, strerror(-err),
		         err == -EPERM     ? " (AF_XDP sockets need CAP_NET_RAW)"
		         : err == -ENOBUFS ? " (the UMEM needs RLIMIT_MEMLOCK or CAP_IPC_LOCK)"
		                           : "");
}

/* The UMEMs are pinned memory: without CAP_IPC_LOCK they count against RLIMIT_MEMLOCK
 * (systemd's default is 8 MiB, one UMEM). Raise it while we still may (CAP_SYS_RESOURCE);
 * best effort — registering says what failed. */
static void memlock_raise(int n_socks)
{
	rlim_t need = (rlim_t)n_socks * XSK_FRAMES * XSK_FRAME_SIZE + (16 << 20);
	struct rlimit rl;

	if (getrlimit(RLIMIT_MEMLOCK, &rl) || rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need)
		return;
	rl.rlim_cur = rl.rlim_max = RLIM_INFINITY;
	if (setrlimit(RLIMIT_MEMLOCK, &rl))
		log_info("afxdp: RLIMIT_MEMLOCK not raised (%s); enough only with CAP_IPC_LOCK",
		         strerror(errno));
}

void xsk_workers_create(struct tockd *d)
{
	if (!d->conf.xdp_afxdp)
		return;
	if (!d->xdp || !d->n_xsk_blocks) {
		log_warn("afxdp: needs the XDP program attached to an `xdp` interface; serving "
		         "through the UDP sockets");
		return;
	}
	d->xsks = calloc((size_t)d->n_xsk_blocks, sizeof(*d->xsks));
	if (!d->xsks) {
		log_warn("afxdp: out of memory; serving through the UDP sockets");
		return;
	}
	memlock_raise(d->n_xsk_blocks);
	for (int i = 0; i < d->conf.n_xdp; i++)
		if (iface_wanted(&d->conf, i))
			xsk_iface(d, i);
	log_notice("afxdp: %d socket%s", d->n_xsks, d->n_xsks == 1 ? "" : "s");
}

int xsk_workers_start(struct tockd *d)
{
	return worker_threads_start(d->xsks, d->n_xsks, xsk_main, "afxdp worker");
}

void xsk_workers_stop(struct tockd *d)
{
	atomic_store(&d->stop, 1);
	for (int i = 0; i < d->n_xsks; i++) {
		struct tockd_worker *w = &d->xsks[i];

		if (w->started)
			pthread_join(w->thread, NULL);
		xsk_close(w->xsk);
		tock_worker_free(w->ctx);
		free(w->resp);
	}
	free(d->xsks);
	d->xsks = NULL;
	d->n_xsks = 0;
}
