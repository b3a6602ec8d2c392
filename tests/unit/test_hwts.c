// SPDX-License-Identifier: MIT
/* PHC → realtime conversion with injected PTP_SYS_OFFSET_EXTENDED samples (no NIC needed). */
#include <errno.h>
#include <stdlib.h>

#include "check.h"
#include "hwts_phc.h"
#include "xdp_loader.h"

#define NS 1000000000LL

/* A simulated PHC: phc = (rt - offset0) * (1 - drift), read in a window of `win` ns with
 * the PHC read at a random point inside it when jitter is on. */
static struct hwts_sample make_sample(int64_t rt, int64_t offset0, double drift, int64_t win,
                                      int jitter)
{
	struct hwts_sample s;
	int64_t at = jitter ? rand() % (win + 1) : win / 2;
	int64_t t = rt + at;

	s.sys_before = rt;
	s.sys_after = rt + win;
	s.phc = t - offset0 - (int64_t)(drift * (double)(t - offset0));
	return s;
}

static void test_empty_and_invalid(void)
{
	struct hwts_phc_est e;
	struct hwts_sample bad[2] = {{100, 50, 90}, {0, 0, 2000000}}; /* negative, over 1 ms */
	int64_t rt;

	hwts_phc_init(&e);
	CHECK_EQ(hwts_phc_to_realtime(&e, 123, &rt), -EAGAIN);
	CHECK_EQ(hwts_phc_update(&e, bad, 2), -EINVAL);
	CHECK_EQ(hwts_phc_update(&e, bad, 0), -EINVAL);
	CHECK(!e.valid);
}

static void test_offset_only(void)
{
	struct hwts_phc_est e;
	/* PHC runs 37 s ahead (TAI-like), narrowest window wins */
	struct hwts_sample s[3] = {
	    {1000 * NS, 1000 * NS + 37 * NS + 400, 1000 * NS + 5000},
	    {1000 * NS + 10000, 1000 * NS + 10000 + 37 * NS + 100, 1000 * NS + 10200},
	    {1000 * NS + 20000, 1000 * NS + 20000 + 37 * NS + 900, 1000 * NS + 21800},
	};
	int64_t rt;

	hwts_phc_init(&e);
	CHECK_EQ(hwts_phc_update(&e, s, 3), 0);
	CHECK_EQ(e.delay, 200);
	CHECK_EQ(hwts_phc_to_realtime(&e, s[1].phc, &rt), 0);
	CHECK_EQ(rt, 1000 * NS + 10100); /* midpoint of the narrowest window */
	CHECK_EQ(hwts_phc_to_realtime(&e, s[1].phc + 20 * NS, &rt), -ERANGE);
	CHECK_EQ(hwts_phc_to_realtime(&e, s[1].phc - 20 * NS, &rt), -ERANGE);
}

/* With a drifting PHC sampled once a second, conversions stay within a few hundred ns. */
static void test_drift_tracking(unsigned seed)
{
	const double drift = 12.5e-6; /* 12.5 ppm */
	const int64_t offset0 = -5 * NS;
	struct hwts_phc_est e;
	int64_t worst = 0;

	srand(seed);
	hwts_phc_init(&e);
	for (int sec = 0; sec < 60; sec++) {
		struct hwts_sample s[9];
		int64_t base = 1700000000LL * NS + sec * NS;

		for (int i = 0; i < 9; i++)
			s[i] = make_sample(base + i * 3000, offset0, drift, 200 + rand() % 2000, 1);
		CHECK_EQ(hwts_phc_update(&e, s, 9), 0);
		if (sec < 5)
			continue;
		/* a packet stamped 0.7 s after this sample */
		int64_t true_rt = base + 700000000LL;
		struct hwts_sample p = make_sample(true_rt, offset0, drift, 0, 0);
		int64_t rt, err;

		CHECK_EQ(hwts_phc_to_realtime(&e, p.phc, &rt), 0);
		err = llabs(rt - true_rt);
		if (err > worst)
			worst = err;
	}
	CHECK(worst < 2000, "worst conversion error %lld ns", (long long)worst);
	CHECK(e.drift > 11e-6 && e.drift < 14e-6, "drift %g", e.drift);
}

/* A stepped clock must not be taken for an enormous drift. */
static void test_step(void)
{
	struct hwts_phc_est e;
	struct hwts_sample a = {10 * NS, 10 * NS, 10 * NS + 100};
	struct hwts_sample b = {11 * NS, 11 * NS - NS / 2, 11 * NS + 100}; /* 0.5 s step */

	hwts_phc_init(&e);
	CHECK_EQ(hwts_phc_update(&e, &a, 1), 0);
	CHECK_EQ(hwts_phc_update(&e, &b, 1), 0);
	CHECK(e.drift == 0.0, "drift %g after a step", e.drift);
	CHECK_EQ(e.ref_offset, NS / 2 + 50);
}

