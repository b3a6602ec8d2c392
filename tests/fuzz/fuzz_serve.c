// SPDX-License-Identifier: MIT
/*
 * Fuzz target: tock_serve() with a fixed key map (fuzz_serve_keys.h) and a fixed clock.
 * The handler must never crash, never answer with more bytes than it received, and never
 * write past the capacity it is given (checked with an exact-size capacity too).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_serve_keys.h"
#include "serve.h"

static struct tock_worker_stats stats;
static struct tock_clock_cell cell;

static void fixed_now(struct timespec *ts)
{
	ts->tv_sec = 1700000000;
	ts->tv_nsec = 5;
}

static struct tock_worker_ctx *worker(void)
{
	static struct tock_worker_ctx *w;
	struct tock_serve_opts opts = {.now = fixed_now};
	struct tock_clock_status st = {.stratum = 1, .precision = -20, .refid = 0x47505300};
	struct keymap_snapshot snap;

	if (w)
		return w;
	clock_cell_publish(&cell, &st);
	w = tock_worker_new(&opts, &stats, &cell);
	fuzz_serve_keymap(&snap);
	if (!w || tock_worker_set_keys(w, &snap) < 0)
		abort();
	return w;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t resp[65536 + 64];
	struct tock_rx_meta rx = {.rx_time = {.tv_sec = 1700000000, .tv_nsec = 1}};
	size_t n;

	if (size > 65536)
		return 0;
	n = tock_serve(worker(), data, size, &rx, resp, sizeof(resp));
	if (n > size)
		abort();
	/* Again with an exact capacity in a heap buffer, so ASan sees any overrun. */
	uint8_t *exact = malloc(size ? size : 1);

	if (!exact)
		return 0;
	n = tock_serve(worker(), data, size, &rx, exact, size);
	if (n > size)
		abort();
	free(exact);
	return 0;
}
