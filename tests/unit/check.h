/* SPDX-License-Identifier: MIT */
/*
 * A minimal check harness for tock's unit tests. Each test program counts its checks and
 * exits 0 only if every check passed and at least one ran (a test that checks nothing is a
 * defect, not a pass), 1 on any failure, 77 (skip) via check_skip().
 */
#ifndef TOCK_CHECK_H
#define TOCK_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static unsigned check_run, check_failed;

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		check_run++;                                                                       \
		if (!(cond)) {                                                                     \
			check_failed++;                                                            \
			fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);            \
			fprintf(stderr, " " __VA_ARGS__);                                          \
			fputc('\n', stderr);                                                       \
		}                                                                                  \
	} while (0)

#define CHECK_EQ(a, b)     CHECK((a) == (b), "%lld != %lld", (long long)(a), (long long)(b))
#define CHECK_MEM(a, b, n) CHECK(memcmp((a), (b), (n)) == 0, "memory differs")

/* Returns the process exit code; call as `return check_done("name");` from main. */
static inline int check_done(const char *name)
{
	if (check_run == 0) {
		fprintf(stderr, "%s: no checks ran\n", name);
		return 1;
	}
	printf("%s: %u checks, %u failed\n", name, check_run, check_failed);
	return check_failed ? 1 : 0;
}

static inline int check_skip(const char *name, const char *why)
{
	printf("%s: SKIP: %s\n", name, why);
	return 77;
}

/* Seed for randomized tests: TOCK_SEED from the environment, else time; always printed. */
static inline unsigned check_seed(const char *name)
{
	const char *s = getenv("TOCK_SEED");
	unsigned seed = s ? (unsigned)strtoul(s, NULL, 0) : (unsigned)time(NULL);
	printf("%s: seed %u (set TOCK_SEED=%u to repeat)\n", name, seed, seed);
	return seed;
}

#endif
