// SPDX-License-Identifier: MIT
/*
 * Fuzz target: the userspace filter. The input chooses the source address (family byte,
 * 16 address bytes), a time step and the packet; the filter is a fixed one with deny and
 * allow lists and a tiny limiter table (so slots keep being replaced). Verdicts must be
 * consistent with their reasons, a KoD only ever answers a request of at least 48 bytes
 * with 48, and nothing may read or write out of bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "conf.h"
#include "filter.h"

#define FUZZ_HDR 25 /* family selector, 16 address bytes, 8 time bytes */

static const char fuzz_conf[] =
    "ratelimit rate 3 burst 2 prefix4 24 prefix6 56 kod 1/2 "
    "leak 1/3\n"
    "deny 198.18.128.0/17\ndeny 2001:2:0:8000::/49\ndeny 198.18.0.9/32\n"
    "allow 198.19.0.0/16\nallow 2001:2:0:4000::/50\n";

static struct tock_filter *fuzz_filter(void)
{
	static struct tock_filter *f;
	static struct tock_conf c;
	char err[128];

	if (f)
		return f;
	if (conf_load_string(&c, fuzz_conf, "fuzz", err, sizeof(err)))
		abort();
	f = filter_new_sized(&c, 1, 16);
	if (!f)
		abort();
	filter_set_allowed_modes(f, 1U << 1);
	filter_seed_thread(1);
	return f;
}

/* The source: AF_INET, AF_INET6, or something else, from the selector byte. */
static void fuzz_src(struct sockaddr_storage *ss, const uint8_t *d)
{
	memset(ss, 0, sizeof(*ss));
	if (d[0] % 3 == 0) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, d + 1, 4);
	} else if (d[0] % 3 == 1) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, d + 1, 16);
	} else {
		ss->ss_family = (sa_family_t)(d[0] >> 2);
	}
}

static void check_kod(const uint8_t *pkt, size_t len)
{
	uint8_t resp[64];
	size_t n = filter_kod(pkt, len, resp, sizeof(resp));

	if (len < 48 ? n != 0 : n != 48 || memcmp(resp + 12, "RATE", 4) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint64_t now = 1000000000ULL;
	struct tock_filter *f = fuzz_filter();
	struct sockaddr_storage ss;
	struct filter_talker t[4];
	enum filter_reason r = FILTER_R_COUNT;
	enum filter_verdict v;
	const uint8_t *pkt = size > FUZZ_HDR ? data + FUZZ_HDR : data;
	size_t len = size > FUZZ_HDR ? size - FUZZ_HDR : size;
	uint64_t step = 0;

	if (size < FUZZ_HDR)
		memset(&ss, 0, sizeof(ss));
	else
		fuzz_src(&ss, data);
	for (size_t i = 0; size >= FUZZ_HDR && i < 8; i++)
		step = step << 8 | data[17 + i];
	now += step >> 16; /* up to ~3 days per input, never backwards by much */
	v = filter_check(f, &ss, pkt, len, now, &r);
	if ((v == FILTER_DROP && r == FILTER_R_NONE) ||
	    (v == FILTER_KOD && r != FILTER_R_RATELIMIT) ||
	    (v == FILTER_LEAK && r != FILTER_R_RATELIMIT) || (unsigned)r >= FILTER_R_COUNT ||
	    ((v == FILTER_KOD || v == FILTER_LEAK || v == FILTER_PASS) && len < 48))
		abort();
	check_kod(pkt, len);
	filter_list_match(f, FILTER_LIST_DENY, &ss);
	if (filter_top_talkers(f, t, 4) > 4)
		abort();
	return 0;
}
