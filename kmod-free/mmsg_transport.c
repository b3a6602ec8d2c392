// SPDX-License-Identifier: MIT
/*
 * The recvmmsg/sendmmsg transport: the rung below io_uring, for kernels or containers where
 * io_uring is disabled. poll() waits on the worker's sockets, recvmmsg drains each ready one
 * without blocking, and sendmmsg sends each socket's answers in one call.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "transport.h"

struct mmsg_entry {
	uint8_t req[TRANSPORT_PKT_MAX];
	uint8_t resp[TRANSPORT_PKT_MAX];
	struct sockaddr_storage name;
	union {
		struct cmsghdr align;
		uint8_t buf[TRANSPORT_CMSG_SPACE];
	} cmsg;
	struct iovec iov;
};

struct mmsg_priv {
	struct mmsg_entry e[TRANSPORT_BATCH];
	struct mmsghdr hdr[TRANSPORT_BATCH];
	struct pollfd pfd[TRANSPORT_MAX_SOCKS];
	size_t cmsg_space;
	int next_sock; /* where the next recv starts, so one busy socket cannot starve others */
};

static int mmsg_init(struct transport *t, const struct transport_cfg *cfg)
{
	struct mmsg_priv *m;

	if (cfg->n_fds > TRANSPORT_MAX_SOCKS || cfg->cmsg_space > TRANSPORT_CMSG_SPACE)
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->cmsg_space = cfg->cmsg_space ? cfg->cmsg_space : TRANSPORT_CMSG_SPACE;
	for (int s = 0; s < cfg->n_fds; s++)
		m->pfd[s] = (struct pollfd){.fd = cfg->fds[s], .events = POLLIN};
	t->priv = m;
	return 0;
}

static void mmsg_deinit(struct transport *t)
{
	free(t->priv);
	t->priv = NULL;
}

/* Entry i (just received on socket s) as a packet for the worker; 0 if it can't be one. */
static int take_entry(struct transport *t, int s, int i, struct transport_pkt *p)
{
	struct mmsg_priv *m = t->priv;
	struct msghdr *h = &m->hdr[i].msg_hdr;

	transport_parse_cmsgs(h, t->cfg.hw, p);
	if (transport_check_ctrunc(h->msg_flags, p, t->cfg.stats) < 0)
		return 0;
	p->peer_len = h->msg_namelen;
	memcpy(&p->meta.peer, &m->e[i].name, sizeof(p->meta.peer));
	p->req = m->e[i].req;
	p->req_len = m->hdr[i].msg_len;
	p->sock = s;
	p->resp = m->e[i].resp;
	p->resp_len = 0;
	p->priv = (uint32_t)i;
	return 1;
}

/*
 * Drains up to max datagrams from socket s into entries [first, first + max) and appends
 * them to pkts[*n_pkts...]; a truncated request is counted and left out (the packets keep
 * pointing into their own entries). Returns the entries used, or -errno.
 */
static int recv_sock(struct transport *t, int s, struct transport_pkt *pkts, int *n_pkts, int first,
                     int max)
{
	struct mmsg_priv *m = t->priv;
	int n;

	for (int i = first; i < first + max; i++) {
		struct mmsg_entry *e = &m->e[i];

		e->iov = (struct iovec){e->req, sizeof(e->req)};
		m->hdr[i].msg_hdr = (struct msghdr){.msg_name = &e->name,
		                                    .msg_namelen = sizeof(e->name),
		                                    .msg_iov = &e->iov,
		                                    .msg_iovlen = 1,
		                                    .msg_control = e->cmsg.buf,
		                                    .msg_controllen = m->cmsg_space};
	}
	n = recvmmsg(t->cfg.fds[s], &m->hdr[first], (unsigned)max, MSG_DONTWAIT, NULL);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	for (int i = first; i < first + n; i++) {
		if (m->hdr[i].msg_hdr.msg_flags & MSG_TRUNC)
			STAT_INC(t->cfg.stats, RX_TRUNCATED);
		else
			*n_pkts += take_entry(t, s, i, &pkts[*n_pkts]);
	}
	return n;
}

static int mmsg_recv(struct transport *t, struct transport_pkt *pkts, int max, int timeout_ms)
{
	struct mmsg_priv *m = t->priv;
	int nfds = t->cfg.n_fds, n = 0, used = 0, r;

	if (max > TRANSPORT_BATCH)
		max = TRANSPORT_BATCH;
	r = poll(m->pfd, (nfds_t)nfds, timeout_ms);
	if (r <= 0)
		return r < 0 && errno != EINTR ? -errno : 0;
	/* entries, not packets, bound the loop: a left-out truncated datagram keeps its entry */
	for (int k = 0; k < nfds && used < max; k++) {
		int s = (m->next_sock + k) % nfds;

		if (!(m->pfd[s].revents & POLLIN))
			continue;
		r = recv_sock(t, s, pkts, &n, used, max - used);
		if (r < 0)
			return n ? n : r;
		used += r;
	}
	m->next_sock = (m->next_sock + 1) % nfds;
	return n;
}

/* Sends the answers of the batch that came in on socket s with one sendmmsg. */
static void send_sock(struct transport *t, int s, struct transport_pkt *pkts, int n)
{
	struct mmsg_priv *m = t->priv;
	int k = 0, done = 0;

	for (int i = 0; i < n; i++) {
		struct mmsg_entry *e = &m->e[i];
		struct msghdr *h = &m->hdr[k].msg_hdr;

		if (pkts[i].sock != s || !pkts[i].resp_len)
			continue;
		memcpy(&e->name, &pkts[i].meta.peer, sizeof(e->name));
		e->iov = (struct iovec){pkts[i].resp, pkts[i].resp_len};
		*h = (struct msghdr){.msg_name = &e->name,
		                     .msg_namelen = pkts[i].peer_len,
		                     .msg_iov = &e->iov,
		                     .msg_iovlen = 1};
		transport_reply_cmsgs(h, &pkts[i].local, e->cmsg.buf);
		k++;
	}
	while (done < k) {
		int r = sendmmsg(t->cfg.fds[s], &m->hdr[done], (unsigned)(k - done), MSG_DONTWAIT);

		if (r <= 0) { /* skip the datagram the kernel refused and go on */
			STAT_INC(t->cfg.stats, TX_ERRORS);
			r = 1;
		}
		done += r;
	}
}

static int mmsg_send(struct transport *t, struct transport_pkt *pkts, int n)
{
	for (int s = 0; s < t->cfg.n_fds; s++)
		send_sock(t, s, pkts, n);
	return 0;
}

const struct transport_ops mmsg_transport_ops = {
    .name = "recvmmsg",
    .init = mmsg_init,
    .recv = mmsg_recv,
    .send = mmsg_send,
    .deinit = mmsg_deinit,
};
