// SPDX-License-Identifier: MIT
/* chrony command protocol codec (see candm.h): headers, chrony's float, tracking reports. */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "candm.h"
#include "wire.h"

#define FLOAT_EXP_BITS  7
#define FLOAT_COEF_BITS 25
#define FLOAT_EXP_MIN   (-(1 << (FLOAT_EXP_BITS - 1)))
#define FLOAT_EXP_MAX   ((1 << (FLOAT_EXP_BITS - 1)) - 1)
#define FLOAT_COEF_MAX  ((1 << (FLOAT_COEF_BITS - 1)) - 1)

/* tracking body offsets */
#define TRK_REF_ID   0
#define TRK_IP_ADDR  4 /* chrony's IPAddr: 16 address bytes, family(2), pad(2) */
#define TRK_STRATUM  24
#define TRK_LEAP     26
#define TRK_REF_TIME 28 /* sec high, sec low, nsec */
#define TRK_FLOATS   40 /* nine floats, in struct candm_tracking's order */
#define TRK_LEN      76

void candm_put16(uint8_t *p, uint16_t v)
{
	wire_put16(p, v);
}

void candm_put32(uint8_t *p, uint32_t v)
{
	wire_put32(p, v);
}

void candm_put64(uint8_t *p, uint64_t v)
{
	wire_put64(p, v);
}

uint16_t candm_get16(const uint8_t *p)
{
	return wire_get16(p);
}

uint32_t candm_get32(const uint8_t *p)
{
	return wire_get32(p);
}

/* Rounds half away from zero for |x| < 2^62 (no libm: the Makefile links none). */
static double round_near(double x)
{
	return x < 0 ? -(double)(int64_t)(0.5 - x) : (double)(int64_t)(x + 0.5);
}

uint32_t candm_float_encode(double x)
{
	int e, exp;
	double coef;

	if (x == 0.0 || isnan(x))
		return 0;
	if (isinf(x))
		x = copysign(1e300, x);                              /* saturates below */
	coef = round_near(ldexp(frexp(x, &e), FLOAT_COEF_BITS - 1)); /* |coef| in [2^23, 2^24] */
	exp = e + 1;
	if (fabs(coef) > FLOAT_COEF_MAX) {
		coef /= 2;
		exp++;
	}
	if (exp > FLOAT_EXP_MAX) {
		exp = FLOAT_EXP_MAX;
		coef = copysign(FLOAT_COEF_MAX, x);
	} else if (exp < FLOAT_EXP_MIN) {
		coef = round_near(ldexp(coef, exp - FLOAT_EXP_MIN));
		exp = FLOAT_EXP_MIN;
	}
	return ((uint32_t)exp & ((1u << FLOAT_EXP_BITS) - 1)) << FLOAT_COEF_BITS |
	       ((uint32_t)(int32_t)coef & ((1u << FLOAT_COEF_BITS) - 1));
}

double candm_float_decode(uint32_t f)
{
	int32_t exp = (int32_t)(f >> FLOAT_COEF_BITS);
	int32_t coef = (int32_t)(f & ((1u << FLOAT_COEF_BITS) - 1));

	if (exp > FLOAT_EXP_MAX)
		exp -= 1 << FLOAT_EXP_BITS;
	if (coef > FLOAT_COEF_MAX)
		coef -= 1 << FLOAT_COEF_BITS;
	return ldexp((double)coef, exp - FLOAT_COEF_BITS);
}

int candm_parse_request(const uint8_t *p, size_t len, struct candm_request *rq)
{
	if (len < CANDM_REQ_HDR_LEN || p[0] != CANDM_VERSION || p[1] != CANDM_PKT_REQUEST || p[2] ||
	    p[3])
		return -EINVAL;
	rq->command = candm_get16(p + 4);
	rq->sequence = candm_get32(p + 8);
	rq->len = len;
	return 0;
}

void candm_put_reply_header(uint8_t *p, const struct candm_request *rq, uint16_t reply,
                            uint16_t status)
{
	memset(p, 0, CANDM_RPY_HDR_LEN);
	p[0] = CANDM_VERSION;
	p[1] = CANDM_PKT_REPLY;
	candm_put16(p + 4, rq->command);
	candm_put16(p + 6, reply);
	candm_put16(p + 8, status);
	candm_put32(p + 16, rq->sequence);
}

