// SPDX-License-Identifier: MIT
/* Log-linear latency histogram (hist.h). */
#include <string.h>

#include "hist.h"

#define SUB (1u << HIST_SUB_BITS)

static unsigned bucket_of(uint64_t v)
{
	unsigned e;

	if (v < SUB)
		return (unsigned)v;
	e = 63u - (unsigned)__builtin_clzll(v); /* >= HIST_SUB_BITS */
	return ((e - HIST_SUB_BITS + 1) << HIST_SUB_BITS) |
	       (unsigned)((v >> (e - HIST_SUB_BITS)) & (SUB - 1));
}

/* The middle of bucket i's range, what a quantile falling into it reports. */
static uint64_t bucket_value(unsigned i)
{
	unsigned e, sub;
	uint64_t width;

	if (i < SUB)
		return i;
	e = (i >> HIST_SUB_BITS) + HIST_SUB_BITS - 1;
	sub = i & (SUB - 1);
	width = 1ull << (e - HIST_SUB_BITS);
	return ((uint64_t)(SUB | sub) << (e - HIST_SUB_BITS)) + width / 2;
}

void hist_reset(struct hist *h)
{
	memset(h, 0, sizeof(*h));
}

void hist_add(struct hist *h, uint64_t v)
{
	h->b[bucket_of(v)]++;
	h->count++;
	if (v > h->max)
		h->max = v;
}

void hist_merge(struct hist *dst, const struct hist *src)
{
	for (unsigned i = 0; i < HIST_BUCKETS; i++)
		dst->b[i] += src->b[i];
	dst->count += src->count;
	if (src->max > dst->max)
		dst->max = src->max;
}

uint64_t hist_quantile(const struct hist *h, double q)
{
	uint64_t want, seen = 0;

	if (!h->count)
		return 0;
	want = (uint64_t)(q * (double)h->count);
	if (want >= h->count)
		want = h->count - 1;
	for (unsigned i = 0; i < HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen > want) {
			uint64_t v = bucket_value(i);

			return v > h->max ? h->max : v;
		}
	}
	return h->max;
}
