/* SPDX-License-Identifier: MIT */
/*
 * One AF_XDP socket with its own UMEM, on the raw kernel API (no libxdp): the UMEM is
 * registered, the four rings (fill, completion, RX, TX) are sized and mapped, and the socket
 * is bound to (ifindex, queue) with XDP_USE_NEED_WAKEUP — zero-copy when the driver offers
 * it, else copy mode (veth, generic XDP).
 *
 * The frames circulate:  fill → (kernel) → RX → (caller answers in place) → TX →
 * (kernel) → completion → fill. A frame the caller does not answer goes straight back to
 * the fill ring. The fill ring holds every frame, so giving one back never fails.
 *
 * Single-threaded: one thread owns a socket. Ring indices are free-running 32-bit counters;
 * the producer publishes with a release store, the consumer reads with an acquire load.
 */
#ifndef TOCK_XSK_H
#define TOCK_XSK_H

#include <linux/if_xdp.h>
#include <stddef.h>
#include <stdint.h>

#define XSK_FRAMES     4096 /* UMEM frames per socket (x XSK_FRAME_SIZE = 8 MiB) */
#define XSK_FRAME_SIZE 2048
#define XSK_RING_SIZE  2048 /* RX, TX and completion rings; the fill ring holds XSK_FRAMES */

struct xsk_ring {
	uint32_t *producer;
	uint32_t *consumer;
	uint32_t *flags;
	void *descs; /* uint64_t (fill, completion) or struct xdp_desc (RX, TX) */
	uint32_t mask;
	uint32_t size;
	void *map;
	size_t map_len;
};

struct xsk_socket {
	int fd;
	int ifindex;
	uint32_t queue;
	int zerocopy; /* bound with XDP_ZEROCOPY */
	uint8_t *umem;
	size_t umem_len;
	struct xsk_ring fill, comp, rx, tx;
	uint32_t tx_pending; /* descriptors submitted since the last kick */
};

/* Creates the socket, UMEM and rings and binds them to (ifindex, queue): zero-copy first,
 * copy mode if that fails. 0 or a negative errno; *out is NULL on error. */
int xsk_open(struct xsk_socket **out, int ifindex, uint32_t queue);

/* Unmaps and closes everything (NULL is fine). Closing removes it from any XSKMAP. */
void xsk_close(struct xsk_socket *x);

/* Up to max received descriptors, starting at ring position *idx. Release them with
 * xsk_rx_release once their frames are handed on. */
uint32_t xsk_rx_peek(struct xsk_socket *x, uint32_t max, uint32_t *idx);
const struct xdp_desc *xsk_rx_desc(const struct xsk_socket *x, uint32_t idx);
void xsk_rx_release(struct xsk_socket *x, uint32_t n);

/* The frame a descriptor address points into (NULL if out of the UMEM, len included). */
uint8_t *xsk_frame(const struct xsk_socket *x, uint64_t addr, uint32_t len);

/* Gives a frame back to the kernel for receiving. */
void xsk_fill(struct xsk_socket *x, uint64_t addr);

/* Queues a frame for sending; -ENOBUFS when the TX ring is full (the frame stays ours). */
int xsk_tx(struct xsk_socket *x, uint64_t addr, uint32_t len);

/* Makes queued frames visible to the kernel and, when it asks for it (or always in copy
 * mode, where sending happens in the syscall), kicks it with sendto(MSG_DONTWAIT). Then
 * moves completed frames back to the fill ring. 0 or a negative errno from sendto (EAGAIN,
 * EBUSY and ENOBUFS are transient: the frames stay queued and go with the next kick). */
int xsk_flush(struct xsk_socket *x);

/* Completed TX frames back to the fill ring; how many. */
uint32_t xsk_recycle(struct xsk_socket *x);

#endif
