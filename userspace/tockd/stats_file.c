// SPDX-License-Identifier: MIT
/*
 * RUNDIR/tockd.stats: the workers' counter blocks live directly in a shared file mapping, so
 * tockctl reads them without asking tockd anything (DESIGN §8). Layout in stats.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "tockd.h"

int stats_file_create(struct tockd *d, int n_workers)
{
	size_t len =
	    sizeof(struct stats_file_hdr) + (size_t)n_workers * sizeof(struct tock_worker_stats);
	struct stats_file_hdr *h;
	int fd, err = 0;

	snprintf(d->stats_path, sizeof(d->stats_path), "%s/tockd.stats", d->conf.rundir);
	/* a new file (not truncating the old one in place): a reader of the previous run's
	 * mapping keeps consistent, if stale, numbers */
	unlink(d->stats_path);
	fd = open(d->stats_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)len) < 0)
		err = -errno;
	h = err ? MAP_FAILED : mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (!err && h == MAP_FAILED)
		err = -errno;
	close(fd);
	if (err) {
		unlink(d->stats_path);
		return err;
	}
	h->version = STATS_FILE_VERSION;
	h->n_blocks = (uint32_t)n_workers;
	h->n_afxdp = (uint32_t)d->n_xsk_blocks;
	h->n_counters = STAT_COUNT;
	h->pid = (uint32_t)getpid();
	h->start_time = d->start_time;
	__atomic_store_n(&h->magic, STATS_FILE_MAGIC, __ATOMIC_RELEASE); /* valid from here on */
	d->stats_map = h;
	d->stats_len = len;
	return 0;
}

void stats_file_set_afxdp(struct tockd *d, int n_afxdp)
{
	struct stats_file_hdr *h = d->stats_map;

	d->n_stat_blocks = d->n_workers + n_afxdp;
	h->n_afxdp = (uint32_t)n_afxdp;
	h->n_blocks = (uint32_t)d->n_stat_blocks;
}

struct tock_worker_stats *stats_file_block(struct tockd *d, int i)
{
	return (struct tock_worker_stats *)((uint8_t *)d->stats_map +
	                                    sizeof(struct stats_file_hdr)) +
	       i;
}

void stats_file_close(struct tockd *d)
{
	if (!d->stats_map)
		return;
	munmap(d->stats_map, d->stats_len);
	d->stats_map = NULL;
	if (unlink(d->stats_path) < 0)
		log_debug("%s: %s", d->stats_path, strerror(errno));
}
