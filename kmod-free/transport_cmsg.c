// SPDX-License-Identifier: MIT
/*
 * Socket options and control messages shared by the io_uring and recvmmsg transports:
 * receive timestamps (SO_TIMESTAMPING, else SO_TIMESTAMPNS) and the destination address
 * (IP_PKTINFO / IPV6_RECVPKTINFO) so that each answer leaves from the address its request
 * was sent to, which multi-homed servers and anycast need.
 */
#include <errno.h>
#include <time.h>
/* linux/errqueue.h needs struct timespec declared first */
#include <linux/errqueue.h>
#include <linux/net_tstamp.h>
#include <string.h>

#include "hwts_phc.h"
#include "transport.h"

/*
 * IPv4 answers go out with DF set and IP ID 0 (RFC 6864: an atomic datagram needs no ID).
 * Under the default (IP_PMTUDISC_WANT) the kernel draws a fresh ID for every datagram from
 * a shared hashed counter, a measurable part of each send. PROBE ignores the learnt path MTU
 * rather than failing with EMSGSIZE, and an answer is never longer than the request that
 * came in, so it fits. Best effort: an answer with an ID is just as good.
 */
static void set_df_probe(int fd)
{
	int v = IP_PMTUDISC_PROBE;

	(void)setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &v, sizeof(v));
}

int transport_sockopts(int fd, int family)
{
	int on = 1, mode = TS_MODE_NONE;
	int flags = SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE |
	            SOF_TIMESTAMPING_RX_HARDWARE | SOF_TIMESTAMPING_RAW_HARDWARE;

	if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, &flags, sizeof(flags)) == 0)
		mode = TS_MODE_TIMESTAMPING;
	else if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on)) == 0)
		mode = TS_MODE_TIMESTAMPNS;
	if (family == AF_INET6) {
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof(on)) < 0)
			return -errno;
	} else if (setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on)) < 0) {
		return -errno;
	} else {
		set_df_probe(fd);
	}
	return mode;
}

static int ts_nonzero(const struct timespec *ts)
{
	return ts->tv_sec || ts->tv_nsec;
}

/* SCM_TIMESTAMPING: ts[0] software, ts[2] raw hardware (PHC time, needs converting). */
static void take_timestamping(const struct scm_timestamping *t, const struct hwts_set *hw,
                              struct transport_pkt *pkt)
{
	int64_t rt;

	if (ts_nonzero(&t->ts[2]) &&
	    hwts_set_convert(hw, pkt->local.ifindex,
	                     t->ts[2].tv_sec * 1000000000LL + t->ts[2].tv_nsec, &rt) == 0) {
		pkt->meta.rx_time.tv_sec = rt / 1000000000LL;
		pkt->meta.rx_time.tv_nsec = rt % 1000000000LL;
		pkt->meta.rx_source = TS_SRC_HARDWARE;
	} else if (ts_nonzero(&t->ts[0])) {
		pkt->meta.rx_time = t->ts[0];
		pkt->meta.rx_source = TS_SRC_KERNEL;
	}
}

static void take_pktinfo(const struct cmsghdr *c, struct transport_local *l)
{
	if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
	    c->cmsg_len >= CMSG_LEN(sizeof(struct in_pktinfo))) {
		struct in_pktinfo pi;

		memcpy(&pi, CMSG_DATA(c), sizeof(pi));
		l->family = AF_INET;
		l->ifindex = pi.ipi_ifindex;
		l->addr.v4 = pi.ipi_addr;
	} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO &&
	           c->cmsg_len >= CMSG_LEN(sizeof(struct in6_pktinfo))) {
		struct in6_pktinfo pi;

		memcpy(&pi, CMSG_DATA(c), sizeof(pi));
		l->family = AF_INET6;
		l->ifindex = (int)pi.ipi6_ifindex;
		l->addr.v6 = pi.ipi6_addr;
	}
}

void transport_parse_cmsgs(struct msghdr *msg, const struct hwts_set *hw, struct transport_pkt *pkt)
{
	const uint8_t *end = (const uint8_t *)msg->msg_control + msg->msg_controllen;
	const struct cmsghdr *ts = NULL;

	pkt->meta.rx_source = TS_SRC_DAEMON;
	memset(&pkt->local, 0, sizeof(pkt->local));
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		/* never read past the control data, whatever a cmsg_len says */
		if (c->cmsg_len > (size_t)(end - (const uint8_t *)c))
			break;
		if (c->cmsg_level == SOL_SOCKET &&
		    (c->cmsg_type == SCM_TIMESTAMPING || c->cmsg_type == SCM_TIMESTAMPNS))
			ts = c; /* after the loop: the hardware stamp needs the ifindex */
		else
			take_pktinfo(c, &pkt->local);
	}
	if (ts && ts->cmsg_type == SCM_TIMESTAMPING &&
	    ts->cmsg_len >= CMSG_LEN(sizeof(struct scm_timestamping))) {
		struct scm_timestamping t;

		memcpy(&t, CMSG_DATA(ts), sizeof(t));
		take_timestamping(&t, hw, pkt);
	} else if (ts && ts->cmsg_type == SCM_TIMESTAMPNS &&
	           ts->cmsg_len >= CMSG_LEN(sizeof(struct timespec))) {
		/* type checked: on MSG_CTRUNC the kernel cuts an SCM_TIMESTAMPING down to what
		 * fits, and the cut one must not pass for an SCM_TIMESTAMPNS */
		memcpy(&pkt->meta.rx_time, CMSG_DATA(ts), sizeof(struct timespec));
		pkt->meta.rx_source = TS_SRC_KERNEL;
	}
	if (pkt->meta.rx_source == TS_SRC_DAEMON)
		clock_gettime(CLOCK_REALTIME, &pkt->meta.rx_time);
}

int transport_check_ctrunc(int msg_flags, const struct transport_pkt *pkt,
                           struct tock_worker_stats *stats)
{
	if (!(msg_flags & MSG_CTRUNC))
		return 0;
	STAT_INC(stats, RX_TRUNCATED);
	return pkt->local.family ? 0 : -1;
}

void transport_reply_cmsgs(struct msghdr *msg, const struct transport_local *local, void *buf)
{
	struct cmsghdr *c;

	msg->msg_control = NULL;
	msg->msg_controllen = 0;
	if (!local->family)
		return;
	memset(buf, 0, CMSG_SPACE(sizeof(struct in6_pktinfo)));
	msg->msg_control = buf;
	c = (struct cmsghdr *)buf;
	if (local->family == AF_INET) {
		/* spec_dst picks the source address; ifindex 0 lets routing pick the way out */
		struct in_pktinfo pi = {.ipi_spec_dst = local->addr.v4};

		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		msg->msg_controllen = CMSG_SPACE(sizeof(pi));
	} else {
		/* the ifindex matters for link-local addresses */
		struct in6_pktinfo pi = {.ipi6_addr = local->addr.v6,
		                         .ipi6_ifindex = (unsigned)local->ifindex};

		c->cmsg_level = IPPROTO_IPV6;
		c->cmsg_type = IPV6_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		msg->msg_controllen = CMSG_SPACE(sizeof(pi));
	}
}

int transport_open(struct transport *t, const struct transport_ops *ops,
                   const struct transport_cfg *cfg)
{
	int err;

	memset(t, 0, sizeof(*t));
	t->ops = ops;
	t->cfg = *cfg;
	err = ops->init(t, cfg);
	if (err)
		t->ops = NULL;
	return err;
}

void transport_close(struct transport *t)
{
	if (t->ops)
		t->ops->deinit(t);
	t->ops = NULL;
}
