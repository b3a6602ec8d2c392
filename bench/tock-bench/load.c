// SPDX-License-Identifier: MIT
/*
 * `tock-bench ntp|nts`: the load generator's driver (load.h). It reads the options, gets
 * keys and cookies by NTS-KE (nts), starts the generator threads, and runs the schedule:
 * a fixed rate for --duration, or ntpperf-style steps whose rate grows by --mult. Around
 * each step it samples the servers' CPU time (--server-pid) and the machine's, then prints
 * the step's line. Every step is bounded in time, and so is the whole run.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <stddef.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "ke_client.h"
#include "load.h"
#include "ntp.h"

#define MAX_STEPS      200
#define LEAD_NS        20000000ull /* threads start a step together, this long after the call */
#define MAX_STEP_S     3600.0
#define SELF_TEST_RATE 1e7

/* The generator threads and what they share with the driver. */
struct runner {
	const struct load_cfg *cfg;
	struct gen *gens[LOAD_MAX_THREADS];
	pthread_t th[LOAD_MAX_THREADS];
	int n_started;
	pthread_barrier_t go, done;
	struct load_step step;
	struct load_counts counts[LOAD_MAX_THREADS];
	int stop;
};

struct thread_arg {
	struct runner *run;
	int id;
};

static void usage(void)
{
	static const char text[] =
	    "usage: tock-bench ntp|nts SERVER[:PORT] [options]\n"
	    "  --rate R [--duration S]        fixed rate (1000/s for 5 s)\n"
	    "  --start R --mult M --step-seconds S --steps N   stepped rate, ntpperf-like\n"
	    "  --stop-loss PCT                stop after a step losing more than PCT%\n"
	    "  --clients N                    simulated clients (256)\n"
	    "  --sockets N                    UDP sockets, i.e. source ports (16)\n"
	    "  --src-prefix P/LEN             source addresses from P (they must be local)\n"
	    "  --src-count N                  use only the first N of them\n"
	    "  --threads N                    generator threads (1)\n"
	    "  --ke HOST[:PORT]               NTS-KE server (SERVER's host, port 4460)\n"
	    "  --ca FILE | --insecure         trust anchors for NTS-KE / skip verification\n"
	    "  --name NAME                    TLS name to expect (the host)\n"
	    "  --ke-sessions N --aead ID      NTS-KE sessions for cookies (4), AEAD (15, 17)\n"
	    "  --placeholders N               cookie placeholders per NTS request (0)\n"
	    "  --drain S                      wait for late answers after each step (0.5)\n"
	    "  --tick-us N                    longest pause between batches (1000), shortened\n"
	    "                                 to keep bursts within 32 requests\n"
	    "  --ring N                       requests built ahead per thread (1024)\n"
	    "  --version N                    NTP version of plain requests (4)\n"
	    "  --server-pid PID[,PID...]      report the servers' CPU time per response\n"
	    "  --self-test                    into a local discard sink: the generator's ceiling\n"
	    "  --csv                          CSV instead of the table\n";

	fputs(text, stderr);
}

/* ---- option parsing ---------------------------------------------------------------- */

static int parse_server(struct load_cfg *cfg, const char *arg)
{
	struct addrinfo hints = {.ai_socktype = SOCK_DGRAM, .ai_flags = AI_NUMERICSERV}, *res;
	char host[256], port[8];
	uint16_t p = NTP_PORT;

	if (ke_client_split_hostport(arg, host, sizeof(host), &p) < 0)
		return -EINVAL;
	snprintf(port, sizeof(port), "%u", p);
	if (getaddrinfo(host, port, &hints, &res) != 0)
		return -ENOENT;
	memcpy(&cfg->server, res->ai_addr, res->ai_addrlen);
	cfg->server_len = res->ai_addrlen;
	freeaddrinfo(res);
	snprintf(cfg->server_str, sizeof(cfg->server_str), "%s", arg);
	if (!cfg->ke_host[0])
		snprintf(cfg->ke_host, sizeof(cfg->ke_host), "%s", host);
	return 0;
}

/* Adds n to the address's low 32 bits (IPv4: the address; IPv6: its last word). */
static void addr_add(struct sockaddr_storage *ss, uint32_t n)
{
	uint8_t *low = ss->ss_family == AF_INET
	                   ? (uint8_t *)&((struct sockaddr_in *)ss)->sin_addr
	                   : &((struct sockaddr_in6 *)ss)->sin6_addr.s6_addr[12];
	uint32_t v;

	memcpy(&v, low, 4);
	v = htonl(ntohl(v) + n);
	memcpy(low, &v, 4);
}

