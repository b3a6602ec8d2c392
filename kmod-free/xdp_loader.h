/* SPDX-License-Identifier: MIT */
/*
 * Loader for tock's XDP program (bpf/tock.bpf.c) through the generated skeleton: fills the
 * config map and the allow/deny tries from struct tock_conf, attaches per interface with a
 * bpf_link (native, falling back to generic with a log line), mirrors the clock status into
 * the clock map, and reads the counters and the limiter for tockctl.
 *
 * The links are not pinned: when the process that holds them exits, the kernel detaches the
 * program. Typical use in tockd (as root, before dropping privileges):
 *
 *	struct xdp_loader *xl;
 *	if (xdp_loader_open(&xl, conf, NULL) == 0 && xdp_loader_attach_conf(xl, conf) == 0)
 *		... every second: xdp_loader_set_clock(xl, &status, 1);
 *	... at exit: xdp_loader_destroy(xl);
 */
#ifndef TOCK_XDP_LOADER_H
#define TOCK_XDP_LOADER_H

#include <net/if.h>
#include <stddef.h>
#include <stdint.h>

#include "clock.h"
#include "conf.h"
#include "hwts_phc.h"
#include "tock_shared.h"

struct xdp_loader;
struct tock_bpf; /* the skeleton (build/bpf/tock.skel.h) */

/* Optional knobs for xdp_loader_open(); zero/NULL fields take the default. */
struct xdp_loader_opts {
	uint16_t port;            /* server port the program guards (123) */
	uint32_t limiter_entries; /* LRU size of the per-prefix limiter (65536) */
	/* Interface whose NIC receive timestamps the fast path should use: the device-bound
	 * program variant is loaded for it (native mode, kernel 6.3+, one interface only).
	 * NULL: the first interface of conf->xdp if it is native and listed in
	 * conf->hwtimestamp, and conf has exactly one XDP interface. "" forces it off. */
	const char *hwts_ifname;
};

/* One limiter entry, for `tockctl clients` (top talkers). */
struct xdp_client {
	int family;       /* AF_INET or AF_INET6 */
	uint8_t addr[16]; /* masked source prefix, network order */
	uint8_t prefixlen;
	double tokens;    /* tokens in the bucket now (refill included) */
	double idle;      /* seconds since the prefix was last seen */
	uint64_t last_ns; /* CLOCK_MONOTONIC ns of the last request */
	uint64_t hits;    /* requests seen */
	uint64_t limited; /* requests over the limit */
};

/*
 * Opens and loads the program, writes the config map (xdp_config_from_conf) and the
 * allow/deny tries from conf. Does not attach. 0 or a negative errno; *out is NULL on error.
 */
int xdp_loader_open(struct xdp_loader **out, const struct tock_conf *conf,
                    const struct xdp_loader_opts *opts);

/* Re-applies conf's rate limit, fast-path flag and allow/deny lists (e.g. on SIGHUP). The
 * limiter's state is kept. 0 or a negative errno. */
int xdp_loader_configure(struct xdp_loader *l, const struct tock_conf *conf);

/* Translates conf into the config map's value. 0, or -EINVAL when a value is out of the
 * bounds the program relies on (rate, burst, prefix lengths). */
int xdp_config_from_conf(const struct tock_conf *conf, struct tock_xdp_config *out);

/* Sets the limiter's rate and burst, and the interval and lead the program uses. */
void xdp_config_set_rate(struct tock_xdp_config *c, uint32_t rate, uint32_t burst);

/* Writes a config map value directly (tests, benchmarks). 0 or a negative errno. */
int xdp_loader_set_config(struct xdp_loader *l, const struct tock_xdp_config *cfg);

/*
 * Attaches to one interface through a bpf_link. mode is CONF_XDP_NATIVE or
 * CONF_XDP_GENERIC; native falls back to generic (logged). *mode_used (may be NULL) gets
 * the mode that worked. 0, -ENODEV for an unknown interface, -EEXIST if already attached
 * by this loader, or another negative errno.
 */
int xdp_loader_attach(struct xdp_loader *l, const char *ifname, int mode, int *mode_used);

/* Attaches to every interface of conf->xdp whose mode is not off. Stops at the first
 * failure and returns it (links made so far stay until destroy). */
