/* SPDX-License-Identifier: MIT */
/*
 * NTS-KE record codec (RFC 8915 §4): pure functions, no I/O, shared by tock-ke (the server)
 * and tockctl/tock-bench (the client).
 *
 * A record is `C bit (1) | type (15) | body length (16) | body`, all big-endian. A message
 * is a sequence of records ended by End of Message. The server reads the client's request
 * into one buffer (at most KE_MAX_REQUEST bytes) and calls ke_parse_request() after every
 * read until it stops answering -EAGAIN; the client does the same with ke_parse_response().
 */
#ifndef TOCK_KE_PROTO_H
#define TOCK_KE_PROTO_H

#include <stddef.h>
#include <stdint.h>

/* Record types (IANA "Network Time Security Key Establishment Record Types"). */
#define KE_REC_END        0
#define KE_REC_NEXT_PROTO 1
#define KE_REC_ERROR      2
#define KE_REC_WARNING    3
#define KE_REC_AEAD       4
#define KE_REC_NEW_COOKIE 5
#define KE_REC_SERVER     6
#define KE_REC_PORT       7
/* Sent by chrony >= 4.6.1 with AEAD 30 to say it derives keys with the RFC's context. */
#define KE_REC_COMPLIANT_GCM_EXPORT 1024

#define KE_CRITICAL 0x8000

/* Error codes (RFC 8915 §4.1.3). */
#define KE_ERR_UNRECOGNIZED_CRITICAL 0
#define KE_ERR_BAD_REQUEST           1
#define KE_ERR_INTERNAL              2

#define KE_PROTO_NTPV4          0
#define KE_ALPN                 "ntske/1"
#define KE_EXPORTER_LABEL       "EXPORTER-network-time-security"
#define KE_EXPORTER_CONTEXT_LEN 5
#define KE_DEFAULT_PORT         4460

#define KE_RECORD_HDR     4
#define KE_MAX_REQUEST    16384 /* a request without End of Message by then is refused */
#define KE_MAX_RESPONSE   16384 /* a client gives up on longer responses */
#define KE_MAX_IDS        32    /* protocol or AEAD ids in one list record */
#define KE_MAX_COOKIES    8
#define KE_MAX_COOKIE_LEN 512
#define KE_MAX_NAME       255 /* Server Negotiation body */

/* One record as seen by the iterator; body points into the caller's buffer. */
struct ke_record {
	uint16_t type; /* without the critical bit */
	int critical;
	const uint8_t *body;
	uint16_t len;
};

struct ke_iter {
	const uint8_t *buf;
	size_t len;
	size_t pos; /* offset of the next record */
};

void ke_iter_init(struct ke_iter *it, const uint8_t *buf, size_t len);

/* Next record: 1 and rec filled, 0 at the exact end of the buffer, -EAGAIN if the buffer
 * ends inside a record (more bytes needed). */
int ke_iter_next(struct ke_iter *it, struct ke_record *rec);

/* Appends one record at *pos (advanced); -ENOSPC if it does not fit, -EINVAL if len is
 * above 65535. 0 otherwise. */
int ke_record_put(uint8_t *buf, size_t cap, size_t *pos, uint16_t type, int critical,
                  const void *body, size_t len);

/* Appends a record whose body is n 16-bit big-endian values (Next Protocol, AEAD, Error,
 * Warning, Port). 0/-ENOSPC. */
int ke_record_put_u16s(uint8_t *buf, size_t cap, size_t *pos, uint16_t type, int critical,
                       const uint16_t *v, int n);

/* ---- server side ------------------------------------------------------------------- */

/* What the client asked for. */
struct ke_request {
	uint16_t protocols[KE_MAX_IDS];
	int n_protocols;
	uint16_t aeads[KE_MAX_IDS];
	int n_aeads;
	int has_aead_record;
	int compliant_gcm_export; /* the client sent record 1024 */
	int error;                /* KE_ERR_* when ke_parse_request() returned -EBADMSG */
	size_t len;               /* bytes up to and including End of Message */
};

