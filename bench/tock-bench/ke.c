// SPDX-License-Identifier: MIT
/*
 * `tock-bench ke`: NTS-KE sessions in parallel. Each of -c threads runs complete sessions
 * (TCP connect, TLS 1.3 handshake, request, response, key export) one after another with
 * ke_client until -n sessions have started or -t seconds have passed; the report gives
 * handshakes per second, failures by kind, latency percentiles and, with --server-pid, the
 * server's CPU time per session. The threads share one client context, so the trust anchors
 * are loaded once and the client's own cost per session is the session's.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "cpu.h"
#include "hist.h"
#include "ke_client.h"

#define KE_MAX_THREADS 256

/* Failure kinds counted apart. */
enum { F_TIMEOUT, F_CONNECT, F_TLS, F_PROTO, F_OTHER, F_KINDS };
static const char *const fail_names[F_KINDS] = {"timeout", "connect", "tls", "protocol", "other"};

struct ke_bench {
	struct ke_client_opts opts;
	struct ke_client_ctx *ctx; /* shared by the threads: the CA is loaded once */
	char host[256];
	uint16_t port, aead;
	int concurrency, sessions, csv;
	double seconds;
	pid_t pids[CPU_MAX_PIDS];
	int n_pids;
	uint64_t deadline_ns;
	atomic_int started;
};

/* One thread's tally. */
struct ke_tally {
	uint64_t ok, cookies, fail[F_KINDS];
	struct hist lat;
	char last_err[256];
};

