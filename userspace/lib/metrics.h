/* SPDX-License-Identifier: MIT */
/*
 * Counters → operator formats (DESIGN §8). Pure: no I/O, no allocation. The caller (tockctl
 * reading the shared files, or tockd's control socket and HTTP listener reading its own
 * blocks) fills a struct metrics_input; this module derives chrony's serverstats fields
 * from it and renders the Prometheus text exposition format.
 *
 * chrony's fields keep chronyc's labels (for `tockctl serverstats`) and chrony_exporter's
 * metric names (`chrony_serverstats_*`), so dashboards built for chrony work unchanged.
 * tock's own counters are exported as `tock_*`, named from the X-macro lists in stats.h.
 */
#ifndef TOCK_METRICS_H
#define TOCK_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "stats.h"

/*
 * X(id, chronyc label, chrony_exporter name without "chrony_serverstats_", is_gauge, help)
 * in chronyc's order: the first eleven are what chronyc 4.3 prints, the rest were added
 * in 4.4. Where tock has no such thing (command packets, interleaved mode) the value is 0.
 */
#define METRICS_CHRONY_FIELDS(X)                                                                   \
	X(NTP_HITS, "NTP packets received", "ntp_packets_received_total", 0,                       \
	  "NTP requests received (by the workers and, with XDP, by the XDP program)")              \
	X(NTP_DROPS, "NTP packets dropped", "ntp_packets_dropped_total", 0,                        \
	  "NTP requests not answered: malformed, filtered or over the rate limit")                 \
	X(CMD_HITS, "Command packets received", "command_packets_received_total", 0,               \
	  "control socket requests received (known to tockd only; 0 from the shared files)")       \
	X(CMD_DROPS, "Command packets dropped", "command_packets_dropped_total", 0,                \
	  "control socket requests dropped (known to tockd only; 0 from the shared files)")        \
	X(LOG_DROPS, "Client log records dropped", "client_log_records_dropped_total", 0,          \
	  "client log records dropped (tock keeps no client log)")                                 \
	X(NKE_HITS, "NTS-KE connections accepted", "nts_ke_connections_accepted_total", 0,         \
	  "NTS-KE connections accepted by tock-ke")                                                \
	X(NKE_DROPS, "NTS-KE connections dropped", "nts_ke_connections_dropped_total", 0,          \
	  "NTS-KE connections refused by the concurrency or per-source rate limit")                \
	X(AUTH_HITS, "Authenticated NTP packets", "authenticated_ntp_packets_total", 0,            \
	  "NTS-authenticated requests answered")                                                   \
	X(INTERLEAVED, "Interleaved NTP packets", "interleaved_ntp_packets_total", 0,              \
	  "interleaved-mode requests (tock does not serve interleaved mode)")                      \
	X(TS_HELD, "NTP timestamps held", "ntp_timestamps_held", 1,                                \
	  "timestamps held for interleaved mode (always 0 in tock)")                               \
	X(TS_SPAN, "NTP timestamp span", "ntp_timestamp_span_seconds", 1,                          \
	  "interval covered by the held timestamps (always 0 in tock)")                            \
	X(DAEMON_RX, "NTP daemon RX timestamps", "ntp_daemon_rx_timestamps_total", 0,              \
	  "responses whose receive timestamp the daemon took")                                     \
	X(DAEMON_TX, "NTP daemon TX timestamps", "ntp_daemon_tx_timestamps_total", 0,              \
	  "responses whose transmit timestamp the daemon took")                                    \
	X(KERNEL_RX, "NTP kernel RX timestamps", "ntp_kernel_rx_timestamps_total", 0,              \
	  "responses whose receive timestamp the kernel took")                                     \
	X(KERNEL_TX, "NTP kernel TX timestamps", "ntp_kernel_tx_timestamps_total", 0,              \
	  "responses with a kernel transmit timestamp (interleaved mode; always 0)")               \
	X(HW_RX, "NTP hardware RX timestamps", "ntp_hw_rx_timestamps_total", 0,                    \
	  "responses whose receive timestamp the NIC took")                                        \
	X(HW_TX, "NTP hardware TX timestamps", "ntp_hw_tx_timestamps_total", 0,                    \
	  "responses with a NIC transmit timestamp (interleaved mode; always 0)")

enum metrics_chrony_field {
#define METRICS_CHRONY_ENUM(id, label, name, gauge, help) MCF_##id,
	METRICS_CHRONY_FIELDS(METRICS_CHRONY_ENUM)
#undef METRICS_CHRONY_ENUM
	    MCF_COUNT
};

/* The first MCF_COUNT_43 fields are the ones chronyc 4.3 prints. */
#define MCF_COUNT_43 11

struct metrics_chrony_desc {
	const char *label; /* chronyc's "NTP packets received" */
	const char *name;  /* chrony_exporter's name after "chrony_serverstats_" */
	int is_gauge;
	const char *help;
};

/* Descriptions, indexed by enum metrics_chrony_field. */
extern const struct metrics_chrony_desc metrics_chrony_fields[MCF_COUNT];

/* One named counter from a source that stats.h does not list (the XDP program's). */
struct metrics_extra {
	const char *name; /* [a-z0-9_], exported as tock_NAME_total ("xdp_kod_sent") */
	const char *help;
	uint64_t value;
};

/* Everything the formats are made from. Unknown parts are NULL / 0. */
struct metrics_input {
	const struct tock_worker_stats *workers; /* n_workers blocks; NULL if tockd is down */
	unsigned n_workers;                      /* socket and AF_XDP workers */
	unsigned n_afxdp;   /* the last n_afxdp blocks are AF_XDP workers' (≤ n_workers) */
	int64_t start_time; /* tockd's start, unix time */
	const struct tock_ke_stats *ke; /* NULL when tock-ke is not running */
	int64_t ke_start_time;
	uint32_t key_id;                 /* tock-ke's current master key */
	int64_t key_created;             /* 0 if unknown */
	const struct metrics_extra *xdp; /* XDP counters by reason (summed over CPUs) */
	unsigned n_xdp;
	uint64_t xdp_dropped;  /* requests XDP dropped or rate-limited (KoD included) */
	uint64_t xdp_answered; /* requests it answered on the fast path */
	int64_t now;           /* unix time, for ages */
	uint64_t cmd_hits;     /* control socket requests answered (tockd only) */
	uint64_t cmd_drops;    /* control socket requests dropped (tockd only) */
};

/* Sums counter `id` (enum tock_stat) over the worker blocks. */
uint64_t metrics_ntp_sum(const struct metrics_input *in, unsigned id);

/* Fills out[MCF_COUNT] with chrony's serverstats fields derived from tock's counters. */
void metrics_chrony_values(const struct metrics_input *in, uint64_t out[MCF_COUNT]);

/*
 * Renders the Prometheus text format (version 0.0.4) into buf. Like snprintf: writes at most
 * cap bytes including the terminating NUL and returns the length the whole text needs, so
 * a result >= cap means "call again with a bigger buffer" (see metrics_size_hint()).
 */
size_t metrics_format(const struct metrics_input *in, char *buf, size_t cap);

/* A buffer size that is always enough for metrics_format(in, ...). */
size_t metrics_size_hint(const struct metrics_input *in);

/* The Content-Type an HTTP listener should send with metrics_format()'s text. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif
