// SPDX-License-Identifier: MIT
/* Reading the daemons' shared counter files (see counters.h). */
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

#include "counters.h"

/* Bounds that no real writer comes near; they keep a corrupt header from making us read
 * past the mapping or allocate without limit. */
#define MAX_BLOCKS   4096
#define MAX_COUNTERS 1024

static int map_checked(struct ctl_map *m)
{
	const struct stats_file_hdr *h = (const void *)m->base;

	if (m->size < sizeof(*h) || h->magic != STATS_FILE_MAGIC ||
	    h->version != STATS_FILE_VERSION)
		return -EPROTO;
	if (h->n_blocks == 0 || h->n_blocks > MAX_BLOCKS || h->n_counters == 0 ||
	    h->n_counters > MAX_COUNTERS)
		return -EPROTO;
	m->stride = ((size_t)h->n_counters * sizeof(uint64_t) + 63) & ~(size_t)63;
	if (m->size < sizeof(*h) + m->stride * h->n_blocks)
		return -EPROTO;
	m->hdr = h;
	return 0;
}

int ctl_map_open(struct ctl_map *m, const char *path)
{
	struct stat st;
	void *p;
	int fd, err;

	memset(m, 0, sizeof(*m));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		goto fail_errno;
	if (st.st_size < (off_t)sizeof(struct stats_file_hdr)) {
		close(fd);
		return -EPROTO;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		goto fail_errno;
	close(fd);
	m->base = p;
	m->size = (size_t)st.st_size;
	err = map_checked(m);
	if (err)
		ctl_map_close(m);
	return err;
fail_errno:
	err = -errno;
	close(fd);
	return err;
}

const uint64_t *ctl_map_block(const struct ctl_map *m, unsigned i)
{
	return (const uint64_t *)(m->base + sizeof(struct stats_file_hdr) + m->stride * i);
}

void ctl_map_close(struct ctl_map *m)
{
	if (m->base)
		munmap((void *)m->base, m->size);
	memset(m, 0, sizeof(*m));
}

int ctl_pid_alive(pid_t pid)
{
	/* pid 0 would address our own process group, not a daemon. */
	if (pid <= 0)
		return 0;
	return kill(pid, 0) == 0 || errno == EPERM;
}

/* Says why a counter file could not be read, in the operator's terms. */
static void report_open_error(const char *daemon, const char *path, int err)
{
	if (err == -ENOENT)
		fprintf(stderr, "tockctl: %s is not running (no %s)\n", daemon, path);
	else if (err == -EACCES || err == -EPERM)
		fprintf(stderr,
		        "tockctl: %s: permission denied (run as root or as a member of "
		        "the tock group)\n",
		        path);
	else if (err == -EPROTO)
		fprintf(stderr,
		        "tockctl: %s is not a tock counter file of a version this tockctl "
		        "reads (layout %d)\n",
		        path, STATS_FILE_VERSION);
	else
		fprintf(stderr, "tockctl: %s: %s\n", path, strerror(-err));
}

static unsigned min_u(unsigned a, unsigned b)
{
	return a < b ? a : b;
}

/* Copies tockd's worker blocks; counters this tockctl does not know are ignored and ones
 * the writer did not have stay 0. */
static int copy_workers(struct ctl_counters *c, const struct ctl_map *m)
{
	unsigned n = min_u(m->hdr->n_counters, STAT_COUNT);

	c->ntp_hdr = *m->hdr;
	c->workers = calloc(m->hdr->n_blocks, sizeof(*c->workers));
	if (!c->workers)
		return -ENOMEM;
	for (unsigned w = 0; w < m->hdr->n_blocks; w++)
		memcpy(c->workers[w].c, ctl_map_block(m, w), n * sizeof(uint64_t));
	return 0;
}

static int load_ntp(struct ctl_counters *c, const char *rundir)
{
	char path[4096];
	struct ctl_map m;
	int err;

	snprintf(path, sizeof(path), "%s/tockd.stats", rundir);
	err = ctl_map_open(&m, path);
	if (err) {
		report_open_error("tockd", path, err);
		return 1;
	}
	if (!ctl_pid_alive((pid_t)m.hdr->pid)) {
		fprintf(stderr, "tockctl: %s is stale: tockd (pid %u) is not running\n", path,
		        m.hdr->pid);
		ctl_map_close(&m);
		return 1;
	}
	err = copy_workers(c, &m);
	ctl_map_close(&m);
	if (err) {
		fprintf(stderr, "tockctl: %s\n", strerror(-err));
		return 1;
	}
	c->ntp_state = CTL_FILE_LIVE;
	return 0;
}

/* tock-ke may be absent on purpose (fleet keys, or KE on other hosts): warn, go on. */
static void load_ke(struct ctl_counters *c, const char *rundir)
{
	char path[4096];
	struct ctl_map m;
	int err;

	snprintf(path, sizeof(path), "%s/tock-ke.stats", rundir);
	err = ctl_map_open(&m, path);
	if (err) {
		report_open_error("tock-ke", path, err);
		return;
	}
	c->ke_hdr = *m.hdr;
	if (!ctl_pid_alive((pid_t)m.hdr->pid)) {
		fprintf(stderr, "tockctl: %s is stale: tock-ke (pid %u) is not running\n", path,
		        m.hdr->pid);
		c->ke_state = CTL_FILE_STALE;
	} else {
		memcpy(c->ke.c, ctl_map_block(&m, 0),
		       min_u(m.hdr->n_counters, KE_STAT_COUNT) * sizeof(uint64_t));
		c->ke_state = CTL_FILE_LIVE;
	}
	ctl_map_close(&m);
}

static void fill_input(struct ctl_counters *c)
{
	struct metrics_input *in = &c->in;

	in->workers = c->workers;
	in->n_workers = c->ntp_hdr.n_blocks;
	in->n_afxdp = c->ntp_hdr.n_afxdp <= in->n_workers ? c->ntp_hdr.n_afxdp : 0;
	in->start_time = c->ntp_hdr.start_time;
	if (c->ke_state == CTL_FILE_LIVE) {
		in->ke = &c->ke;
		in->ke_start_time = c->ke_hdr.start_time;
		in->key_id = c->ke_hdr.key_id;
		in->key_created = c->ke_hdr.key_created;
	}
	in->now = time(NULL);
}

int ctl_counters_load(struct ctl_counters *c, const char *rundir)
{
	int rc;

	memset(c, 0, sizeof(*c));
	rc = load_ntp(c, rundir);
	if (rc)
		return rc;
	load_ke(c, rundir);
	fill_input(c);
	/* XDP counters are optional: without them the workers' counters still stand. */
	ctl_xdp_counters(c);
	return 0;
}

void ctl_counters_free(struct ctl_counters *c)
{
	free(c->workers);
	c->workers = NULL;
}