/* P/LEN → the first host address and how many there are (IPv4 skips network/broadcast). */
static int opt_prefix(struct load_cfg *cfg, const char *arg)
{
	char buf[64], *slash;
	int len, max, v4;
	void *dst;

	snprintf(buf, sizeof(buf), "%s", arg);
	slash = strchr(buf, '/');
	if (!slash)
		return -EINVAL;
	*slash = 0;
	len = atoi(slash + 1);
	v4 = !strchr(buf, ':');
	cfg->src_first.ss_family = v4 ? AF_INET : AF_INET6;
	dst = v4 ? (void *)&((struct sockaddr_in *)&cfg->src_first)->sin_addr
	         : (void *)&((struct sockaddr_in6 *)&cfg->src_first)->sin6_addr;
	max = v4 ? 32 : 128;
	if (inet_pton(cfg->src_first.ss_family, buf, dst) != 1 || len < 1 || len > max)
		return -EINVAL;
	if (max - len >= 31)
		cfg->n_src = 1 << 30;
	else
		cfg->n_src = (1 << (max - len)) - (v4 && len <= 30 ? 2 : 0);
	if (!v4 || len <= 30)
		addr_add(&cfg->src_first, 1);
	snprintf(cfg->src_str, sizeof(cfg->src_str), "%s", arg);
	return 0;
}

/* A whole-string number, or -EINVAL. */
static int parse_double(const char *v, double *out)
{
	char *end;

	*out = strtod(v, &end);
	return end == v || *end ? -EINVAL : 0;
}

static int opt_rate(struct load_cfg *cfg, const char *v)
{
	if (parse_double(v, &cfg->start_rate) < 0)
		return -EINVAL;
	cfg->steps = 1;
	cfg->mult = 1;
	cfg->rate_given = 1;
	return 0;
}

static int opt_start(struct load_cfg *cfg, const char *v)
{
	cfg->rate_given = 1;
	return parse_double(v, &cfg->start_rate);
}

static int opt_ke(struct load_cfg *cfg, const char *v)
{
	return ke_client_split_hostport(v, cfg->ke_host, sizeof(cfg->ke_host), &cfg->ke_port);
}

static int opt_pids(struct load_cfg *cfg, const char *v)
{
	cfg->n_pids = cpu_parse_pids(v, cfg->pids, CPU_MAX_PIDS);
	return cfg->n_pids < 0 ? -EINVAL : 0;
}

static int opt_tick(struct load_cfg *cfg, const char *v)
{
	double us;

	if (parse_double(v, &us) < 0 || us < 1 || us > 100000)
		return -EINVAL;
	cfg->tick_ns = (uint64_t)(us * 1000);
	return 0;
}

/* The options, declaratively: a number, a flag or a string stored into struct load_cfg,
 * or a handler for anything else. Bounds are checked afterwards, in check_cfg(). */
enum opt_kind { OPT_INT, OPT_DOUBLE, OPT_FLAG, OPT_STR, OPT_FN };

struct load_opt {
	const char *name;
	enum opt_kind kind;
	size_t offset;
	int (*fn)(struct load_cfg *cfg, const char *v);
};

#define O_INT(n, f)                                                                                \
	{                                                                                          \
		n, OPT_INT, offsetof(struct load_cfg, f), NULL                                     \
	}
#define O_DOUBLE(n, f)                                                                             \
	{                                                                                          \
		n, OPT_DOUBLE, offsetof(struct load_cfg, f), NULL                                  \
	}
#define O_FLAG(n, f)                                                                               \
	{                                                                                          \
		n, OPT_FLAG, offsetof(struct load_cfg, f), NULL                                    \
	}
#define O_STR(n, f)                                                                                \
	{                                                                                          \
		n, OPT_STR, offsetof(struct load_cfg, f), NULL                                     \
	}
#define O_FN(n, fn)                                                                                \
	{                                                                                          \
		n, OPT_FN, 0, fn                                                                   \
	}

static const struct load_opt load_opts[] = {
    O_FN("rate", opt_rate),
    O_DOUBLE("duration", step_s),
    O_FN("start", opt_start),
    O_DOUBLE("mult", mult),
    O_DOUBLE("step-seconds", step_s),
    O_INT("steps", steps),
    O_DOUBLE("stop-loss", stop_loss),
    O_INT("clients", clients),
    O_INT("sockets", sockets),
    O_FN("src-prefix", opt_prefix),
    O_INT("src-count", src_count),
    O_INT("threads", threads),
    O_FN("ke", opt_ke),
    O_STR("ca", ca),
    O_STR("name", name),
    O_FLAG("insecure", insecure),
    O_INT("ke-sessions", ke_sessions),
    O_INT("aead", aead),
    O_INT("placeholders", placeholders),
    O_DOUBLE("drain", drain_s),
    O_FN("tick-us", opt_tick),
    O_INT("ring", ring),
    O_INT("version", version),
    O_FN("server-pid", opt_pids),
    O_FLAG("self-test", self_test),
    O_FLAG("csv", csv),
};
#define N_OPTS ((int)(sizeof(load_opts) / sizeof(load_opts[0])))

