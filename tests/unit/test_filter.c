// SPDX-License-Identifier: MIT
/*
 * The userspace filter: every drop reason in the XDP program's order, deny/allow longest-
 * prefix match for both families, the token bucket over simulated time (refill, burst,
 * aggregation by prefix), KoD content, KoD and leak sampling rates (seeded: TOCK_SEED
 * repeats a run), slot replacement in a full set, the counters, and 4 threads hammering the
 * same prefixes without passing more than rate × time + burst.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "conf.h"
#include "filter.h"
#include "ntp.h"

#define MS 1000000ULL
#define S  1000000000ULL
#define T0 (5 * S) /* simulated CLOCK_MONOTONIC start */

static struct sockaddr_storage sa(const char *ip)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(ip, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		if (inet_pton(AF_INET6, ip, &s6->sin6_addr) != 1)
			abort();
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		if (inet_pton(AF_INET, ip, &s4->sin_addr) != 1)
			abort();
	}
	return ss;
}

/* A request of len bytes (header fields set, the rest zero): version vn, mode m. */
static const uint8_t *req(unsigned vn, unsigned m, size_t len)
{
	static uint8_t buf[256];

	memset(buf, 0, sizeof(buf));
	buf[0] = (uint8_t)(vn << 3 | m);
	buf[2] = 6;
	for (int i = 0; i < 8; i++)
		buf[40 + i] = (uint8_t)(0xa0 + i);
	return len <= sizeof(buf) ? buf : NULL;
}

static struct tock_filter *make(const char *text, size_t slots)
{
	static struct tock_conf c;
	char err[256];

	if (conf_load_string(&c, text, "test", err, sizeof(err))) {
		fprintf(stderr, "config: %s\n", err);
		abort();
	}
	return filter_new_sized(&c, 2, slots);
}

static enum filter_verdict check_at(struct tock_filter *f, const char *ip, uint64_t now,
                                    enum filter_reason *r)
{
	struct sockaddr_storage ss = sa(ip);

	return filter_check(f, &ss, req(4, 3, 48), 48, now, r);
}

/* Sends n requests at `now`; returns how many passed. */
static int passes(struct tock_filter *f, const char *ip, uint64_t now, int n)
{
	int ok = 0;

	for (int i = 0; i < n; i++)
		ok += check_at(f, ip, now, NULL) == FILTER_PASS;
	return ok;
}

static void expect(struct tock_filter *f, const uint8_t *pkt, size_t len, enum filter_verdict v,
                   enum filter_reason r, const char *what)
{
	struct sockaddr_storage ss = sa("198.18.0.1");
	enum filter_reason got = FILTER_R_COUNT;
	enum filter_verdict gv = filter_check(f, &ss, pkt, len, T0, &got);

	CHECK(gv == v && got == r, "%s: verdict %d reason %d, want %d/%d", what, gv, got, v, r);
}

