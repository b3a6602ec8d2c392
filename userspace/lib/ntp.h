/* SPDX-License-Identifier: MIT */
/*
 * NTP codec (RFC 5905, RFC 7822): the 48-byte header, 64-bit timestamps with era-aware
 * conversion, the 32-bit short format, and bounds-checked extension-field iteration.
 * No I/O; every function works on caller-provided buffers.
 */
#ifndef TOCK_NTP_H
#define TOCK_NTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define NTP_HEADER_LEN 48
#define NTP_PORT       123

#define NTP_MODE_SYMMETRIC_ACTIVE  1
#define NTP_MODE_SYMMETRIC_PASSIVE 2
#define NTP_MODE_CLIENT            3
#define NTP_MODE_SERVER            4
#define NTP_MODE_BROADCAST         5
#define NTP_MODE_CONTROL           6
#define NTP_MODE_PRIVATE           7

/* Seconds from 1900-01-01 (NTP era 0) to 1970-01-01. */
#define NTP_UNIX_OFFSET 2208988800ULL

/* Extension field types used by NTS (RFC 8915 §5.7). */
#define NTP_EF_UNIQUE_ID         0x0104
#define NTP_EF_NTS_COOKIE        0x0204
#define NTP_EF_NTS_COOKIE_PH     0x0304
#define NTP_EF_NTS_AUTHENTICATOR 0x0404
#define NTP_EF_MIN_LEN           16 /* RFC 7822 */

/* The header as it sits on the wire (all multi-byte fields big-endian). */
struct ntp_header {
	uint8_t li_vn_mode;
	uint8_t stratum;
	int8_t poll;
	int8_t precision;
	uint32_t root_delay;
	uint32_t root_dispersion;
	uint32_t refid;
	uint64_t ref_ts;
	uint64_t origin_ts;
	uint64_t receive_ts;
	uint64_t transmit_ts;
} __attribute__((packed));

static inline unsigned ntp_leap(uint8_t lvm)
{
	return lvm >> 6;
}
static inline unsigned ntp_version(uint8_t lvm)
{
	return (lvm >> 3) & 7;
}
static inline unsigned ntp_mode(uint8_t lvm)
{
	return lvm & 7;
}
static inline uint8_t ntp_lvm(unsigned leap, unsigned version, unsigned mode)
{
	return (uint8_t)((leap << 6) | ((version & 7) << 3) | (mode & 7));
}

/* struct timespec (CLOCK_REALTIME) → NTP 64-bit timestamp (host order, era-wrapped). */
uint64_t ntp_ts_from_timespec(const struct timespec *ts);

/* NTP 64-bit timestamp (host order) → struct timespec, choosing the era that puts the
 * result nearest to `pivot` (unix seconds, e.g. now), so 2036's wrap is handled. */
void ntp_ts_to_timespec(uint64_t ntp, time_t pivot, struct timespec *out);

/* Seconds (double) ↔ NTP short format (16.16), saturating at the format's limits. */
uint32_t ntp_short_from_double(double seconds);
double ntp_short_to_double(uint32_t s);

/* An extension field as found by the iterator; body excludes the 4-byte type/length. */
struct ntp_ef {
	uint16_t type;
	uint16_t len;        /* whole field length including the 4-byte header */
	const uint8_t *body; /* len - 4 bytes */
	size_t offset;       /* of the field from the start of the packet */
};

/* Iterator over the extension fields after the 48-byte header. */
struct ntp_ef_iter {
	const uint8_t *pkt;
	size_t len;
	size_t pos;
};

void ntp_ef_iter_init(struct ntp_ef_iter *it, const uint8_t *pkt, size_t len);

/*
 * Next field: 1 and fills ef; 0 at the clean end; -EINVAL if what follows is not a valid
 * field (RFC 7822: length a multiple of 4, at least 16, within the packet). A trailing
 * legacy MAC (RFC 7822 §7.5: 20 or 24 bytes, 4-byte key id + digest) also ends the
 * iteration with 0 when it is all that is left.
 */
int ntp_ef_next(struct ntp_ef_iter *it, struct ntp_ef *ef);

/* Appends a field (type, body, padded with zeros to a multiple of 4 and at least 16 bytes)
 * at *pos in buf of capacity cap. Returns the field length, or -ENOSPC. */
int ntp_ef_put(uint8_t *buf, size_t cap, size_t *pos, uint16_t type, const void *body,
               size_t body_len);

#endif
