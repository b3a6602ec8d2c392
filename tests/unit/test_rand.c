// SPDX-License-Identifier: MIT
/* The per-worker random pool: fresh bytes across refills, bounds on a take. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "rand.h"

#define TAKES 1000 /* 16-byte takes: about four refills */

static int all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

static void test_distinct(void)
{
	static uint8_t nonce[TAKES][16];
	static struct rand_pool pool;
	unsigned dup = 0;

	rand_pool_init(&pool);
	for (int i = 0; i < TAKES; i++)
		CHECK_EQ(rand_pool_take(&pool, nonce[i], 16), 0);
	for (int i = 0; i < TAKES; i++)
		for (int j = i + 1; j < TAKES; j++)
			dup += memcmp(nonce[i], nonce[j], 16) == 0;
	CHECK_EQ(dup, 0);
}

/* Takes that do not fit in what is left must come from a refill, not old or zeroed bytes. */
static void test_refill_boundary(void)
{
	static struct rand_pool pool;
	static uint8_t first[RAND_POOL_SIZE], second[RAND_POOL_SIZE];
	uint8_t a[100], b[100];

	rand_pool_init(&pool);
	CHECK_EQ(rand_pool_take(&pool, first, RAND_POOL_SIZE), 0);
	CHECK_EQ(rand_pool_take(&pool, second, RAND_POOL_SIZE), 0);
	CHECK(memcmp(first, second, RAND_POOL_SIZE) != 0);
	CHECK_EQ(rand_pool_take(&pool, first, RAND_POOL_SIZE - 50), 0);
	CHECK_EQ(rand_pool_take(&pool, a, sizeof(a)), 0); /* only 50 left: refills */
	CHECK_EQ(rand_pool_take(&pool, b, sizeof(b)), 0);
	CHECK(!all_zero(a, sizeof(a)) && !all_zero(b, sizeof(b)));
	CHECK(memcmp(a, b, sizeof(a)) != 0);
	CHECK(memcmp(a, second + RAND_POOL_SIZE - 50, 50) != 0);
	CHECK_EQ(pool.pos, 200);
}

static void test_bounds(void)
{
	static struct rand_pool pool;
	uint8_t x[1];

	rand_pool_init(&pool);
	CHECK_EQ(rand_pool_take(&pool, NULL, 0), 0);
	CHECK_EQ(rand_pool_take(&pool, x, RAND_POOL_SIZE + 1), -EINVAL);
	CHECK_EQ(rand_pool_take(&pool, x, 1), 0);
}

int main(void)
{
	test_distinct();
	test_refill_boundary();
	test_bounds();
	return check_done("test_rand");
}
