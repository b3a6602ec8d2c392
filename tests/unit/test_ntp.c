// SPDX-License-Identifier: MIT
/* NTP codec: timestamp conversions across the 2036 era wrap, short format, and the
 * RFC 7822 extension-field iterator and writer. */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "check.h"
#include "ntp.h"

#define ERA1_UNIX 2085978496LL /* 2036-02-07T06:28:16Z: NTP seconds wrap to 0 */

static void test_from_timespec(void)
{
	struct timespec ts = {.tv_sec = 0, .tv_nsec = 0};

	CHECK_EQ(ntp_ts_from_timespec(&ts), NTP_UNIX_OFFSET << 32);
	ts.tv_nsec = 500000000;
	CHECK_EQ(ntp_ts_from_timespec(&ts), (NTP_UNIX_OFFSET << 32) | 0x80000000ULL);
	ts.tv_nsec = 1; /* 4.29 units → 4 */
	CHECK_EQ(ntp_ts_from_timespec(&ts) & 0xffffffff, 4);
	ts.tv_nsec = 999999999; /* rounds to 2^32 - 4, never carries into the seconds */
	CHECK_EQ(ntp_ts_from_timespec(&ts), (NTP_UNIX_OFFSET << 32) | 0xfffffffcULL);
	ts.tv_sec = ERA1_UNIX - 1;
	ts.tv_nsec = 0;
	CHECK_EQ(ntp_ts_from_timespec(&ts) >> 32, 0xffffffffULL);
	ts.tv_sec = ERA1_UNIX; /* era 1 starts at 0 */
	CHECK_EQ(ntp_ts_from_timespec(&ts), 0);
	ts.tv_sec = ERA1_UNIX + 100;
	ts.tv_nsec = 250000000;
	CHECK_EQ(ntp_ts_from_timespec(&ts), (100ULL << 32) | 0x40000000ULL);
}

static void test_to_timespec(void)
{
	struct timespec ts;

	/* 1700000000 (2023) round-trips with any pivot within 68 years. */
	ntp_ts_to_timespec((1700000000ULL + NTP_UNIX_OFFSET) << 32 | 0x80000000ULL, 1700000000,
	                   &ts);
	CHECK_EQ(ts.tv_sec, 1700000000);
	CHECK_EQ(ts.tv_nsec, 500000000);
	/* NTP second 100: era 1 (2036) near a 2030s pivot, era 0 (1900) near a 1930s one. */
	ntp_ts_to_timespec(100ULL << 32, 2000000000, &ts);
	CHECK_EQ(ts.tv_sec, ERA1_UNIX + 100);
	ntp_ts_to_timespec(100ULL << 32, ERA1_UNIX + 50, &ts);
	CHECK_EQ(ts.tv_sec, ERA1_UNIX + 100);
	ntp_ts_to_timespec(100ULL << 32, -1000000000, &ts);
	CHECK_EQ(ts.tv_sec, 100 - (time_t)NTP_UNIX_OFFSET);
	/* A late era-0 timestamp read just after the wrap stays in era 0. */
	ntp_ts_to_timespec(0xfffffff0ULL << 32, ERA1_UNIX + 10, &ts);
	CHECK_EQ(ts.tv_sec, ERA1_UNIX - 16);
	/* Far future: era 2 (2172) with a pivot in 2170. */
	ntp_ts_to_timespec(5ULL << 32, ERA1_UNIX + (1LL << 32) - 1000, &ts);
	CHECK_EQ(ts.tv_sec, ERA1_UNIX + (1LL << 32) + 5);
	/* Fraction rounding: just below one second carries into the next second. */
	ntp_ts_to_timespec((1700000000ULL + NTP_UNIX_OFFSET) << 32 | 0xffffffffULL, 1700000000,
	                   &ts);
	CHECK_EQ(ts.tv_sec, 1700000001);
	CHECK_EQ(ts.tv_nsec, 0);
	ntp_ts_to_timespec((1700000000ULL + NTP_UNIX_OFFSET) << 32 | 4, 1700000000, &ts);
	CHECK_EQ(ts.tv_nsec, 1);
}

