/* SPDX-License-Identifier: MIT */
/*
 * Counters (DESIGN §8). Each tockd worker owns one cache-line-aligned block and is its only
 * writer (plain increments, no atomics on the hot path); readers (the control socket,
 * tockctl through the shared file) sum the blocks and tolerate a slightly stale value.
 * tock-ke has its own block. Counter ids and names come from one X-macro list so the
 * enum, tockctl's output and the Prometheus names never drift apart.
 */
#ifndef TOCK_STATS_H
#define TOCK_STATS_H

#include <stdint.h>

/* X(id, name, help) — per-worker NTP counters */
#define TOCK_NTP_STATS(X)                                                                          \
	X(RX, "rx_packets", "NTP packets received by the workers")                                 \
	X(PLAIN_ANSWERED, "plain_answered", "plain NTP requests answered")                         \
	X(NTS_ANSWERED, "nts_answered", "NTS-authenticated requests answered")                     \
	X(NTS_AEAD15, "nts_aead_15", "NTS requests answered with AEAD 15 (AES-SIV-CMAC-256)")      \
	X(NTS_AEAD17, "nts_aead_17", "NTS requests answered with AEAD 17 (AES-SIV-CMAC-512)")      \
	X(NTS_COOKIES_ISSUED, "nts_cookies_issued", "new cookies sent in NTS responses")           \
	X(NAK_UNKNOWN_KEY, "nak_unknown_key", "NTS NAKs: cookie names an unknown master key")      \
	X(NAK_BAD_COOKIE, "nak_bad_cookie", "NTS NAKs: cookie failed to decrypt")                  \
	X(NAK_BAD_TAG, "nak_bad_tag", "NTS NAKs: request authenticator did not verify")            \
	X(DROP_SHORT, "drop_short", "dropped: shorter than an NTP header")                         \
	X(DROP_VERSION, "drop_version", "dropped: NTP version 0 or above 4")                       \
	X(DROP_MODE, "drop_mode", "dropped: not a client (mode 3) request")                        \
	X(DROP_EF_MALFORMED, "drop_ef_malformed", "dropped: malformed extension fields")           \
	X(DROP_NTS_MALFORMED, "drop_nts_malformed", "dropped: NTS fields missing or malformed")    \
	X(DROP_TOO_BIG, "drop_too_big", "dropped: response would not fit the request's size")      \
	X(DROP_FILTERED, "drop_filtered", "dropped by the userspace filter (XDP off)")             \
	X(DROP_RATELIMIT, "drop_ratelimit", "dropped by the userspace rate limiter (XDP off)")     \
	X(TX_ERRORS, "tx_errors", "responses the kernel refused to send")                          \
	X(RX_TRUNCATED, "rx_truncated", "requests or control data truncated on receive")           \
	X(RX_NOBUFS, "rx_nobufs", "receive stalls for lack of provided buffers")                   \
	X(TS_DAEMON, "ts_daemon", "receive timestamps taken by the daemon")                        \
	X(TS_KERNEL, "ts_kernel", "receive timestamps from the kernel")                            \
	X(TS_HW, "ts_hardware", "receive timestamps from the NIC")                                 \
	X(DROP_MODE_CONTROL, "drop_mode_control", "dropped by the userspace filter: mode 6")       \
	X(DROP_MODE_PRIVATE, "drop_mode_private", "dropped by the userspace filter: mode 7")       \
	X(DROP_REFLECTION, "drop_reflection", "dropped by the userspace filter: mode 4/5")         \
	X(DROP_DENIED, "drop_denied", "dropped by the userspace filter: source in the deny list")  \
	X(KOD_SENT, "kod_sent", "over the userspace limit: answered with KoD RATE")                \
	X(RATELIMIT_LEAKED, "ratelimit_leaked", "over the userspace limit: passed anyway")         \
	X(ALLOWLISTED, "allowlisted", "requests that bypassed the userspace limiter")              \
	X(AFXDP_RX, "afxdp_rx", "frames received on AF_XDP sockets")                               \
	X(AFXDP_TX, "afxdp_tx", "responses sent through AF_XDP sockets")                           \
	X(DROP_FRAME, "drop_frame", "dropped: AF_XDP frame not a well-formed unicast UDP request")

