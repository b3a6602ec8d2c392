// SPDX-License-Identifier: MIT
/* chrony's serverstats fields and the Prometheus text format from tock's counters. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "metrics.h"

const struct metrics_chrony_desc metrics_chrony_fields[MCF_COUNT] = {
#define METRICS_CHRONY_DESC(id, label_, name_, gauge_, help_)                                      \
	[MCF_##id] = {.label = label_, .name = name_, .is_gauge = gauge_, .help = help_},
    METRICS_CHRONY_FIELDS(METRICS_CHRONY_DESC)
#undef METRICS_CHRONY_DESC
};

/* Worker counters that mean "a response left with the daemon's transmit timestamp". */
static const unsigned ntp_answer_ids[] = {
    STAT_PLAIN_ANSWERED, STAT_NTS_ANSWERED, STAT_NAK_UNKNOWN_KEY,
    STAT_NAK_BAD_COOKIE, STAT_NAK_BAD_TAG,  STAT_KOD_SENT,
};

uint64_t metrics_ntp_sum(const struct metrics_input *in, unsigned id)
{
	uint64_t sum = 0;

	if (!in->workers || id >= STAT_COUNT)
		return 0;
	for (unsigned w = 0; w < in->n_workers; w++)
		sum += in->workers[w].c[id];
	return sum;
}

static uint64_t ntp_sum_list(const struct metrics_input *in, const unsigned *ids, size_t n)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < n; i++)
		sum += metrics_ntp_sum(in, ids[i]);
	return sum;
}

/* Every request a worker did not answer is in exactly one "drop_<reason>" counter; chrony
 * counts them all as "NTP packets dropped". Matching the name keeps new reasons counted. */
static uint64_t ntp_drops(const struct metrics_input *in)
{
	uint64_t sum = 0;

	for (unsigned id = 0; id < STAT_COUNT; id++)
		if (!strncmp(tock_stat_names[id], "drop_", 5))
			sum += metrics_ntp_sum(in, id);
	return sum;
}

static uint64_t ke_value(const struct metrics_input *in, unsigned id)
{
	return in->ke ? in->ke->c[id] : 0;
}

void metrics_chrony_values(const struct metrics_input *in, uint64_t out[MCF_COUNT])
{
	memset(out, 0, MCF_COUNT * sizeof(out[0]));
	/* Requests the XDP program handled never reach a worker, but chrony counts every
	 * request it received, so they are added to both "received" and "dropped". */
	out[MCF_NTP_HITS] = metrics_ntp_sum(in, STAT_RX) + in->xdp_dropped + in->xdp_answered;
	out[MCF_NTP_DROPS] = ntp_drops(in) + in->xdp_dropped;
	out[MCF_CMD_HITS] = in->cmd_hits;
	out[MCF_CMD_DROPS] = in->cmd_drops;
	out[MCF_NKE_HITS] = ke_value(in, KE_STAT_ACCEPTED);
	out[MCF_NKE_DROPS] =
	    ke_value(in, KE_STAT_REFUSED_LIMIT) + ke_value(in, KE_STAT_REFUSED_RATE);
	out[MCF_AUTH_HITS] = metrics_ntp_sum(in, STAT_NTS_ANSWERED);
	out[MCF_DAEMON_RX] = metrics_ntp_sum(in, STAT_TS_DAEMON);
	out[MCF_DAEMON_TX] =
	    ntp_sum_list(in, ntp_answer_ids, sizeof(ntp_answer_ids) / sizeof(ntp_answer_ids[0]));
	out[MCF_KERNEL_RX] = metrics_ntp_sum(in, STAT_TS_KERNEL);
	out[MCF_HW_RX] = metrics_ntp_sum(in, STAT_TS_HW);
}

/* ---- text output ------------------------------------------------------------------------ */

/* An snprintf-style writer: counts every byte, stores what fits. */
struct mbuf {
	char *p;
	size_t cap;
	size_t len;
};

