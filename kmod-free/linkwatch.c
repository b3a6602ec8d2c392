// SPDX-License-Identifier: MIT
/*
 * Link notifications from rtnetlink through libnl (linkwatch.h). The messages are parsed by
 * hand (nlmsg_parse) rather than into rtnl_link objects: only the index, name, flags and
 * the XDP attachment are wanted, and no allocation per message is needed that way.
 */
#include <errno.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>

#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/rtnl.h>
#include <netlink/socket.h>

#include "linkwatch.h"

/* A few notifications in flight are normal; this absorbs a burst of container churn. */
#define LINKWATCH_RCVBUF (256 * 1024)

struct linkwatch {
	struct nl_sock *sk;
	linkwatch_cb cb;
	void *arg;
};

/* libnl error codes are positive NLE_* values; the callers speak errno. */
static int nle_errno(int nle)
{
	switch (nle < 0 ? -nle : nle) {
	case 0:
		return 0;
	case NLE_AGAIN:
		return -EAGAIN;
	case NLE_NOMEM:
		return -ENOBUFS; /* ENOBUFS (overrun) is reported as NLE_NOMEM */
	case NLE_INTR:
		return -EINTR;
	case NLE_BAD_SOCK:
		return -EBADF;
	case NLE_PERM:
		return -EPERM;
	case NLE_NOACCESS:
		return -EACCES;
	case NLE_OPNOTSUPP:
		return -EOPNOTSUPP;
	case NLE_PROTO_MISMATCH:
		return -EPROTONOSUPPORT;
	default:
		return -EIO;
	}
}

/* IFLA_XDP_ATTACHED → enum linkwatch_xdp. */
static int xdp_kind(uint8_t attached)
{
	switch (attached) {
	case XDP_ATTACHED_DRV:
		return LINKWATCH_XDP_NATIVE;
	case XDP_ATTACHED_SKB:
		return LINKWATCH_XDP_GENERIC;
	case XDP_ATTACHED_HW:
		return LINKWATCH_XDP_OFFLOAD;
	case XDP_ATTACHED_MULTI:
		return LINKWATCH_XDP_MULTI;
	default:
		return LINKWATCH_XDP_NONE;
	}
}

const char *linkwatch_xdp_name(int xdp)
{
	static const char *const names[] = {"none", "native", "generic", "offload", "multi"};

	return xdp >= 0 && xdp <= LINKWATCH_XDP_MULTI ? names[xdp] : "none";
}

/* Fills ev->xdp and ev->xdp_prog_id from the nested IFLA_XDP attribute. */
static void parse_xdp(struct nlattr *nest, struct linkwatch_event *ev)
{
	static struct nla_policy pol[IFLA_XDP_MAX + 1] = {
	    [IFLA_XDP_ATTACHED] = {.type = NLA_U8},
	    [IFLA_XDP_PROG_ID] = {.type = NLA_U32},
	};
	struct nlattr *tb[IFLA_XDP_MAX + 1];

	if (!nest || nla_parse_nested(tb, IFLA_XDP_MAX, nest, pol) < 0)
		return;
	if (tb[IFLA_XDP_ATTACHED])
		ev->xdp = xdp_kind(nla_get_u8(tb[IFLA_XDP_ATTACHED]));
	if (tb[IFLA_XDP_PROG_ID])
		ev->xdp_prog_id = nla_get_u32(tb[IFLA_XDP_PROG_ID]);
}

/* Turns one RTM_NEWLINK/RTM_DELLINK message into an event. 0, or -EINVAL if malformed. */
static int parse_link(struct nlmsghdr *nlh, struct linkwatch_event *ev)
{
	static struct nla_policy pol[IFLA_MAX + 1] = {
	    [IFLA_IFNAME] = {.type = NLA_STRING, .maxlen = IF_NAMESIZE},
	    [IFLA_XDP] = {.type = NLA_NESTED},
	};
	struct nlattr *tb[IFLA_MAX + 1];
	struct ifinfomsg *ifi;

	if (nlmsg_parse(nlh, sizeof(*ifi), tb, IFLA_MAX, pol) < 0)
		return -EINVAL;
	ifi = nlmsg_data(nlh);
	memset(ev, 0, sizeof(*ev));
	ev->kind = nlh->nlmsg_type == RTM_DELLINK ? LINKWATCH_DEL : LINKWATCH_NEW;
	ev->ifindex = ifi->ifi_index;
	ev->up = !!(ifi->ifi_flags & IFF_UP);
	ev->running = !!(ifi->ifi_flags & IFF_RUNNING);
	if (tb[IFLA_IFNAME])
		nla_strlcpy(ev->ifname, tb[IFLA_IFNAME], sizeof(ev->ifname));
	parse_xdp(tb[IFLA_XDP], ev);
	return 0;
}