static void test_classify(void)
{
	struct tock_filter *f = make("", 0);

	CHECK(f != NULL);
	expect(f, req(4, 3, 0), 0, FILTER_DROP, FILTER_R_SHORT, "empty");
	expect(f, req(4, 3, 47), 47, FILTER_DROP, FILTER_R_SHORT, "47 bytes");
	expect(f, req(0, 3, 48), 48, FILTER_DROP, FILTER_R_VERSION, "v0");
	expect(f, req(5, 3, 48), 48, FILTER_DROP, FILTER_R_VERSION, "v5");
	expect(f, req(7, 3, 48), 48, FILTER_DROP, FILTER_R_VERSION, "v7");
	expect(f, req(0, 6, 12), 12, FILTER_DROP, FILTER_R_VERSION, "version before mode");
	expect(f, req(2, 6, 12), 12, FILTER_DROP, FILTER_R_MODE_CONTROL, "mode 6, short");
	expect(f, req(2, 6, 48), 48, FILTER_DROP, FILTER_R_MODE_CONTROL, "mode 6");
	expect(f, req(2, 7, 8), 8, FILTER_DROP, FILTER_R_MODE_PRIVATE, "mode 7 (monlist)");
	expect(f, req(4, 4, 48), 48, FILTER_DROP, FILTER_R_REFLECTION, "mode 4");
	expect(f, req(4, 5, 48), 48, FILTER_DROP, FILTER_R_REFLECTION, "mode 5");
	for (unsigned m = 0; m < 3; m++)
		expect(f, req(4, m, 48), 48, FILTER_DROP, FILTER_R_MODE_OTHER, "mode 0/1/2");
	for (unsigned v = 1; v <= 4; v++)
		expect(f, req(v, 3, 48), 48, FILTER_PASS, FILTER_R_NONE, "v1-v4 client");
	expect(f, req(4, 3, 200), 200, FILTER_PASS, FILTER_R_NONE, "NTS-sized");
	filter_set_allowed_modes(f, 1U << 1);
	expect(f, req(4, 1, 48), 48, FILTER_PASS, FILTER_R_NONE, "mode 1 enabled");
	expect(f, req(4, 2, 48), 48, FILTER_DROP, FILTER_R_MODE_OTHER, "mode 2 still off");
	expect(f, req(4, 1, 47), 47, FILTER_DROP, FILTER_R_SHORT, "enabled mode 1, short");
	/* Neither family nor NULL: classified only. */
	{
		struct sockaddr_storage un = {.ss_family = AF_UNIX};
		enum filter_reason r;

		CHECK_EQ(filter_check(f, &un, req(4, 3, 48), 48, T0, &r), FILTER_PASS);
		CHECK_EQ(filter_check(f, NULL, req(4, 6, 48), 48, T0, &r), FILTER_DROP);
		CHECK_EQ(r, FILTER_R_MODE_CONTROL);
		CHECK_EQ(filter_check(f, NULL, NULL, 0, T0, NULL), FILTER_DROP);
	}
	filter_free(f);
}

static void lpm(struct tock_filter *f, enum filter_list l, const char *ip, int want)
{
	struct sockaddr_storage ss = sa(ip);
	int got = filter_list_match(f, l, &ss);

	CHECK(got == want, "%s: matched /%d, want %d", ip, got, want);
}

static void test_deny_lpm(void)
{
	struct tock_filter *f = make("deny 198.18.0.0/15\ndeny 198.19.5.0/24\ndeny 198.18.7.7/32\n"
	                             "deny 198.19.128.0/17\n"
	                             "deny 2001:2::/48\ndeny 2001:2:0:1::/64\ndeny 2001:2::5/128\n"
	                             "deny 2001:2:0:ff80::/57\n",
	                             0);
	enum filter_reason r;

	CHECK(f != NULL);
	lpm(f, FILTER_LIST_DENY, "198.18.7.7", 32);
	lpm(f, FILTER_LIST_DENY, "198.18.7.8", 15);
	lpm(f, FILTER_LIST_DENY, "198.19.5.9", 24);
	lpm(f, FILTER_LIST_DENY, "198.19.6.1", 15);
	lpm(f, FILTER_LIST_DENY, "198.19.128.1", 17);
	lpm(f, FILTER_LIST_DENY, "198.19.127.255", 15);
	lpm(f, FILTER_LIST_DENY, "198.20.0.1", -1);
	lpm(f, FILTER_LIST_DENY, "198.17.255.255", -1);
	lpm(f, FILTER_LIST_DENY, "::ffff:198.18.7.7", 32); /* v4-mapped is IPv4 */
	lpm(f, FILTER_LIST_DENY, "2001:2::5", 128);
	lpm(f, FILTER_LIST_DENY, "2001:2::6", 48);
	lpm(f, FILTER_LIST_DENY, "2001:2:0:1::77", 64);
	lpm(f, FILTER_LIST_DENY, "2001:2:0:ffff::1", 57);
	lpm(f, FILTER_LIST_DENY, "2001:2:0:ff7f::1", 48);
	lpm(f, FILTER_LIST_DENY, "2001:2:1::1", -1);
	lpm(f, FILTER_LIST_DENY, "2001:3::1", -1);
	lpm(f, FILTER_LIST_DENY, "c612:0700::", -1); /* IPv6 with IPv4's leading bits */
	lpm(f, FILTER_LIST_ALLOW, "198.18.7.7", -1);
	CHECK_EQ(check_at(f, "198.18.200.1", T0, &r), FILTER_DROP);
	CHECK_EQ(r, FILTER_R_DENIED);
	CHECK_EQ(check_at(f, "2001:2::abcd", T0, &r), FILTER_DROP);
	CHECK_EQ(r, FILTER_R_DENIED);
	CHECK_EQ(check_at(f, "198.20.0.1", T0, &r), FILTER_PASS);
	CHECK_EQ(check_at(f, "2001:db8::1", T0, &r), FILTER_PASS);
	/* Classification comes before the deny list, as in XDP. */
	{
		struct sockaddr_storage ss = sa("198.18.0.1");

		CHECK_EQ(filter_check(f, &ss, req(4, 6, 48), 48, T0, &r), FILTER_DROP);
		CHECK_EQ(r, FILTER_R_MODE_CONTROL);
	}
	filter_free(f);

	f = make("deny 0.0.0.0/0\n", 0);
	CHECK(f != NULL);
	lpm(f, FILTER_LIST_DENY, "203.0.113.1", 0);
	lpm(f, FILTER_LIST_DENY, "2001:2::1", -1);
	filter_free(f);
}