static void __attribute__((format(printf, 2, 3))) out(struct mbuf *mb, const char *fmt, ...)
{
	va_list ap;
	size_t room = mb->len < mb->cap ? mb->cap - mb->len : 0;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(room ? mb->p + mb->len : NULL, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		mb->len += (size_t)n;
}

/* # HELP and # TYPE lines. Help texts are ours (no '\\' or newline), so no escaping. */
static void family(struct mbuf *mb, const char *prefix, const char *name, const char *type,
                   const char *help)
{
	out(mb, "# HELP %s%s %s\n# TYPE %s%s %s\n", prefix, name, help, prefix, name, type);
}

static void chrony_section(struct mbuf *mb, const struct metrics_input *in)
{
	uint64_t v[MCF_COUNT];

	metrics_chrony_values(in, v);
	for (unsigned i = 0; i < MCF_COUNT; i++) {
		const struct metrics_chrony_desc *d = &metrics_chrony_fields[i];

		family(mb, "chrony_serverstats_", d->name, d->is_gauge ? "gauge" : "counter",
		       d->help);
		out(mb, "chrony_serverstats_%s %" PRIu64 "\n", d->name, v[i]);
	}
}

/* Per-worker values carry worker="N" (socket workers) or worker="afxdpN" (AF_XDP workers,
 * one per interface queue) so a dashboard can spot an unbalanced queue. */
static void ntp_section(struct mbuf *mb, const struct metrics_input *in)
{
	unsigned n_socket = in->n_workers - in->n_afxdp;

	if (!in->workers)
		return;
	for (unsigned id = 0; id < STAT_COUNT; id++) {
		char name[64];

		snprintf(name, sizeof(name), "%s_total", tock_stat_names[id]);
		family(mb, "tock_", name, "counter", tock_stat_help[id]);
		for (unsigned w = 0; w < in->n_workers; w++)
			out(mb, "tock_%s{worker=\"%s%u\"} %" PRIu64 "\n", name,
			    w < n_socket ? "" : "afxdp", w < n_socket ? w : w - n_socket,
			    in->workers[w].c[id]);
	}
}

static void ke_section(struct mbuf *mb, const struct metrics_input *in)
{
	if (!in->ke)
		return;
	for (unsigned id = 0; id < KE_STAT_COUNT; id++) {
		family(mb, "tock_", tock_ke_stat_names[id], "counter", tock_ke_stat_help[id]);
		out(mb, "tock_%s %" PRIu64 "\n", tock_ke_stat_names[id], in->ke->c[id]);
	}
}

static void xdp_section(struct mbuf *mb, const struct metrics_input *in)
{
	for (unsigned i = 0; i < in->n_xdp; i++) {
		char name[80];

		snprintf(name, sizeof(name), "%s_total", in->xdp[i].name);
		family(mb, "tock_", name, "counter", in->xdp[i].help);
		out(mb, "tock_%s %" PRIu64 "\n", name, in->xdp[i].value);
	}
}

static void gauge(struct mbuf *mb, const char *name, const char *help, int64_t value)
{
	family(mb, "tock_", name, "gauge", help);
	out(mb, "tock_%s %" PRId64 "\n", name, value);
}

static void gauge_section(struct mbuf *mb, const struct metrics_input *in)
{
	gauge(mb, "up", "1 if tockd's counters are available", in->workers != NULL);
	gauge(mb, "ke_up", "1 if tock-ke's counters are available", in->ke != NULL);
	if (in->workers) {
		gauge(mb, "workers", "tockd socket worker threads", in->n_workers - in->n_afxdp);
		gauge(mb, "afxdp_workers", "tockd AF_XDP worker threads (one per interface queue)",
		      in->n_afxdp);
		gauge(mb, "start_time_seconds", "unix time tockd started", in->start_time);
	}
	if (!in->ke)
		return;
	gauge(mb, "ke_start_time_seconds", "unix time tock-ke started", in->ke_start_time);
	gauge(mb, "ke_key_id", "id of the current cookie master key", in->key_id);
	if (in->key_created)
		gauge(mb, "ke_key_age_seconds", "age of the current cookie master key",
		      in->now - in->key_created);
}

size_t metrics_format(const struct metrics_input *in, char *buf, size_t cap)
{
	struct mbuf mb = {.p = buf, .cap = cap, .len = 0};

	if (cap)
		buf[0] = '\0';
	chrony_section(&mb, in);
	ntp_section(&mb, in);
	ke_section(&mb, in);
	xdp_section(&mb, in);
	gauge_section(&mb, in);
	return mb.len;
}

size_t metrics_size_hint(const struct metrics_input *in)
{
	/* Every HELP+TYPE pair and every sample line is far below 320 bytes. */
	size_t families = MCF_COUNT + STAT_COUNT + KE_STAT_COUNT + in->n_xdp + 8;
	size_t samples = families + (size_t)STAT_COUNT * in->n_workers;

	return (families + samples) * 320 + 1;
}
