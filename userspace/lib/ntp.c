// SPDX-License-Identifier: MIT
/* NTP codec: timestamps, short format, and RFC 7822 extension fields (see ntp.h). */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "ntp.h"
#include "wire.h"

#define NTP_ERA_SECONDS (1LL << 32)
#define NS_PER_SEC      1000000000ULL

uint64_t ntp_ts_from_timespec(const struct timespec *ts)
{
	/* Unsigned arithmetic wraps the seconds into the era, which is what the wire holds. */
	uint32_t sec = (uint32_t)((uint64_t)(int64_t)ts->tv_sec + NTP_UNIX_OFFSET);
	/* Round to the nearest 2^-32 s; 999999999 ns still rounds below 2^32, no carry. */
	uint64_t frac = (((uint64_t)ts->tv_nsec << 32) + NS_PER_SEC / 2) / NS_PER_SEC;

	return ((uint64_t)sec << 32) | (uint32_t)frac;
}

void ntp_ts_to_timespec(uint64_t ntp, time_t pivot, struct timespec *out)
{
	int64_t base = (int64_t)(ntp >> 32) - (int64_t)NTP_UNIX_OFFSET; /* era 0 reading */
	int64_t diff = (int64_t)pivot - base;
	/* The era count that lands within half an era of the pivot (floor division). */
	int64_t era = (diff + NTP_ERA_SECONDS / 2) >> 32;
	uint64_t nsec = ((ntp & 0xffffffffULL) * NS_PER_SEC + (1ULL << 31)) >> 32;
	int64_t sec = base + era * NTP_ERA_SECONDS;

	if (nsec >= NS_PER_SEC) { /* fractions just below 1 s round up to the next second */
		nsec -= NS_PER_SEC;
		sec++;
	}
	out->tv_sec = (time_t)sec;
	out->tv_nsec = (long)nsec;
}

uint32_t ntp_short_from_double(double seconds)
{
	/* NaN says "unknown": report the largest value, never a confident small one. */
	if (isnan(seconds) || seconds >= 65536.0)
		return UINT32_MAX;
	if (seconds <= 0.0)
		return 0;
	double v = seconds * 65536.0 + 0.5;

	return v >= 4294967295.0 ? UINT32_MAX : (uint32_t)v;
}

double ntp_short_to_double(uint32_t s)
{
	return s / 65536.0;
}

void ntp_ef_iter_init(struct ntp_ef_iter *it, const uint8_t *pkt, size_t len)
{
	it->pkt = pkt;
	it->len = len;
	it->pos = len < NTP_HEADER_LEN ? len : NTP_HEADER_LEN;
}

int ntp_ef_next(struct ntp_ef_iter *it, struct ntp_ef *ef)
{
	size_t rem = it->len - it->pos;
	const uint8_t *p = it->pkt + it->pos;
	uint16_t flen;

	if (rem == 0)
		return 0;
	/* RFC 7822 §7.5: a last field is at least 28 bytes, so 20 or 24 left is a legacy MAC. */
	if (rem == 20 || rem == 24) {
		it->pos = it->len;
		return 0;
	}
	if (rem < NTP_EF_MIN_LEN)
		return -EINVAL;
	flen = wire_get16(p + 2);
	if (flen < NTP_EF_MIN_LEN || flen % 4 || flen > rem)
		return -EINVAL;
	ef->type = wire_get16(p);
	ef->len = flen;
	ef->body = p + 4;
	ef->offset = it->pos;
	it->pos += flen;
	return 1;
}

int ntp_ef_put(uint8_t *buf, size_t cap, size_t *pos, uint16_t type, const void *body,
               size_t body_len)
{
	size_t flen = (4 + body_len + 3) & ~(size_t)3;
	uint8_t *p;

	if (flen < NTP_EF_MIN_LEN)
		flen = NTP_EF_MIN_LEN;
	if (body_len > UINT16_MAX || flen > UINT16_MAX || *pos > cap || flen > cap - *pos)
		return -ENOSPC;
	p = buf + *pos;
	p[0] = (uint8_t)(type >> 8);
	p[1] = (uint8_t)type;
	p[2] = (uint8_t)(flen >> 8);
	p[3] = (uint8_t)flen;
	if (body_len)
		memcpy(p + 4, body, body_len);
	memset(p + 4 + body_len, 0, flen - 4 - body_len);
	*pos += flen;
	return (int)flen;
}
