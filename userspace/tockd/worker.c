// SPDX-License-Identifier: MIT
/*
 * Worker threads: one per configured CPU, pinned, each owning its sockets, its transport and
 * its tock_serve() context. The loop is the same for every transport:
 *   recv a batch → check the key map once → filter + tock_serve each → send the batch.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "ntp.h"
#include "tockd.h"

#define WORKER_RING_ENTRIES 256 /* io_uring SQ size and provided buffers per worker */

/* Once per batch: follow a replaced key map, else re-key only when its sequence moved. */
void worker_sync_keys(struct tockd_worker *w)
{
	const struct keymap *km = atomic_load_explicit(&w->d->keys, memory_order_acquire);
	struct keymap_snapshot snap;

	if (!km)
		return;
	if (km != w->keys_seen) {
		if (keymap_read(km, &snap) == 0 && tock_worker_set_keys(w->ctx, &snap) == 0)
			w->keys_seen = km;
		return;
	}
	tock_worker_sync_keys(w->ctx, km);
}

/* The userspace filter f (NULL when XDP filters), then the handler. One outcome counter
 * per request: the filter counts what it stops, tock_serve() counts the rest. */
void worker_serve_one(struct tockd_worker *w, struct tock_filter *f, struct transport_pkt *p,
                      uint64_t now_ns)
{
	enum filter_reason why = FILTER_R_NONE;
	enum filter_verdict v =
	    f ? filter_check(f, &p->meta.peer, p->req, p->req_len, now_ns, &why) : FILTER_PASS;

	if (f)
		filter_count(w->stats, v, why);
	if (v == FILTER_PASS || v == FILTER_LEAK)
		p->resp_len =
		    tock_serve(w->ctx, p->req, p->req_len, &p->meta, p->resp, TRANSPORT_PKT_MAX);
	else if (v == FILTER_KOD)
		p->resp_len = filter_kod(p->req, p->req_len, p->resp, TRANSPORT_PKT_MAX);
	else
		p->resp_len = 0;
}

uint64_t worker_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void worker_pin(struct tockd_worker *w)
{
	cpu_set_t set;
	int err;

	CPU_ZERO(&set);
	CPU_SET(w->cpu, &set);
	err = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	if (err)
		log_warn("worker %d: cannot pin to CPU %d: %s", w->id, w->cpu, strerror(err));
}

static void *worker_main(void *arg)
{
	struct tockd_worker *w = arg;
	struct transport_pkt pkts[TRANSPORT_BATCH];
	const struct transport_ops *ops = w->tr.ops;

	worker_pin(w);
	filter_seed_thread(((uint64_t)w->id << 32) ^ worker_mono_ns());
	while (!atomic_load_explicit(&w->d->stop, memory_order_relaxed)) {
		int n = ops->recv(&w->tr, pkts, TRANSPORT_BATCH, WORKER_POLL_MS);

		if (n < 0) {
			LOG_RATELIMITED(10, LOG_ERR, "worker %d: receive failed: %s", w->id,
			                strerror(-n));
			usleep(10000); /* never spin on a persistent error */
			continue;
		}
		if (n == 0)
			continue;
		worker_sync_keys(w);
		/* once per batch: the main thread may switch the filter on (an interface lost
		 * its XDP program), and the limiter's clock needs only batch precision */
		struct tock_filter *f = atomic_load_explicit(&w->d->filter, memory_order_acquire);
		uint64_t now = f ? worker_mono_ns() : 0;

		for (int i = 0; i < n; i++)
			worker_serve_one(w, f, &pkts[i], now);
		ops->send(&w->tr, pkts, n);
	}
	return NULL;
}

/* The CPUs this process may run on, in order; worker i gets the (i mod n)-th. */
static int pick_cpu(int i)
{
	cpu_set_t set;
	int n, k = 0;

	if (sched_getaffinity(0, sizeof(set), &set) < 0 || !(n = CPU_COUNT(&set)))
		return i;
	i %= n;
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &set) && k++ == i)
			return cpu;
	return 0;
}

