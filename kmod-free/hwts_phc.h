/* SPDX-License-Identifier: MIT */
/*
 * Hardware receive timestamps (DESIGN §2 ladder: hardware → software stamps).
 *
 * A NIC stamps packets with its PTP hardware clock (PHC), which is not CLOCK_REALTIME. tockd
 * samples each PHC against the system clock once a second (PTP_SYS_OFFSET_EXTENDED gives
 * triples sys-before / phc / sys-after) and the workers convert stamps with the latest
 * offset and drift estimate. The estimator (hwts_phc_*) is pure arithmetic so it is tested
 * with injected samples; the NIC side (hwts_set_*, hwts_nic.c) does the ioctls.
 */
#ifndef TOCK_HWTS_PHC_H
#define TOCK_HWTS_PHC_H

#include <stdint.h>

#include "seqlock.h"

#define HWTS_MAX_SAMPLES        25 /* PTP_MAX_SAMPLES */
#define HWTS_MAX_IFACES         8
#define HWTS_MAX_EXTRAPOLATE_NS (16LL * 1000000000) /* refuse stamps far from the last sample */

/* One PTP_SYS_OFFSET_EXTENDED reading, all in nanoseconds. */
struct hwts_sample {
	int64_t sys_before; /* CLOCK_REALTIME just before the PHC read */
	int64_t phc;
	int64_t sys_after; /* CLOCK_REALTIME just after */
};

/* The estimate: realtime = phc + offset + drift * (phc - ref_phc). */
struct hwts_phc_est {
	int64_t ref_phc;    /* PHC time of the latest accepted sample */
	int64_t ref_offset; /* realtime - phc at ref_phc, ns */
	double drift;       /* d(offset)/d(phc), dimensionless (1e-6 = 1 ppm) */
	int64_t delay;      /* sys_after - sys_before of the sample used (uncertainty) */
	uint32_t n_updates;
	int valid;
};

/* Starts an empty estimate. */
void hwts_phc_init(struct hwts_phc_est *e);

/*
 * Feeds one batch of samples taken together: the one with the shortest read window (least
 * scheduling noise) gives the new offset; the drift follows from the previous batch
 * (smoothed). 0, or -EINVAL when no sample is usable (window negative or over 1 ms).
 */
int hwts_phc_update(struct hwts_phc_est *e, const struct hwts_sample *s, int n);

/* Converts a PHC time to CLOCK_REALTIME ns. 0, -EAGAIN without an estimate, -ERANGE when
 * the stamp is too far from the last sample to extrapolate. */
int hwts_phc_to_realtime(const struct hwts_phc_est *e, int64_t phc_ns, int64_t *realtime_ns);

/* ---- per-interface clocks shared with the workers (hwts_nic.c) ---- */

/* One interface's PHC with its estimate behind a seqlock (main thread writes, workers read). */
struct hwts_clock {
	int ifindex;
	int phc_fd;
	_Atomic uint64_t seq;
	struct hwts_phc_est est;
};

struct hwts_set {
	struct hwts_clock clk[HWTS_MAX_IFACES];
	int n;
};

/*
 * Enables hardware receive stamps on IFACE (SIOCSHWTSTAMP, filter ALL or NTP_ALL), looks up
 * its PHC (ethtool netlink TSINFO via libnl, SIOCETHTOOL as fallback), opens /dev/ptpN and
 * takes a first sample. 0, or -errno (the caller logs and keeps software stamps).
 */
int hwts_set_add(struct hwts_set *set, const char *ifname);

/* Samples every PHC once (call once a second from the main thread). */
void hwts_set_sample(struct hwts_set *set);

/* Closes the PHCs. */
void hwts_set_close(struct hwts_set *set);

/* Worker side: converts a raw hardware stamp seen on ifindex. 0 or -errno (no such clock,
 * no estimate yet, out of range). */
int hwts_set_convert(const struct hwts_set *set, int ifindex, int64_t phc_ns, int64_t *rt_ns);

/* The current estimate of ifindex's PHC (seqlock read). 0, -ENODEV (no such clock) or
 * -EAGAIN (no estimate yet). */
int hwts_set_estimate(const struct hwts_set *set, int ifindex, struct hwts_phc_est *out);

/* Publishes a new estimate into a clock (seqlock write). */
void hwts_clock_store(struct hwts_clock *c, const struct hwts_phc_est *e);

/* Reads a consistent copy of a clock's estimate. */
void hwts_clock_load(const struct hwts_clock *c, struct hwts_phc_est *out);

#endif
