// SPDX-License-Identifier: MIT
/*
 * Test helper: attaches tock's XDP program (through kmod-free/xdp_loader) to one interface
 * and holds it until SIGTERM/SIGINT or a timeout, publishing a static clock status every
 * second like tockd would; then prints the counters ("name value" lines) and exits, which
 * detaches the program (bpf_link). With --pass it attaches the do-nothing program instead
 * (the peer of a veth needs one for XDP_TX frames to arrive).
 *
 *   xdp_attach IFACE [--generic] [--pass] [--fastpath] [--hwts] [--timeout S]
 *              [--rate R --burst B] [--prefix4 N] [--prefix6 N] [--kod N] [--leak N]
 *              [--allow PREFIX]... [--deny PREFIX]...
 * Prints "ready MODE" once attached (MODE native|generic, "+hwts" when device-bound).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timex.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include "log.h"
#include "tock_pass.skel.h"
#include "xdp_loader.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

/* "198.18.0.0/15" or "2001:2::/48" → conf_prefix; 0 or -1. */
static int parse_prefix(const char *s, struct conf_prefix *p)
{
	char buf[64], *slash;

	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(buf, '/');
	if (!slash)
		return -1;
	*slash = 0;
	p->family = strchr(buf, ':') ? AF_INET6 : AF_INET;
	p->len = (uint8_t)atoi(slash + 1);
	return inet_pton(p->family, buf, p->addr) == 1 ? 0 : -1;
}

/* A clock status as a GPS-disciplined stratum-1 host would publish it. */
static void static_clock(struct tock_clock_status *st)
{
	struct timex tx = {0};
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	adjtimex(&tx);
	memset(st, 0, sizeof(*st));
	st->stratum = 1;
	st->precision = -20;
	st->refid = 0x54455354;     /* "TEST" */
	st->root_dispersion = 0x10; /* ~0.25 ms */
	st->ref_time = (uint64_t)(now.tv_sec - 1 + 2208988800LL) << 32;
	st->tai_offset = tx.tai;
}

/* Attaches the pass-only program; holds it until stopped. */
static int run_pass(int ifindex, int generic, int timeout)
{
	struct tock_pass_bpf *skel = tock_pass_bpf__open_and_load();
	struct bpf_link_create_opts o = {
	    .sz = sizeof(o), .flags = generic ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE};
	int fd;

	if (!skel)
		return 1;
	fd = bpf_link_create(bpf_program__fd(skel->progs.tock_pass), ifindex, BPF_XDP, &o);
	if (fd < 0) {
		fprintf(stderr, "xdp_attach: pass program: %s\n", strerror(errno));
		tock_pass_bpf__destroy(skel);
		return 1;
	}
	printf("ready %s\n", generic ? "generic" : "native");
	fflush(stdout);
	for (int i = 0; !stop && i < timeout * 10; i++)
		usleep(100000);
	close(fd);
	tock_pass_bpf__destroy(skel);
	return 0;
}

/* Holds tock's program, refreshing the clock map every second; prints counters at the end. */
static int run_tock(struct tock_conf *c, int hwts, int timeout)
{
	struct xdp_loader_opts opts = {.hwts_ifname = hwts ? c->xdp[0].ifname : ""};
	struct tock_clock_status st;
	struct xdp_loader *xl;
	uint64_t v[XDP_STAT_COUNT];
	int mode = 0;

	if (xdp_loader_open(&xl, c, &opts))
		return 1;
	if (xdp_loader_attach(xl, c->xdp[0].ifname, c->xdp[0].mode, &mode)) {
		xdp_loader_destroy(xl);
		return 1;
	}
	printf("ready %s%s\n", mode == CONF_XDP_NATIVE ? "native" : "generic",
	       xdp_loader_hwts_ifindex(xl) ? "+hwts" : "");
	fflush(stdout);
	for (int i = 0; !stop && i < timeout * 10; i++) {
		if (i % 10 == 0) {
			static_clock(&st);
			xdp_loader_set_clock(xl, &st, 1);
		}
		usleep(100000);
	}
	if (xdp_loader_read_stats(xl, v) == 0)
		for (int i = 0; i < XDP_STAT_COUNT; i++)
			printf("%s %llu\n", tock_xdp_stat_names[i], (unsigned long long)v[i]);
	xdp_loader_destroy(xl);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {{"generic", 0, NULL, 'g'},  {"pass", 0, NULL, 'p'},
	                                   {"fastpath", 0, NULL, 'f'}, {"hwts", 0, NULL, 'h'},
	                                   {"timeout", 1, NULL, 't'},  {"rate", 1, NULL, 'r'},
	                                   {"burst", 1, NULL, 'b'},    {"prefix4", 1, NULL, '4'},
	                                   {"prefix6", 1, NULL, '6'},  {"kod", 1, NULL, 'k'},
	                                   {"leak", 1, NULL, 'l'},     {"allow", 1, NULL, 'A'},
	                                   {"deny", 1, NULL, 'D'},     {0}};
	static struct tock_conf c;
	int opt, pass = 0, hwts = 0, timeout = 120, ifindex;

	log_init("xdp_attach", 1, LOG_INFO);
	c.ratelimit.prefix4 = 32;
	c.ratelimit.prefix6 = 64;
	c.xdp[0].mode = CONF_XDP_NATIVE;
	while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (opt) {
		case 'g':
			c.xdp[0].mode = CONF_XDP_GENERIC;
			break;
		case 'p':
			pass = 1;
			break;
		case 'f':
			c.xdp_fastpath = 1;
			break;
		case 'h':
			hwts = 1;
			break;
		case 't':
			timeout = atoi(optarg);
			break;
		case 'r':
			c.ratelimit.rate = (uint32_t)atoi(optarg);
			c.ratelimit.enabled = 1;
			break;
		case 'b':
			c.ratelimit.burst = (uint32_t)atoi(optarg);
			break;
		case '4':
			c.ratelimit.prefix4 = (uint8_t)atoi(optarg);
			break;
		case '6':
			c.ratelimit.prefix6 = (uint8_t)atoi(optarg);
			break;
		case 'k':
			c.ratelimit.kod_every = (uint32_t)atoi(optarg);
			break;
		case 'l':
			c.ratelimit.leak_every = (uint32_t)atoi(optarg);
			break;
		case 'A':
			if (c.n_allow < CONF_MAX_PREFIX &&
			    !parse_prefix(optarg, &c.allow[c.n_allow]))
				c.n_allow++;
			break;
		case 'D':
			if (c.n_deny < CONF_MAX_PREFIX && !parse_prefix(optarg, &c.deny[c.n_deny]))
				c.n_deny++;
			break;
		default:
			return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "usage: xdp_attach IFACE [options]\n");
		return 2;
	}
	snprintf(c.xdp[0].ifname, sizeof(c.xdp[0].ifname), "%s", argv[optind]);
	c.n_xdp = 1;
	ifindex = (int)if_nametoindex(argv[optind]);
	if (!ifindex) {
		fprintf(stderr, "xdp_attach: no interface %s\n", argv[optind]);
		return 1;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	if (pass)
		return run_pass(ifindex, c.xdp[0].mode == CONF_XDP_GENERIC, timeout);
	return run_tock(&c, hwts, timeout);
}
