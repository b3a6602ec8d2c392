// SPDX-License-Identifier: MIT
/*
 * tockd's control protocol (chrony command protocol v6 subset): request bytes → reply bytes
 * through the pure control_reply(), and chrony's float encoding. The tockd sources are not in
 * libtock.a, so the two pure files are compiled in here.
 */
#include <math.h>
#include <stdlib.h>

#include "check.h"
#include "../../userspace/tockd/candm.c"
#include "../../userspace/tockd/control_proto.c"

#define REQ_CAP 512 /* every test's request buffer */

static size_t make_request(uint8_t *buf, uint16_t command, uint32_t seq, size_t len)
{
	return candm_request(buf, REQ_CAP, command, seq, len);
}

static void fill_view(struct control_view *v)
{
	memset(v, 0, sizeof(*v));
	for (int i = 0; i < MCF_COUNT; i++)
		v->chrony[i] = 1000 + (uint64_t)i;
	v->chrony[MCF_NTP_HITS] = 0x100000005ULL; /* does not fit 32 bits */
	v->tracking.ref_id = 0x47505300;
	v->tracking.stratum = 2;
	v->tracking.leap = 0;
	v->tracking.ref_time.tv_sec = 1700000000;
	v->tracking.ref_time.tv_nsec = 123456789;
	v->tracking.root_delay = 0.0015;
	v->tracking.root_dispersion = 0.00025;
	v->tracking.freq_ppm = -12.25;
}

static void check_header(const uint8_t *r, uint16_t cmd, uint16_t reply, uint16_t status,
                         uint32_t seq)
{
	CHECK_EQ(r[0], CANDM_VERSION);
	CHECK_EQ(r[1], CANDM_PKT_REPLY);
	CHECK_EQ(candm_get16(r + 4), cmd);
	CHECK_EQ(candm_get16(r + 6), reply);
	CHECK_EQ(candm_get16(r + 8), status);
	CHECK_EQ(candm_get32(r + 16), seq);
}

static void test_serverstats(void)
{
	uint8_t req[REQ_CAP], rpy[512];
	struct control_view v;
	size_t n;

	fill_view(&v);
	/* chronyc 4.3 pads to the STATS3 reply */
	n = control_reply(req, make_request(req, CANDM_REQ_SERVER_STATS, 7, CANDM_STATS3_LEN), &v,
	                  rpy, sizeof(rpy));
	CHECK_EQ(n, CANDM_STATS3_LEN);
	check_header(rpy, CANDM_REQ_SERVER_STATS, CANDM_RPY_SERVER_STATS3, 0, 7);
	CHECK_EQ(candm_get32(rpy + 28), 5); /* 32-bit wrap */
	CHECK_EQ(candm_get32(rpy + 28 + 4), 1000 + MCF_NKE_HITS);
	CHECK_EQ(candm_get32(rpy + 28 + 8), 1000 + MCF_CMD_HITS);
	CHECK_EQ(candm_get32(rpy + 28 + 12), 1000 + MCF_NTP_DROPS);
	CHECK_EQ(candm_get32(rpy + 28 + 28), 1000 + MCF_AUTH_HITS);
	CHECK_EQ(candm_get32(rpy + 28 + 40), 1000 + MCF_TS_SPAN);

	/* chronyc 4.4+ pads to the STATS4 reply: 64-bit counters and timestamp sources */
	n = control_reply(req, make_request(req, CANDM_REQ_SERVER_STATS, 8, CANDM_STATS4_LEN), &v,
	                  rpy, sizeof(rpy));
	CHECK_EQ(n, CANDM_STATS4_LEN);
	check_header(rpy, CANDM_REQ_SERVER_STATS, CANDM_RPY_SERVER_STATS4, 0, 8);
	CHECK_EQ(candm_get32(rpy + 28), 1);
	CHECK_EQ(candm_get32(rpy + 32), 5);
	CHECK_EQ(candm_get32(rpy + 28 + 11 * 8 + 4), 1000 + MCF_DAEMON_RX);
	CHECK_EQ(candm_get32(rpy + 28 + 13 * 8 + 4), 1000 + MCF_KERNEL_RX);
	CHECK_EQ(candm_get32(rpy + 28 + 15 * 8 + 4), 1000 + MCF_HW_RX);
	CHECK_EQ(candm_get32(rpy + 28 + 20 * 8 + 4), 0); /* reserved */

	/* a longer request still gets the longest reply it allows, never more */
	n = control_reply(req, make_request(req, CANDM_REQ_SERVER_STATS, 9, 400), &v, rpy,
	                  sizeof(rpy));
	CHECK_EQ(n, CANDM_STATS4_LEN);
	/* too short for either format: dropped */
	CHECK_EQ(control_reply(req, make_request(req, CANDM_REQ_SERVER_STATS, 9, 71), &v, rpy,
	                       sizeof(rpy)),
	         0);
	/* the caller's buffer bounds the reply too */
	CHECK_EQ(
	    control_reply(req, make_request(req, CANDM_REQ_SERVER_STATS, 9, 196), &v, rpy, 100),
	    CANDM_STATS3_LEN);
}

