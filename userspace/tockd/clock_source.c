// SPDX-License-Identifier: MIT
/* Clock status sources (see clock_source.h): dispatch, static and unsynchronised modes, and
 * the conversion of a tracking report into the header fields every response carries. */
#include <string.h>
#include <sys/timex.h>
#include <unistd.h>

#include "clock_source.h"
#include "log.h"
#include "ntp.h"

#define STATIC_DISPERSION 1e-5 /* a GPS/PPS-disciplined clock: tens of µs at most */

uint32_t clock_refid_from_string(const char *s)
{
	uint32_t id = 0;

	for (int i = 0; i < 4; i++)
		id = id << 8 | (uint8_t)(*s ? *s++ : 0);
	return id;
}

/* ceil(log2(s)) for 0 < s <= 1, without libm */
static int8_t log2_ceil(double s)
{
	int8_t p = 0;
	double v = 1.0;

	while (v / 2 >= s && p > -60) {
		v /= 2;
		p--;
	}
	return p;
}

/* log2 of the smallest step between successive clock readings (as NTP servers report it). */
static int8_t measure_precision(void)
{
	struct timespec a, b;
	long best = 1000000000L;

	for (int i = 0; i < 100; i++) {
		clock_gettime(CLOCK_REALTIME, &a);
		do
			clock_gettime(CLOCK_REALTIME, &b);
		while (a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec);
		long d = (b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec);

		if (d > 0 && d < best)
			best = d;
	}
	return log2_ceil((double)best * 1e-9);
}

int clock_source_open(struct clock_source *cs, const struct tock_conf *conf)
{
	int err;

	memset(cs, 0, sizeof(*cs));
	cs->fd = -1;
	cs->mode = conf->clock_mode;
	cs->precision = measure_precision();
	if (cs->mode != CONF_CLOCK_CHRONYD)
		return 0;
	err = clock_chronyd_open(cs, conf->chronyd_socket);
	if (err)
		log_err("clock follow chronyd: cannot bind a client socket next to %s: %s",
		        conf->chronyd_socket, strerror(-err));
	return err;
}

int clock_source_fd(const struct clock_source *cs)
{
	return cs->fd;
}

void clock_source_tick(struct clock_source *cs)
{
	if (cs->mode == CONF_CLOCK_CHRONYD)
		clock_chronyd_send(cs);
}

void clock_source_input(struct clock_source *cs)
{
	clock_chronyd_input(cs);
}

static void static_report(const struct tock_conf *conf, struct candm_tracking *trk)
{
	memset(trk, 0, sizeof(*trk));
	trk->stratum = (uint16_t)conf->stratum;
	trk->ref_id = clock_refid_from_string(conf->refid);
	trk->root_dispersion = STATIC_DISPERSION;
	clock_gettime(CLOCK_REALTIME, &trk->ref_time);
	trk->ref_time.tv_nsec = 0;
}

/* The report for the configured mode; leap 3 when nothing trustworthy is known. */
static void current_report(struct clock_source *cs, const struct tock_conf *conf,
                           struct candm_tracking *trk, int32_t *tai)
{
	struct timex tx = {0};

	adjtimex(&tx);
	*tai = tx.tai;
	memset(trk, 0, sizeof(*trk));
	switch (cs->mode) {
	case CONF_CLOCK_KERNEL:
		clock_kernel_status(conf, trk, tai);
		break;
	case CONF_CLOCK_CHRONYD:
		if (clock_chronyd_report(cs, trk) < 0)
			trk->leap = CLOCK_LEAP_UNSYNC;
		break;
	case CONF_CLOCK_STATIC:
		static_report(conf, trk);
		break;
	default:
		trk->leap = CLOCK_LEAP_UNSYNC;
		break;
	}
	if (trk->leap == CLOCK_LEAP_UNSYNC || trk->stratum == 0 || trk->stratum > 15) {
		memset(trk, 0, sizeof(*trk));
		trk->leap = CLOCK_LEAP_UNSYNC;
	}
}

void clock_source_status(struct clock_source *cs, const struct tock_conf *conf,
                         struct tock_clock_status *st, struct candm_tracking *trk)
{
	int32_t tai = 0;

	current_report(cs, conf, trk, &tai);
	if (trk->leap == CLOCK_LEAP_UNSYNC) {
		clock_status_unsync(st);
		st->precision = cs->precision;
		st->tai_offset = tai;
		return;
	}
	memset(st, 0, sizeof(*st));
	st->leap = (uint8_t)trk->leap;
	st->stratum = (uint8_t)trk->stratum;
	st->precision = cs->precision;
	st->refid = trk->ref_id;
	st->root_delay = ntp_short_from_double(trk->root_delay);
	st->root_dispersion = ntp_short_from_double(trk->root_dispersion);
	st->ref_time = ntp_ts_from_timespec(&trk->ref_time);
	st->tai_offset = tai;
}

void clock_source_close(struct clock_source *cs)
{
	if (cs->fd >= 0)
		close(cs->fd);
	if (cs->local_path[0] && unlink(cs->local_path) < 0)
		log_debug("cannot remove %s after dropping privileges", cs->local_path);
	cs->fd = -1;
}