static void tracking_floats(const struct candm_tracking *t, double v[9])
{
	v[0] = t->correction;
	v[1] = t->last_offset;
	v[2] = t->rms_offset;
	v[3] = t->freq_ppm;
	v[4] = t->resid_freq_ppm;
	v[5] = t->skew_ppm;
	v[6] = t->root_delay;
	v[7] = t->root_dispersion;
	v[8] = t->update_interval;
}

void candm_put_tracking(uint8_t *p, const struct candm_tracking *t)
{
	uint64_t sec = (uint64_t)t->ref_time.tv_sec;
	double v[9];

	memset(p, 0, TRK_LEN);
	candm_put32(p + TRK_REF_ID, t->ref_id);
	/* ip_addr stays zero: family 0 (unspecified), chronyc then shows only the ref id */
	candm_put16(p + TRK_STRATUM, t->stratum);
	candm_put16(p + TRK_LEAP, t->leap);
	candm_put32(p + TRK_REF_TIME, (uint32_t)(sec >> 32));
	candm_put32(p + TRK_REF_TIME + 4, (uint32_t)sec);
	candm_put32(p + TRK_REF_TIME + 8, (uint32_t)t->ref_time.tv_nsec);
	tracking_floats(t, v);
	for (int i = 0; i < 9; i++)
		candm_put32(p + TRK_FLOATS + 4 * i, candm_float_encode(v[i]));
}

void candm_get_tracking(const uint8_t *p, struct candm_tracking *t)
{
	double *dst[9] = {&t->correction, &t->last_offset,     &t->rms_offset,
	                  &t->freq_ppm,   &t->resid_freq_ppm,  &t->skew_ppm,
	                  &t->root_delay, &t->root_dispersion, &t->update_interval};
	uint32_t sec_hi = candm_get32(p + TRK_REF_TIME);

	memset(t, 0, sizeof(*t));
	t->ref_id = candm_get32(p + TRK_REF_ID);
	t->stratum = candm_get16(p + TRK_STRATUM);
	t->leap = candm_get16(p + TRK_LEAP);
	/* 0x7fffffff in the high word marks a 32-bit time (chrony's TV_NOHIGHSEC) */
	t->ref_time.tv_sec = (time_t)(((uint64_t)(sec_hi == 0x7fffffff ? 0 : sec_hi) << 32) |
	                              candm_get32(p + TRK_REF_TIME + 4));
	t->ref_time.tv_nsec = candm_get32(p + TRK_REF_TIME + 8) % 1000000000u;
	for (int i = 0; i < 9; i++)
		*dst[i] = candm_float_decode(candm_get32(p + TRK_FLOATS + 4 * i));
}

size_t candm_request(uint8_t *buf, size_t cap, uint16_t command, uint32_t sequence, size_t len)
{
	if (len > cap || len < 12)
		return 0;
	memset(buf, 0, len);
	buf[0] = CANDM_VERSION;
	buf[1] = CANDM_PKT_REQUEST;
	candm_put16(buf + 4, command);
	candm_put32(buf + 8, sequence);
	return len;
}

size_t candm_tracking_request(uint8_t *buf, size_t cap, uint32_t sequence)
{
	return candm_request(buf, cap, CANDM_REQ_TRACKING, sequence, CANDM_TRACKING_LEN);
}

int candm_parse_tracking_reply(const uint8_t *p, size_t len, uint32_t sequence,
                               struct candm_tracking *t)
{
	if (len < CANDM_RPY_HDR_LEN || p[0] != CANDM_VERSION || p[1] != CANDM_PKT_REPLY ||
	    candm_get16(p + 4) != CANDM_REQ_TRACKING || candm_get32(p + 16) != sequence)
		return -EINVAL;
	if (candm_get16(p + 8) != CANDM_STT_SUCCESS)
		return -EIO;
	if (candm_get16(p + 6) != CANDM_RPY_TRACKING || len < CANDM_TRACKING_LEN)
		return -EINVAL;
	candm_get_tracking(p + CANDM_RPY_HDR_LEN, t);
	return 0;
}
