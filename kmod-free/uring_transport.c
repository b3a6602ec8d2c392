// SPDX-License-Identifier: MIT
/*
 * The io_uring transport: one ring per worker, one multishot recvmsg per socket drawing from
 * a provided-buffer ring (the kernel picks a buffer per datagram, so one SQE keeps receiving
 * until it runs out of buffers), and batched sendmsg (a batch of SQEs, one submit).
 *
 * Receive buffer layout (io_uring_recvmsg_out): header | name | control | payload, with the
 * name and control sizes fixed by the msghdr given to the multishot request. The payload part
 * holds exactly TRANSPORT_PKT_MAX bytes, so both transports truncate at the same size.
 */
#include <errno.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "transport.h"

#define URING_BGID          0
#define URING_NAME_LEN      ((socklen_t)sizeof(struct sockaddr_storage))
#define URING_KIND_RECV     1ULL
#define URING_KIND_SEND     2ULL
#define URING_UD(kind, idx) (((kind) << 32) | (uint32_t)(idx))

/* A response in flight: everything sendmsg reads must live until its completion. */
struct uring_slot {
	struct msghdr msg;
	struct iovec iov;
	struct sockaddr_storage peer;
	union {
		struct cmsghdr align;
		uint8_t buf[TRANSPORT_CMSG_SPACE];
	} cmsg;
	uint8_t data[TRANSPORT_PKT_MAX];
	int next_free;
};

struct uring_priv {
	struct io_uring ring;
	struct io_uring_buf_ring *br;
	size_t br_bytes;
	uint8_t *bufs;
	unsigned n_bufs;
	unsigned buf_len;    /* what the kernel may fill: header, name, control, payload */
	unsigned buf_stride; /* buf_len rounded up to a cache line */
	struct msghdr recv_msg[TRANSPORT_MAX_SOCKS]; /* the multishot templates */
	uint8_t need_arm[TRANSPORT_MAX_SOCKS];
	struct uring_slot *slots;
	int n_slots;
	int free_head;
};

static struct io_uring_sqe *get_sqe(struct io_uring *ring)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	if (!sqe) { /* SQ full: push what is queued and try again */
		io_uring_submit(ring);
		sqe = io_uring_get_sqe(ring);
	}
	return sqe;
}

