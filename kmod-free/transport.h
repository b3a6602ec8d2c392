/* SPDX-License-Identifier: MIT */
/*
 * The worker transports (DESIGN §2 fallback ladder): io_uring with multishot recvmsg and a
 * provided-buffer ring, or recvmmsg/sendmmsg where io_uring is unavailable (sysctl
 * kernel.io_uring_disabled, a container's seccomp profile) or switched off. A transport is a
 * small table of functions and one worker loop drives it, so both rungs feed the same
 * tock_serve() with the same receive metadata.
 *
 * The loop is:  n = recv(batch) → tock_serve() each → send(batch)  and send() also gives
 * every receive buffer of the batch back, so recv() may hand out at most `max` packets.
 */
#ifndef TOCK_TRANSPORT_H
#define TOCK_TRANSPORT_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "serve.h"
#include "stats.h"

#define TRANSPORT_BATCH      64   /* packets per recv/send batch */
#define TRANSPORT_PKT_MAX    2048 /* largest request accepted (NTS with 8 placeholders fits) */
#define TRANSPORT_MAX_SOCKS  32   /* sockets per worker (one per listen address) */
#define TRANSPORT_CMSG_SPACE 256

struct hwts_set;

/* The local side of a received packet: where the reply must come from. */
struct transport_local {
	int family; /* 0 when the kernel gave no pktinfo */
	int ifindex;
	union {
		struct in_addr v4;
		struct in6_addr v6;
	} addr;
};

/* One packet of a batch: the request as received and the response the worker fills in. */
struct transport_pkt {
	const uint8_t *req;
	size_t req_len;
	struct tock_rx_meta meta; /* rx time and source, peer address */
	socklen_t peer_len;
	struct transport_local local;
	int sock;        /* index of the socket it came in on */
	uint8_t *resp;   /* buffer of TRANSPORT_PKT_MAX bytes owned by the transport */
	size_t resp_len; /* 0: send nothing */
	uint32_t priv;   /* transport's own handle (buffer id, slot) */
};

/* What a worker hands its transport. The sockets are opened and configured by the caller. */
struct transport_cfg {
	const int *fds;
	int n_fds;
	struct tock_worker_stats
	    *stats;                /* the worker's counters (RX_TRUNCATED, RX_NOBUFS, TX_ERRORS) */
	const struct hwts_set *hw; /* NIC clocks for hardware stamps, or NULL */
	unsigned ring_entries;     /* io_uring: SQ size (power of two, >= 2 batches) */
	/* 0 keeps the defaults; tests set them to force the edge cases (ENOBUFS, MSG_CTRUNC) */
	unsigned buf_entries; /* io_uring: provided buffers (power of two), 0: ring_entries */
	unsigned cmsg_space;  /* control bytes per datagram (<= TRANSPORT_CMSG_SPACE), 0: all */
};

struct transport;

struct transport_ops {
	const char *name;
	/* 0 or -errno (then nothing is left allocated). */
	int (*init)(struct transport *t, const struct transport_cfg *cfg);
	/* Waits up to timeout_ms for requests; fills up to max packets. Count, or -errno. */
	int (*recv)(struct transport *t, struct transport_pkt *pkts, int max, int timeout_ms);
	/* Sends the packets with resp_len > 0 (one submit or one syscall per socket) and
	 * releases the whole batch's receive buffers. 0 or -errno. */
	int (*send)(struct transport *t, struct transport_pkt *pkts, int n);
	void (*deinit)(struct transport *t);
};

struct transport {
	const struct transport_ops *ops;
	struct transport_cfg cfg;
	void *priv;
};

extern const struct transport_ops uring_transport_ops;
extern const struct transport_ops mmsg_transport_ops;

/* Sets up t with ops and cfg and calls init. 0 or -errno. */
int transport_open(struct transport *t, const struct transport_ops *ops,
                   const struct transport_cfg *cfg);

/* Calls deinit (safe on a transport whose open failed). */
void transport_close(struct transport *t);

/* ---- socket setup and control messages (transport_cmsg.c), shared by both transports ---- */

/* How receive timestamps are requested on a socket. */
enum transport_ts_mode { TS_MODE_NONE = 0, TS_MODE_TIMESTAMPNS, TS_MODE_TIMESTAMPING };

/*
 * Asks the kernel for receive timestamps (SO_TIMESTAMPING with software and hardware RX
 * flags, else SO_TIMESTAMPNS) and for the destination address (IP_PKTINFO /
 * IPV6_RECVPKTINFO), and on IPv4 sends with DF set and IP ID 0 (IP_PMTUDISC_PROBE, best
 * effort). Returns the timestamp mode obtained, or -errno if pktinfo failed.
 */
int transport_sockopts(int fd, int family);

/*
 * Fills pkt->meta (rx time and source: hardware when a NIC stamp converts, kernel for a
 * software stamp, else the daemon's own clock_gettime at dequeue) and pkt->local from a
 * received message's control data.
 */
void transport_parse_cmsgs(struct msghdr *msg, const struct hwts_set *hw,
                           struct transport_pkt *pkt);

/*
 * After transport_parse_cmsgs(): 0 if the request can be answered, -1 if its control data was
 * cut (MSG_CTRUNC in msg_flags) and took the destination address with it. The kernel writes
 * the timestamp first, so a cut almost always loses pktinfo, and without it the reply would
 * leave from whatever address routing picks — one the client did not ask. Such requests are
 * dropped, counted as RX_TRUNCATED; a cut that kept pktinfo is served (daemon stamp) and
 * counted too.
 */
int transport_check_ctrunc(int msg_flags, const struct transport_pkt *pkt,
                           struct tock_worker_stats *stats);

/*
 * Writes the reply's control data (pktinfo, so the answer leaves from the address the request
 * was sent to) into buf (TRANSPORT_CMSG_SPACE bytes) and sets msg_control/msg_controllen.
 */
void transport_reply_cmsgs(struct msghdr *msg, const struct transport_local *local, void *buf);

/* ---- feature probes (probe_*.c), also shown by `tockctl probe` ---- */

/* 0 if an io_uring with the features the worker needs (buffer rings, multishot recvmsg)
 * can be created here, else -errno (-EPERM/-ENOSYS when disabled by sysctl or seccomp). */
int probe_io_uring(void);

/* The timestamp mode a fresh UDP socket of this family gets (enum transport_ts_mode). */
int probe_timestamping(int family);

#endif
