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
#include "hwts_phc.h"
#include "keymap.h"
#include "serve.h"
#include "stats.h"
#include "transport.h"

#define TOCKD_MAX_WORKERS 256
#define TOCKD_MAX_KEYMAPS 16 /* key maps replaced by tock-ke while we run (kept mapped) */
#define TOCKD_RCVBUF      (8 << 20)

struct tockd;

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
	struct filter filter;
	const struct keymap *keys_seen;  /* the map this worker last synced from */
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
};

/* sockets.c: one SO_REUSEPORT UDP socket per listen address for worker w. 0 or -errno. */
int sockets_open(struct tockd *d, struct tockd_worker *w);
void sockets_close(struct tockd_worker *w);

/* worker.c */
int workers_create(struct tockd *d);   /* contexts, sockets, transports (no threads yet) */
int workers_start(struct tockd *d);    /* threads, pinned */
void workers_stop(struct tockd *d);    /* join and free */

/* keys.c: opens the key map when it appears (or is replaced); call once a second. */
void keys_poll(struct tockd *d);
void keys_close(struct tockd *d);

/* stats_file.c: RUNDIR/tockd.stats with one block per worker. 0 or -errno. */
int stats_file_create(struct tockd *d, int n_workers);
struct tock_worker_stats *stats_file_block(struct tockd *d, int i);
void stats_file_close(struct tockd *d);

/* privdrop.c: switch to conf.user without capabilities. 0 or -errno. */
int privdrop(struct tockd *d);

/* rundir.c: the run directory, 0750 and owned by conf.user when it exists. 0 or -errno. */
int rundir_prepare(const struct tock_conf *conf);

/* Reads the user's ids; 0, or -ENOENT if there is no such user. */
int tockd_user_ids(const char *user, uid_t *uid, gid_t *gid);

#endif