/* The X-macro expansion has no separator; clang-format would misindent what follows. */
/* clang-format off */
enum tock_stat {
#define TOCK_STAT_ENUM(id, name, help) STAT_##id,
	TOCK_NTP_STATS(TOCK_STAT_ENUM)
#undef TOCK_STAT_ENUM
	STAT_COUNT
};
/* clang-format on */

/* One worker's counters, written only by that worker. */
struct tock_worker_stats {
	uint64_t c[STAT_COUNT];
} __attribute__((aligned(64)));

/* Names and help texts, indexed by enum tock_stat. */
extern const char *const tock_stat_names[STAT_COUNT];
extern const char *const tock_stat_help[STAT_COUNT];

/* X(id, name, help) — tock-ke's counters (one block, written by tock-ke's threads with
 * relaxed atomic adds since several KE threads share it) */
#define TOCK_KE_STATS(X)                                                                           \
	X(ACCEPTED, "ke_accepted", "NTS-KE connections accepted")                                  \
	X(REFUSED_LIMIT, "ke_refused_limit", "connections refused: too many concurrent")           \
	X(REFUSED_RATE, "ke_refused_rate", "connections refused: per-source rate limit")           \
	X(HANDSHAKE_FAILED, "ke_handshake_failed", "TLS handshakes that failed")                   \
	X(TIMEOUTS, "ke_timeouts", "sessions cut at the deadline")                                 \
	X(BAD_REQUEST, "ke_bad_request", "requests answered with an NTS-KE error")                 \
	X(SESSIONS, "ke_sessions", "sessions served (keys and cookies sent)")                      \
	X(COOKIES_ISSUED, "ke_cookies_issued", "cookies issued by NTS-KE")                         \
	X(AEAD15, "ke_aead_15", "sessions that chose AEAD 15")                                     \
	X(AEAD17, "ke_aead_17", "sessions that chose AEAD 17")                                     \
	X(AEAD30, "ke_aead_30", "sessions that chose AEAD 30")                                     \
	X(ROTATIONS, "ke_key_rotations", "master key rotations")                                   \
	X(EVICTED, "ke_evicted_stalled", "connections stalled in the handshake, closed at the cap")

/* clang-format off */
enum tock_ke_stat {
#define TOCK_KE_STAT_ENUM(id, name, help) KE_STAT_##id,
	TOCK_KE_STATS(TOCK_KE_STAT_ENUM)
#undef TOCK_KE_STAT_ENUM
	KE_STAT_COUNT
};
/* clang-format on */

extern const char *const tock_ke_stat_names[KE_STAT_COUNT];
extern const char *const tock_ke_stat_help[KE_STAT_COUNT];

/*
 * Shared counter files under the run directory, mapped by tockctl read-only:
 *   RUNDIR/tockd.stats   struct stats_file_hdr, then n_blocks struct tock_worker_stats
 *   RUNDIR/tock-ke.stats struct stats_file_hdr, then one struct tock_ke_stats
 */
#define STATS_FILE_MAGIC   0x5354415453434f54ULL /* "TOCSTATS" little-endian */
#define STATS_FILE_VERSION 1

struct stats_file_hdr {
	uint64_t magic;
	uint32_t version;
	uint32_t n_blocks;   /* worker blocks (1 for tock-ke) */
	uint32_t n_counters; /* STAT_COUNT or KE_STAT_COUNT when written */
	uint32_t pid;        /* the writer, so readers can tell a stale file */
	int64_t start_time;  /* unix time the writer started */
	uint32_t key_id;     /* tock-ke: current master key id */
	uint32_t n_afxdp;    /* tockd: the last n_afxdp blocks are AF_XDP workers' */
	int64_t key_created; /* tock-ke: unix time the current key became current */
} __attribute__((aligned(64)));

struct tock_ke_stats {
	uint64_t c[KE_STAT_COUNT];
} __attribute__((aligned(64)));

#define STAT_INC(ws, id)    ((ws)->c[STAT_##id]++)
#define STAT_ADD(ws, id, n) ((ws)->c[STAT_##id] += (n))

#endif