struct ke_thread {
	struct ke_bench *b;
	struct ke_tally t;
	pthread_t th;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int fail_kind(int err)
{
	switch (err) {
	case -ETIMEDOUT:
		return F_TIMEOUT;
	case -ECONNREFUSED:
	case -ECONNRESET:
	case -ENETUNREACH:
	case -EHOSTUNREACH:
		return F_CONNECT;
	case -EPROTO:
		return F_TLS;
	case -EBADMSG:
	case -EREMOTEIO:
	case -ENOPROTOOPT:
	case -ENODATA:
		return F_PROTO;
	default:
		return F_OTHER;
	}
}

static void *ke_thread_main(void *p)
{
	struct ke_thread *kt = p;
	struct ke_bench *b = kt->b;
	struct ke_client_result *r = malloc(sizeof(*r));

	while (r && atomic_fetch_add(&b->started, 1) < b->sessions && now_ns() < b->deadline_ns) {
		uint64_t t0 = now_ns();
		int err = ke_client_run_ctx(b->ctx, &b->opts, r);

		if (err == 0) {
			kt->t.ok++;
			kt->t.cookies += (uint64_t)r->rec.n_cookies;
			hist_add(&kt->t.lat, now_ns() - t0);
		} else {
			kt->t.fail[fail_kind(err)]++;
			snprintf(kt->t.last_err, sizeof(kt->t.last_err), "%s", r->errmsg);
		}
	}
	free(r);
	return NULL;
}

static void ke_usage(void)
{
	static const char text[] =
	    "usage: tock-bench ke HOST[:PORT] [options]\n"
	    "  -c N                     parallel clients (8)\n"
	    "  -n N                     sessions at most (1000)\n"
	    "  -t S                     seconds at most (10)\n"
	    "  --ca FILE | --insecure   trust anchors / skip certificate verification\n"
	    "  --name NAME              TLS name to expect (the host)\n"
	    "  --aead ID                offer only this AEAD (15, 17)\n"
	    "  --server-pid PID[,PID...]  report the server's CPU time per session\n"
	    "  --csv                    CSV instead of the table\n";

	fputs(text, stderr);
}

static const struct option ke_opts[] = {
    {"ca", required_argument, NULL, 'C'},
    {"name", required_argument, NULL, 'N'},
    {"insecure", no_argument, NULL, 'I'},
    {"aead", required_argument, NULL, 'A'},
    {"server-pid", required_argument, NULL, 'P'},
    {"csv", no_argument, NULL, 'V'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static int ke_parse_opt(struct ke_bench *b, int o, const char *v)
{
	switch (o) {
	case 'c':
		b->concurrency = atoi(v);
		break;
	case 'n':
		b->sessions = atoi(v);
		break;
	case 't':
		b->seconds = atof(v);
		break;
	case 'C':
		b->opts.ca_file = v;
		break;
	case 'N':
		b->opts.name = v;
		break;
	case 'I':
		b->opts.insecure = 1;
		break;
	case 'A':
		b->aead = (uint16_t)atoi(v);
		break;
	case 'P':
		b->n_pids = cpu_parse_pids(v, b->pids, CPU_MAX_PIDS);
		break;
	case 'V':
		b->csv = 1;
		break;
	default:
		return -EINVAL;
	}
	return 0;
}

static int ke_parse(struct ke_bench *b, int argc, char **argv)
{
	int o;

	b->concurrency = 8;
	b->sessions = 1000;
	b->seconds = 10;
	b->port = KE_DEFAULT_PORT;
	optind = 1;
	while ((o = getopt_long(argc, argv, "c:n:t:", ke_opts, NULL)) != -1)
		if (ke_parse_opt(b, o, optarg) < 0)
			return -EINVAL;
	if (optind != argc - 1 ||
	    ke_client_split_hostport(argv[optind], b->host, sizeof(b->host), &b->port) < 0)
		return -EINVAL;
	if (b->concurrency < 1 || b->concurrency > KE_MAX_THREADS || b->sessions < 1 ||
	    b->seconds <= 0 || b->seconds > 3600 || b->n_pids < 0)
		return -EINVAL;
	b->opts.host = b->host;
	b->opts.port = b->port;
	if (b->aead) {
		b->opts.aeads = &b->aead;
		b->opts.n_aeads = 1;
	}
	return 0;
}

static void ke_merge(struct ke_tally *dst, const struct ke_tally *src)
{
	dst->ok += src->ok;
	dst->cookies += src->cookies;
	for (int k = 0; k < F_KINDS; k++)
		dst->fail[k] += src->fail[k];
	hist_merge(&dst->lat, &src->lat);
	if (src->last_err[0])
		memcpy(dst->last_err, src->last_err, sizeof(dst->last_err));
}

static void ke_report(const struct ke_bench *b, const struct ke_tally *t, double secs,
                      uint64_t srv_ns, uint64_t cli_ns)
{
	uint64_t failed = 0;
	double p50 = (double)hist_quantile(&t->lat, 0.5) / 1e6;
	double p99 = (double)hist_quantile(&t->lat, 0.99) / 1e6, mx = (double)t->lat.max / 1e6;
	double per_srv = t->ok ? (double)srv_ns / 1e3 / (double)t->ok : 0;
	double per_cli = t->ok ? (double)cli_ns / 1e3 / (double)t->ok : 0;

	for (int k = 0; k < F_KINDS; k++)
		failed += t->fail[k];
	printf("# tock-bench ke %s%s%s:%u: concurrency %d, %.1f s\n",
	       strchr(b->host, ':') ? "[" : "", b->host, strchr(b->host, ':') ? "]" : "", b->port,
	       b->concurrency, secs);
	if (b->csv) {
		printf("mode,concurrency,seconds,ok,failed,handshakes_per_s,p50_ms,p99_ms,max_ms,"
		       "server_us_per_session,client_us_per_session,cookies_per_session\n");
		printf("ke,%d,%.3f,%lu,%lu,%.1f,%.2f,%.2f,%.2f,%.1f,%.1f,%.2f\n", b->concurrency,
		       secs, t->ok, failed, t->ok / secs, p50, p99, mx, per_srv, per_cli,
		       t->ok ? (double)t->cookies / (double)t->ok : 0);
	} else {
		printf("%8s %8s %12s %8s %8s %8s %12s %12s\n", "ok", "failed", "handshakes/s",
		       "p50 ms", "p99 ms", "max ms", "srv us/sess", "cli us/sess");
		printf("%8lu %8lu %12.1f %8.2f %8.2f %8.2f %12.1f %12.1f\n", t->ok, failed,
		       t->ok / secs, p50, p99, mx, per_srv, per_cli);
	}
	for (int k = 0; k < F_KINDS; k++)
		if (t->fail[k])
			printf("# failed (%s): %lu\n", fail_names[k], t->fail[k]);
	if (failed)
		printf("# last error: %s\n", t->last_err);
}

/* Starts the threads, waits for them and sums their tallies. -errno if none started. */
static int ke_run(struct ke_bench *b, struct ke_thread *th, struct ke_tally *sum)
{
	int n = 0;

	b->deadline_ns = now_ns() + (uint64_t)(b->seconds * 1e9);
	atomic_init(&b->started, 0);
	for (; n < b->concurrency; n++) {
		th[n].b = b;
		if (pthread_create(&th[n].th, NULL, ke_thread_main, &th[n]) != 0)
			break;
	}
	for (int i = 0; i < n; i++) {
		pthread_join(th[i].th, NULL);
		ke_merge(sum, &th[i].t);
	}
	return n ? 0 : -EAGAIN;
}

int bench_ke(int argc, char **argv)
{
	static struct ke_bench b;
	static struct ke_thread th[KE_MAX_THREADS];
	static struct ke_tally sum;
	uint64_t t0, srv0, cli0;
	struct timespec ts;
	char err[256];
	int ret;

	if (ke_parse(&b, argc, argv) < 0) {
		ke_usage();
		return 2;
	}
	if (ke_client_ctx_new(&b.opts, &b.ctx, err, sizeof(err)) < 0) {
		fprintf(stderr, "tock-bench: %s\n", err);
		return 1;
	}
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	cli0 = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	srv0 = cpu_pids_ns(b.pids, b.n_pids);
	t0 = now_ns();
	ret = ke_run(&b, th, &sum);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	ke_client_ctx_free(b.ctx);
	if (ret < 0) {
		fprintf(stderr, "tock-bench: cannot start threads\n");
		return 1;
	}
	ke_report(&b, &sum, (double)(now_ns() - t0) / 1e9, cpu_pids_ns(b.pids, b.n_pids) - srv0,
	          (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec - cli0);
	return sum.ok ? 0 : 1;
}
