// SPDX-License-Identifier: MIT
/*
 * The counters tockd reports (control socket, HTTP listener): its workers' blocks, tock-ke's
 * shared file when tock-ke runs, and the XDP program's per-CPU slots, merged the way tockctl
 * merges them (metrics_xdp_fill), so chronyc, tockctl and Prometheus all show one number.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "metrics_xdp.h"
#include "tockd.h"
#include "xdp_loader.h"

/* A file whose writer is gone is stale (tockctl says so too): its counters are not shown. */
static int writer_alive(uint32_t pid)
{
	return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

/* Copies tock-ke's header and counters for a moment, if tock-ke is running. */
static int read_ke_stats(const struct tockd *d, struct stats_file_hdr *hdr,
                         struct tock_ke_stats *out)
{
	char path[CONF_PATH_MAX + 16];
	size_t len = sizeof(struct stats_file_hdr) + sizeof(struct tock_ke_stats);
	const struct stats_file_hdr *h;
	struct stat st;
	int fd, have = 0;

	snprintf(path, sizeof(path), "%s/tock-ke.stats", d->conf.rundir);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return 0;
	if (fstat(fd, &st) == 0 && (size_t)st.st_size >= len) {
		h = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
		if (h != MAP_FAILED) {
			if (h->magic == STATS_FILE_MAGIC && h->version == STATS_FILE_VERSION &&
			    writer_alive(h->pid)) {
				*hdr = *h;
				memcpy(out, h + 1, sizeof(*out));
				have = 1;
			}
			munmap((void *)h, len);
		}
	}
	close(fd);
	return have;
}

static void read_xdp(const struct tockd *d, struct tockd_counters *c)
{
	uint64_t v[XDP_STAT_COUNT];

	_Static_assert(XDP_STAT_COUNT <= sizeof(c->xdp) / sizeof(c->xdp[0]), "xdp[] too small");
	if (d->xdp && xdp_loader_read_stats(d->xdp, v) == 0)
		metrics_xdp_fill(&c->in, c->xdp, v);
}

void tockd_counters_read(const struct tockd *d, struct tockd_counters *c)
{
	struct metrics_input *in = &c->in;
	struct stats_file_hdr kh;

	memset(c, 0, sizeof(*c));
	in->workers = (const struct tock_worker_stats *)((const uint8_t *)d->stats_map +
	                                                 sizeof(struct stats_file_hdr));
	in->n_workers = (unsigned)d->n_stat_blocks; /* socket and AF_XDP workers */
	in->n_afxdp = (unsigned)d->n_xsks;
	in->start_time = d->start_time;
	if (read_ke_stats(d, &kh, &c->ke)) {
		in->ke = &c->ke;
		in->ke_start_time = kh.start_time;
		in->key_id = kh.key_id;
		in->key_created = kh.key_created;
	}
	read_xdp(d, c);
	in->now = time(NULL);
	in->cmd_hits = d->cmd_hits;
	in->cmd_drops = d->cmd_drops;
}

char *tockd_metrics_text(void *arg, size_t *len)
{
	static struct tockd_counters c; /* main thread only; large */
	const struct tockd *d = arg;
	size_t cap;
	char *buf;

	tockd_counters_read(d, &c);
	cap = metrics_size_hint(&c.in);
	buf = malloc(cap);
	if (!buf)
		return NULL;
	*len = metrics_format(&c.in, buf, cap);
	if (*len >= cap) { /* the hint is meant to be enough; never send a cut text */
		free(buf);
		return NULL;
	}
	return buf;
}