static void arm_recv(struct transport *t, int s)
{
	struct uring_priv *u = t->priv;
	struct io_uring_sqe *sqe = get_sqe(&u->ring);

	if (!sqe)
		return; /* stays marked; retried on the next recv() */
	io_uring_prep_recvmsg_multishot(sqe, t->cfg.fds[s], &u->recv_msg[s], 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = URING_BGID;
	io_uring_sqe_set_data64(sqe, URING_UD(URING_KIND_RECV, s));
	u->need_arm[s] = 0;
}

static void give_buffer(struct uring_priv *u, unsigned bid, int offset)
{
	io_uring_buf_ring_add(u->br, u->bufs + (size_t)bid * u->buf_stride, u->buf_len, bid,
	                      io_uring_buf_ring_mask(u->n_bufs), offset);
}

static int setup_buffers(struct uring_priv *u)
{
	struct io_uring_buf_reg reg = {0};
	int err;

	u->br_bytes = u->n_bufs * sizeof(struct io_uring_buf);
	u->br = mmap(NULL, u->br_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
	if (u->br == MAP_FAILED) {
		u->br = NULL;
		return -errno;
	}
	u->bufs = aligned_alloc(64, (size_t)u->n_bufs * u->buf_stride);
	if (!u->bufs)
		return -ENOMEM;
	reg.ring_addr = (unsigned long)u->br;
	reg.ring_entries = u->n_bufs;
	reg.bgid = URING_BGID;
	err = io_uring_register_buf_ring(&u->ring, &reg, 0);
	if (err)
		return err;
	io_uring_buf_ring_init(u->br);
	for (unsigned i = 0; i < u->n_bufs; i++)
		give_buffer(u, i, (int)i);
	io_uring_buf_ring_advance(u->br, (int)u->n_bufs);
	return 0;
}

static int setup_slots(struct uring_priv *u)
{
	u->n_slots = (int)u->n_bufs;
	u->slots = calloc((size_t)u->n_slots, sizeof(*u->slots));
	if (!u->slots)
		return -ENOMEM;
	for (int i = 0; i < u->n_slots; i++)
		u->slots[i].next_free = i + 1 < u->n_slots ? i + 1 : -1;
	u->free_head = 0;
	return 0;
}

static int init_ring(struct uring_priv *u, unsigned entries)
{
	struct io_uring_params p = {.flags = IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN};
	int err = io_uring_queue_init_params(entries, &u->ring, &p);

	if (err == -EINVAL) { /* an older kernel without those flags */
		memset(&p, 0, sizeof(p));
		err = io_uring_queue_init_params(entries, &u->ring, &p);
	}
	return err;
}

static void uring_deinit(struct transport *t)
{
	struct uring_priv *u = t->priv;

	if (!u)
		return;
	if (u->ring.ring_fd >= 0)
		io_uring_queue_exit(&u->ring); /* cancels the multishot requests */
	if (u->br)
		munmap(u->br, u->br_bytes);
	free(u->bufs);
	free(u->slots);
	free(u);
	t->priv = NULL;
}

static int is_pow2(unsigned v)
{
	return v && !(v & (v - 1));
}

/* The sizes cfg asks for (0 picks the default), checked; 0 or -EINVAL. */
static int pick_sizes(struct uring_priv *u, const struct transport_cfg *cfg, unsigned *ctl)
{
	u->n_bufs = cfg->buf_entries ? cfg->buf_entries : cfg->ring_entries;
	*ctl = cfg->cmsg_space ? cfg->cmsg_space : TRANSPORT_CMSG_SPACE;
	/* a packet's handle holds the buffer id in 16 bits (uring_send) */
	if (cfg->n_fds > TRANSPORT_MAX_SOCKS || cfg->ring_entries < 2 * TRANSPORT_BATCH ||
	    !is_pow2(cfg->ring_entries) || !is_pow2(u->n_bufs) || u->n_bufs > 32768 ||
	    *ctl > TRANSPORT_CMSG_SPACE)
		return -EINVAL;
	u->buf_len =
	    sizeof(struct io_uring_recvmsg_out) + URING_NAME_LEN + *ctl + TRANSPORT_PKT_MAX;
	u->buf_stride = (u->buf_len + 63) & ~63u; /* aligned_alloc wants a multiple of 64 */
	return 0;
}

static int uring_init(struct transport *t, const struct transport_cfg *cfg)
{
	struct uring_priv *u;
	unsigned ctl;
	int err;

	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	t->priv = u;
	u->ring.ring_fd = -1;
	err = pick_sizes(u, cfg, &ctl);
	if (err)
		goto fail;
	err = init_ring(u, cfg->ring_entries);
	if (err) {
		u->ring.ring_fd = -1;
		goto fail;
	}
	err = setup_buffers(u);
	if (!err)
		err = setup_slots(u);
	if (err)
		goto fail;
	/* Armed by the first recv(), i.e. from the worker thread: io_uring runs a request's
	 * completion work in the task that submitted it, and a multishot receive armed here
	 * would wake the main thread for every datagram (and contend for the ring's lock). */
	for (int s = 0; s < cfg->n_fds; s++) {
		u->recv_msg[s].msg_namelen = URING_NAME_LEN;
		u->recv_msg[s].msg_controllen = ctl;
		u->need_arm[s] = 1;
	}
	return 0;
fail:
	uring_deinit(t);
	return err;
}

static int slot_get(struct uring_priv *u)
{
	int i = u->free_head;

	if (i >= 0)
		u->free_head = u->slots[i].next_free;
	return i;
}

static void slot_put(struct uring_priv *u, int i)
{
	u->slots[i].next_free = u->free_head;
	u->free_head = i;
}

/* A receive not passed on: its buffer goes straight back to the ring. Returns 0 (no packet). */
static int drop_recv(struct transport *t, unsigned bid, int count_truncated)
{
	struct uring_priv *u = t->priv;

	if (count_truncated)
		STAT_INC(t->cfg.stats, RX_TRUNCATED);
	give_buffer(u, bid, 0);
	io_uring_buf_ring_advance(u->br, 1);
	return 0;
}

/* Turns one receive completion into a packet; 0 if it gave none (error, truncation). */
static int take_recv(struct transport *t, struct io_uring_cqe *cqe, int s, int slot,
                     struct transport_pkt *pkt)
{
	struct uring_priv *u = t->priv;
	unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
	uint8_t *buf = u->bufs + (size_t)bid * u->buf_stride;
	struct io_uring_recvmsg_out *out =
	    io_uring_recvmsg_validate(buf, cqe->res, &u->recv_msg[s]);
	struct msghdr m = {0};

	if (!out || (out->flags & MSG_TRUNC))
		return drop_recv(t, bid, 1);
	m.msg_control = (uint8_t *)io_uring_recvmsg_name(out) + URING_NAME_LEN;
	m.msg_controllen = out->controllen;
	transport_parse_cmsgs(&m, t->cfg.hw, pkt);
	if (transport_check_ctrunc((int)out->flags, pkt, t->cfg.stats) < 0)
		return drop_recv(t, bid, 0);
	pkt->peer_len = out->namelen < URING_NAME_LEN ? out->namelen : URING_NAME_LEN;
	memcpy(&pkt->meta.peer, io_uring_recvmsg_name(out), pkt->peer_len);
	pkt->req = io_uring_recvmsg_payload(out, &u->recv_msg[s]);
	pkt->req_len = io_uring_recvmsg_payload_length(out, cqe->res, &u->recv_msg[s]);
	pkt->sock = s;
	pkt->resp = u->slots[slot].data;
	pkt->resp_len = 0;
	pkt->priv = bid | ((uint32_t)slot << 16);
	return 1;
}

/* A receive completion with an error or without F_MORE: count it and plan the re-arm. */
static void recv_status(struct transport *t, struct io_uring_cqe *cqe, int s)
{
	struct uring_priv *u = t->priv;

	if (cqe->res == -ENOBUFS)
		STAT_INC(t->cfg.stats, RX_NOBUFS);
	if (!(cqe->flags & IORING_CQE_F_MORE))
		u->need_arm[s] = 1; /* re-armed after this batch gives its buffers back */
}

/* Handles one completion; returns 1 if it produced a packet, else 0. */
static int handle_cqe(struct transport *t, struct io_uring_cqe *cqe, struct transport_pkt *pkt)
{
	struct uring_priv *u = t->priv;
	uint64_t ud = io_uring_cqe_get_data64(cqe);
	int idx = (int)(uint32_t)ud, slot;

	if ((ud >> 32) == URING_KIND_SEND) {
		if (cqe->res < 0)
			STAT_INC(t->cfg.stats, TX_ERRORS);
		slot_put(u, idx);
		return 0;
	}
	if (cqe->res < 0 || !(cqe->flags & IORING_CQE_F_MORE))
		recv_status(t, cqe, idx);
	if (cqe->res < 0 || !(cqe->flags & IORING_CQE_F_BUFFER))
		return 0;
	slot = slot_get(u);
	if (slot < 0) {
		/* Every response slot waits for a send completion queued behind this CQE (sends
		 * that went async on a full socket): waiting here would never reach them, so the
		 * request is dropped and counted like a lack of buffers. */
		STAT_INC(t->cfg.stats, RX_NOBUFS);
		give_buffer(u, cqe->flags >> IORING_CQE_BUFFER_SHIFT, 0);
		io_uring_buf_ring_advance(u->br, 1);
		return 0;
	}
	if (!take_recv(t, cqe, idx, slot, pkt)) {
		slot_put(u, slot);
		return 0;
	}
	return 1;
}

static int uring_recv(struct transport *t, struct transport_pkt *pkts, int max, int timeout_ms)
{
	struct uring_priv *u = t->priv;
	struct __kernel_timespec ts = {timeout_ms / 1000, (timeout_ms % 1000) * 1000000LL};
	struct io_uring_cqe *cqe;
	unsigned head, seen = 0;
	int n = 0, err;

	for (int s = 0; s < t->cfg.n_fds; s++)
		if (u->need_arm[s])
			arm_recv(t, s);
	err = io_uring_submit_and_wait_timeout(&u->ring, &cqe, 1, &ts, NULL);
	if (err < 0 && err != -ETIME && err != -EINTR)
		return err;
	io_uring_for_each_cqe(&u->ring, head, cqe)
	{
		if (n >= max)
			break;
		n += handle_cqe(t, cqe, &pkts[n]);
		seen++;
	}
	io_uring_cq_advance(&u->ring, seen);
	return n;
}

/* Queues one response; the slot now belongs to the kernel until its completion. */
static void queue_send(struct transport *t, struct transport_pkt *pkt, int slot)
{
	struct uring_priv *u = t->priv;
	struct uring_slot *sl = &u->slots[slot];
	struct io_uring_sqe *sqe = get_sqe(&u->ring);

	if (!sqe) {
		STAT_INC(t->cfg.stats, TX_ERRORS);
		slot_put(u, slot);
		return;
	}
	memcpy(&sl->peer, &pkt->meta.peer, pkt->peer_len);
	sl->iov = (struct iovec){sl->data, pkt->resp_len};
	sl->msg = (struct msghdr){.msg_name = &sl->peer,
	                          .msg_namelen = pkt->peer_len,
	                          .msg_iov = &sl->iov,
	                          .msg_iovlen = 1};
	transport_reply_cmsgs(&sl->msg, &pkt->local, sl->cmsg.buf);
	io_uring_prep_sendmsg(sqe, t->cfg.fds[pkt->sock], &sl->msg, 0);
	io_uring_sqe_set_data64(sqe, URING_UD(URING_KIND_SEND, slot));
}

static int uring_send(struct transport *t, struct transport_pkt *pkts, int n)
{
	struct uring_priv *u = t->priv;
	int err;

	for (int i = 0; i < n; i++) {
		int slot = (int)(pkts[i].priv >> 16);

		if (pkts[i].resp_len)
			queue_send(t, &pkts[i], slot);
		else
			slot_put(u, slot);
		/* the request was read by tock_serve already: its buffer can go back now */
		give_buffer(u, pkts[i].priv & 0xffff, i);
	}
	io_uring_buf_ring_advance(u->br, n);
	err = io_uring_submit(&u->ring);
	return err < 0 ? err : 0;
}

const struct transport_ops uring_transport_ops = {
    .name = "io_uring",
    .init = uring_init,
    .recv = uring_recv,
    .send = uring_send,
    .deinit = uring_deinit,
};