static void test_roundtrip(void)
{
	unsigned bad = 0;
	struct timespec in, out;

	for (long i = 0; i < 100000; i++) {
		in.tv_sec = ERA1_UNIX - 50000 + i;
		in.tv_nsec = (i * 7919) % 1000000000;
		ntp_ts_to_timespec(ntp_ts_from_timespec(&in), in.tv_sec + 1000, &out);
		if (out.tv_sec != in.tv_sec || out.tv_nsec != in.tv_nsec)
			bad++;
	}
	CHECK_EQ(bad, 0);
}

static void test_short(void)
{
	CHECK_EQ(ntp_short_from_double(1.5), 0x00018000);
	CHECK_EQ(ntp_short_from_double(1.0 / 65536), 1);
	CHECK_EQ(ntp_short_from_double(0.4 / 65536), 0);
	CHECK_EQ(ntp_short_from_double(0.6 / 65536), 1);
	CHECK_EQ(ntp_short_from_double(0.0), 0);
	CHECK_EQ(ntp_short_from_double(-3.0), 0);
	CHECK_EQ(ntp_short_from_double(65535.5), 0xffff8000U);
	CHECK_EQ(ntp_short_from_double(65535.99999999), 0xffffffffU);
	CHECK_EQ(ntp_short_from_double(70000.0), 0xffffffffU);
	CHECK_EQ(ntp_short_from_double(INFINITY), 0xffffffffU);
	CHECK_EQ(ntp_short_from_double(NAN), 0xffffffffU);
	CHECK(ntp_short_to_double(0x00010000) == 1.0);
	CHECK(ntp_short_to_double(0x00008000) == 0.5);
	CHECK(ntp_short_to_double(0xffffffff) > 65535.99);
}

/* A 48-byte header followed by raw bytes. */
static size_t pkt(uint8_t *buf, const uint8_t *tail, size_t tail_len)
{
	memset(buf, 0, NTP_HEADER_LEN);
	buf[0] = ntp_lvm(0, 4, 3);
	memcpy(buf + NTP_HEADER_LEN, tail, tail_len);
	return NTP_HEADER_LEN + tail_len;
}

static void ef_hdr(uint8_t *p, uint16_t type, uint16_t len)
{
	p[0] = type >> 8;
	p[1] = (uint8_t)type;
	p[2] = len >> 8;
	p[3] = (uint8_t)len;
}

static void test_ef_good(void)
{
	uint8_t tail[128] = {0}, buf[256];
	struct ntp_ef_iter it;
	struct ntp_ef ef;
	size_t len;

	ef_hdr(tail, NTP_EF_UNIQUE_ID, 36);
	tail[4] = 0xaa;
	ef_hdr(tail + 36, 0x2005, 16);
	ef_hdr(tail + 52, NTP_EF_NTS_AUTHENTICATOR, 40);
	len = pkt(buf, tail, 92);
	ntp_ef_iter_init(&it, buf, len);
	CHECK_EQ(ntp_ef_next(&it, &ef), 1);
	CHECK_EQ(ef.type, NTP_EF_UNIQUE_ID);
	CHECK_EQ(ef.len, 36);
	CHECK_EQ(ef.offset, 48);
	CHECK(ef.body == buf + 52 && ef.body[0] == 0xaa);
	CHECK_EQ(ntp_ef_next(&it, &ef), 1);
	CHECK_EQ(ef.type, 0x2005);
	CHECK_EQ(ef.offset, 84);
	CHECK_EQ(ntp_ef_next(&it, &ef), 1);
	CHECK_EQ(ef.type, NTP_EF_NTS_AUTHENTICATOR);
	CHECK_EQ(ef.len, 40);
	CHECK_EQ(ntp_ef_next(&it, &ef), 0);
	CHECK_EQ(ntp_ef_next(&it, &ef), 0);

	/* No fields at all, and a packet shorter than a header. */
	ntp_ef_iter_init(&it, buf, NTP_HEADER_LEN);
	CHECK_EQ(ntp_ef_next(&it, &ef), 0);
	ntp_ef_iter_init(&it, buf, 20);
	CHECK_EQ(ntp_ef_next(&it, &ef), 0);
}

