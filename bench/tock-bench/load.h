/* SPDX-License-Identifier: MIT */
/*
 * tock-bench's NTP/NTS load generator, shared between its parts:
 *   load.c    options, NTS-KE for cookies, the step schedule, threads, CPU sampling
 *   gen.c     one generator thread: sockets, pacing, sendmmsg/recvmmsg, matching
 *   ntsgen.c  simulated NTS clients: cookie pools, request building, response checks
 *   report.c  the human table and the CSV
 *
 * Every request carries a token in the low 32 bits of its transmit timestamp (a sequence
 * number), which the server echoes as origin: it finds the request's slot (send time,
 * client, Unique Identifier) without any lookup structure.
 */
#ifndef TOCK_BENCH_LOAD_H
#define TOCK_BENCH_LOAD_H

#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "cookie.h"
#include "cpu.h"
#include "hist.h"
#include "ke_proto.h"
#include "siv.h"

#define LOAD_PKT_MAX     2048 /* largest request or response handled */
#define LOAD_MAX_CLIENTS 65536
#define LOAD_MAX_SOCKETS 4096
#define LOAD_MAX_THREADS 64
#define LOAD_MAX_SESS    64
#define LOAD_BATCH       32 /* messages per sendmmsg/recvmmsg */

/* Keys and cookies of one NTS-KE session; simulated client g uses session g % n_sess. */
struct load_session {
	int aead;
	size_t key_len;
	uint8_t c2s[SIV_MAX_KEY_LEN];
	uint8_t s2c[SIV_MAX_KEY_LEN];
	int n_cookies;
	size_t cookie_len[KE_MAX_COOKIES];
	uint8_t cookies[KE_MAX_COOKIES][COOKIE_MAX_LEN];
};

/* Everything the run was asked for; read-only once the threads start. */
struct load_cfg {
	int nts; /* 0: plain NTP, 1: NTS */
	struct sockaddr_storage server;
	socklen_t server_len;
	char server_str[80];

	/* schedule: steps of step_s seconds at start_rate * mult^i */
	double start_rate, mult, step_s, drain_s, stop_loss;
	int steps;

	/* simulated clients */
	int clients, sockets, threads, version;
	struct sockaddr_storage src_first; /* first source address (n_src > 0) */
	int n_src;                         /* source addresses used; 0: the kernel picks one */
	int src_count;                     /* --src-count: at most this many of them */
	char src_str[64];
	int placeholders; /* Cookie Placeholders per NTS request */
	int ring;         /* prebuilt requests per thread */
	uint64_t tick_ns; /* shortest sleep: sends and receives batch up over it */

	/* NTS-KE */
	char ke_host[256];
	uint16_t ke_port;
	const char *ca, *name;
	int insecure, ke_sessions, aead;
	struct load_session *sess;
	int n_sess;

	/* reporting */
	pid_t pids[CPU_MAX_PIDS];
	int n_pids;
	int csv, self_test;
	int rate_given; /* --rate or --start was given */
};

/* One step as each thread sees it; times are CLOCK_MONOTONIC ns. */
struct load_step {
	int index;
	double rate; /* this thread's share, requests per second */
	uint64_t start_ns, end_ns, drain_ns;
};

/* What one step produced (per thread, then summed). */
struct load_counts {
	uint64_t sent, skipped; /* skipped: due but the generator could not keep up */
	uint64_t answered, lost, invalid, late, nak, kod, unsync, send_err;
	uint64_t gen_cpu_ns;
	struct hist lat;
};

/* Totals of a step plus the CPU samples around it, as printed. */
struct load_result {
	int step;
	double offered, seconds;
	struct load_counts c;
	uint64_t server_ns;  /* CPU used by --server-pid processes during the step */
	double machine_busy; /* 0..1 over the step */
};

/* ---- gen.c ----------------------------------------------------------------------- */
struct gen;

/* A generator thread's state for thread number id (sockets, slots, client share).
 * 0 or -errno with a message printed. */
int gen_new(const struct load_cfg *cfg, int id, struct gen **out);
void gen_free(struct gen *g);

/* Runs one step: sends at s->rate until s->end_ns, keeps receiving until s->drain_ns, and
 * fills c (reset first). */
void gen_run_step(struct gen *g, const struct load_step *s, struct load_counts *c);

/* Adds src's counts to dst. */
void load_counts_merge(struct load_counts *dst, const struct load_counts *src);

/* ---- ntsgen.c -------------------------------------------------------------------- */
struct ntsgen;

/* Outcomes of ntsgen_check(). */
enum { NTSGEN_OK = 0, NTSGEN_NAK = 1, NTSGEN_INVALID = 2 };

/* NTS state of one thread: the sessions' keyed AEADs and a cookie pool per client (local
 * client l is global client thread + threads * l). NULL on failure. */
struct ntsgen *ntsgen_new(const struct load_cfg *cfg, int thread, int n_clients);
void ntsgen_free(struct ntsgen *n);

/* Builds an NTS request for local client l with transmit timestamp ts, using the client's
 * freshest cookie; the Unique Identifier used goes to uid. Length or -errno. */
int ntsgen_build(struct ntsgen *n, uint32_t l, uint64_t ts, uint8_t *uid, uint8_t *out, size_t cap);

/* Verifies a response to client l's request (ts, uid) and keeps the cookies it carries. */
int ntsgen_check(struct ntsgen *n, uint32_t l, uint64_t ts, const uint8_t *uid, const uint8_t *resp,
                 size_t len);

/* Fills sessions with random keys and cookies, for --self-test (no server to ask). */
int ntsgen_fake_sessions(struct load_session *sess, int n);

/* ---- report.c -------------------------------------------------------------------- */

/* Prints the table header (or the CSV header) for the run. */
void report_header(const struct load_cfg *cfg);

/* Prints one step's line. */
void report_step(const struct load_cfg *cfg, const struct load_result *r);

/* Prints the summary after the last step (best rate under 1% loss). */
void report_summary(const struct load_cfg *cfg, const struct load_result *r, int n);

#endif
