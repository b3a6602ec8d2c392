/* SPDX-License-Identifier: MIT */
/*
 * Latency histogram for tock-bench: log-linear buckets (64 per power of two, so a quantile
 * is within 1.6% of the true value) over nanoseconds, cheap enough to record every
 * response, mergeable across generator threads.
 */
#ifndef TOCK_BENCH_HIST_H
#define TOCK_BENCH_HIST_H

#include <stdint.h>

#define HIST_SUB_BITS 6
#define HIST_BUCKETS  ((64 - HIST_SUB_BITS + 1) << HIST_SUB_BITS)

struct hist {
	uint64_t count;
	uint64_t max;
	uint64_t b[HIST_BUCKETS];
};

/* Empties the histogram. */
void hist_reset(struct hist *h);

/* Records one value (ns). */
void hist_add(struct hist *h, uint64_t v);

/* Adds src's counts to dst. */
void hist_merge(struct hist *dst, const struct hist *src);

/* The value below which a fraction q (0..1) of the samples lie; 0 when empty. */
uint64_t hist_quantile(const struct hist *h, double q);

#endif
