/* SPDX-License-Identifier: MIT */
/*
 * The part of chrony's command and monitoring protocol (version 6) that tockd speaks: as a
 * server on its control socket (serverstats, tracking, sources) so chronyc and exporters
 * built for chrony work unchanged, and as a client of chronyd (tracking) for
 * `clock follow chronyd`. Layouts are written out as byte offsets (all fields big-endian),
 * never as C structs, so no packing question arises.
 *
 * Request:  version(1) type(1) res1 res2 command(2) attempt(2) sequence(4) pad(8) | data
 * Reply:    version(1) type(1) res1 res2 command(2) reply(2) status(2) pad(6) sequence(4)
 *           pad(8) | data
 * A request is padded to the length of its reply so that replies never amplify.
 */
#ifndef TOCKD_CANDM_H
#define TOCKD_CANDM_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define CANDM_VERSION     6
#define CANDM_PKT_REQUEST 1
#define CANDM_PKT_REPLY   2
#define CANDM_REQ_HDR_LEN 20
#define CANDM_RPY_HDR_LEN 28

#define CANDM_REQ_N_SOURCES    14
#define CANDM_REQ_TRACKING     33
#define CANDM_REQ_SERVER_STATS 54

#define CANDM_RPY_NULL          1
#define CANDM_RPY_N_SOURCES     2
#define CANDM_RPY_TRACKING      5
#define CANDM_RPY_SERVER_STATS3 24 /* chrony 4.2–4.3: eleven 32-bit counters */
#define CANDM_RPY_SERVER_STATS4 25 /* chrony 4.4+: 64-bit counters, timestamp sources */

#define CANDM_STT_SUCCESS 0
#define CANDM_STT_INVALID 3

/* Reply (and so padded request) lengths. */
#define CANDM_N_SOURCES_LEN (CANDM_RPY_HDR_LEN + 4)
#define CANDM_TRACKING_LEN  (CANDM_RPY_HDR_LEN + 76)
#define CANDM_STATS3_LEN    (CANDM_RPY_HDR_LEN + 11 * 4)
#define CANDM_STATS4_LEN    (CANDM_RPY_HDR_LEN + 21 * 8)
#define CANDM_NULL_LEN      CANDM_RPY_HDR_LEN

/* What chronyd's tracking report says (and what tockd's own tracking reply says). */
struct candm_tracking {
	uint32_t ref_id;
	uint16_t stratum;
	uint16_t leap; /* 0 normal, 1 insert, 2 delete, 3 unsynchronised */
	struct timespec ref_time;
	double correction; /* seconds */
	double last_offset;
	double rms_offset;
	double freq_ppm;
	double resid_freq_ppm;
	double skew_ppm;
	double root_delay;      /* seconds */
	double root_dispersion; /* seconds */
	double update_interval;
};

/* A parsed request header. */
struct candm_request {
	uint16_t command;
	uint32_t sequence;
	size_t len;
};

/* chrony's 32-bit float: 7-bit signed exponent, 25-bit signed coefficient,
 * value = coef * 2^(exp - 25). */
uint32_t candm_float_encode(double x);
double candm_float_decode(uint32_t f);

/* Parses a request header: 0, or -EINVAL for anything that is not a version-6 request. */
int candm_parse_request(const uint8_t *p, size_t len, struct candm_request *rq);

/* Writes a reply header for rq with the given reply code and status. */
void candm_put_reply_header(uint8_t *p, const struct candm_request *rq, uint16_t reply,
                            uint16_t status);

/* Tracking report body (76 bytes at p, after the reply header). */
void candm_put_tracking(uint8_t *p, const struct candm_tracking *t);
void candm_get_tracking(const uint8_t *p, struct candm_tracking *t);

/*
 * A request for `command` with `sequence`, zero padded to len bytes (the length of the reply
 * it asks for, as clients pad). Returns len, or 0 when len exceeds cap or is too short for the
 * command and sequence fields (12 bytes; shorter than a header is allowed, for tests).
 */
size_t candm_request(uint8_t *buf, size_t cap, uint16_t command, uint32_t sequence, size_t len);

/* A REQ_TRACKING request (CANDM_TRACKING_LEN bytes, zero padded) as a client sends it. */
size_t candm_tracking_request(uint8_t *buf, size_t cap, uint32_t sequence);

/*
 * Checks chronyd's answer to a tracking request with `sequence` and decodes it.
 * 0, or -EINVAL (malformed / not ours), -EIO (chronyd answered with an error status).
 */
int candm_parse_tracking_reply(const uint8_t *p, size_t len, uint32_t sequence,
                               struct candm_tracking *t);

/* Big-endian field access. */
void candm_put16(uint8_t *p, uint16_t v);
void candm_put32(uint8_t *p, uint32_t v);
void candm_put64(uint8_t *p, uint64_t v); /* as chrony's Integer64: high word, low word */
uint16_t candm_get16(const uint8_t *p);
uint32_t candm_get32(const uint8_t *p);

#endif