/* libnl's NL_CB_VALID callback: one message, link messages only. */
static int on_msg(struct nl_msg *msg, void *arg)
{
	struct linkwatch *lw = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct linkwatch_event ev;

	if (nlh->nlmsg_type != RTM_NEWLINK && nlh->nlmsg_type != RTM_DELLINK)
		return NL_SKIP;
	if (parse_link(nlh, &ev) == 0)
		lw->cb(lw->arg, &ev);
	return NL_OK;
}

/* A connected rtnetlink socket whose valid messages go to on_msg(lw). 0 or -errno. */
static int sock_open(struct linkwatch *lw)
{
	int err;

	lw->sk = nl_socket_alloc();
	if (!lw->sk)
		return -ENOMEM;
	err = nl_socket_modify_cb(lw->sk, NL_CB_VALID, NL_CB_CUSTOM, on_msg, lw);
	if (!err)
		err = nl_connect(lw->sk, NETLINK_ROUTE);
	if (err) {
		nl_socket_free(lw->sk);
		lw->sk = NULL;
	}
	return nle_errno(err);
}

int linkwatch_open(struct linkwatch **out, linkwatch_cb cb, void *arg)
{
	struct linkwatch *lw = calloc(1, sizeof(*lw));
	int err;

	*out = NULL;
	if (!lw)
		return -ENOMEM;
	lw->cb = cb;
	lw->arg = arg;
	err = sock_open(lw);
	if (err)
		goto fail;
	/* notifications carry no sequence number of ours */
	nl_socket_disable_seq_check(lw->sk);
	nl_socket_set_buffer_size(lw->sk, LINKWATCH_RCVBUF, 0); /* best effort */
	err = nle_errno(nl_socket_add_membership(lw->sk, RTNLGRP_LINK));
	if (!err)
		err = nle_errno(nl_socket_set_nonblocking(lw->sk));
	if (err)
		goto fail;
	*out = lw;
	return 0;
fail:
	linkwatch_close(lw);
	return err;
}

int linkwatch_fd(const struct linkwatch *lw)
{
	return nl_socket_get_fd(lw->sk);
}

/* The kernel dropped notifications: tell the caller to look at everything again. */
static void resync(struct linkwatch *lw)
{
	struct linkwatch_event ev = {.kind = LINKWATCH_RESYNC};

	lw->cb(lw->arg, &ev);
}

int linkwatch_process(struct linkwatch *lw, int max_reads)
{
	int n = 0;

	/* each nl_recvmsgs call reads one datagram: notifications are never multipart */
	while (n < max_reads) {
		int err = nle_errno(nl_recvmsgs_default(lw->sk));
		if (err == -EAGAIN)
			break;
		n++;
		if (err == -ENOBUFS)
			resync(lw);
		else if (err && err != -EINTR)
			return err;
	}
	return n;
}

void linkwatch_close(struct linkwatch *lw)
{
	if (!lw)
		return;
	nl_socket_free(lw->sk);
	free(lw);
}

int linkwatch_list(linkwatch_cb cb, void *arg)
{
	struct linkwatch lw = {.cb = cb, .arg = arg};
	int err = sock_open(&lw);

	if (err)
		return err;
	err = nle_errno(nl_rtgen_request(lw.sk, RTM_GETLINK, AF_UNSPEC, NLM_F_DUMP));
	if (!err) /* blocking; returns after NLMSG_DONE */
		err = nle_errno(nl_recvmsgs_default(lw.sk));
	nl_socket_free(lw.sk);
	return err;
}
