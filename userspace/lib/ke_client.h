/* SPDX-License-Identifier: MIT */
/*
 * NTS-KE client (RFC 8915 §4) over TLS 1.3 with OpenSSL, shared by tockctl, tock-bench and
 * the tests. This is lib's one module that does I/O: it connects, runs one NTS-KE session
 * within a deadline, parses the response with ke_proto's codec and exports the C2S/S2C
 * keys. OpenSSL types stay inside ke_client.c.
 */
#ifndef TOCK_KE_CLIENT_H
#define TOCK_KE_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "ke_proto.h"
#include "siv.h"

#define KE_CLIENT_TIMEOUT_MS 5000

struct ke_client_opts {
	const char *host;      /* DNS name or address literal (IPv6 without brackets) */
	uint16_t port;         /* 0: KE_DEFAULT_PORT */
	const char *ca_file;   /* PEM trust anchors; NULL: the system's default store */
	const char *name;      /* SNI and the name the certificate must match; NULL: host.
	                        * An address literal is matched against IP SANs, without SNI. */
	int timeout_ms;        /* deadline for the whole session; <= 0: KE_CLIENT_TIMEOUT_MS */
	const uint16_t *aeads; /* AEADs offered in preference order; NULL: 15, 17 */
	int n_aeads;
	int insecure; /* skip certificate verification (tests and benchmarks only) */
};

struct ke_client_result {
	struct ke_client_response rec; /* records as received: cookies, server, port, error,
	                                * warning (see ke_proto.h) */
	int aead;                      /* negotiated AEAD, -1 if none */
	size_t key_len;                /* siv_key_len(aead) */
	uint8_t c2s[SIV_MAX_KEY_LEN];  /* exported keys (RFC 8915 §5.1) */
	uint8_t s2c[SIV_MAX_KEY_LEN];
	char peer[64];    /* the address:port the session ran with */
	char errmsg[256]; /* why it failed, for people */
};

/*
 * Runs one NTS-KE session. Returns 0 with keys and at least one cookie, or:
 *   -ETIMEDOUT    deadline passed;  -ECONNREFUSED etc. from connect; -ENOENT name unknown
 *   -EPROTO       TLS failure (handshake, certificate, ALPN), or an AEAD not offered
 *   -EBADMSG      malformed NTS-KE response
 *   -EREMOTEIO    the server sent an Error record (r->rec.error)
 *   -ENOPROTOOPT  no protocol or AEAD in common
 *   -ENODATA      no cookies
 * r->errmsg says more in every failure case. A one-shot convenience: callers running many
 * sessions should keep a ke_client_ctx instead.
 */
int ke_client_run(const struct ke_client_opts *o, struct ke_client_result *r);

/*
 * A reusable client context: the TLS settings and trust anchors of one set of options
 * (ca_file, insecure), loaded once. Sessions run with it from any number of threads at the
 * same time; creating one per session would reload the CA file every time.
 */
struct ke_client_ctx;

/*
 * Builds a context for sessions with options like o (its ca_file and insecure matter here;
 * the rest is taken per session). 0, or -EPROTO / -ENOMEM with the reason in err.
 */
int ke_client_ctx_new(const struct ke_client_opts *o, struct ke_client_ctx **out, char *err,
                      size_t errlen);

/* Frees a context; no session may still be running with it. NULL is fine. */
void ke_client_ctx_free(struct ke_client_ctx *c);

/*
 * Runs one NTS-KE session like ke_client_run() with a context from ke_client_ctx_new()
 * (made with the same ca_file and insecure as o). Thread-safe for a shared context.
 */
int ke_client_run_ctx(struct ke_client_ctx *c, const struct ke_client_opts *o,
                      struct ke_client_result *r);

/*
 * Splits "HOST", "HOST:PORT", "[V6]" or "[V6]:PORT" (a bare IPv6 literal is a host without
 * port) into host (capacity cap) and port (left unchanged when absent). 0 or -EINVAL.
 */
int ke_client_split_hostport(const char *arg, char *host, size_t cap, uint16_t *port);

#endif
