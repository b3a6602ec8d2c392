// SPDX-License-Identifier: MIT
/* Control protocol replies (see control.h): pure, bounded, never longer than the request. */
#include <string.h>

#include "control.h"

/* chrony's serverstats fields in wire order; -1 is a reserved word. */
static const int stats_order[] = {
    MCF_NTP_HITS,
    MCF_NKE_HITS,
    MCF_CMD_HITS,
    MCF_NTP_DROPS,
    MCF_NKE_DROPS,
    MCF_CMD_DROPS,
    MCF_LOG_DROPS,
    MCF_AUTH_HITS,
    MCF_INTERLEAVED,
    MCF_TS_HELD,
    MCF_TS_SPAN,
    MCF_DAEMON_RX,
    MCF_DAEMON_TX,
    MCF_KERNEL_RX,
    MCF_KERNEL_TX,
    MCF_HW_RX,
    MCF_HW_TX,
    -1,
    -1,
    -1,
    -1,
};

static size_t put_stats3(uint8_t *out, const struct candm_request *rq, const struct control_view *v)
{
	candm_put_reply_header(out, rq, CANDM_RPY_SERVER_STATS3, CANDM_STT_SUCCESS);
	for (int i = 0; i < 11; i++) /* 32-bit counters wrap, as chronyd's own do */
		candm_put32(out + CANDM_RPY_HDR_LEN + 4 * i, (uint32_t)v->chrony[stats_order[i]]);
	return CANDM_STATS3_LEN;
}

static size_t put_stats4(uint8_t *out, const struct candm_request *rq, const struct control_view *v)
{
	candm_put_reply_header(out, rq, CANDM_RPY_SERVER_STATS4, CANDM_STT_SUCCESS);
	for (int i = 0; i < 21; i++)
		candm_put64(out + CANDM_RPY_HDR_LEN + 8 * i,
		            stats_order[i] < 0 ? 0 : v->chrony[stats_order[i]]);
	return CANDM_STATS4_LEN;
}

static size_t put_server_stats(uint8_t *out, size_t cap, const struct candm_request *rq,
                               const struct control_view *v)
{
	if (rq->len >= CANDM_STATS4_LEN && cap >= CANDM_STATS4_LEN)
		return put_stats4(out, rq, v);
	if (rq->len >= CANDM_STATS3_LEN && cap >= CANDM_STATS3_LEN)
		return put_stats3(out, rq, v);
	return 0;
}

static size_t put_tracking(uint8_t *out, size_t cap, const struct candm_request *rq,
                           const struct control_view *v)
{
	if (rq->len < CANDM_TRACKING_LEN || cap < CANDM_TRACKING_LEN)
		return 0;
	candm_put_reply_header(out, rq, CANDM_RPY_TRACKING, CANDM_STT_SUCCESS);
	candm_put_tracking(out + CANDM_RPY_HDR_LEN, &v->tracking);
	return CANDM_TRACKING_LEN;
}

static size_t put_n_sources(uint8_t *out, size_t cap, const struct candm_request *rq)
{
	if (rq->len < CANDM_N_SOURCES_LEN || cap < CANDM_N_SOURCES_LEN)
		return 0;
	candm_put_reply_header(out, rq, CANDM_RPY_N_SOURCES, CANDM_STT_SUCCESS);
	candm_put32(out + CANDM_RPY_HDR_LEN, 0); /* tock serves time, it has no sources */
	return CANDM_N_SOURCES_LEN;
}

size_t control_reply(const uint8_t *req, size_t req_len, const struct control_view *v, uint8_t *out,
                     size_t cap)
{
	struct candm_request rq;

	if (candm_parse_request(req, req_len, &rq) < 0)
		return 0;
	switch (rq.command) {
	case CANDM_REQ_SERVER_STATS:
		return put_server_stats(out, cap, &rq, v);
	case CANDM_REQ_TRACKING:
		return put_tracking(out, cap, &rq, v);
	case CANDM_REQ_N_SOURCES:
		return put_n_sources(out, cap, &rq);
	default:
		/* a well-formed command tock does not implement: chronyc prints "Invalid
		 * command"; still never longer than what was sent */
		if (rq.len < CANDM_NULL_LEN || cap < CANDM_NULL_LEN)
			return 0;
		candm_put_reply_header(out, &rq, CANDM_RPY_NULL, CANDM_STT_INVALID);
		return CANDM_NULL_LEN;
	}
}