int xdp_loader_attach_conf(struct xdp_loader *l, const struct tock_conf *conf);

/* Detaches from one interface (closes its link). 0 or -ENOENT. */
int xdp_loader_detach(struct xdp_loader *l, const char *ifname);

/* The ifindex this loader attached ifname at (> 0), or -ENOENT when it holds no link for that
 * name. *mode_used (may be NULL) gets the mode in use. An interface deleted since keeps its
 * slot (and old ifindex) until xdp_loader_detach: the caller decides when to forget it. */
int xdp_loader_attached(const struct xdp_loader *l, const char *ifname, int *mode_used);

/* Publishes the clock status to the fast path; valid = 0 makes the program pass every
 * request to tockd. tockd calls this every second (the program reads a double buffer: two
 * calls must not come closer together than one packet's processing). 0 or a negative errno. */
int xdp_loader_set_clock(struct xdp_loader *l, const struct tock_clock_status *st, int valid);

/* Sums the per-CPU counters. 0 or a negative errno. */
int xdp_loader_read_stats(struct xdp_loader *l, uint64_t out[XDP_STAT_COUNT]);

/* The same on a stats map fd (e.g. one opened from a pin by tockctl). */
int xdp_stats_read_fd(int stats_fd, uint64_t out[XDP_STAT_COUNT]);

/*
 * Top talkers: up to max limiter entries with the most hits, sorted by hits (descending).
 * *n gets the number filled. Tokens are estimated with the current config's rate/burst.
 */
int xdp_loader_clients(struct xdp_loader *l, struct xdp_client *out, size_t max, size_t *n);

/* The same on map fds (limiter and config map, e.g. opened from pins by tockctl). */
int xdp_clients_read_fd(int limiter_fd, int config_fd, struct xdp_client *out, size_t max,
                        size_t *n);

/* Pins the stats, limiter and config maps as DIR/{stats,limiter,config} (DIR on a bpffs,
 * e.g. /sys/fs/bpf/tock) so tockctl can read them; destroy removes the pins. */
int xdp_loader_pin_maps(struct xdp_loader *l, const char *dir);

/* Opens maps pinned by xdp_loader_pin_maps; fds may be NULL if not wanted. Closes what it
 * opened on error. 0 or a negative errno. */
int xdp_pinned_open(const char *dir, int *stats_fd, int *limiter_fd, int *config_fd);

/*
 * Registers tockd's AF_XDP socket for (ifindex, queue): requests the program would pass to
 * the stack there go to that socket instead while `xdp afxdp on` is in the config map.
 * Closing the socket unregisters it. 0, -EINVAL for a queue >= TOCK_XSK_MAX_QUEUES, -ENOSPC
 * past TOCK_XSK_MAX_IFACES interfaces, or another negative errno.
 */
int xdp_loader_xsk_register(struct xdp_loader *l, int ifindex, uint32_t queue, int xsk_fd);

/* The fd of the program being attached (for bpf_prog_test_run_opts in tests). */
int xdp_loader_prog_fd(const struct xdp_loader *l);

/* The skeleton itself, for tests and benchmarks that read maps directly. */
struct tock_bpf *xdp_loader_skel(struct xdp_loader *l);

/* The interface the device-bound (NIC timestamp) variant is bound to; 0 when the plain
 * program is the one loaded. */
int xdp_loader_hwts_ifindex(const struct xdp_loader *l);

/*
 * The estimate of that interface's NIC clock against CLOCK_REALTIME (hwts_phc.h), published
 * with the next xdp_loader_set_clock(); NULL (or an invalid estimate) withdraws it, and the
 * program then stamps with the kernel's clock rather than trust a PHC's own time scale.
 */
void xdp_loader_set_phc(struct xdp_loader *l, const struct hwts_phc_est *e);

/* The hw_* fields of a clock map value from an estimate (NULL or invalid: none). */
void xdp_clock_set_phc(struct tock_xdp_clock *c, const struct hwts_phc_est *e);

/* Detaches every link, removes pins, unloads everything and frees l (NULL is fine). */
void xdp_loader_destroy(struct xdp_loader *l);

#endif
