// SPDX-License-Identifier: MIT
/*
 * kmod-free/linkwatch: in a private network namespace (unshare, root only; skipped
 * otherwise), a veth pair created and deleted with ip(8) must show up as NEW and DEL events
 * with the right names and indexes, an idle socket must report nothing, and the one-shot
 * listing must see the loopback and the pair.
 */
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "linkwatch.h"

#define MAX_EVENTS 64

struct seen {
	struct linkwatch_event ev[MAX_EVENTS];
	int n;
};

static void record(void *arg, const struct linkwatch_event *ev)
{
	struct seen *s = arg;

	if (s->n < MAX_EVENTS)
		s->ev[s->n++] = *ev;
}

/* The last event of that kind for ifname, or NULL. */
static const struct linkwatch_event *find(const struct seen *s, int kind, const char *ifname)
{
	for (int i = s->n - 1; i >= 0; i--)
		if (s->ev[i].kind == kind && !strcmp(s->ev[i].ifname, ifname))
			return &s->ev[i];
	return NULL;
}

/* Polls and processes for up to 2 s, until an event of that kind for ifname arrived. */
static void pump(struct linkwatch *lw, struct seen *s, int kind, const char *ifname)
{
	struct pollfd p = {.fd = linkwatch_fd(lw), .events = POLLIN};

	for (int i = 0; i < 20 && !find(s, kind, ifname); i++)
		if (poll(&p, 1, 100) > 0)
			CHECK(linkwatch_process(lw, 4) >= 0, "linkwatch_process failed");
}

static void check_watch(void)
{
	struct seen s = {.n = 0};
	const struct linkwatch_event *a, *b;
	struct linkwatch *lw;

	CHECK_EQ(linkwatch_open(&lw, record, &s), 0);
	if (!lw)
		return;
	CHECK_EQ(linkwatch_process(lw, 8), 0); /* nothing pending yet */
	CHECK_EQ(system("ip link add lwu0 type veth peer name lwu1"), 0);
	pump(lw, &s, LINKWATCH_NEW, "lwu1");
	a = find(&s, LINKWATCH_NEW, "lwu0");
	b = find(&s, LINKWATCH_NEW, "lwu1");
	CHECK(a && b, "no NEW event for the veth pair (%d events)", s.n);
	if (a && b) {
		CHECK_EQ(a->ifindex, (int)if_nametoindex("lwu0"));
		CHECK_EQ(b->ifindex, (int)if_nametoindex("lwu1"));
		CHECK(!a->up && a->xdp == LINKWATCH_XDP_NONE, "new veth is up or has XDP");
	}
	CHECK_EQ(system("ip link set lwu0 up"), 0);
	s.n = 0;
	pump(lw, &s, LINKWATCH_NEW, "lwu0");
	a = find(&s, LINKWATCH_NEW, "lwu0");
	CHECK(a && a->up, "no NEW event with IFF_UP after `ip link set up`");
	CHECK_EQ(system("ip link del lwu0"), 0);
	pump(lw, &s, LINKWATCH_DEL, "lwu1");
	CHECK(find(&s, LINKWATCH_DEL, "lwu0") != NULL, "no DEL event for lwu0");
	CHECK(find(&s, LINKWATCH_DEL, "lwu1") != NULL, "no DEL event for its peer");
	linkwatch_close(lw);
}

static void check_list(void)
{
	struct seen s = {.n = 0};
	const struct linkwatch_event *lo;

	CHECK_EQ(system("ip link add lwu2 type veth peer name lwu3"), 0);
	CHECK_EQ(linkwatch_list(record, &s), 0);
	lo = find(&s, LINKWATCH_NEW, "lo");
	CHECK(lo && lo->ifindex == 1, "the listing has no lo at ifindex 1");
	CHECK(find(&s, LINKWATCH_NEW, "lwu2") && find(&s, LINKWATCH_NEW, "lwu3"),
	      "the listing misses the veth pair");
	CHECK_EQ(s.n, 3);
	CHECK(!strcmp(linkwatch_xdp_name(LINKWATCH_XDP_GENERIC), "generic") &&
	          !strcmp(linkwatch_xdp_name(99), "none"),
	      "linkwatch_xdp_name");
}

int main(void)
{
	if (geteuid() != 0)
		return check_skip("test_linkwatch", "needs root for a private network namespace");
	if (unshare(CLONE_NEWNET) < 0)
		return check_skip("test_linkwatch", "unshare(CLONE_NEWNET) failed");
	if (system("ip link show lo >/dev/null 2>&1") != 0)
		return check_skip("test_linkwatch", "ip(8) is missing");
	check_watch();
	check_list();
	return check_done("test_linkwatch");
}
