/* SPDX-License-Identifier: MIT */
/*
 * The one header shared by the XDP program (bpf/tock.bpf.c) and userspace (the loader in
 * kmod-free/, tests, tockctl): map value and key layouts, counter ids and names, the config
 * and clock map structs. Fixed-width types only, so both sides agree on every offset.
 */
#ifndef TOCK_SHARED_H
#define TOCK_SHARED_H

#include <linux/types.h>

#define TOCK_XDP_NTP_PORT 123
#define TOCK_XDP_NTP_HDR  48
#define TOCK_XDP_NSEC     1000000000ULL
/* Bounds the loader enforces (burst * 1e9 ns of lead stays far inside 64 bits). A rate that
 * does not divide 1e9 is rounded to whole ns per token: 1e-4 off at most up to 100000/s. */
#define TOCK_XDP_MAX_RATE        100000000U
#define TOCK_XDP_MAX_BURST       1000000U
#define TOCK_XDP_LIMITER_ENTRIES 65536
#define TOCK_XDP_LPM_ENTRIES     4096

/* X(id, name, help): per-CPU counters, one slot per verdict reason. The terminal verdicts of
 * one frame add up to the frames seen; ALLOWLISTED and FASTPATH_HWTS are side counters. */
#define TOCK_XDP_STATS(X)                                                                          \
	X(PASSED_NOT_NTP, "xdp_passed_not_ntp", "frames passed: not UDP to the NTP port")          \
	X(PASSED_FRAGMENT, "xdp_passed_fragment",                                                  \
	  "frames passed: IPv4 fragment or IPv6 extension header")                                 \
	X(PASSED_TO_STACK, "xdp_passed_to_stack", "NTP requests passed to tockd")                  \
	X(DROP_MALFORMED, "xdp_drop_malformed", "dropped: UDP length inconsistent with the frame") \
	X(DROP_SHORT, "xdp_drop_short", "dropped: shorter than an NTP header")                     \
	X(DROP_VERSION, "xdp_drop_version", "dropped: NTP version 0 or above 4")                   \
	X(DROP_MODE_CONTROL, "xdp_drop_mode_control", "dropped: mode 6 (control)")                 \
	X(DROP_MODE_PRIVATE, "xdp_drop_mode_private", "dropped: mode 7 (private, monlist)")        \
	X(DROP_REFLECTION, "xdp_drop_reflection", "dropped: mode 4/5 sent to the server port")     \
	X(DROP_MODE_OTHER, "xdp_drop_mode_other", "dropped: mode 0/1/2 not enabled")               \
	X(DROP_DENIED, "xdp_drop_denied", "dropped: source in the deny list")                      \
	X(RATELIMITED_DROPPED, "xdp_ratelimited_dropped", "over the rate limit: dropped")          \
	X(KOD_SENT, "xdp_kod_sent", "over the rate limit: answered with KoD RATE")                 \
	X(LEAKED, "xdp_leaked", "over the rate limit: passed anyway (leak)")                       \
	X(ALLOWLISTED, "xdp_allowlisted", "requests that bypassed the limiter (allow list)")       \
	X(FASTPATH_ANSWERED, "xdp_fastpath_answered", "plain NTP requests answered in XDP")        \
	X(FASTPATH_HWTS, "xdp_fastpath_hwts", "fast-path answers with a NIC receive timestamp")    \
	X(REDIRECTED_AFXDP, "xdp_redirected_afxdp",                                                \
	  "NTP requests redirected to tockd's AF_XDP sockets")

enum tock_xdp_stat {
#define TOCK_XDP_STAT_ENUM(id, name, help) XDP_STAT_##id,
	TOCK_XDP_STATS(TOCK_XDP_STAT_ENUM)
#undef TOCK_XDP_STAT_ENUM
	    XDP_STAT_COUNT
};

/* The value of the per-CPU stats map (one element): one slot per reason. */
struct tock_xdp_stats {
	__u64 c[XDP_STAT_COUNT];
};

