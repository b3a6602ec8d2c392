/* SPDX-License-Identifier: MIT */
/*
 * The userspace filter: the XDP program's rules (DESIGN §7, bpf/tock.bpf.c) for hosts where
 * XDP is off or impossible, applied by tockd's workers before tock_serve(). Same order and
 * same verdicts: version and mode rules, length, deny list, then — with `ratelimit` on — the
 * allow list (bypass) and a per-prefix token bucket whose over-limit requests are dropped,
 * answered with a sampled 48-byte KoD RATE, or leaked through.
 *
 * One limiter table is shared by every worker thread: a fixed array of slots allocated by
 * filter_new() (no allocation afterwards), grouped FILTER_WAYS to a set; a new prefix takes
 * an empty slot of its set or evicts the one idle longest, so memory is bounded whatever the
 * number of sources (like chrony's fixed-size client log). Each bucket is one 64-bit word
 * updated with compare-and-swap, so no thread ever waits on another. Races cost at most
 * about one token per racing thread, as in the XDP program. No I/O, no logging.
 */
#ifndef TOCK_FILTER_H
#define TOCK_FILTER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "conf.h"
#include "stats.h"

#define FILTER_TABLE_DEFAULT 65536 /* limiter slots (power of two) */
#define FILTER_WAYS          4     /* slots a prefix may live in (one set) */

enum filter_verdict {
	FILTER_PASS = 0, /* hand the request to tock_serve() */
	FILTER_DROP,     /* send nothing; *reason says why */
	FILTER_KOD,      /* over the limit: send filter_kod()'s answer instead */
	FILTER_LEAK,     /* over the limit but let through: hand to tock_serve() */
};

/* Why a verdict was given; filter_reason_stat() maps each to its counter. */
enum filter_reason {
	FILTER_R_NONE = 0,     /* passed the limiter, or no limiter */
	FILTER_R_SHORT,        /* empty, or shorter than an NTP header */
	FILTER_R_VERSION,      /* version 0 or above 4 */
	FILTER_R_MODE_CONTROL, /* mode 6 */
	FILTER_R_MODE_PRIVATE, /* mode 7 (monlist) */
	FILTER_R_REFLECTION,   /* mode 4/5 sent to the server port */
	FILTER_R_MODE_OTHER,   /* mode 0/1/2 not enabled */
	FILTER_R_DENIED,       /* source in the deny list */
	FILTER_R_ALLOWLISTED,  /* passed: source in the allow list, limiter bypassed */
	FILTER_R_RATELIMIT,    /* over the limit (DROP, KOD or LEAK) */
	FILTER_R_COUNT
};

/* Which prefix list filter_list_match() searches. */
enum filter_list { FILTER_LIST_ALLOW = 0, FILTER_LIST_DENY };

/* One limiter entry, for `tockctl clients`. */
struct filter_talker {
	int family;       /* AF_INET or AF_INET6 */
	uint8_t addr[16]; /* the source prefix, network order, masked to prefixlen */
	uint8_t prefixlen;
	uint64_t hits; /* requests checked against this bucket since it took its slot */
	double tokens; /* tokens left after its last request */
};

struct tock_filter;

/*
 * Builds the filter from conf (deny/allow lists, conf->ratelimit) for n_workers threads,
 * with a limiter of FILTER_TABLE_DEFAULT slots. Nothing in conf is referenced afterwards.
 * Returns NULL with errno EINVAL (rate/burst outside the XDP program's bounds, bad prefix
 * lengths, n_workers 0) or ENOMEM.
 */
struct tock_filter *filter_new(const struct tock_conf *conf, unsigned n_workers);

/* The same with `slots` limiter slots (a power of two, at least FILTER_WAYS). */
struct tock_filter *filter_new_sized(const struct tock_conf *conf, unsigned n_workers,
                                     size_t slots);

/* Frees the filter; NULL is a no-op. No thread may be inside filter_check(). */
void filter_free(struct tock_filter *f);

/* Lets modes 0/1/2 through (bit m set passes mode m), as the XDP config's allowed_modes.
 * Default: none. Call before the workers start. */
void filter_set_allowed_modes(struct tock_filter *f, unsigned modes);

/*
 * The verdict for one request of len bytes from src at now_ns (CLOCK_MONOTONIC, or any
 * clock that never jumps). *reason (may be NULL) says why. Safe to call from any number of
 * threads at once; never allocates, never blocks. A source of another family than
 * AF_INET/AF_INET6 is only classified (no list or limiter applies to it); an IPv4-mapped
 * IPv6 source counts as IPv4.
 */
enum filter_verdict filter_check(struct tock_filter *f, const struct sockaddr_storage *src,
                                 const uint8_t *pkt, size_t len, uint64_t now_ns,
                                 enum filter_reason *reason);

/* Counts a verdict in a worker's block: RX plus the reason's counter (and DROP_FILTERED for
 * every drop other than the rate limit) when tock_serve() will not see the request, only
 * the filter's own counter (ALLOWLISTED, RATELIMIT_LEAKED) when it will. */
void filter_count(struct tock_worker_stats *ws, enum filter_verdict v, enum filter_reason r);

/* The counter a reason is counted in (STAT_COUNT for FILTER_R_NONE). */
enum tock_stat filter_reason_stat(enum filter_reason r);

/*
 * Writes the 48-byte KoD RATE answer to req into resp: leap 3, stratum 0, refid "RATE",
 * mode 4, the request's version and poll, origin = the request's transmit timestamp,
 * receive and transmit = now (CLOCK_REALTIME). Returns 48, or 0 when len < 48 or cap < 48
 * (never a reply larger than its request).
 */
size_t filter_kod(const uint8_t *req, size_t len, uint8_t *resp, size_t cap);

/* The same with the time given (tests). */
size_t filter_kod_at(const uint8_t *req, size_t len, uint8_t *resp, size_t cap,
                     const struct timespec *now);

/*
 * Copies up to max limiter entries with the most hits into out, most first. Returns how
 * many. Reads the live table without stopping the workers: a slot being replaced at that
 * moment is skipped.
 */
size_t filter_top_talkers(struct tock_filter *f, struct filter_talker *out, size_t max);

/* The length of the longest prefix of `which` list that holds src, or -1 (diagnostics and
 * tests). */
int filter_list_match(const struct tock_filter *f, enum filter_list which,
                      const struct sockaddr_storage *src);

/* Seeds the calling thread's sampling generator (KoD and leak draws); 0 re-seeds from the
 * clock. Each thread seeds itself lazily otherwise. */
void filter_seed_thread(uint64_t seed);

#endif
