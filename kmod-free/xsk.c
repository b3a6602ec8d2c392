// SPDX-License-Identifier: MIT
/*
 * AF_XDP sockets on the raw kernel API (Documentation/networking/af_xdp.rst): UMEM
 * registration, ring sizing and mmap, bind with zero-copy → copy fallback, and the few ring
 * operations tockd's AF_XDP worker needs. See xsk.h for the frame cycle.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "xsk.h"

#ifndef AF_XDP
#define AF_XDP 44
#endif
#ifndef SOL_XDP
#define SOL_XDP 283
#endif

static uint32_t load_acquire(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void store_release(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

/* Maps one ring (its producer/consumer/flags words and descriptors) at the page offset. */
static int ring_map(struct xsk_ring *r, int fd, const struct xdp_ring_offset *o, uint32_t n,
                    size_t desc_size, off_t pgoff)
{
	size_t len = o->desc + (size_t)n * desc_size;
	uint8_t *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, pgoff);

	if (m == MAP_FAILED)
		return -errno;
	r->map = m;
	r->map_len = len;
	r->producer = (uint32_t *)(m + o->producer);
	r->consumer = (uint32_t *)(m + o->consumer);
	r->flags = (uint32_t *)(m + o->flags);
	r->descs = m + o->desc;
	r->size = n;
	r->mask = n - 1;
	return 0;
}

static void ring_unmap(struct xsk_ring *r)
{
	if (r->map)
		munmap(r->map, r->map_len);
	r->map = NULL;
}

static int set_int(int fd, int opt, uint32_t v)
{
	int i = (int)v;

	return setsockopt(fd, SOL_XDP, opt, &i, sizeof(i)) < 0 ? -errno : 0;
}

/* Registers the UMEM and sizes the four rings. */
static int umem_register(struct xsk_socket *x)
{
	struct xdp_umem_reg mr = {.addr = (uint64_t)(uintptr_t)x->umem,
	                          .len = x->umem_len,
	                          .chunk_size = XSK_FRAME_SIZE,
	                          .headroom = 0};
	int err = 0;

	if (setsockopt(x->fd, SOL_XDP, XDP_UMEM_REG, &mr, sizeof(mr)) < 0)
		return -errno;
	err = set_int(x->fd, XDP_UMEM_FILL_RING, XSK_FRAMES);
	if (!err)
		err = set_int(x->fd, XDP_UMEM_COMPLETION_RING, XSK_RING_SIZE);
	if (!err)
		err = set_int(x->fd, XDP_RX_RING, XSK_RING_SIZE);
	if (!err)
		err = set_int(x->fd, XDP_TX_RING, XSK_RING_SIZE);
	return err;
}

static int rings_map(struct xsk_socket *x)
{
	struct xdp_mmap_offsets o;
	socklen_t len = sizeof(o);
	int err;

	if (getsockopt(x->fd, SOL_XDP, XDP_MMAP_OFFSETS, &o, &len) < 0)
		return -errno;
	err = ring_map(&x->fill, x->fd, &o.fr, XSK_FRAMES, sizeof(uint64_t),
	               (off_t)XDP_UMEM_PGOFF_FILL_RING);
	if (!err)
		err = ring_map(&x->comp, x->fd, &o.cr, XSK_RING_SIZE, sizeof(uint64_t),
		               (off_t)XDP_UMEM_PGOFF_COMPLETION_RING);
	if (!err)
		err = ring_map(&x->rx, x->fd, &o.rx, XSK_RING_SIZE, sizeof(struct xdp_desc),
		               XDP_PGOFF_RX_RING);
	if (!err)
		err = ring_map(&x->tx, x->fd, &o.tx, XSK_RING_SIZE, sizeof(struct xdp_desc),
		               XDP_PGOFF_TX_RING);
	return err;
}

/* Every frame into the fill ring, before the bind so the first packet finds one. */
static void fill_all(struct xsk_socket *x)
{
	uint64_t *d = x->fill.descs;
	uint32_t prod = *x->fill.producer;

	for (uint32_t i = 0; i < XSK_FRAMES; i++)
		d[(prod + i) & x->fill.mask] = (uint64_t)i * XSK_FRAME_SIZE;
	store_release(x->fill.producer, prod + XSK_FRAMES);
}

