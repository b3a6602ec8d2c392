/* SPDX-License-Identifier: MIT */
/*
 * tockd, the NTP data plane (DESIGN §1): pinned worker threads, each with its own
 * SO_REUSEPORT sockets and transport (io_uring, or recvmmsg as the fallback), all calling
 * tock_serve(); a main thread that publishes the clock status once a second, watches for the
 * key map, serves the control socket and handles signals.
 */
#ifndef TOCKD_H
#define TOCKD_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>

#include "clock.h"
#include "clock_source.h"
#include "conf.h"
#include "filter.h"
#include "http.h"
#include "hwts_phc.h"
#include "keymap.h"
#include "keyring.h"
#include "metrics.h"
#include "serve.h"
#include "stats.h"
#include "transport.h"

#define TOCKD_MAX_WORKERS 256
#define TOCKD_MAX_KEYMAPS 16 /* key maps replaced by tock-ke while we run (kept mapped) */
#define TOCKD_RCVBUF      (8 << 20)
#define TOCKD_MAX_XSKS    64 /* AF_XDP sockets (interface x rx queue) */

struct tockd;
struct xsk_socket;

struct tockd_worker {
	int id;
	int cpu;
	struct tockd *d;
	pthread_t thread;
	int started;
	int fds[TRANSPORT_MAX_SOCKS];
	int n_fds;
	struct transport tr;
	struct tock_worker_ctx *ctx;
	struct tock_worker_stats *stats; /* this worker's block in the shared stats file */
	const struct keymap *keys_seen;  /* the map this worker last synced from */
	/* AF_XDP workers (xsk_worker.c) only: their socket; fds/tr unused */
	struct xsk_socket *xsk;
	char ifname[16];
	uint8_t *resp; /* TRANSPORT_PKT_MAX bytes: tock_serve() output before the frame copy */
};

struct tockd {
	/* command line */
	const char *conf_path;
	int foreground;
	int check_only;
	int no_io_uring;

	struct tock_conf conf;
	int64_t start_time;
	atomic_int stop;

	/* workers and their transport, chosen once at start-up */
	struct tockd_worker *workers;
	int n_workers;
	const struct transport_ops *tops;
	struct hwts_set hw;
	/* AF_XDP workers, one per (interface, rx queue) (xsk_worker.c); their counter blocks
	 * follow the socket workers' in the stats file */
	struct tockd_worker *xsks;
	int n_xsks;
	int n_xsk_blocks;  /* blocks reserved for them at start-up */
	int n_stat_blocks; /* n_workers + n_xsk_blocks, then + n_xsks once they exist */

	/* what the workers read */
	struct tock_clock_cell clock;
	_Atomic(const struct keymap *) keys; /* NULL until tock-ke has created the map */
	struct keymap keymaps[TOCKD_MAX_KEYMAPS];
	int n_keymaps;
	ino_t keys_ino;
	int keys_logged;

	/* shared stats file (RUNDIR/tockd.stats) */
	void *stats_map;
	size_t stats_len;
	char stats_path[CONF_PATH_MAX + 16];

	/* clock source and control socket */
	struct clock_source clk;
	struct candm_tracking tracking;
	int ctl_fd;
	char ctl_path[CONF_PATH_MAX];
	uint64_t cmd_hits;
	uint64_t cmd_drops;

	/* XDP program (xdp.c): NULL when off or unavailable */
	struct xdp_loader *xdp;
	/* userspace filter, shared by workers; NULL if XDP filters. Atomic: the main thread
	 * turns it on at run time when an interface cannot be (re)attached (xdp.c). */
	struct tock_filter *_Atomic filter;
	int xdp_filters; /* every configured interface is covered: no userspace filter */
	char bpf_dir[CONF_PATH_MAX + 8]; /* where its maps are pinned for tockctl ("" if not) */
	struct linkwatch *linkwatch;     /* follows the `xdp` interfaces; NULL if not watching */
	int xdp_failed[CONF_MAX_IFACES]; /* per conf.xdp[i]: ifindex whose attach failed */

	/* fleet keys (fleet.c): derived here, published to the workers like the key map */
	struct keyring *fleet;
	struct keymap_shm fleet_shm;
	struct keymap fleet_km;

	/* Prometheus listener (http.c), when `metrics ADDR:PORT` is set */
	struct http_server http;
};

/* sockets.c: one SO_REUSEPORT UDP socket per listen address for worker w. 0 or -errno. */
int sockets_open(struct tockd *d, struct tockd_worker *w);
void sockets_close(struct tockd_worker *w);

