/* SPDX-License-Identifier: MIT */
/*
 * tock-ke's TLS wrapper: OpenSSL stays in tls.c. A ke_tls_server holds one server context per
 * certificate/key pair (chosen by SNI, the first being the default), configured for NTS-KE:
 * TLS 1.3 only, ALPN "ntske/1" required, no early data, no session tickets or cache.
 *
 * Servers are reference counted: a certificate reload builds a new one and drops the old
 * one's reference, while connections still in flight keep theirs until they close.
 */
#ifndef TOCK_KE_TLS_H
#define TOCK_KE_TLS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "conf.h"

struct ke_tls_server;
struct ke_tls_conn;

/* Results of the non-blocking calls below, besides 0 (done) and -errno (failed). */
#define KE_TLS_WANT_READ  1
#define KE_TLS_WANT_WRITE 2

/* Loads every pair (chain file + key file) and builds the contexts. 0, or -errno with a
 * message naming the file in err. The new server holds one reference. */
int ke_tls_server_new(const struct conf_cert *certs, int n_certs, struct ke_tls_server **out,
                      char *err, size_t errlen);

/* Adds a reference. */
struct ke_tls_server *ke_tls_server_get(struct ke_tls_server *s);

/* Drops a reference; the last one frees the contexts. */
void ke_tls_server_put(struct ke_tls_server *s);

/* The earliest notAfter over the loaded certificates (unix time). */
time_t ke_tls_server_not_after(const struct ke_tls_server *s);

/* Whether the OpenSSL at hand implements AES-128-GCM-SIV (AEAD 30). */
int ke_tls_has_gcm_siv(void);

/* A server-side connection on a connected non-blocking socket (the fd stays the caller's).
 * Holds a reference to s. 0/-ENOMEM. */
int ke_tls_conn_new(struct ke_tls_server *s, int fd, struct ke_tls_conn **out);

void ke_tls_conn_free(struct ke_tls_conn *c);

/* Drives the handshake: 0 done (ALPN ntske/1 agreed), KE_TLS_WANT_*, or -EPROTO. */
int ke_tls_handshake(struct ke_tls_conn *c);

/* Reads up to cap bytes: 0 with *got > 0, KE_TLS_WANT_*, -ECONNRESET when the peer closed,
 * or -EPROTO. */
int ke_tls_read(struct ke_tls_conn *c, void *buf, size_t cap, size_t *got);

/* From now on, output is held in the socket (MSG_MORE) until shutdown(SHUT_WR) or close()
 * pushes it, so that the last records and the FIN share a segment. */
void ke_tls_hold(struct ke_tls_conn *c);

/* Writes len bytes (all or nothing, retried with the same arguments): 0 done,
 * KE_TLS_WANT_*, or -EPIPE. */
int ke_tls_write(struct ke_tls_conn *c, const void *buf, size_t len);

/* Sends close_notify: 0 sent, KE_TLS_WANT_*, or -EPIPE. */
int ke_tls_shutdown(struct ke_tls_conn *c);

/* RFC 5705 exporter with the NTS label and the given context. 0 or -EPROTO. */
int ke_tls_export(struct ke_tls_conn *c, const uint8_t *context, size_t context_len, uint8_t *out,
                  size_t len);

#endif
