/* SPDX-License-Identifier: MIT */
/*
 * The client side of NTS-authenticated NTP (RFC 8915 §5), pure (no I/O), for the tests,
 * tock-bench and tockctl: build a request from a cookie and the C2S key, and verify a
 * response with the S2C key, returning its header and the new cookies it carries (or
 * telling an NTS NAK apart). Also a plain (extension-free) NTP request builder.
 *
 * The caller owns the randomness: the Unique Identifier and the authenticator nonce are
 * fields of struct nts_client_request (nts_client_randomize() fills them from a pool), so
 * tests can build byte-exact requests.
 */
#ifndef TOCK_NTS_CLIENT_H
#define TOCK_NTS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cookie.h"
#include "ntp.h"
#include "rand.h"
#include "serve.h"
#include "siv.h"

#define NTS_CLIENT_UID_LEN   32
#define NTS_CLIENT_NONCE_LEN 16
/* Largest plaintext (encrypted extension fields) the client builds or accepts. */
#define NTS_CLIENT_MAX_PT 4096

/* What goes into one request. */
struct nts_client_request {
	uint64_t transmit_ts;                /* NTP timestamp (host order) sent as transmit */
	uint8_t uid[NTS_CLIENT_UID_LEN];     /* Unique Identifier, fresh per request */
	uint8_t nonce[NTS_CLIENT_NONCE_LEN]; /* authenticator nonce, fresh per request */
	const uint8_t *cookie;               /* one cookie from NTS-KE or an earlier response */
	size_t cookie_len;
	unsigned placeholders;     /* Cookie Placeholders outside the authenticator */
	unsigned enc_placeholders; /* placeholders inside it (encrypted) */
};

/* A verified response. */
struct nts_client_response {
	bool nak;              /* an NTS NAK (unauthenticated by nature): redo NTS-KE */
	struct ntp_header hdr; /* the header, multi-byte fields converted to host order */
	unsigned n_cookies;    /* new cookies found in the encrypted fields */
	size_t cookie_len[NTS_MAX_NEW_COOKIES];
	uint8_t cookies[NTS_MAX_NEW_COOKIES][COOKIE_MAX_LEN];
};

/* Fills r->uid and r->nonce with fresh random bytes. 0 or -EIO. */
int nts_client_randomize(struct nts_client_request *r, struct rand_pool *pool);

/*
 * Builds an NTS request into out (capacity cap): a v4 mode-3 header whose transmit is
 * r->transmit_ts, the Unique Identifier, the cookie, r->placeholders Cookie Placeholders
 * (zeros, as long as the cookie), and the Authenticator sealed with `c2s` (a keyed
 * instance of the client's AEAD) over the packet before it and r->nonce, its plaintext the
 * r->enc_placeholders encrypted placeholders (empty when 0).
 * Returns the request length, or -ENOSPC (cap too small), -E2BIG, -EINVAL.
 */
int nts_client_build(const struct nts_client_request *r, struct siv *c2s, uint8_t *out, size_t cap);

/*
 * Checks a response to request r: server mode, origin equal to r->transmit_ts, the Unique
 * Identifier echoed. A NAK (leap 3, stratum 0, refid "NTSN", no authenticator) gives 0 with
 * out->nak set. Otherwise the authenticator must be the last field and verify with `s2c`
 * (keyed with the client's S2C key); the NTS Cookie fields inside it are copied to out.
 * Returns 0, -EPROTO (not an answer to r: mode, origin or UID), -EBADMSG (authenticator
 * missing or does not verify), or -EINVAL (malformed fields).
 */
int nts_client_parse(const struct nts_client_request *r, struct siv *s2c, const uint8_t *resp,
                     size_t len, struct nts_client_response *out);

/* A plain 48-byte mode-3 request of `version` (1..4) with the given transmit timestamp.
 * Returns 48, or -ENOSPC / -EINVAL. */
int nts_client_build_plain(uint64_t transmit_ts, unsigned version, uint8_t *out, size_t cap);

#endif
