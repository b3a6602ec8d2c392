// SPDX-License-Identifier: MIT
/* Hex encoding and strict decoding: known vectors in both cases, round trips of random bytes,
 * and every way a decode or an encode must refuse. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "hex.h"

#define ROUNDS 2000

static void test_known(void)
{
	const uint8_t bytes[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xcd, 0xef, 0xff};
	uint8_t back[sizeof(bytes)];
	char out[2 * sizeof(bytes) + 1];

	CHECK_EQ(hex_encode(bytes, sizeof(bytes), out, sizeof(out), 0), 16);
	CHECK(strcmp(out, "00017f80abcdefff") == 0, "lower: %s", out);
	CHECK_EQ(hex_encode(bytes, sizeof(bytes), out, sizeof(out), HEX_UPPER), 16);
	CHECK(strcmp(out, "00017F80ABCDEFFF") == 0, "upper: %s", out);
	CHECK_EQ(hex_decode("00017f80ABcdEFff", 16, back, sizeof(back)), (int)sizeof(bytes));
	CHECK_MEM(back, bytes, sizeof(bytes));
	CHECK_EQ(hex_encode(bytes, 0, out, 1, 0), 0);
	CHECK_EQ(out[0], '\0');
	CHECK_EQ(hex_decode("", 0, back, 0), 0);
}

static void test_digit_value(void)
{
	int hex = 0;

	for (int c = 0; c < 256; c++) {
		int v = hex_digit_value(c);

		hex += v >= 0;
		CHECK(v >= -1 && v < 16, "char %d gives %d", c, v);
	}
	CHECK_EQ(hex, 22);
	CHECK_EQ(hex_digit_value('a'), 10);
	CHECK_EQ(hex_digit_value('F'), 15);
	CHECK_EQ(hex_digit_value('g'), -1);
	CHECK_EQ(hex_digit_value(' '), -1);
}

static void test_decode_rejects(void)
{
	static const char *const bad[] = {"0",  "abc", "0g", "g0",   " 0",
	                                  "0 ", "+1",  "0x", "12\n", "1-"};
	static const char high[] = {(char)0xff, '0'}; /* a byte past ASCII */
	static const char nul[] = {'1', '2', '\0', '3'};
	uint8_t out[8], keep[8];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_EQ(hex_decode(bad[i], strlen(bad[i]), out, sizeof(out)), -EINVAL);
	CHECK_EQ(hex_decode(high, sizeof(high), out, sizeof(out)), -EINVAL);
	/* the length given is what counts: digits after it are not read, a NUL in it is bad */
	CHECK_EQ(hex_decode("12zz", 2, out, sizeof(out)), 1);
	CHECK_EQ(out[0], 0x12);
	CHECK_EQ(hex_decode(nul, sizeof(nul), out, sizeof(out)), -EINVAL);
	/* too long for the buffer: refused before anything is written */
	memset(out, 0xaa, sizeof(out));
	memcpy(keep, out, sizeof(out));
	CHECK_EQ(hex_decode("000102030405060708", 18, out, sizeof(out)), -ENOSPC);
	CHECK_MEM(out, keep, sizeof(out));
	CHECK_EQ(hex_decode("0001020304050607", 16, out, sizeof(out)), 8);
}

static void test_encode_space(void)
{
	const uint8_t bytes[4] = {1, 2, 3, 4};
	char out[9];

	memset(out, 'x', sizeof(out));
	CHECK_EQ(hex_encode(bytes, 4, out, 8, 0), -ENOSPC); /* no room for the NUL */
	CHECK_EQ(out[0], 'x');
	CHECK_EQ(hex_encode(bytes, 4, out, 9, 0), 8);
	CHECK(strcmp(out, "01020304") == 0);
	CHECK_EQ(hex_encode(bytes, 1, out, 0, 0), -ENOSPC);
}

static void test_round_trip(unsigned seed)
{
	uint8_t in[64], back[64];
	char text[2 * sizeof(in) + 1];

	srand(seed);
	for (int r = 0; r < ROUNDS; r++) {
		size_t n = (size_t)rand() % (sizeof(in) + 1);
		unsigned flags = r & 1 ? HEX_UPPER : 0;

		for (size_t i = 0; i < n; i++)
			in[i] = (uint8_t)rand();
		CHECK_EQ(hex_encode(in, n, text, sizeof(text), flags), (int)(2 * n));
		CHECK_EQ(strlen(text), 2 * n);
		CHECK_EQ(hex_decode(text, 2 * n, back, sizeof(back)), (int)n);
		CHECK_MEM(back, in, n);
	}
}

static void test_fprint(void)
{
	const uint8_t bytes[] = {0xde, 0xad, 0xbe, 0xef};
	char buf[32] = {0};
	FILE *f = fmemopen(buf, sizeof(buf), "w");

	CHECK(f != NULL);
	if (!f)
		return;
	CHECK_EQ(hex_fprint(f, bytes, sizeof(bytes), 0), 0);
	fputc(' ', f);
	CHECK_EQ(hex_fprint(f, bytes, sizeof(bytes), HEX_UPPER), 0);
	fclose(f);
	CHECK(strcmp(buf, "deadbeef DEADBEEF") == 0, "printed %s", buf);
}

int main(void)
{
	unsigned seed = check_seed("test_hex");

	test_known();
	test_digit_value();
	test_decode_rejects();
	test_encode_space();
	test_round_trip(seed);
	test_fprint();
	return check_done("test_hex");
}