static int worker_transport(struct tockd *d, struct tockd_worker *w)
{
	struct transport_cfg cfg = {.fds = w->fds,
	                            .n_fds = w->n_fds,
	                            .stats = w->stats,
	                            .hw = d->hw.n ? &d->hw : NULL,
	                            .ring_entries = WORKER_RING_ENTRIES};
	int err = transport_open(&w->tr, d->tops, &cfg);

	/* the rung is chosen by the first worker; later ones must get the same */
	if (err && w->id == 0 && d->tops == &uring_transport_ops) {
		log_warn("io_uring unavailable (%s): using the recvmmsg/sendmmsg fallback",
		         strerror(-err));
		d->tops = &mmsg_transport_ops;
		err = transport_open(&w->tr, d->tops, &cfg);
	}
	return err;
}

static int worker_create(struct tockd *d, struct tockd_worker *w)
{
	struct tock_serve_opts opts = {0};
	int err;

	w->stats = stats_file_block(d, w->id);
	w->ctx = tock_worker_new(&opts, w->stats, &d->clock);
	if (!w->ctx)
		return -ENOMEM;
	err = sockets_open(d, w);
	if (!err)
		err = worker_transport(d, w);
	return err;
}

static int worker_count(const struct tock_conf *conf)
{
	long n = conf->workers;

	if (n <= 0) {
		cpu_set_t set;

		n = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set)
		                                                 : sysconf(_SC_NPROCESSORS_ONLN);
	}
	return n < 1 ? 1 : n > TOCKD_MAX_WORKERS ? TOCKD_MAX_WORKERS : (int)n;
}

int workers_create(struct tockd *d)
{
	int err;

	d->n_workers = worker_count(&d->conf);
	d->workers = calloc((size_t)d->n_workers, sizeof(*d->workers));
	if (!d->workers)
		return -ENOMEM;
	/* the AF_XDP workers' blocks follow the socket workers' */
	d->n_xsk_blocks = xsk_workers_plan(d);
	d->n_stat_blocks = d->n_workers + d->n_xsk_blocks;
	err = stats_file_create(d, d->n_stat_blocks);
	if (err) {
		log_err("stats file in %s: %s", d->conf.rundir, strerror(-err));
		return err;
	}
	d->tops =
	    (d->conf.io_uring && !d->no_io_uring) ? &uring_transport_ops : &mmsg_transport_ops;
	if (d->tops == &mmsg_transport_ops)
		log_info("io_uring switched off by %s",
		         d->no_io_uring ? "--no-io-uring" : "the config");
	for (int i = 0; i < d->n_workers; i++) {
		struct tockd_worker *w = &d->workers[i];

		w->id = i;
		w->d = d;
		w->cpu = pick_cpu(i);
		err = worker_create(d, w);
		if (err) {
			log_err("worker %d: %s", i, strerror(-err));
			return err;
		}
	}
	log_notice("%d worker%s, transport %s", d->n_workers, d->n_workers == 1 ? "" : "s",
	           d->tops->name);
	return 0;
}

/* The filter is chosen after the XDP attach (DESIGN §10 order) and before threads exist:
 * none when XDP already filters every interface, else one table shared by all workers. */
int workers_filter_setup(struct tockd *d)
{
	if (d->xdp_filters) {
		log_info("filter: in XDP (the userspace filter is off)");
		return 0;
	}
	d->filter = filter_new(&d->conf, (unsigned)d->n_workers);
	if (!d->filter) {
		log_err("filter: cannot build the userspace filter: %s", strerror(errno));
		return -errno;
	}
	log_info("filter: in userspace, before the handler%s",
	         d->conf.ratelimit.enabled ? " (with the rate limiter)" : "");
	return 0;
}

int worker_threads_start(struct tockd_worker *ws, int n, void *(*main_fn)(void *), const char *what)
{
	for (int i = 0; i < n; i++) {
		int err = pthread_create(&ws[i].thread, NULL, main_fn, &ws[i]);

		if (err) {
			log_err("%s %d: cannot start: %s", what, i, strerror(err));
			return -err;
		}
		ws[i].started = 1;
	}
	return 0;
}

int workers_start(struct tockd *d)
{
	return worker_threads_start(d->workers, d->n_workers, worker_main, "worker");
}

void workers_stop(struct tockd *d)
{
	atomic_store(&d->stop, 1);
	for (int i = 0; i < d->n_workers; i++) {
		struct tockd_worker *w = &d->workers[i];

		if (w->started)
			pthread_join(w->thread, NULL);
		transport_close(&w->tr);
		sockets_close(w);
		if (w->ctx)
			tock_worker_free(w->ctx);
	}
	free(d->workers);
	d->workers = NULL;
	d->n_workers = 0;
	filter_free(d->filter);
	d->filter = NULL;
}