#ifndef __bpf__
/* Names and help texts, indexed by enum tock_xdp_stat (userspace only). */
__attribute__((unused)) static const char *const tock_xdp_stat_names[XDP_STAT_COUNT] = {
#define TOCK_XDP_STAT_NAME(id, name, help) name,
    TOCK_XDP_STATS(TOCK_XDP_STAT_NAME)
#undef TOCK_XDP_STAT_NAME
};
__attribute__((unused)) static const char *const tock_xdp_stat_help[XDP_STAT_COUNT] = {
#define TOCK_XDP_STAT_HELP(id, name, help) help,
    TOCK_XDP_STATS(TOCK_XDP_STAT_HELP)
#undef TOCK_XDP_STAT_HELP
};
#endif

/* tock_xdp_config.flags */
#define TOCK_XDP_F_RATELIMIT (1U << 0) /* per-prefix token bucket on */
#define TOCK_XDP_F_FASTPATH  (1U << 1) /* answer plain mode-3 requests in XDP */
#define TOCK_XDP_F_AFXDP     (1U << 2) /* requests for tockd go to its AF_XDP sockets */

/*
 * AF_XDP (`xdp afxdp on`): a request the program would pass to tockd's UDP sockets is
 * redirected into the XSKMAP tock_xsks instead, at key slot * TOCK_XSK_MAX_QUEUES + rx queue,
 * where slot is the interface's entry in tock_xsk_ifaces (ifindex -> slot): one program
 * serves every interface, and rx queue numbers repeat across interfaces. No socket at that
 * key: the redirect falls back to XDP_PASS, so nothing changes.
 */
#define TOCK_XSK_MAX_QUEUES  64
#define TOCK_XSK_MAX_IFACES  8
#define TOCK_XSK_MAP_ENTRIES (TOCK_XSK_MAX_QUEUES * TOCK_XSK_MAX_IFACES)
#define TOCK_XSK_META_MAGIC  0x746f636bU /* "tock" */

/* tock_xsk_meta.source (the same meaning as enum tock_ts_source in serve.h) */
#define TOCK_XSK_TS_KERNEL   1 /* the kernel clock when the program ran */
#define TOCK_XSK_TS_HARDWARE 2 /* the NIC's receive stamp (device-bound variant) */

/* What the program puts in the metadata area in front of a redirected frame: AF_XDP has no
 * SO_TIMESTAMPING, so the receive time travels with the frame. 16 bytes (the kernel wants a
 * multiple of 4, at most 32). */
struct tock_xsk_meta {
	__u64 rx_ns;  /* receive time, ns since 1970 UTC (CLOCK_REALTIME scale) */
	__u32 source; /* TOCK_XSK_TS_* */
	__u32 magic;  /* TOCK_XSK_META_MAGIC: the area was written for this frame */
};

/* The config map's one element, written by the loader (and on reload). */
struct tock_xdp_config {
	__u32 flags;        /* TOCK_XDP_F_* */
	__u32 rate;         /* tokens per second per prefix (1..TOCK_XDP_MAX_RATE) */
	__u32 burst;        /* bucket depth in tokens (1..TOCK_XDP_MAX_BURST) */
	__u32 kod_every;    /* answer 1 in N over-limit requests with KoD RATE (0 = never) */
	__u32 leak_every;   /* pass 1 in M over-limit requests (0 = never) */
	__u8 prefix4;       /* limiter key length for IPv4 (1..32) */
	__u8 prefix6;       /* limiter key length for IPv6 (1..128) */
	__u8 allowed_modes; /* bit m set (m = 0, 1, 2): pass mode m instead of dropping it */
	__u8 pad;
	__u64 interval_ns; /* ns per token: 1e9 / rate, rounded (>= 1) */
	__u64 tau_ns;      /* (burst - 1) * interval_ns: how far ahead a bucket may run */
};

/* Entries in the clock map (double buffer; the tock_clock_cur map names the current one).
 * A power of two: the program masks the index with TOCK_XDP_CLOCK_SLOTS - 1. */
#define TOCK_XDP_CLOCK_SLOTS 2