static void test_set(void)
{
	static struct hwts_set set;
	struct hwts_phc_est e;
	struct hwts_sample s = {100 * NS, 63 * NS, 100 * NS + 100};
	int64_t rt;

	hwts_phc_init(&e);
	hwts_phc_update(&e, &s, 1);
	set.clk[0].ifindex = 7;
	hwts_clock_store(&set.clk[0], &e);
	set.n = 1;
	CHECK_EQ(hwts_set_convert(&set, 7, 63 * NS, &rt), 0);
	CHECK_EQ(rt, 100 * NS + 50);
	CHECK_EQ(hwts_set_convert(&set, 8, 63 * NS, &rt), -ENODEV);
	CHECK_EQ(hwts_set_convert(NULL, 7, 63 * NS, &rt), -ENODEV);
	CHECK_EQ(hwts_set_estimate(&set, 7, &e), 0);
	CHECK_EQ(e.ref_offset, 37 * NS + 50);
	CHECK_EQ(hwts_set_estimate(&set, 8, &e), -ENODEV);
	hwts_phc_init(&e);
	hwts_clock_store(&set.clk[0], &e);
	CHECK_EQ(hwts_set_estimate(&set, 7, &e), -EAGAIN);
}

/*
 * The XDP program converts NIC stamps with the clock map's fixed-point copy of the estimate
 * (tock_xdp_phc_to_realtime, the very function the program runs): it must agree with the
 * workers' conversion to a few ns, refuse what they refuse, and without an estimate give 0
 * (so that a PHC on TAI, 37 s ahead, is never served as UTC).
 */
static void test_xdp_conversion(unsigned seed)
{
	struct tock_xdp_clock c = {0};
	struct hwts_phc_est e;
	int64_t rt;

	srand(seed);
	for (int i = 0; i < 20000; i++) {
		int64_t dt = (int64_t)(rand() % 32001 - 16000) * 1000000; /* +-16 s */

		hwts_phc_init(&e);
		e.valid = 1;
		e.ref_phc = (int64_t)1700000000 * NS + (int64_t)rand() * 1000;
		e.ref_offset = -37 * NS + (rand() % 2000001 - 1000000); /* a TAI PHC, +-1 ms */
		e.drift = (rand() % 1000001 - 500000) * 1e-9;           /* +-500 ppm */
		xdp_clock_set_phc(&c, &e);
		CHECK_EQ(c.hw_valid, 1);
		CHECK_EQ(hwts_phc_to_realtime(&e, e.ref_phc + dt, &rt), 0);
		int64_t x = (int64_t)tock_xdp_phc_to_realtime(&c, (uint64_t)(e.ref_phc + dt));

		CHECK(llabs(x - rt) <= 5, "phc %+lld ns from ref, drift %g: xdp %lld, workers %lld",
		      (long long)dt, e.drift, (long long)x, (long long)rt);
	}
	/* the TAI PHC: 37 s ahead of the system clock, no drift */
	e.ref_phc = 1000 * NS + 37 * NS;
	e.ref_offset = -37 * NS;
	e.drift = 0;
	xdp_clock_set_phc(&c, &e);
	CHECK_EQ(tock_xdp_phc_to_realtime(&c, 1005 * NS + 37 * NS), 1005 * NS);
	/* out of reach, as hwts_phc_to_realtime refuses */
	CHECK_EQ(tock_xdp_phc_to_realtime(&c, e.ref_phc + HWTS_MAX_EXTRAPOLATE_NS + 1), 0);
	CHECK_EQ(tock_xdp_phc_to_realtime(&c, e.ref_phc - HWTS_MAX_EXTRAPOLATE_NS - 1), 0);
	/* no estimate, or an absurd drift: no conversion */
	e.drift = 2e-3;
	xdp_clock_set_phc(&c, &e);
	CHECK_EQ(c.hw_valid, 0);
	CHECK_EQ(tock_xdp_phc_to_realtime(&c, e.ref_phc), 0);
	e.drift = 0;
	e.valid = 0;
	xdp_clock_set_phc(&c, &e);
	CHECK_EQ(tock_xdp_phc_to_realtime(&c, e.ref_phc), 0);
	xdp_clock_set_phc(&c, NULL);
	CHECK_EQ(c.hw_valid, 0);
}

int main(void)
{
	unsigned seed = check_seed("test_hwts");

	test_empty_and_invalid();
	test_offset_only();
	test_drift_tracking(seed);
	test_step();
	test_set();
	test_xdp_conversion(seed);
	return check_done("test_hwts");
}