static int ef_result(const uint8_t *tail, size_t tail_len, int *fields)
{
	uint8_t buf[512];
	struct ntp_ef_iter it;
	struct ntp_ef ef;
	int r;

	ntp_ef_iter_init(&it, buf, pkt(buf, tail, tail_len));
	*fields = 0;
	while ((r = ntp_ef_next(&it, &ef)) == 1)
		(*fields)++;
	return r;
}

static void test_ef_bad(void)
{
	uint8_t tail[128] = {0};
	int n;

	ef_hdr(tail, 0x2005, 18); /* not a multiple of 4 */
	CHECK_EQ(ef_result(tail, 32, &n), -EINVAL);
	ef_hdr(tail, 0x2005, 12); /* shorter than 16 */
	CHECK_EQ(ef_result(tail, 32, &n), -EINVAL);
	ef_hdr(tail, 0x2005, 0);
	CHECK_EQ(ef_result(tail, 32, &n), -EINVAL);
	ef_hdr(tail, 0x2005, 40); /* runs past the end */
	CHECK_EQ(ef_result(tail, 36, &n), -EINVAL);
	ef_hdr(tail, 0x2005, 16); /* a good field, then 12 stray bytes */
	CHECK_EQ(ef_result(tail, 28, &n), -EINVAL);
	CHECK_EQ(n, 1);
	CHECK_EQ(ef_result(tail, 19, &n), -EINVAL); /* odd leftovers */
	CHECK_EQ(ef_result(tail, 3, &n), -EINVAL);
	ef_hdr(tail, 0x2005, 0xfffc); /* huge length */
	CHECK_EQ(ef_result(tail, 64, &n), -EINVAL);
}

static void test_ef_mac(void)
{
	uint8_t tail[128];
	int n;

	memset(tail, 0x5a, sizeof(tail));     /* MAC bytes look like nothing in particular */
	CHECK_EQ(ef_result(tail, 20, &n), 0); /* NTPv3-style MD5 MAC */
	CHECK_EQ(n, 0);
	CHECK_EQ(ef_result(tail, 24, &n), 0); /* SHA-1 MAC */
	CHECK_EQ(ef_result(tail, 28, &n), -EINVAL);
	ef_hdr(tail, 0x2005, 28);
	CHECK_EQ(ef_result(tail, 28 + 20, &n), 0); /* field, then a MAC */
	CHECK_EQ(n, 1);
	CHECK_EQ(ef_result(tail, 28 + 24, &n), 0);
	CHECK_EQ(n, 1);
	CHECK_EQ(ef_result(tail, 28 + 16, &n), -EINVAL);
}

static void test_ef_put(void)
{
	uint8_t buf[64], body[40];
	size_t pos = 0;

	memset(buf, 0xee, sizeof(buf));
	memset(body, 0x11, sizeof(body));
	CHECK_EQ(ntp_ef_put(buf, sizeof(buf), &pos, 0x0104, body, 5), 16);
	CHECK_EQ(pos, 16);
	CHECK(buf[0] == 0x01 && buf[1] == 0x04 && buf[2] == 0 && buf[3] == 16);
	CHECK(buf[8] == 0x11 && buf[9] == 0 && buf[15] == 0);
	CHECK_EQ(ntp_ef_put(buf, sizeof(buf), &pos, 0x0204, body, 30), 36);
	CHECK_EQ(pos, 52);
	CHECK(buf[16 + 34] == 0 && buf[16 + 35] == 0 && buf[16 + 33] == 0x11);
	CHECK_EQ(ntp_ef_put(buf, sizeof(buf), &pos, 0x0204, body, 1), -ENOSPC);
	CHECK_EQ(pos, 52);
	CHECK_EQ(buf[52], 0xee);
	pos = 48;
	CHECK_EQ(ntp_ef_put(buf, sizeof(buf), &pos, 0x0304, NULL, 0), 16);
	CHECK_EQ(pos, 64);
	pos = 100; /* past the end */
	CHECK_EQ(ntp_ef_put(buf, sizeof(buf), &pos, 0x0304, NULL, 0), -ENOSPC);
}

int main(void)
{
	test_from_timespec();
	test_to_timespec();
	test_roundtrip();
	test_short();
	test_ef_good();
	test_ef_bad();
	test_ef_mac();
	test_ef_put();
	return check_done("test_ntp");
}