static int xsk_bind(struct xsk_socket *x, uint16_t mode)
{
	struct sockaddr_xdp sa = {.sxdp_family = AF_XDP,
	                          .sxdp_flags = (uint16_t)(XDP_USE_NEED_WAKEUP | mode),
	                          .sxdp_ifindex = (uint32_t)x->ifindex,
	                          .sxdp_queue_id = x->queue};

	return bind(x->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -errno : 0;
}

/* Releases the socket and rings (the UMEM stays for a retry). */
static void socket_close(struct xsk_socket *x)
{
	ring_unmap(&x->fill);
	ring_unmap(&x->comp);
	ring_unmap(&x->rx);
	ring_unmap(&x->tx);
	if (x->fd >= 0)
		close(x->fd);
	x->fd = -1;
}

/* One attempt in one bind mode: socket, UMEM, rings, fill, bind. */
static int socket_setup(struct xsk_socket *x, uint16_t mode)
{
	int err;

	x->fd = socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (x->fd < 0)
		return -errno;
	err = umem_register(x);
	if (!err)
		err = rings_map(x);
	if (!err) {
		fill_all(x);
		err = xsk_bind(x, mode);
	}
	if (err)
		socket_close(x);
	x->zerocopy = !err && mode == XDP_ZEROCOPY;
	return err;
}

int xsk_open(struct xsk_socket **out, int ifindex, uint32_t queue)
{
	struct xsk_socket *x = calloc(1, sizeof(*x));
	int err;

	*out = NULL;
	if (!x)
		return -ENOMEM;
	x->fd = -1;
	x->ifindex = ifindex;
	x->queue = queue;
	x->umem_len = (size_t)XSK_FRAMES * XSK_FRAME_SIZE;
	x->umem = mmap(NULL, x->umem_len, PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (x->umem == MAP_FAILED) {
		err = -errno;
		free(x);
		return err;
	}
	/* A failed zero-copy bind leaves the UMEM registered to that socket: start afresh. */
	err = socket_setup(x, XDP_ZEROCOPY);
	if (err)
		err = socket_setup(x, XDP_COPY);
	if (err) {
		xsk_close(x);
		return err;
	}
	*out = x;
	return 0;
}

void xsk_close(struct xsk_socket *x)
{
	if (!x)
		return;
	socket_close(x);
	if (x->umem && x->umem != MAP_FAILED)
		munmap(x->umem, x->umem_len);
	free(x);
}

uint32_t xsk_rx_peek(struct xsk_socket *x, uint32_t max, uint32_t *idx)
{
	uint32_t cons = *x->rx.consumer, n = load_acquire(x->rx.producer) - cons;

	*idx = cons;
	return n < max ? n : max;
}

const struct xdp_desc *xsk_rx_desc(const struct xsk_socket *x, uint32_t idx)
{
	return (const struct xdp_desc *)x->rx.descs + (idx & x->rx.mask);
}

void xsk_rx_release(struct xsk_socket *x, uint32_t n)
{
	store_release(x->rx.consumer, *x->rx.consumer + n);
}

uint8_t *xsk_frame(const struct xsk_socket *x, uint64_t addr, uint32_t len)
{
	if (addr >= x->umem_len || len > x->umem_len - addr)
		return NULL;
	return x->umem + addr;
}

void xsk_fill(struct xsk_socket *x, uint64_t addr)
{
	uint32_t prod = *x->fill.producer;

	/* Never full: the ring has room for every frame of the UMEM. */
	((uint64_t *)x->fill.descs)[prod & x->fill.mask] = addr;
	store_release(x->fill.producer, prod + 1);
}

int xsk_tx(struct xsk_socket *x, uint64_t addr, uint32_t len)
{
	uint32_t prod = *x->tx.producer + x->tx_pending;
	struct xdp_desc *d;

	if (prod - load_acquire(x->tx.consumer) >= x->tx.size)
		return -ENOBUFS;
	d = (struct xdp_desc *)x->tx.descs + (prod & x->tx.mask);
	d->addr = addr;
	d->len = len;
	d->options = 0;
	x->tx_pending++;
	return 0;
}

uint32_t xsk_recycle(struct xsk_socket *x)
{
	uint32_t cons = *x->comp.consumer, n = load_acquire(x->comp.producer) - cons;
	const uint64_t *d = x->comp.descs;

	for (uint32_t i = 0; i < n; i++)
		xsk_fill(x, d[(cons + i) & x->comp.mask]);
	if (n)
		store_release(x->comp.consumer, cons + n);
	return n;
}

/* One kick; 1 when the kernel asked to be called again (copy mode sends a bounded batch
 * per call), 0 when done, or a negative errno. */
static int kick(struct xsk_socket *x)
{
	if (sendto(x->fd, NULL, 0, MSG_DONTWAIT, NULL, 0) >= 0)
		return 0;
	if (errno == EAGAIN)
		return 1;
	if (errno == EBUSY || errno == ENOBUFS || errno == ENETDOWN)
		return 0; /* transient: the frames stay queued for the next flush */
	return -errno;
}

#define XSK_KICKS 8 /* sendto calls per flush at most (copy mode sends 32 per call) */

int xsk_flush(struct xsk_socket *x)
{
	int err = 0;

	if (x->tx_pending) {
		store_release(x->tx.producer, *x->tx.producer + x->tx_pending);
		x->tx_pending = 0;
	}
	/* In copy mode the frames are sent inside the syscall; in zero-copy mode the driver
	 * sends them and wants a call only when it set the wakeup flag. */
	for (int i = 0; i < XSK_KICKS; i++) {
		if (*x->tx.producer == load_acquire(x->tx.consumer))
			break;
		if (x->zerocopy && !(load_acquire(x->tx.flags) & XDP_RING_NEED_WAKEUP))
			break;
		err = kick(x);
		if (err <= 0)
			break;
		err = 0;
	}
	xsk_recycle(x);
	return err;
}