static int apply_opt(struct load_cfg *cfg, const struct load_opt *o, const char *v)
{
	void *field = (char *)cfg + o->offset;
	char *end = NULL;

	switch (o->kind) {
	case OPT_INT:
		*(int *)field = (int)strtol(v, &end, 10);
		break;
	case OPT_DOUBLE:
		return parse_double(v, (double *)field);
	case OPT_FLAG:
		*(int *)field = 1;
		return 0;
	case OPT_STR:
		*(const char **)field = v;
		return 0;
	case OPT_FN:
		return o->fn(cfg, v);
	}
	return end == v || *end ? -EINVAL : 0;
}

static int check_cfg(struct load_cfg *cfg)
{
	if (cfg->src_count > 0 && cfg->src_count < cfg->n_src)
		cfg->n_src = cfg->src_count;
	if (cfg->n_src > cfg->clients)
		cfg->n_src = cfg->clients;
	if (cfg->start_rate < 0 || cfg->mult <= 0 || cfg->step_s <= 0 || cfg->step_s > MAX_STEP_S ||
	    cfg->steps < 1 || cfg->steps > MAX_STEPS || cfg->drain_s < 0 || cfg->drain_s > 60 ||
	    cfg->clients < 1 || cfg->clients > LOAD_MAX_CLIENTS || cfg->sockets < 1 ||
	    cfg->sockets > LOAD_MAX_SOCKETS || cfg->threads < 1 ||
	    cfg->threads > LOAD_MAX_THREADS || cfg->threads > cfg->clients ||
	    cfg->ke_sessions < 1 || cfg->ke_sessions > LOAD_MAX_SESS || cfg->placeholders < 0 ||
	    cfg->placeholders > 7 || cfg->ring < LOAD_BATCH || cfg->ring > 1 << 16 ||
	    cfg->tick_ns < 1000 || cfg->tick_ns > 100000000 || cfg->version < 1 || cfg->version > 4)
		return -EINVAL;
	if (cfg->n_src && cfg->src_first.ss_family != cfg->server.ss_family && !cfg->self_test) {
		fprintf(stderr, "tock-bench: --src-prefix and the server differ in family\n");
		return -EINVAL;
	}
	return 0;
}

static void set_defaults(struct load_cfg *cfg, int nts)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->nts = nts;
	cfg->start_rate = 1000;
	cfg->mult = 1.5;
	cfg->step_s = 5;
	cfg->steps = 1;
	cfg->drain_s = 0.5;
	cfg->clients = 256;
	cfg->sockets = 16;
	cfg->threads = 1;
	cfg->version = 4;
	cfg->ring = 1024;
	cfg->tick_ns = 1000000;
	cfg->ke_sessions = 4;
}

static int parse_args(struct load_cfg *cfg, int argc, char **argv)
{
	static struct option lo[N_OPTS + 1];
	int o;

	set_defaults(cfg, !strcmp(argv[0], "nts"));
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help"))
			return -EINVAL; /* the caller prints the usage */
	for (int i = 0; i < N_OPTS; i++)
		lo[i] = (struct option){
		    load_opts[i].name,
		    load_opts[i].kind == OPT_FLAG ? no_argument : required_argument, NULL, i};
	optind = 1;
	while ((o = getopt_long(argc, argv, "", lo, NULL)) != -1)
		if (o < 0 || o >= N_OPTS || apply_opt(cfg, &load_opts[o], optarg) < 0)
			return -EINVAL;
	if (cfg->self_test && !cfg->rate_given)
		cfg->start_rate = SELF_TEST_RATE;
	if (cfg->self_test && optind == argc)
		snprintf(cfg->server_str, sizeof(cfg->server_str), "self-test sink");
	else if (optind != argc - 1 || parse_server(cfg, argv[optind]) < 0)
		return -EINVAL;
	return check_cfg(cfg);
}

/* ---- NTS-KE: keys and the first cookies ---------------------------------------------- */