static void test_allow(void)
{
	struct tock_filter *f = make("ratelimit rate 1 burst 1\nallow 198.18.1.0/24\n"
	                             "allow 2001:2:0:1::/64\ndeny 198.18.1.66/32\n",
	                             1024);
	enum filter_reason r;

	CHECK(f != NULL);
	CHECK_EQ(passes(f, "198.18.1.5", T0, 1000), 1000);
	CHECK_EQ(check_at(f, "198.18.1.5", T0, &r), FILTER_PASS);
	CHECK_EQ(r, FILTER_R_ALLOWLISTED);
	CHECK_EQ(passes(f, "2001:2:0:1::9", T0, 1000), 1000);
	CHECK_EQ(passes(f, "198.18.2.5", T0, 1000), 1); /* not listed: burst 1 */
	CHECK_EQ(passes(f, "2001:2:0:2::9", T0, 1000), 1);
	CHECK_EQ(check_at(f, "198.18.1.66", T0, &r), FILTER_DROP); /* deny wins */
	CHECK_EQ(r, FILTER_R_DENIED);
	lpm(f, FILTER_LIST_ALLOW, "198.18.1.200", 24);
	filter_free(f);

	/* Limiter off: the allow list has nothing to bypass, everything passes. */
	f = make("allow 198.18.1.0/24\n", 0);
	CHECK(f != NULL);
	CHECK_EQ(check_at(f, "198.18.1.5", T0, &r), FILTER_PASS);
	CHECK_EQ(r, FILTER_R_NONE);
	CHECK_EQ(passes(f, "198.18.2.5", T0, 1000), 1000);
	CHECK_EQ(filter_top_talkers(f, NULL, 10), 0);
	filter_free(f);
}

static struct tock_filter *quiet(const char *text, size_t slots)
{
	static struct tock_conf c;
	char err[256];

	if (conf_load_string(&c, text, "test", err, sizeof(err)))
		abort();
	c.ratelimit.kod_every = 0;
	c.ratelimit.leak_every = 0;
	return filter_new_sized(&c, 1, slots);
}

static void test_refill(void)
{
	struct tock_filter *f = quiet("ratelimit rate 10 burst 5\n", 1024);
	const char *ip = "198.18.9.9";
	enum filter_reason r;

	CHECK(f != NULL);
	CHECK_EQ(passes(f, ip, T0, 5), 5); /* a new source starts with a full bucket */
	CHECK_EQ(check_at(f, ip, T0, &r), FILTER_DROP);
	CHECK_EQ(r, FILTER_R_RATELIMIT);
	CHECK_EQ(passes(f, ip, T0 + 99 * MS, 3), 0);
	CHECK_EQ(passes(f, ip, T0 + 100 * MS, 3), 1); /* 1 token per 100 ms */
	CHECK_EQ(passes(f, ip, T0 + 250 * MS, 3), 1); /* 1.5 tokens: one, half left */
	CHECK_EQ(passes(f, ip, T0 + 300 * MS, 3), 1); /* the half completes */
	CHECK_EQ(passes(f, ip, T0 + 299 * MS, 3), 0); /* a thread behind: no refill */
	CHECK_EQ(passes(f, ip, T0 + 10 * S, 100), 5); /* refilled to the burst, not more */
	CHECK_EQ(passes(f, ip, T0 + 30ULL * 86400 * S, 100), 5); /* after a month idle */
	filter_free(f);

	/* Steady load at 10x the rate for 20 s: burst + rate * time, no more, no less. */
	f = quiet("ratelimit rate 50 burst 20\n", 1024);
	CHECK(f != NULL);
	int ok = 0;

	for (uint64_t t = 0; t <= 20 * S; t += 2 * MS)
		ok += passes(f, "2001:2::1", T0 + t, 1);
	CHECK(ok >= 20 + 50 * 20 - 1 && ok <= 20 + 50 * 20 + 1, "steady: %d passed", ok);
	filter_free(f);

	/* High rate, small burst: no loss of precision (1 µs ticks). */
	f = quiet("ratelimit rate 100000 burst 4\n", 1024);
	CHECK(f != NULL);
	ok = 0;
	for (uint64_t t = 0; t < 100 * MS; t += 10000) /* a token per 10 µs step */
		ok += passes(f, "198.18.0.7", T0 + t, 3);
	CHECK(ok >= 4 + 9999 - 1 && ok <= 4 + 9999 + 1, "fast: %d passed", ok);
	filter_free(f);
}

