/* SPDX-License-Identifier: MIT */
/*
 * tockctl's view of the shared counter files (stats.h): RUNDIR/tockd.stats and
 * RUNDIR/tock-ke.stats, mapped read-only and copied once, so one command prints one
 * consistent-enough picture while the daemons keep counting.
 */
#ifndef TOCKCTL_COUNTERS_H
#define TOCKCTL_COUNTERS_H

#include <sys/types.h>

#include "metrics.h"
#include "stats.h"

/* What a counter file said about its writer. */
enum ctl_file_state {
	CTL_FILE_MISSING = 0, /* no file: the daemon is not running (or never ran) */
	CTL_FILE_LIVE,        /* the writer's pid is alive */
	CTL_FILE_STALE,       /* left behind by a writer that is gone */
};

struct ctl_counters {
	struct stats_file_hdr ntp_hdr;
	struct tock_worker_stats *workers; /* ntp_hdr.n_blocks copies */
	int ntp_state;                     /* enum ctl_file_state */
	struct stats_file_hdr ke_hdr;
	struct tock_ke_stats ke;
	int ke_state;
	struct metrics_extra xdp[64]; /* XDP counters, when they can be read */
	struct metrics_input in;      /* points into the fields above */
};

/* Reads both files under `rundir` and fills c->in. When tockd's file is missing, stale or
 * unreadable, prints a clear message and returns the exit code (1); tock-ke's absence only
 * warns. 0 on success. Free with ctl_counters_free(). */
int ctl_counters_load(struct ctl_counters *c, const char *rundir);

void ctl_counters_free(struct ctl_counters *c);

/* A counter file mapped read-only. Blocks follow the header; each holds hdr->n_counters
 * 64-bit counters padded to a 64-byte multiple (the writer's struct layout), so a file from a
 * daemon with more or fewer counters than this tockctl still reads correctly. */
struct ctl_map {
	const unsigned char *base;
	size_t size;
	const struct stats_file_hdr *hdr;
	size_t stride;
};

/* Maps `path` and checks magic, version and size. 0, -ENOENT, -EACCES, -EPROTO (not a tock
 * counter file, or truncated), or another -errno. */
int ctl_map_open(struct ctl_map *m, const char *path);

/* The counters of block `i` (< hdr->n_blocks). */
const uint64_t *ctl_map_block(const struct ctl_map *m, unsigned i);

void ctl_map_close(struct ctl_map *m);

/* 1 if the process `pid` exists (EPERM counts: it is someone else's), else 0. */
int ctl_pid_alive(pid_t pid);

/* Fills c->xdp / c->in.xdp* from the XDP program's counters if tockd attached it and this
 * process may read them; 0, or -errno (then the fields stay empty). Defined in xdp.c. */
int ctl_xdp_counters(struct ctl_counters *c);

#endif