static void keep_session(struct load_session *s, const struct ke_client_result *kr)
{
	s->aead = kr->aead;
	s->key_len = kr->key_len;
	memcpy(s->c2s, kr->c2s, sizeof(s->c2s));
	memcpy(s->s2c, kr->s2c, sizeof(s->s2c));
	s->n_cookies = kr->rec.n_cookies;
	for (int i = 0; i < kr->rec.n_cookies; i++) {
		s->cookie_len[i] =
		    kr->rec.cookie_len[i] > COOKIE_MAX_LEN ? COOKIE_MAX_LEN : kr->rec.cookie_len[i];
		memcpy(s->cookies[i], kr->rec.cookies[i], s->cookie_len[i]);
	}
}

static int get_sessions(struct load_cfg *cfg, struct load_session *sess)
{
	uint16_t aead = (uint16_t)cfg->aead;
	struct ke_client_opts o = {.host = cfg->ke_host,
	                           .port = cfg->ke_port,
	                           .ca_file = cfg->ca,
	                           .name = cfg->name,
	                           .insecure = cfg->insecure,
	                           .aeads = cfg->aead ? &aead : NULL,
	                           .n_aeads = cfg->aead ? 1 : 0};
	struct ke_client_result *kr = malloc(sizeof(*kr));

	if (!kr)
		return -ENOMEM;
	cfg->n_sess = 0;
	for (int i = 0; i < cfg->ke_sessions; i++) {
		int err = ke_client_run(&o, kr);

		if (err < 0) {
			fprintf(stderr, "tock-bench: NTS-KE with %s: %s\n", cfg->ke_host,
			        kr->errmsg);
			continue;
		}
		keep_session(&sess[cfg->n_sess++], kr);
	}
	free(kr);
	return cfg->n_sess ? 0 : -EPROTO;
}

/* ---- the self-test sink ---------------------------------------------------------------- */

struct sink {
	int fd;
	atomic_int stop;
	pthread_t th;
};

static void *sink_main(void *arg)
{
	struct sink *s = arg;
	static uint8_t buf[LOAD_BATCH][LOAD_PKT_MAX]; /* one sink thread; contents unused */
	struct mmsghdr m[LOAD_BATCH];
	struct iovec iov[LOAD_BATCH];
	struct pollfd p = {.fd = s->fd, .events = POLLIN};

	while (!atomic_load(&s->stop)) {
		for (int i = 0; i < LOAD_BATCH; i++) {
			iov[i] = (struct iovec){buf[i], LOAD_PKT_MAX};
			m[i].msg_hdr = (struct msghdr){.msg_iov = &iov[i], .msg_iovlen = 1};
		}
		if (recvmmsg(s->fd, m, LOAD_BATCH, MSG_DONTWAIT, NULL) <= 0)
			poll(&p, 1, 100);
	}
	return NULL;
}

/* A loopback socket that reads and drops everything; the run's server becomes it. */
static int sink_start(struct sink *s, struct load_cfg *cfg)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);

	s->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(s->fd, (struct sockaddr *)&a, &len) < 0)
		return -errno;
	memcpy(&cfg->server, &a, sizeof(a));
	cfg->server_len = sizeof(a);
	cfg->n_src = 0;
	atomic_init(&s->stop, 0);
	return -pthread_create(&s->th, NULL, sink_main, s);
}

static void sink_stop(struct sink *s)
{
	atomic_store(&s->stop, 1);
	pthread_join(s->th, NULL);
	close(s->fd);
}

/* ---- threads and steps ----------------------------------------------------------------- */