static void test_aggregation(void)
{
	struct tock_filter *f = quiet("ratelimit rate 1 burst 2 prefix4 24 prefix6 56\n", 1024);
	struct filter_talker t[8];
	size_t n;

	CHECK(f != NULL);
	CHECK_EQ(passes(f, "198.18.3.1", T0, 1) + passes(f, "198.18.3.200", T0, 5), 2);
	CHECK_EQ(passes(f, "198.18.4.1", T0, 5), 2);
	CHECK_EQ(passes(f, "2001:2:0:ab00::1", T0, 1) + passes(f, "2001:2:0:abff::2", T0, 5), 2);
	CHECK_EQ(passes(f, "2001:2:0:ac00::1", T0, 5), 2);
	n = filter_top_talkers(f, t, 8);
	CHECK_EQ(n, 4);
	if (n == 4) {
		char buf[64];

		/* hits 6 and 6 first, then 5 and 5 */
		CHECK_EQ(t[0].hits, 6);
		CHECK_EQ(t[1].hits, 6);
		CHECK_EQ(t[3].hits, 5);
		CHECK(t[0].tokens == 0.0, "%f", t[0].tokens);
		for (int i = 0; i < 2; i++) {
			inet_ntop(t[i].family, t[i].addr, buf, sizeof(buf));
			if (t[i].family == AF_INET) {
				CHECK(!strcmp(buf, "198.18.3.0"), "%s", buf);
				CHECK_EQ(t[i].prefixlen, 24);
			} else {
				CHECK(!strcmp(buf, "2001:2:0:ab00::"), "%s", buf);
				CHECK_EQ(t[i].prefixlen, 56);
			}
		}
	}
	CHECK_EQ(filter_top_talkers(f, t, 1), 1);
	CHECK_EQ(t[0].hits, 6);
	filter_free(f);
}

static int talker_has(const struct filter_talker *t, size_t n, const char *ip)
{
	struct sockaddr_storage ss = sa(ip);
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)&ss;

	for (size_t i = 0; i < n; i++)
		if (t[i].family == AF_INET && !memcmp(t[i].addr, &s4->sin_addr, 4))
			return 1;
	return 0;
}

static void test_replacement(void)
{
	struct tock_filter *f = quiet("ratelimit rate 1 burst 1\n", 4); /* one set of 4 */
	struct filter_talker t[8];
	size_t n;

	CHECK(f != NULL);
	CHECK_EQ(passes(f, "198.18.0.1", T0, 2), 1); /* A: empty now */
	CHECK_EQ(passes(f, "198.18.0.2", T0 + 1 * MS, 1), 1);
	CHECK_EQ(passes(f, "198.18.0.3", T0 + 2 * MS, 1), 1);
	CHECK_EQ(passes(f, "198.18.0.4", T0 + 3 * MS, 1), 1);
	CHECK_EQ(passes(f, "198.18.0.1", T0 + 4 * MS, 1), 0); /* A still limited */
	CHECK_EQ(passes(f, "198.18.0.5", T0 + 5 * MS, 1), 1); /* E evicts B, idle longest */
	n = filter_top_talkers(f, t, 8);
	CHECK_EQ(n, 4);
	CHECK(!talker_has(t, n, "198.18.0.2") && talker_has(t, n, "198.18.0.5") &&
	      talker_has(t, n, "198.18.0.1"));
	CHECK_EQ(passes(f, "198.18.0.2", T0 + 6 * MS, 1), 1); /* B back: fresh, evicts C */
	n = filter_top_talkers(f, t, 8);
	CHECK(!talker_has(t, n, "198.18.0.3") && talker_has(t, n, "198.18.0.2"));
	CHECK_EQ(passes(f, "198.18.0.1", T0 + 7 * MS, 1), 0); /* A kept its state */
	filter_free(f);
}

