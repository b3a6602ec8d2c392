// SPDX-License-Identifier: MIT
/* Hex encoding and strict decoding (see hex.h). */
#include <errno.h>
#include <limits.h>

#include "hex.h"

static const char *digits(unsigned flags)
{
	return flags & HEX_UPPER ? "0123456789ABCDEF" : "0123456789abcdef";
}

int hex_digit_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int hex_encode(const uint8_t *p, size_t n, char *out, size_t cap, unsigned flags)
{
	const char *d = digits(flags);

	/* n <= INT_MAX / 2 keeps the returned length an int */
	if (n > INT_MAX / 2 || cap < 2 * n + 1)
		return -ENOSPC;
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[p[i] >> 4];
		out[2 * i + 1] = d[p[i] & 0xf];
	}
	out[2 * n] = '\0';
	return (int)(2 * n);
}

int hex_decode(const char *s, size_t n, uint8_t *out, size_t cap)
{
	if (n % 2)
		return -EINVAL;
	if (n / 2 > cap || n / 2 > INT_MAX)
		return -ENOSPC;
	for (size_t i = 0; i < n; i += 2) {
		int hi = hex_digit_value((unsigned char)s[i]);
		int lo = hex_digit_value((unsigned char)s[i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	return (int)(n / 2);
}

int hex_fprint(FILE *f, const uint8_t *p, size_t n, unsigned flags)
{
	const char *d = digits(flags);

	for (size_t i = 0; i < n; i++)
		if (putc(d[p[i] >> 4], f) == EOF || putc(d[p[i] & 0xf], f) == EOF)
			return -EIO;
	return 0;
}