static void *thread_main(void *p)
{
	struct thread_arg *a = p;
	struct runner *run = a->run;

	for (;;) {
		struct load_step s;

		pthread_barrier_wait(&run->go);
		if (run->stop)
			break;
		s = run->step;
		s.rate /= run->cfg->threads;
		gen_run_step(run->gens[a->id], &s, &run->counts[a->id]);
		pthread_barrier_wait(&run->done);
	}
	return NULL;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* start * mult^i, without libm (the Makefile links none). */
static double step_rate(const struct load_cfg *cfg, int i)
{
	double r = cfg->start_rate;

	while (i-- > 0)
		r *= cfg->mult;
	return r;
}

/* Runs step i on every thread and collects its result. */
static void run_step(struct runner *run, int i, struct load_result *r)
{
	const struct load_cfg *cfg = run->cfg;
	uint64_t srv0 = cpu_pids_ns(cfg->pids, cfg->n_pids), busy0 = 0, tot0 = 0, busy1, tot1;

	cpu_machine(&busy0, &tot0);
	run->step.index = i;
	run->step.rate = step_rate(cfg, i);
	run->step.start_ns = mono_ns() + LEAD_NS;
	run->step.end_ns = run->step.start_ns + (uint64_t)(cfg->step_s * 1e9);
	run->step.drain_ns = run->step.end_ns + (uint64_t)(cfg->drain_s * 1e9);
	pthread_barrier_wait(&run->go);
	pthread_barrier_wait(&run->done);
	memset(r, 0, sizeof(*r));
	r->step = i;
	r->offered = run->step.rate;
	r->seconds = cfg->step_s;
	for (int t = 0; t < cfg->threads; t++)
		load_counts_merge(&r->c, &run->counts[t]);
	r->server_ns = cpu_pids_ns(cfg->pids, cfg->n_pids) - srv0;
	if (cpu_machine(&busy1, &tot1) == 0 && tot1 > tot0)
		r->machine_busy = (double)(busy1 - busy0) / (double)(tot1 - tot0);
}

static int start_threads(struct runner *run, struct thread_arg *args)
{
	const struct load_cfg *cfg = run->cfg;

	for (int t = 0; t < cfg->threads; t++)
		if (gen_new(cfg, t, &run->gens[t]) < 0)
			return -EINVAL;
	pthread_barrier_init(&run->go, NULL, (unsigned)cfg->threads + 1);
	pthread_barrier_init(&run->done, NULL, (unsigned)cfg->threads + 1);
	for (int t = 0; t < cfg->threads; t++) {
		args[t] = (struct thread_arg){run, t};
		if (pthread_create(&run->th[t], NULL, thread_main, &args[t]) != 0)
			return -EAGAIN;
		run->n_started++;
	}
	return 0;
}

/* Joins the threads. If some failed to start, the others wait on a barrier that can never
 * fill: they are left to the process's exit, which comes next. */
static void stop_threads(struct runner *run)
{
	if (run->n_started && run->n_started == run->cfg->threads) {
		run->stop = 1;
		pthread_barrier_wait(&run->go);
		for (int t = 0; t < run->n_started; t++)
			pthread_join(run->th[t], NULL);
		pthread_barrier_destroy(&run->go);
		pthread_barrier_destroy(&run->done);
	}
	for (int t = 0; t < run->cfg->threads; t++)
		gen_free(run->gens[t]);
}

/* Runs the schedule; stops early after a step losing more than --stop-loss percent. */
static int run_steps(struct runner *run, struct load_result *res)
{
	const struct load_cfg *cfg = run->cfg;
	int n = 0;

	report_header(cfg);
	while (n < cfg->steps) {
		struct load_result *r = &res[n++];

		run_step(run, n - 1, r);
		report_step(cfg, r);
		if (cfg->stop_loss > 0 && r->c.sent > r->c.answered &&
		    100.0 * (double)(r->c.sent - r->c.answered) / (double)r->c.sent >
		        cfg->stop_loss)
			break;
	}
	report_summary(cfg, res, n);
	return n;
}

/* Exit code: 1 when no step got a single valid answer (except into the self-test sink). */
static int answered_rc(const struct load_cfg *cfg, const struct load_result *res, int n)
{
	for (int i = 0; i < n; i++)
		if (res[i].c.answered)
			return 0;
	return cfg->self_test ? 0 : 1;
}

static int prepare_sessions(struct load_cfg *cfg, struct load_session *sess)
{
	cfg->sess = sess;
	if (!cfg->nts)
		return 0;
	if (cfg->self_test) {
		cfg->n_sess = cfg->ke_sessions;
		return ntsgen_fake_sessions(sess, cfg->n_sess);
	}
	return get_sessions(cfg, sess);
}

int bench_load(int argc, char **argv)
{
	static struct runner run;
	static struct load_cfg cfg;
	static struct load_result res[MAX_STEPS];
	static struct load_session sess[LOAD_MAX_SESS];
	struct thread_arg args[LOAD_MAX_THREADS];
	struct sink sink = {.fd = -1};
	int rc;

	if (parse_args(&cfg, argc, argv) < 0) {
		usage();
		return 2;
	}
	if (prepare_sessions(&cfg, sess) < 0)
		return 1;
	if (cfg.self_test && sink_start(&sink, &cfg) < 0) {
		perror("tock-bench: self-test sink");
		return 1;
	}
	run.cfg = &cfg;
	rc = start_threads(&run, args) == 0 ? answered_rc(&cfg, res, run_steps(&run, res)) : 1;
	stop_threads(&run);
	if (cfg.self_test)
		sink_stop(&sink);
	return rc;
}