/* A clock map element: the fast path's header fields, mirrored from
 * struct tock_clock_status by the loader every second. Multi-byte fields are stored in
 * wire (big-endian) order so the program copies them without swapping. */
struct tock_xdp_clock {
	__u8 valid; /* 0: pass every request to tockd */
	__u8 leap;  /* 0..3 */
	__u8 stratum;
	__s8 precision;
	__u32 refid;      /* wire order */
	__u32 root_delay; /* wire order, NTP short format */
	__u32 root_dispersion;
	__u64 ref_time;   /* wire order, NTP timestamp */
	__s32 tai_offset; /* TAI - UTC, seconds (host order) */
	__u32 seq;        /* bumped by every update (host order; diagnostics) */
	/* The device-bound interface's NIC clock (PHC) against CLOCK_REALTIME, as tockd tracks it
	 * (hwts_phc.h): realtime = phc + hw_offset + (phc - hw_ref_phc) * hw_drift_q32 / 2^32.
	 * A PHC runs on whatever time scale PTP or nobody set (often TAI, or free-running), so
	 * without an estimate (hw_valid 0) the program does not use NIC stamps at all. */
	__s64 hw_ref_phc;
	__s64 hw_offset;
	__s64 hw_drift_q32; /* d(offset)/d(phc) x 2^32, within +-TOCK_XDP_HW_MAX_DRIFT_Q32 */
	__u32 hw_valid;
	__u32 hw_pad;
};

/* Farthest from the estimate's reference a NIC stamp is converted (as hwts_phc.h), and the
 * largest drift published (1000 ppm): the product stays far inside 64 bits. */
#define TOCK_XDP_HW_MAX_EXTRAPOLATE_NS (16LL * 1000000000)
#define TOCK_XDP_HW_MAX_DRIFT_Q32      4294967LL

/* A NIC stamp on the CLOCK_REALTIME scale, or 0 when there is no estimate or the stamp is too
 * far from it. The XDP program and the unit tests run this same code. */
static inline __attribute__((always_inline)) __u64
tock_xdp_phc_to_realtime(const struct tock_xdp_clock *c, __u64 phc)
{
	__s64 dt = (__s64)phc - c->hw_ref_phc;

	if (!c->hw_valid || dt > TOCK_XDP_HW_MAX_EXTRAPOLATE_NS ||
	    dt < -TOCK_XDP_HW_MAX_EXTRAPOLATE_NS)
		return 0;
	/* dt < 2^34 and |drift| < 2^23: the product fits; >> on a negative value is arithmetic
	 * with every compiler tock is built with (and BPF's arsh) */
	return (__u64)((__s64)phc + c->hw_offset + ((dt * c->hw_drift_q32) >> 32));
}

/* Keys of the allow/deny LPM tries (addresses in network order). */
struct tock_lpm4_key {
	__u32 prefixlen;
	__u8 addr[4];
};
struct tock_lpm6_key {
	__u32 prefixlen;
	__u8 addr[16];
};

/* Limiter key: the source address masked to prefix4/prefix6 (IPv4 in addr[0..3]). */
struct tock_limit_key {
	__u8 family; /* 4 or 6 */
	__u8 prefixlen;
	__u8 pad[2];
	__u8 addr[16];
};

/*
 * Limiter value (LRU hash). The token bucket is kept as one word, the generic cell rate
 * algorithm's "theoretical arrival time": the bucket is full when tat <= now, and each
 * request moves tat one interval on, refused when that would put it more than tau ahead of
 * now. One word can be updated with compare-and-swap, so CPUs racing on one prefix (a flood
 * spread over queues) can never let more than the rate through. The other fields are
 * statistics.
 */
struct tock_limit_bucket {
	__u64 tat;     /* CLOCK_MONOTONIC ns (bpf_ktime_get_ns) */
	__u64 last_ns; /* bpf_ktime_get_ns() of the last request */
	__u64 hits;    /* requests seen */
	__u64 limited; /* requests over the limit */
};

#endif
