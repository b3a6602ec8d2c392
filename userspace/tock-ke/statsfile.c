// SPDX-License-Identifier: MIT
/*
 * tock-ke's counters file, RUNDIR/tock-ke.stats: struct stats_file_hdr followed by one
 * struct tock_ke_stats, shared read-only with tockctl. Counters restart at zero with the
 * process; pid and start_time let a reader tell a stale file.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "ke.h"
#include "log.h"

#define STATS_FILE_SIZE (sizeof(struct stats_file_hdr) + sizeof(struct tock_ke_stats))

static int map_stats(struct ke_server *srv, int fd)
{
	void *p;

	if (ftruncate(fd, STATS_FILE_SIZE) < 0)
		return -errno;
	p = mmap(NULL, STATS_FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	memset(p, 0, STATS_FILE_SIZE);
	srv->stats_hdr = p;
	srv->stats = (struct tock_ke_stats *)((char *)p + sizeof(struct stats_file_hdr));
	srv->stats_hdr->version = STATS_FILE_VERSION;
	srv->stats_hdr->n_blocks = 1;
	srv->stats_hdr->n_counters = KE_STAT_COUNT;
	srv->stats_hdr->pid = (uint32_t)getpid();
	srv->stats_hdr->start_time = time(NULL);
	/* the magic last: a reader never sees a valid magic over a half-made header */
	__atomic_store_n(&srv->stats_hdr->magic, STATS_FILE_MAGIC, __ATOMIC_RELEASE);
	return 0;
}

int ke_stats_open(struct ke_server *srv)
{
	char path[PATH_MAX];
	int fd, err;

	if (snprintf(path, sizeof(path), "%s/tock-ke.stats", srv->conf->rundir) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	err = map_stats(srv, fd);
	if (!err)
		err = ke_priv_chown(srv->conf, path);
	close(fd);
out:
	if (err)
		log_err("cannot create counters file %s: %s", path, strerror(-err));
	return err;
}

void ke_stats_close(struct ke_server *srv)
{
	if (srv->stats_hdr)
		munmap(srv->stats_hdr, STATS_FILE_SIZE);
	srv->stats_hdr = NULL;
	srv->stats = NULL;
}