static void test_tracking_roundtrip(void)
{
	uint8_t req[REQ_CAP], rpy[512];
	struct control_view v;
	struct candm_tracking t;
	size_t n;

	fill_view(&v);
	n = control_reply(req,
	                  make_request(req, CANDM_REQ_TRACKING, 0xdeadbeef, CANDM_TRACKING_LEN), &v,
	                  rpy, sizeof(rpy));
	CHECK_EQ(n, CANDM_TRACKING_LEN);
	check_header(rpy, CANDM_REQ_TRACKING, CANDM_RPY_TRACKING, 0, 0xdeadbeef);
	/* what tockd's chronyd client would make of it */
	CHECK_EQ(candm_parse_tracking_reply(rpy, n, 0xdeadbeef, &t), 0);
	CHECK_EQ(t.ref_id, 0x47505300);
	CHECK_EQ(t.stratum, 2);
	CHECK_EQ(t.leap, 0);
	CHECK_EQ(t.ref_time.tv_sec, 1700000000);
	CHECK_EQ(t.ref_time.tv_nsec, 123456789);
	CHECK(fabs(t.root_delay - 0.0015) < 1e-9, "%g", t.root_delay);
	CHECK(fabs(t.root_dispersion - 0.00025) < 1e-10, "%g", t.root_dispersion);
	CHECK(fabs(t.freq_ppm + 12.25) < 1e-6, "%g", t.freq_ppm);
	CHECK_EQ(candm_parse_tracking_reply(rpy, n, 1, &t), -EINVAL); /* other sequence */
	CHECK_EQ(candm_parse_tracking_reply(rpy, n - 1, 0xdeadbeef, &t), -EINVAL);
	candm_put16(rpy + 8, 1);
	CHECK_EQ(candm_parse_tracking_reply(rpy, n, 0xdeadbeef, &t), -EIO);
	/* short tracking request: dropped, no amplification */
	CHECK_EQ(
	    control_reply(req, make_request(req, CANDM_REQ_TRACKING, 1, 60), &v, rpy, sizeof(rpy)),
	    0);
	/* the client-side request is a valid, padded request */
	n = candm_tracking_request(req, sizeof(req), 42);
	CHECK_EQ(n, CANDM_TRACKING_LEN);
	CHECK_EQ(control_reply(req, n, &v, rpy, sizeof(rpy)), CANDM_TRACKING_LEN);
}

static void test_other_commands(void)
{
	uint8_t req[REQ_CAP], rpy[512];
	struct control_view v;

	fill_view(&v);
	CHECK_EQ(
	    control_reply(req, make_request(req, CANDM_REQ_N_SOURCES, 3, 32), &v, rpy, sizeof(rpy)),
	    CANDM_N_SOURCES_LEN);
	check_header(rpy, CANDM_REQ_N_SOURCES, CANDM_RPY_N_SOURCES, 0, 3);
	CHECK_EQ(candm_get32(rpy + 28), 0);
	/* an unimplemented command: RPY_NULL with STT_INVALID, if the request is long enough */
	CHECK_EQ(control_reply(req, make_request(req, 15 /* SOURCE_DATA */, 4, 100), &v, rpy,
	                       sizeof(rpy)),
	         CANDM_NULL_LEN);
	check_header(rpy, 15, CANDM_RPY_NULL, CANDM_STT_INVALID, 4);
	CHECK_EQ(control_reply(req, make_request(req, 15, 4, 20), &v, rpy, sizeof(rpy)), 0);
}