static void test_kod_content(void)
{
	uint8_t resp[64], big[200];
	struct timespec now = {.tv_sec = 1700000000, .tv_nsec = 500000000};
	const uint8_t *r = req(3, 3, 48);
	uint8_t tx[8];

	memset(resp, 0x55, sizeof(resp));
	CHECK_EQ(filter_kod_at(r, 48, resp, sizeof(resp), &now), 48);
	CHECK_EQ(resp[0], 0xc0 | 3 << 3 | 4); /* leap 3, version echoed, mode 4 */
	CHECK_EQ(resp[1], 0);                 /* stratum 0 */
	CHECK_EQ(resp[2], 6);                 /* poll echoed */
	CHECK_EQ(resp[3], 0);
	for (int i = 4; i < 12; i++)
		CHECK_EQ(resp[i], 0);
	CHECK_MEM(resp + 12, "RATE", 4);
	for (int i = 16; i < 24; i++)
		CHECK_EQ(resp[i], 0);
	CHECK_MEM(resp + 24, r + 40, 8); /* origin = the request's transmit */
	uint64_t ts = ntp_ts_from_timespec(&now);

	for (int i = 0; i < 8; i++)
		tx[i] = (uint8_t)(ts >> (56 - 8 * i));
	CHECK_MEM(resp + 32, tx, 8);
	CHECK_MEM(resp + 40, tx, 8);
	CHECK_EQ(resp[48], 0x55); /* nothing beyond 48 bytes */
	CHECK_EQ(filter_kod_at(r, 47, resp, sizeof(resp), &now), 0);
	CHECK_EQ(filter_kod_at(r, 48, resp, 47, &now), 0);
	memset(big, 0, sizeof(big));
	big[0] = 4 << 3 | 3;
	CHECK_EQ(filter_kod(big, sizeof(big), resp, sizeof(resp)), 48); /* NTS-sized request */
	CHECK_EQ(resp[0], 0xe4);
	CHECK(memcmp(resp + 40, "\0\0\0\0\0\0\0\0", 8) != 0, "transmit set");
}

/* Over-limit requests from one source: counts of each verdict. */
static void sample(struct tock_filter *f, int n, int *drop, int *kod, int *leak)
{
	*drop = *kod = *leak = 0;
	for (int i = 0; i < n; i++) {
		enum filter_reason r;
		enum filter_verdict v = check_at(f, "198.18.50.1", T0, &r);

		*drop += v == FILTER_DROP;
		*kod += v == FILTER_KOD;
		*leak += v == FILTER_LEAK;
		CHECK(v == FILTER_PASS || r == FILTER_R_RATELIMIT);
	}
}

/* |got - n p| within 5 standard deviations of a binomial. */
static void near(int got, int n, double p, const char *what)
{
	double sd = sqrt(n * p * (1 - p));

	CHECK(fabs(got - n * p) <= 5 * sd + 1, "%s: %d of %d, expected %.0f", what, got, n, n * p);
}

static void test_sampling(unsigned seed)
{
	struct tock_filter *f = make("ratelimit rate 1 burst 1 kod 1/4 leak 1/100\n", 1024);
	const int n = 40000;
	int drop, kod, leak;

	CHECK(f != NULL);
	filter_seed_thread(seed);
	CHECK_EQ(passes(f, "198.18.50.1", T0, 1), 1);
	sample(f, n, &drop, &kod, &leak);
	CHECK_EQ(drop + kod + leak, n);
	near(leak, n, 0.01, "leak 1/100");
	near(kod, n, 0.99 * 0.25, "kod 1/4 (after the leak draw)");
	filter_free(f);

	f = make("ratelimit rate 1 burst 1 kod 1/2 leak 1/10\n", 1024);
	CHECK(f != NULL);
	CHECK_EQ(passes(f, "198.18.50.1", T0, 1), 1);
	sample(f, n, &drop, &kod, &leak);
	near(leak, n, 0.1, "leak 1/10");
	near(kod, n, 0.9 * 0.5, "kod 1/2");
	filter_free(f);

	f = quiet("ratelimit rate 1 burst 1\n", 1024); /* kod and leak off */
	CHECK(f != NULL);
	CHECK_EQ(passes(f, "198.18.50.1", T0, 1), 1);
	sample(f, 1000, &drop, &kod, &leak);
	CHECK_EQ(drop, 1000);
	filter_free(f);
}

