// SPDX-License-Identifier: MIT
/*
 * Fuzz target: tockd's control socket request handler, control_reply() (chrony's command
 * protocol, DESIGN §8). tockd's sources are not in libtock.a, so the two pure files are
 * compiled in here, as tests/unit/test_control.c does.
 *
 * Checked: a reply is never longer than its request nor than the capacity given (also with
 * an exact-size heap buffer, so ASan sees an overrun); a reply is one of the known lengths,
 * carries a reply header echoing the command and sequence; a tracking reply decodes back
 * through tockd's own chronyd client parser to the values it was built from.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../userspace/tockd/candm.c"
#include "../../userspace/tockd/control_proto.c"

/* Not assert(): the checks must stay in a -DNDEBUG build. */
#define FUZZ_CHECK(cond)                                                                           \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

static const struct control_view *view(void)
{
	static struct control_view v;
	static int ready;

	if (ready)
		return &v;
	for (int i = 0; i < MCF_COUNT; i++)
		v.chrony[i] = 0x100000000ULL * (uint64_t)i + 1000u + (uint64_t)i;
	v.tracking.ref_id = 0x47505300; /* "GPS" */
	v.tracking.stratum = 1;
	v.tracking.ref_time.tv_sec = 1700000000;
	v.tracking.ref_time.tv_nsec = 987654321;
	v.tracking.root_delay = 0.0;
	v.tracking.root_dispersion = 0.5; /* exactly representable in chrony's float */
	v.tracking.freq_ppm = -12.25;
	ready = 1;
	return &v;
}

static int known_length(size_t n)
{
	return n == 0 || n == CANDM_NULL_LEN || n == CANDM_N_SOURCES_LEN ||
	       n == CANDM_TRACKING_LEN || n == CANDM_STATS3_LEN || n == CANDM_STATS4_LEN;
}

static void check_reply(const uint8_t *req, size_t len, const uint8_t *rpy, size_t n)
{
	struct candm_tracking t;
	uint32_t seq;

	FUZZ_CHECK(n <= len); /* the no-amplification invariant (DESIGN §10) */
	FUZZ_CHECK(known_length(n));
	if (n == 0)
		return;
	seq = candm_get32(req + 8);
	FUZZ_CHECK(rpy[0] == CANDM_VERSION && rpy[1] == CANDM_PKT_REPLY);
	FUZZ_CHECK(candm_get16(rpy + 4) == candm_get16(req + 4));
	FUZZ_CHECK(candm_get32(rpy + 16) == seq);
	if (candm_get16(req + 4) != CANDM_REQ_TRACKING)
		return;
	FUZZ_CHECK(candm_parse_tracking_reply(rpy, n, seq, &t) == 0);
	FUZZ_CHECK(t.ref_id == view()->tracking.ref_id && t.stratum == view()->tracking.stratum);
	FUZZ_CHECK(t.ref_time.tv_sec == view()->tracking.ref_time.tv_sec &&
	           t.ref_time.tv_nsec == view()->tracking.ref_time.tv_nsec);
	FUZZ_CHECK(t.root_dispersion == view()->tracking.root_dispersion);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t big[CONTROL_MAX_REQUEST * 2];
	uint8_t *req, *exact;
	size_t n, m;

	if (size > CONTROL_MAX_REQUEST)
		return 0; /* control_serve() drops these before parsing */
	/* exact-size heap copies: the replay driver's buffer is static and larger */
	req = malloc(size ? size : 1);
	exact = malloc(size ? size : 1);
	if (!req || !exact)
		abort();
	memcpy(req, data, size);
	n = control_reply(req, size, view(), big, sizeof(big));
	check_reply(req, size, big, n);
	m = control_reply(req, size, view(), exact, size);
	FUZZ_CHECK(m <= size);
	check_reply(req, size, exact, m);
	/* a smaller capacity may only shorten (or drop) the reply */
	m = control_reply(req, size, view(), big, size / 2);
	FUZZ_CHECK(m <= size / 2 && m <= n);
	free(exact);
	free(req);
	return 0;
}
