/* SPDX-License-Identifier: MIT */
/*
 * Hex encoding of keys and cookies: chrony's key file (upper-case, as chronyd writes it),
 * tockctl's and the test helpers' output (lower-case), and their command-line arguments.
 * Decoding is strict: every character must be a hex digit (either case) and the count even,
 * so a truncated or mistyped key is an error rather than a shorter or different key.
 */
#ifndef TOCK_HEX_H
#define TOCK_HEX_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define HEX_UPPER 1u /* hex_encode/hex_fprint flag: digits A-F instead of a-f */

/* The value of hex digit c (either case), or -1 if c is not one. */
int hex_digit_value(int c);

/*
 * Writes the 2*n hex digits of p[0..n) and a terminating NUL to out (capacity cap, at least
 * 2*n + 1). flags: 0 or HEX_UPPER. Returns 2*n, or -ENOSPC (out unchanged past cap).
 */
int hex_encode(const uint8_t *p, size_t n, char *out, size_t cap, unsigned flags);

/*
 * Decodes the n characters at s (not necessarily NUL-terminated) into n/2 bytes at out
 * (capacity cap). Returns n/2, -EINVAL if n is odd or any character is not a hex digit,
 * -ENOSPC if n/2 exceeds cap. On error out may hold a partial result.
 */
int hex_decode(const char *s, size_t n, uint8_t *out, size_t cap);

/* Prints the hex digits of p[0..n) to f (flags as hex_encode). 0, or -EIO on a write error. */
int hex_fprint(FILE *f, const uint8_t *p, size_t n, unsigned flags);

#endif
