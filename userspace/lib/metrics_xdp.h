/* SPDX-License-Identifier: MIT */
/*
 * The XDP program's counters → struct metrics_input, in one place so that tockd (its control
 * socket and HTTP listener, reading the maps it loaded) and tockctl (reading the pinned maps)
 * derive chrony's "NTP packets received/dropped" the same way and always agree.
 */
#ifndef TOCK_METRICS_XDP_H
#define TOCK_METRICS_XDP_H

#include <stdint.h>

#include "metrics.h"
#include "tock_shared.h"

/*
 * Fills extra[XDP_STAT_COUNT] with the named counters v (summed over CPUs) and points in->xdp
 * at it; sets in->xdp_dropped (requests XDP ended without a full answer: malformed, filtered,
 * denied, rate-limited — a KoD RATE counts as dropped, as chrony counts rate-limited
 * requests) and in->xdp_answered (fast-path answers).
 */
void metrics_xdp_fill(struct metrics_input *in, struct metrics_extra extra[XDP_STAT_COUNT],
                      const uint64_t v[XDP_STAT_COUNT]);

#endif