/* worker.c */
int workers_create(struct tockd *d); /* contexts, sockets, transports (no threads yet) */
int workers_start(struct tockd *d);  /* threads, pinned */
/* The userspace filter for every worker, unless XDP already filters (d->xdp_filters). */
int workers_filter_setup(struct tockd *d);
void workers_stop(struct tockd *d); /* join and free */
/* Shared with the AF_XDP workers, so both paths filter, serve and count alike. */
void worker_sync_keys(struct tockd_worker *w);
void worker_serve_one(struct tockd_worker *w, struct tock_filter *f, struct transport_pkt *p,
                      uint64_t now_ns);
void worker_pin(struct tockd_worker *w);
/* Starts n threads running main_fn(&ws[i]), marking each started; what names them in errors. */
int worker_threads_start(struct tockd_worker *ws, int n, void *(*main_fn)(void *),
                         const char *what);
uint64_t worker_mono_ns(void);
#define WORKER_POLL_MS 250 /* how soon a worker notices it should stop */

/* xsk_worker.c: `xdp afxdp on`. Never fatal: whatever fails is logged once and those
 * requests keep going to the UDP sockets. */
int xsk_workers_plan(const struct tockd *d); /* counter blocks to reserve (before the stats file) */
void xsk_workers_create(struct tockd *d);    /* sockets, UMEMs, XSKMAP (before the drop) */
int xsk_workers_start(struct tockd *d);      /* threads */
void xsk_workers_stop(struct tockd *d);      /* sets d->stop, joins, closes */

/* keys.c: opens the key map when it appears (or is replaced); call once a second. */
void keys_poll(struct tockd *d);
void keys_close(struct tockd *d);

/* stats_file.c: RUNDIR/tockd.stats with one block per worker. 0 or -errno. */
int stats_file_create(struct tockd *d, int n_workers);
struct tock_worker_stats *stats_file_block(struct tockd *d, int i);
/* After the AF_XDP sockets are made, before any worker runs: the blocks after the socket
 * workers' that AF_XDP workers use (fewer than planned when sockets could not be made). */
void stats_file_set_afxdp(struct tockd *d, int n_afxdp);
void stats_file_close(struct tockd *d);

/* xdp.c: load and attach the XDP program, pin its maps (before the privilege drop). Never
 * fatal: without XDP the workers' userspace filter runs. */
void tockd_xdp_start(struct tockd *d);
/* Mirrors the clock status into the fast path's clock map (valid unless unsynchronised). */
void tockd_xdp_clock(struct tockd *d, const struct tock_clock_status *st);
/* SIGHUP: re-applies rate limit, allow/deny and fast path from a freshly loaded config. */
void tockd_xdp_reload(struct tockd *d, const struct tock_conf *fresh);
/* Detaches, removes the pins, unloads. */
void tockd_xdp_stop(struct tockd *d);
/* The interface watcher's fd for the main loop's poll (-1 when not watching). */
int tockd_xdp_fd(const struct tockd *d);
/* POLLIN on that fd: attach to `xdp` interfaces that appeared, forget deleted ones. Does a
 * bounded amount of work per call. */
void tockd_xdp_links(struct tockd *d);

/* fleet.c: `ntskeyseed FILE`: derive the keys here and hand them to the workers. 0/-errno. */
int fleet_start(struct tockd *d);
/* Once a second: re-derive when the epoch moved and publish a new snapshot. */
void fleet_tick(struct tockd *d);
void fleet_stop(struct tockd *d);

/* counters.c: everything the operator formats are made from (workers, tock-ke, XDP). */
struct tockd_counters {
	struct metrics_input in;
	struct tock_ke_stats ke;
	struct metrics_extra xdp[64];
};
void tockd_counters_read(const struct tockd *d, struct tockd_counters *c);

/* Renders the Prometheus text (malloc'd, *len bytes); NULL on allocation failure. The
 * callback the HTTP listener calls with d as arg. */
char *tockd_metrics_text(void *d, size_t *len);

/* privdrop.c: switch to conf.user without capabilities. 0 or -errno. */
int privdrop(struct tockd *d);

/* rundir.c: the run directory, 0750 and owned by conf.user when it exists. 0 or -errno. */
int rundir_prepare(const struct tock_conf *conf);

/* Reads the user's ids; 0, or -ENOENT if there is no such user. */
int tockd_user_ids(const char *user, uid_t *uid, gid_t *gid);

#endif
