// SPDX-License-Identifier: MIT
/* PHC → CLOCK_REALTIME conversion: offset and drift from PTP_SYS_OFFSET_EXTENDED samples
 * (see hwts_phc.h). Pure arithmetic plus the seqlock the workers read through. */
#include <errno.h>
#include <string.h>

#include "hwts_phc.h"

#define HWTS_MAX_WINDOW_NS 1000000 /* a read window over 1 ms was preempted: useless */
#define HWTS_DRIFT_WEIGHT  0.25    /* smoothing of the drift between successive batches */
#define HWTS_MAX_DRIFT     0.001   /* 1000 ppm: more means a step, not a drift */

void hwts_phc_init(struct hwts_phc_est *e)
{
	memset(e, 0, sizeof(*e));
}

/* Index of the sample with the narrowest sys window, or -1 if none is usable. */
static int best_sample(const struct hwts_sample *s, int n)
{
	int best = -1;
	int64_t best_w = HWTS_MAX_WINDOW_NS + 1;

	for (int i = 0; i < n; i++) {
		int64_t w = s[i].sys_after - s[i].sys_before;

		if (w >= 0 && w < best_w) {
			best_w = w;
			best = i;
		}
	}
	return best;
}

int hwts_phc_update(struct hwts_phc_est *e, const struct hwts_sample *s, int n)
{
	int i = best_sample(s, n);
	int64_t offset, mid;

	if (i < 0)
		return -EINVAL;
	/* midpoint without overflow: both stamps are near each other */
	mid = s[i].sys_before + (s[i].sys_after - s[i].sys_before) / 2;
	offset = mid - s[i].phc;
	if (e->valid && s[i].phc > e->ref_phc) {
		double d = (double)(offset - e->ref_offset) / (double)(s[i].phc - e->ref_phc);

		if (d > HWTS_MAX_DRIFT || d < -HWTS_MAX_DRIFT)
			d = e->drift; /* someone stepped a clock: keep the old rate */
		e->drift = e->n_updates > 1 ? e->drift + HWTS_DRIFT_WEIGHT * (d - e->drift) : d;
	}
	e->ref_phc = s[i].phc;
	e->ref_offset = offset;
	e->delay = s[i].sys_after - s[i].sys_before;
	e->n_updates++;
	e->valid = 1;
	return 0;
}

int hwts_phc_to_realtime(const struct hwts_phc_est *e, int64_t phc_ns, int64_t *realtime_ns)
{
	int64_t dt;

	if (!e->valid)
		return -EAGAIN;
	dt = phc_ns - e->ref_phc;
	if (dt > HWTS_MAX_EXTRAPOLATE_NS || dt < -HWTS_MAX_EXTRAPOLATE_NS)
		return -ERANGE;
	*realtime_ns = phc_ns + e->ref_offset + (int64_t)(e->drift * (double)dt);
	return 0;
}

void hwts_clock_store(struct hwts_clock *c, const struct hwts_phc_est *e)
{
	uint64_t start = seqlock_write_begin(&c->seq);

	c->est = *e;
	seqlock_write_end(&c->seq, start);
}

void hwts_clock_load(const struct hwts_clock *c, struct hwts_phc_est *out)
{
	uint64_t begin;

	do {
		begin = seqlock_read_begin(&c->seq);
		*out = c->est;
	} while (seqlock_read_retry(&c->seq, begin));
}

int hwts_set_estimate(const struct hwts_set *set, int ifindex, struct hwts_phc_est *out)
{
	if (!set)
		return -ENODEV;
	for (int i = 0; i < set->n; i++) {
		if (set->clk[i].ifindex != ifindex)
			continue;
		hwts_clock_load(&set->clk[i], out);
		return out->valid ? 0 : -EAGAIN;
	}
	return -ENODEV;
}

int hwts_set_convert(const struct hwts_set *set, int ifindex, int64_t phc_ns, int64_t *rt_ns)
{
	struct hwts_phc_est e;
	int err = hwts_set_estimate(set, ifindex, &e);

	return err == -ENODEV ? err : hwts_phc_to_realtime(&e, phc_ns, rt_ns);
}
