/* SPDX-License-Identifier: MIT */
/*
 * The request handler (DESIGN §3): one pure function answers plain NTP and NTS requests
 * for every transport — the io_uring worker, the recvmmsg fallback, tests, fuzzers and the
 * bench's self-check. It never allocates, never logs, and never returns a response longer
 * than the request.
 */
#ifndef TOCK_SERVE_H
#define TOCK_SERVE_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "clock.h"
#include "keymap.h"
#include "stats.h"

#define NTS_MAX_NEW_COOKIES  8 /* 1 + placeholders, capped (RFC 8915 §5.7) */
#define NTS_UID_MIN_LEN      32
#define NTS_SERVER_NONCE_LEN 16

/* Where the receive timestamp came from (counted as chrony's serverstats does). */
enum tock_ts_source { TS_SRC_DAEMON = 0, TS_SRC_KERNEL = 1, TS_SRC_HARDWARE = 2 };

/* What the transport knows about a received request. */
struct tock_rx_meta {
	struct timespec rx_time; /* receive timestamp, CLOCK_REALTIME */
	enum tock_ts_source rx_source;
	struct sockaddr_storage peer; /* client address (for filters; not used by the codec) */
};

struct tock_worker_ctx;

/* Options copied into the worker's snapshot at start (the hot path never reads config). */
struct tock_serve_opts {
	/* Time source for the transmit timestamp; NULL → clock_gettime(CLOCK_REALTIME).
	 * Tests inject a fixed clock here. */
	void (*now)(struct timespec *ts);
};

/*
 * A worker context: keyed SIV contexts for the master keys, the random pool, the counters
 * block it writes (`stats`, owned by the caller) and the clock cell it reads (`clock`).
 * NULL on failure (no memory, crypto unavailable).
 */
struct tock_worker_ctx *tock_worker_new(const struct tock_serve_opts *opts,
                                        struct tock_worker_stats *stats,
                                        const struct tock_clock_cell *clock);
void tock_worker_free(struct tock_worker_ctx *w);

/* Re-keys the worker's master-key contexts from a snapshot (call when the seq moved). */
int tock_worker_set_keys(struct tock_worker_ctx *w, const struct keymap_snapshot *snap);

/*
 * The once-per-batch key check: if the key map's sequence moved since the last call, read a
 * snapshot and re-key. Cheap (one atomic load) when nothing changed. 0 or -errno (the old
 * keys stay in use on error).
 */
int tock_worker_sync_keys(struct tock_worker_ctx *w, const struct keymap *km);

/* Fills resp (capacity cap) from a request; returns its length, or 0 to send nothing
 * (every 0 is counted by reason in the worker's stats). */
size_t tock_serve(struct tock_worker_ctx *w, const uint8_t *req, size_t len,
                  const struct tock_rx_meta *rx, uint8_t *resp, size_t cap);

#endif