static void test_counters(void)
{
	struct tock_worker_stats ws;

	memset(&ws, 0, sizeof(ws));
	filter_count(&ws, FILTER_DROP, FILTER_R_SHORT);
	filter_count(&ws, FILTER_DROP, FILTER_R_MODE_CONTROL);
	filter_count(&ws, FILTER_DROP, FILTER_R_MODE_PRIVATE);
	filter_count(&ws, FILTER_DROP, FILTER_R_REFLECTION);
	filter_count(&ws, FILTER_DROP, FILTER_R_MODE_OTHER);
	filter_count(&ws, FILTER_DROP, FILTER_R_DENIED);
	filter_count(&ws, FILTER_DROP, FILTER_R_VERSION);
	filter_count(&ws, FILTER_DROP, FILTER_R_RATELIMIT);
	filter_count(&ws, FILTER_KOD, FILTER_R_RATELIMIT);
	filter_count(&ws, FILTER_LEAK, FILTER_R_RATELIMIT);
	filter_count(&ws, FILTER_PASS, FILTER_R_ALLOWLISTED);
	filter_count(&ws, FILTER_PASS, FILTER_R_NONE);
	CHECK_EQ(ws.c[STAT_RX], 9); /* tock_serve() counts the leaked and passed ones */
	CHECK_EQ(ws.c[STAT_DROP_FILTERED], 7);
	CHECK_EQ(ws.c[STAT_DROP_SHORT], 1);
	CHECK_EQ(ws.c[STAT_DROP_VERSION], 1);
	CHECK_EQ(ws.c[STAT_DROP_MODE], 1);
	CHECK_EQ(ws.c[STAT_DROP_MODE_CONTROL], 1);
	CHECK_EQ(ws.c[STAT_DROP_MODE_PRIVATE], 1);
	CHECK_EQ(ws.c[STAT_DROP_REFLECTION], 1);
	CHECK_EQ(ws.c[STAT_DROP_DENIED], 1);
	CHECK_EQ(ws.c[STAT_DROP_RATELIMIT], 1);
	CHECK_EQ(ws.c[STAT_KOD_SENT], 1);
	CHECK_EQ(ws.c[STAT_RATELIMIT_LEAKED], 1);
	CHECK_EQ(ws.c[STAT_ALLOWLISTED], 1);
	CHECK_EQ(filter_reason_stat(FILTER_R_NONE), STAT_COUNT);
	CHECK_EQ(filter_reason_stat((enum filter_reason)99), STAT_COUNT);
	CHECK(!strcmp(tock_stat_names[STAT_KOD_SENT], "kod_sent"));
}

static void test_validation(void)
{
	struct tock_conf c;

	conf_defaults(&c);
	errno = 0;
	CHECK(filter_new(&c, 0) == NULL && errno == EINVAL);
	CHECK(filter_new(NULL, 1) == NULL && errno == EINVAL);
	c.ratelimit.enabled = 1;
	c.ratelimit.rate = 0;
	c.ratelimit.burst = 5;
	CHECK(filter_new(&c, 1) == NULL && errno == EINVAL);
	c.ratelimit.rate = 10;
	c.ratelimit.burst = 2000000;
	CHECK(filter_new(&c, 1) == NULL && errno == EINVAL);
	c.ratelimit.burst = 1000000; /* the largest: 1 ms ticks */
	struct tock_filter *f = filter_new(&c, 1);

	CHECK(f != NULL);
	CHECK_EQ(passes(f, "198.18.0.1", T0, 10), 10);
	filter_free(f);
	c.ratelimit.burst = 5;
	CHECK(filter_new_sized(&c, 1, 6) == NULL && errno == EINVAL);
	CHECK(filter_new_sized(&c, 1, 2) == NULL && errno == EINVAL);
	c.n_deny = 1;
	c.deny[0] = (struct conf_prefix){.family = AF_INET, .len = 33};
	CHECK(filter_new(&c, 1) == NULL && errno == EINVAL);
	filter_free(NULL);
}

/* ---- 4 threads on the same prefixes ---------------------------------------------------- */