static void test_malformed(unsigned seed)
{
	uint8_t req[REQ_CAP], rpy[512];
	struct control_view v;

	fill_view(&v);
	make_request(req, CANDM_REQ_SERVER_STATS, 1, CANDM_STATS4_LEN);
	req[0] = 5; /* old protocol version */
	CHECK_EQ(control_reply(req, CANDM_STATS4_LEN, &v, rpy, sizeof(rpy)), 0);
	make_request(req, CANDM_REQ_SERVER_STATS, 1, CANDM_STATS4_LEN);
	req[1] = CANDM_PKT_REPLY; /* a reply reflected at us */
	CHECK_EQ(control_reply(req, CANDM_STATS4_LEN, &v, rpy, sizeof(rpy)), 0);
	make_request(req, CANDM_REQ_SERVER_STATS, 1, CANDM_STATS4_LEN);
	req[2] = 1;
	CHECK_EQ(control_reply(req, CANDM_STATS4_LEN, &v, rpy, sizeof(rpy)), 0);
	CHECK_EQ(control_reply(req, 0, &v, rpy, sizeof(rpy)), 0);
	CHECK_EQ(control_reply(req, 19, &v, rpy, sizeof(rpy)), 0);

	/* random garbage: never a reply longer than the request */
	srand(seed);
	for (int i = 0; i < 50000; i++) {
		size_t len = (size_t)(rand() % 300), n;

		for (size_t k = 0; k < len; k++)
			req[k] = (uint8_t)rand();
		if (i & 1) { /* mostly valid headers, to reach the command handlers */
			req[0] = CANDM_VERSION;
			req[1] = CANDM_PKT_REQUEST;
			req[2] = req[3] = 0;
			if (len > 5)
				req[4] = 0, req[5] = (uint8_t)(rand() % 80);
		}
		n = control_reply(req, len, &v, rpy, sizeof(rpy));
		if (n > len) {
			CHECK(n <= len, "reply %zu > request %zu", n, len);
			break;
		}
	}
	CHECK(1);
}

static void test_float(unsigned seed)
{
	static const double fixed[] = {0.0,   1.0,        -1.0,  0.5,  1e-9,
	                               -1e-9, 123456.789, 3e-20, 1e18, -0.0015};

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		double x = fixed[i], y = candm_float_decode(candm_float_encode(x));

		CHECK(fabs(y - x) <= fabs(x) * 1.2e-7, "%g → %g", x, y);
	}
	CHECK_EQ(candm_float_encode(0.0), 0);
	/* known encodings: 1.0 = 2^23 * 2^(2-25) → exponent 2, coefficient 2^23 */
	CHECK_EQ(candm_float_encode(1.0), (2u << 25) | (1u << 23));
	CHECK(candm_float_decode((2u << 25) | (1u << 23)) == 1.0);
	CHECK(candm_float_decode(candm_float_encode(1e300)) > 1e10); /* saturates, stays positive */
	srand(seed);
	for (int i = 0; i < 20000; i++) {
		double x = ldexp((double)rand() / RAND_MAX - 0.5, rand() % 80 - 40);
		double y = candm_float_decode(candm_float_encode(x));

		if (fabs(y - x) > fabs(x) * 1.2e-7) {
			CHECK(0, "%g → %g", x, y);
			break;
		}
	}
	CHECK(1);
}

int main(void)
{
	unsigned seed = check_seed("test_control");

	test_serverstats();
	test_tracking_roundtrip();
	test_other_commands();
	test_malformed(seed);
	test_float(seed);
	return check_done("test_control");
}
