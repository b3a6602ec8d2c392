// SPDX-License-Identifier: MIT
/* XDP counters → metrics input (see metrics_xdp.h). */
#include <stddef.h>

#include "metrics_xdp.h"

/* Verdicts that end a request inside XDP without a time answer (chrony's "dropped"). */
static const unsigned xdp_drop_ids[] = {
    XDP_STAT_DROP_MALFORMED,    XDP_STAT_DROP_SHORT,        XDP_STAT_DROP_VERSION,
    XDP_STAT_DROP_MODE_CONTROL, XDP_STAT_DROP_MODE_PRIVATE, XDP_STAT_DROP_REFLECTION,
    XDP_STAT_DROP_MODE_OTHER,   XDP_STAT_DROP_DENIED,       XDP_STAT_RATELIMITED_DROPPED,
    XDP_STAT_KOD_SENT,
};

void metrics_xdp_fill(struct metrics_input *in, struct metrics_extra extra[XDP_STAT_COUNT],
                      const uint64_t v[XDP_STAT_COUNT])
{
	for (unsigned i = 0; i < XDP_STAT_COUNT; i++)
		extra[i] =
		    (struct metrics_extra){tock_xdp_stat_names[i], tock_xdp_stat_help[i], v[i]};
	in->xdp = extra;
	in->n_xdp = XDP_STAT_COUNT;
	in->xdp_dropped = 0;
	for (size_t i = 0; i < sizeof(xdp_drop_ids) / sizeof(xdp_drop_ids[0]); i++)
		in->xdp_dropped += v[xdp_drop_ids[i]];
	in->xdp_answered = v[XDP_STAT_FASTPATH_ANSWERED];
}
