/* SPDX-License-Identifier: MIT */
/*
 * Interface watching through rtnetlink (libnl): a NETLINK_ROUTE socket subscribed to
 * RTNLGRP_LINK whose RTM_NEWLINK/RTM_DELLINK notifications are handed to a callback, so that
 * tockd can attach its XDP program to an interface that appears after start-up or is
 * deleted and re-created (a VLAN or bond rebuilt by the network manager, a container's veth).
 *
 * The socket is non-blocking and its fd goes into the caller's poll loop; linkwatch_process()
 * does a bounded amount of work per call. A notification is only a hint that something
 * changed: callers should re-read the state they care about (if_nametoindex) rather than
 * trust an event that may already be stale. When the kernel dropped notifications (receive
 * buffer overrun) the callback gets LINKWATCH_RESYNC: re-check everything.
 *
 *	struct linkwatch *lw;
 *	linkwatch_open(&lw, on_link, ctx);
 *	poll on linkwatch_fd(lw); on POLLIN: linkwatch_process(lw, 32);
 *	linkwatch_close(lw);
 */
#ifndef TOCK_LINKWATCH_H
#define TOCK_LINKWATCH_H

#include <net/if.h>
#include <stdint.h>

struct linkwatch;

enum linkwatch_kind {
	LINKWATCH_NEW = 1, /* RTM_NEWLINK: appeared, or changed (flags, name, XDP program) */
	LINKWATCH_DEL,     /* RTM_DELLINK: gone */
	LINKWATCH_RESYNC,  /* notifications were lost: ifindex 0, re-check every interface */
};

/* Where an XDP program is attached on a link (IFLA_XDP_ATTACHED). */
enum linkwatch_xdp {
	LINKWATCH_XDP_NONE = 0,
	LINKWATCH_XDP_NATIVE,
	LINKWATCH_XDP_GENERIC,
	LINKWATCH_XDP_OFFLOAD,
	LINKWATCH_XDP_MULTI,
};

struct linkwatch_event {
	int kind; /* enum linkwatch_kind */
	int ifindex;
	char ifname[IF_NAMESIZE]; /* "" when the message carried none */
	int up;                   /* IFF_UP is set */
	int running;              /* IFF_RUNNING (carrier) is set */
	int xdp;                  /* enum linkwatch_xdp */
	uint32_t xdp_prog_id;     /* 0 when none or unknown */
};

/* Called once per link message; ev is only valid during the call. */
typedef void (*linkwatch_cb)(void *arg, const struct linkwatch_event *ev);

/*
 * Opens a non-blocking rtnetlink socket subscribed to link notifications. Needs no
 * privilege; watches the caller's network namespace. 0 or a negative errno (*out NULL).
 */
int linkwatch_open(struct linkwatch **out, linkwatch_cb cb, void *arg);

/* The fd to poll for POLLIN. */
int linkwatch_fd(const struct linkwatch *lw);

/*
 * Reads at most max_reads pending datagrams and calls the callback for each link message
 * in them. Returns the number of datagrams read (0 when none was pending; the fd may still
 * be readable when the budget ran out), or a negative errno on a socket error.
 */
int linkwatch_process(struct linkwatch *lw, int max_reads);

/* Closes the socket and frees lw (NULL is fine). */
void linkwatch_close(struct linkwatch *lw);

/*
 * One-shot listing (tockctl probe): dumps every link of the caller's namespace and calls
 * cb with a LINKWATCH_NEW event for each. Blocking; 0 or a negative errno.
 */
int linkwatch_list(linkwatch_cb cb, void *arg);

/* "native", "generic", "offload", "multi" or "none". */
const char *linkwatch_xdp_name(int xdp);

#endif
