/* SPDX-License-Identifier: MIT */
/*
 * What the ke_tls_floor*.c programs share (each is one file built alone with cc against one
 * TLS stack): the CPU clock only the server's calls are timed with, an in-memory connection
 * for the stacks without memory BIOs, and the batched run that reports the figures.
 */
#ifndef KE_TLS_FLOOR_H
#define KE_TLS_FLOOR_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PIPE_CAP 32768
/* Sessions per batch: the machine is shared, so the batches' minimum and median say more
 * than the mean (interference only ever adds time). */
#define BATCH 50

/* One direction of the in-memory connection. */
struct pipe {
	unsigned char buf[PIPE_CAP];
	size_t r, w;
};

/* One side's view: what it reads, what it writes. */
struct end {
	struct pipe *in, *out;
};

static inline double cpu_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* Appends len bytes to what e writes: 0, or -1 when the pipe is full. */
static inline int pipe_put(struct end *e, const void *data, size_t len)
{
	if (e->out->w + len > PIPE_CAP)
		return -1;
	memcpy(e->out->buf + e->out->w, data, len);
	e->out->w += len;
	return 0;
}

/* Moves up to len bytes of what e reads into data: the count, 0 when nothing waits. */
static inline size_t pipe_take(struct end *e, void *data, size_t len)
{
	size_t n = e->in->w - e->in->r;

	if (n > len)
		n = len;
	memcpy(data, e->in->buf + e->in->r, n);
	e->in->r += n;
	if (e->in->r == e->in->w)
		e->in->r = e->in->w = 0;
	return n;
}

static inline int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/*
 * n sessions (rounded up to whole batches), each one(arg) returning the server's CPU time in
 * us; prints the minimum and median of the batches' means and the overall mean, with note
 * after the session count when non-NULL.
 */
static inline void run_batches(double (*one)(void *), void *arg, int n, const char *note)
{
	int nb = (n + BATCH - 1) / BATCH;
	double *per = calloc((size_t)nb, sizeof(*per)), total = 0;

	if (!per)
		exit(1);
	for (int b = 0; b < nb; b++) {
		for (int i = 0; i < BATCH; i++)
			per[b] += one(arg);
		total += per[b];
		per[b] /= BATCH;
	}
	qsort(per, (size_t)nb, sizeof(*per), cmp_double);
	printf("server CPU per session: min %.1f  median %.1f  mean %.1f us (%d sessions%s%s)\n",
	       per[0], per[nb / 2], total / (nb * BATCH), nb * BATCH, note ? ", " : "",
	       note ? note : "");
	free(per);
}

#endif
