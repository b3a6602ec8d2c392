// SPDX-License-Identifier: MIT
/*
 * Fuzz target: tockd's parser of chronyd's tracking reply, candm_parse_tracking_reply()
 * (`clock follow chronyd`, DESIGN §6), and chrony's 32-bit float codec behind it.
 *
 * The input is parsed as a reply to the sequence it carries (so the fuzzer gets past the
 * sequence check) and to a fixed one. A decoded report must be sane (nanoseconds below a
 * second), convert to NTP header fields as clock_source_status() does, and re-encode
 * through candm_put_tracking() to a body that decodes to the same report (floats within
 * chrony's float precision). Bytes 8k..8k+7 of the input are also read as doubles for
 * candm_float_encode(), whose round trip must stay within that precision where the value
 * is in range.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../userspace/tockd/candm.c"
#include "ntp.h"

#define FUZZ_CHECK(cond)                                                                           \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

#define FIXED_SEQUENCE 0x746f636bu /* "tock" */
#define MAX_REPLY      512         /* clock_chronyd_input()'s receive buffer */

/* Decoded floats re-encode exactly, but for -2^62: the encoder saturates at the top
 * exponent to ±(2^24 - 1) and does not use the one extra negative coefficient. */
static int same_float(double a, double b)
{
	return fabs(b - a) <= fabs(a) * 0x1p-23;
}

static void check_roundtrip(const struct candm_tracking *t)
{
	uint8_t body[76];
	struct candm_tracking u;
	const double *a = &t->correction, *b = &u.correction;

	candm_put_tracking(body, t);
	candm_get_tracking(body, &u);
	FUZZ_CHECK(u.ref_id == t->ref_id && u.stratum == t->stratum && u.leap == t->leap);
	FUZZ_CHECK(u.ref_time.tv_sec == t->ref_time.tv_sec &&
	           u.ref_time.tv_nsec == t->ref_time.tv_nsec);
	/* the nine doubles are consecutive members of the same type */
	for (int i = 0; i < 9; i++)
		FUZZ_CHECK(same_float(a[i], b[i]));
}

static void parse(const uint8_t *p, size_t len, uint32_t sequence)
{
	struct candm_tracking t;
	int err = candm_parse_tracking_reply(p, len, sequence, &t);

	FUZZ_CHECK(err == 0 || err == -EINVAL || err == -EIO);
	if (err)
		return;
	FUZZ_CHECK(len >= CANDM_TRACKING_LEN);
	FUZZ_CHECK(t.ref_time.tv_nsec >= 0 && t.ref_time.tv_nsec < 1000000000);
	check_roundtrip(&t);
	/* what clock_source_status() makes of it for the NTP header: no UB on any value */
	(void)ntp_short_from_double(t.root_delay);
	(void)ntp_short_from_double(t.root_dispersion + 15e-6 * 3.0);
	(void)ntp_ts_from_timespec(&t.ref_time);
}

/* chrony's float keeps 24 significant bits; in range the error is at most half a step. */
static void check_float(double x)
{
	double y = candm_float_decode(candm_float_encode(x));

	FUZZ_CHECK(!isnan(y) && !isinf(y));
	if (isnan(x) || x == 0.0)
		FUZZ_CHECK(y == 0.0);
	else if (fabs(x) >= 0x1p-60 && fabs(x) <= 0x1p60)
		FUZZ_CHECK(fabs(y - x) <= fabs(x) * 0x1p-23);
	else if (!isinf(x))
		FUZZ_CHECK(y == 0.0 || signbit(y) == signbit(x));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *p;

	if (size > MAX_REPLY)
		return 0;
	p = malloc(size ? size : 1);
	if (!p)
		abort();
	memcpy(p, data, size);
	parse(p, size, FIXED_SEQUENCE);
	if (size >= 20)
		parse(p, size, candm_get32(p + 16));
	for (size_t i = 0; i + 8 <= size; i += 8) {
		double x;

		memcpy(&x, p + i, sizeof(x));
		check_float(x);
	}
	free(p);
	return 0;
}