/*
 * Parses a client request held in buf[0..len). Returns:
 *   0        complete (End of Message seen), req filled;
 *   -EAGAIN  need more bytes (no End of Message yet and len < KE_MAX_REQUEST);
 *   -EBADMSG answer with an Error record of code req->error: 0 for an unrecognized
 *            critical record, 1 for malformed, duplicate, out-of-place or missing records,
 *            bytes after End of Message, or no End of Message within KE_MAX_REQUEST bytes.
 * Server and Port Negotiation records from the client are checked and ignored; unknown
 * non-critical records are ignored; known records are accepted whatever their critical bit
 * (the RFC's "MUST set" is the sender's duty, and refusing would only break clients).
 */
int ke_parse_request(const uint8_t *buf, size_t len, struct ke_request *req);

/* The server's choice: protocol 0 if offered (else -1), and the client's first AEAD that
 * is in `offered` (else -1; also -1 when the protocol is -1). */
void ke_choose(const struct ke_request *req, const uint16_t *offered, int n_offered, int *protocol,
               int *aead);

/* A successful or "nothing in common" response. */
struct ke_response {
	int protocol; /* KE_PROTO_NTPV4, or -1: empty Next Protocol record, nothing else */
	int aead;     /* chosen AEAD, or -1: empty AEAD record and no cookies */
	const uint8_t *cookies[KE_MAX_COOKIES];
	size_t cookie_len[KE_MAX_COOKIES];
	int n_cookies;
	const char *server;       /* Server Negotiation record, or NULL to omit */
	int port;                 /* Port Negotiation record, or 0 to omit */
	int compliant_gcm_export; /* echo record 1024 (only meaningful with AEAD 30) */
};

/* Builds the response records ending with End of Message. Length, or -ENOSPC/-EINVAL. */
int ke_build_response(uint8_t *buf, size_t cap, const struct ke_response *r);

/* Builds `Error(code) ‖ End of Message`. Length or -ENOSPC. */
int ke_build_error(uint8_t *buf, size_t cap, uint16_t code);

/* ---- client side ------------------------------------------------------------------- */

/* Builds a request offering NTPv4 and `aeads` (in preference order), plus optional Server
 * (NULL to omit) and Port (0 to omit) records. Length or -ENOSPC/-EINVAL. */
int ke_build_request(uint8_t *buf, size_t cap, const uint16_t *aeads, int n_aeads,
                     const char *server, int port);

/* What the server answered. Cookies are copied. */
struct ke_client_response {
	int protocol; /* -1: none (absent or empty record) */
	int aead;     /* -1: none */
	uint8_t cookies[KE_MAX_COOKIES][KE_MAX_COOKIE_LEN];
	size_t cookie_len[KE_MAX_COOKIES];
	int n_cookies;                /* cookies kept (at most KE_MAX_COOKIES) */
	int n_cookies_seen;           /* New Cookie records received */
	char server[KE_MAX_NAME + 1]; /* "" if no Server record */
	int port;                     /* 0 if no Port record */
	int error;                    /* Error record code, or -1 */
	int warning;                  /* Warning record code, or -1 */
	int compliant_gcm_export;
	size_t len; /* bytes up to and including End of Message */
};

/*
 * Parses a server response in buf[0..len). 0 complete, -EAGAIN need more bytes (below
 * KE_MAX_RESPONSE), -EBADMSG malformed (bad lengths, duplicates, unknown critical record,
 * a cookie longer than KE_MAX_COOKIE_LEN, no End of Message within KE_MAX_RESPONSE).
 * A complete response may still carry r->error >= 0 or r->protocol/aead == -1: the
 * caller decides whether it got keys.
 */
int ke_parse_response(const uint8_t *buf, size_t len, struct ke_client_response *r);

/* ---- both -------------------------------------------------------------------------- */

/* The TLS exporter context (RFC 8915 §5.1): protocol (2) ‖ AEAD (2) ‖ 0 for C2S, 1 for S2C. */
void ke_exporter_context(uint8_t ctx[KE_EXPORTER_CONTEXT_LEN], uint16_t protocol, uint16_t aead,
                         int s2c);

#endif
