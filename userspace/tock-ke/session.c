// SPDX-License-Identifier: MIT
/*
 * One NTS-KE exchange once the request is complete: negotiate, export the client's keys
 * from the TLS session (RFC 8915 §5.1), seal them into cookies with the current master
 * key, and build the response. No I/O here beyond the TLS exporter.
 */
#include <errno.h>
#include <string.h>

#include "cookie.h"
#include "ke.h"
#include "ke_proto.h"
#include "log.h"
#include "rand.h"
#include "tls.h"

static int export_keys(struct ke_tls_conn *tls, int aead, struct cookie_keys *keys)
{
	uint8_t ctx[KE_EXPORTER_CONTEXT_LEN];
	int err;

	keys->aead = aead;
	keys->key_len = siv_key_len(aead);
	if (!keys->key_len)
		return -EINVAL;
	ke_exporter_context(ctx, KE_PROTO_NTPV4, (uint16_t)aead, 0);
	err = ke_tls_export(tls, ctx, sizeof(ctx), keys->c2s, keys->key_len);
	if (err)
		return err;
	ke_exporter_context(ctx, KE_PROTO_NTPV4, (uint16_t)aead, 1);
	return ke_tls_export(tls, ctx, sizeof(ctx), keys->s2c, keys->key_len);
}

/* Seals KE_MAX_COOKIES cookies into r (cookie storage from the caller). */
static int seal_cookies(struct ke_sealer *sealer, struct rand_pool *rp,
                        const struct cookie_keys *keys, uint8_t (*store)[COOKIE_MAX_LEN],
                        struct ke_response *r)
{
	uint8_t nonce[COOKIE_NONCE_LEN];
	int i, n;

	for (i = 0; i < KE_MAX_COOKIES; i++) {
		if (rand_pool_take(rp, nonce, sizeof(nonce)))
			return -EIO;
		n = cookie_seal(sealer->siv, sealer->key_id, nonce, keys, store[i], COOKIE_MAX_LEN);
		if (n < 0)
			return n;
		r->cookies[i] = store[i];
		r->cookie_len[i] = (size_t)n;
	}
	r->n_cookies = KE_MAX_COOKIES;
	return 0;
}

static void count_aead(struct ke_server *srv, int aead)
{
	if (aead == SIV_AEAD_CMAC_256)
		ke_count(srv, KE_STAT_AEAD15, 1);
	else if (aead == SIV_AEAD_CMAC_512)
		ke_count(srv, KE_STAT_AEAD17, 1);
	else if (aead == 30)
		ke_count(srv, KE_STAT_AEAD30, 1);
}

/* The successful answer: keys, cookies, optional Server/Port records. */
static int issue(struct ke_server *srv, struct ke_tls_conn *tls, struct ke_sealer *sealer,
                 struct rand_pool *rp, const struct ke_request *req, int aead, uint8_t *out,
                 size_t cap)
{
	uint8_t store[KE_MAX_COOKIES][COOKIE_MAX_LEN];
	struct ke_response r = {.protocol = KE_PROTO_NTPV4, .aead = aead};
	struct cookie_keys keys;
	int err;

	err = export_keys(tls, aead, &keys);
	if (!err)
		err = ke_sealer_refresh(sealer, &srv->km);
	if (!err)
		err = seal_cookies(sealer, rp, &keys, store, &r);
	explicit_bzero(&keys, sizeof(keys));
	if (err) {
		LOG_RATELIMITED(10, LOG_ERR, "cannot issue cookies: %s", strerror(-err));
		ke_count(srv, KE_STAT_BAD_REQUEST, 1);
		return ke_build_error(out, cap, KE_ERR_INTERNAL);
	}
	r.server = srv->conf->ntsntpserver[0] ? srv->conf->ntsntpserver : NULL;
	r.port = srv->conf->ntsntpport;
	r.compliant_gcm_export = req->compliant_gcm_export;
	err = ke_build_response(out, cap, &r);
	if (err > 0) {
		ke_count(srv, KE_STAT_SESSIONS, 1);
		ke_count(srv, KE_STAT_COOKIES_ISSUED, (uint64_t)r.n_cookies);
		count_aead(srv, aead);
	}
	return err;
}

int ke_session_answer(struct ke_server *srv, struct ke_tls_conn *tls, struct ke_sealer *sealer,
                      struct rand_pool *rp, const uint8_t *req_buf, size_t req_len, uint8_t *out,
                      size_t cap)
{
	struct ke_request req;
	int ret, proto, aead;

	ret = ke_parse_request(req_buf, req_len, &req);
	if (ret == -EAGAIN)
		return ret;
	if (ret < 0) {
		ke_count(srv, KE_STAT_BAD_REQUEST, 1);
		return ke_build_error(out, cap, (uint16_t)req.error);
	}
	ke_choose(&req, srv->aeads, srv->n_aeads, &proto, &aead);
	if (proto >= 0 && aead >= 0)
		return issue(srv, tls, sealer, rp, &req, aead, out, cap);
	/* Nothing in common: RFC 8915 §4.1.2 and §4.1.5 want empty Next Protocol / AEAD
	 * records (not an Error record) and no cookies. Counted as a failed request. */
	ke_count(srv, KE_STAT_BAD_REQUEST, 1);
	return ke_build_response(out, cap, &(struct ke_response){.protocol = proto, .aead = aead});
}