#define STRESS_THREADS  4
#define STRESS_ITERS    200000
#define STRESS_PREFIXES 8
#define STRESS_STEP_NS  5000 /* simulated time per iteration: 1 s in all */

struct stress {
	struct tock_filter *f;
	pthread_barrier_t *go;
	unsigned seed;
	int passed[STRESS_PREFIXES];
	int bad;
};

static void *stress_main(void *arg)
{
	struct stress *s = arg;
	struct sockaddr_storage src[STRESS_PREFIXES];
	uint8_t pkt[48] = {4 << 3 | 3}; /* own buffer: req()'s is not thread-safe */

	for (int p = 0; p < STRESS_PREFIXES; p++) {
		char ip[32];

		snprintf(ip, sizeof(ip), p % 2 ? "2001:2:0:%x::1" : "198.18.%d.1", p + 1);
		src[p] = sa(ip);
	}
	filter_seed_thread(s->seed);
	pthread_barrier_wait(s->go);
	for (int i = 0; i < STRESS_ITERS; i++) {
		int p = (i + (int)s->seed) % STRESS_PREFIXES;
		enum filter_reason r;
		enum filter_verdict v = filter_check(s->f, &src[p], pkt, sizeof(pkt),
		                                     T0 + (uint64_t)i * STRESS_STEP_NS, &r);

		s->passed[p] += v == FILTER_PASS;
		s->bad += v != FILTER_PASS && (v != FILTER_DROP || r != FILTER_R_RATELIMIT);
	}
	return NULL;
}

/* Runs the threads; returns the largest number passed for one prefix, smallest in *min. */
static int stress_run(struct tock_filter *f, unsigned seed, int *min, int *bad)
{
	pthread_t th[STRESS_THREADS];
	struct stress s[STRESS_THREADS];
	pthread_barrier_t go;
	int max = 0;

	pthread_barrier_init(&go, NULL, STRESS_THREADS);
	for (int i = 0; i < STRESS_THREADS; i++) {
		s[i] = (struct stress){.f = f, .go = &go, .seed = seed + (unsigned)i};
		pthread_create(&th[i], NULL, stress_main, &s[i]);
	}
	*bad = 0;
	for (int i = 0; i < STRESS_THREADS; i++) {
		pthread_join(th[i], NULL);
		*bad += s[i].bad;
	}
	pthread_barrier_destroy(&go);
	*min = 1 << 30;
	for (int p = 0; p < STRESS_PREFIXES; p++) {
		int sum = 0;

		for (int i = 0; i < STRESS_THREADS; i++)
			sum += s[i].passed[p];
		max = sum > max ? sum : max;
		*min = sum < *min ? sum : *min;
	}
	return max;
}

static void test_stress(unsigned seed)
{
	/* rate 1000/s over 1 s of simulated time + burst 50: at most 1050 per prefix, plus a
	 * token per racing thread when a slot is claimed. */
	const int limit = 1000 + 50, tolerance = STRESS_THREADS;
	struct tock_filter *f = quiet("ratelimit rate 1000 burst 50 prefix6 64\n", 65536);
	int max, min, bad;

	CHECK(f != NULL);
	max = stress_run(f, seed, &min, &bad);
	printf("stress: per prefix %d..%d passed (limit %d + %d)\n", min, max, limit, tolerance);
	CHECK(max <= limit + tolerance, "max %d", max);
	CHECK(min >= limit - 60, "min %d: tokens lost", min); /* threads' clocks skew a little */
	CHECK_EQ(bad, 0);
	filter_free(f);

	/* A tiny table under the same load: prefixes keep evicting each other. Only safety and
	 * sane verdicts are asserted (ASan/UBSan build). */
	f = quiet("ratelimit rate 1000 burst 50\n", 4);
	CHECK(f != NULL);
	max = stress_run(f, seed, &min, &bad);
	CHECK_EQ(bad, 0);
	CHECK(max <= STRESS_ITERS * STRESS_THREADS / STRESS_PREFIXES);
	filter_free(f);
}

int main(void)
{
	unsigned seed = check_seed("test_filter");

	test_classify();
	test_deny_lpm();
	test_allow();
	test_refill();
	test_aggregation();
	test_replacement();
	test_kod_content();
	test_sampling(seed);
	test_counters();
	test_validation();
	test_stress(seed);
	return check_done("test_filter");
}
