// SPDX-License-Identifier: MIT
/* The client side of NTS-authenticated NTP, without I/O (see nts_client.h). */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "nts_client.h"
#include "wire.h"

#define NTS_NAK_REFID 0x4e54534eU /* "NTSN" */

static size_t pad4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

int nts_client_randomize(struct nts_client_request *r, struct rand_pool *pool)
{
	int err = rand_pool_take(pool, r->uid, sizeof(r->uid));

	return err ? err : rand_pool_take(pool, r->nonce, sizeof(r->nonce));
}

static void put_client_header(uint8_t *out, unsigned version, uint64_t transmit_ts)
{
	memset(out, 0, NTP_HEADER_LEN);
	out[0] = ntp_lvm(0, version, NTP_MODE_CLIENT);
	transmit_ts = htobe64(transmit_ts);
	memcpy(out + 40, &transmit_ts, 8);
}

int nts_client_build_plain(uint64_t transmit_ts, unsigned version, uint8_t *out, size_t cap)
{
	if (version < 1 || version > 4)
		return -EINVAL;
	if (cap < NTP_HEADER_LEN)
		return -ENOSPC;
	put_client_header(out, version, transmit_ts);
	return NTP_HEADER_LEN;
}

/* Writes `n` zero placeholders as long as the cookie's field at *pos. */
static int put_placeholders(uint8_t *buf, size_t cap, size_t *pos, unsigned n, size_t cookie_len)
{
	static const uint8_t zeros[COOKIE_MAX_LEN];

	for (unsigned i = 0; i < n; i++) {
		int err = ntp_ef_put(buf, cap, pos, NTP_EF_NTS_COOKIE_PH, zeros, cookie_len);

		if (err < 0)
			return err;
	}
	return 0;
}

/* Appends the authenticator over buf[0..*pos) with the encrypted placeholders. */
static int put_authenticator(const struct nts_client_request *r, struct siv *c2s, uint8_t *out,
                             size_t cap, size_t *pos)
{
	uint8_t pt[NTS_CLIENT_MAX_PT];
	size_t pt_len = 0, ct_len, flen;
	struct siv_ad ad[2] = {{out, *pos}, {r->nonce, NTS_CLIENT_NONCE_LEN}};
	uint8_t *a = out + *pos;
	int err;

	err = put_placeholders(pt, sizeof(pt), &pt_len, r->enc_placeholders, r->cookie_len);
	if (err < 0)
		return err == -ENOSPC ? -E2BIG : err;
	ct_len = SIV_TAG_LEN + pt_len;
	flen = 4 + 4 + NTS_CLIENT_NONCE_LEN + pad4(ct_len);
	if (*pos > cap || flen > cap - *pos || flen > UINT16_MAX)
		return -ENOSPC;
	wire_put16(a, NTP_EF_NTS_AUTHENTICATOR);
	wire_put16(a + 2, (uint16_t)flen);
	wire_put16(a + 4, NTS_CLIENT_NONCE_LEN);
	wire_put16(a + 6, (uint16_t)ct_len);
	memcpy(a + 8, r->nonce, NTS_CLIENT_NONCE_LEN);
	memset(a + 8 + NTS_CLIENT_NONCE_LEN, 0, pad4(ct_len));
	err = siv_encrypt(c2s, ad, 2, pt, pt_len, a + 8 + NTS_CLIENT_NONCE_LEN);
	if (err)
		return err;
	*pos += flen;
	return 0;
}

int nts_client_build(const struct nts_client_request *r, struct siv *c2s, uint8_t *out, size_t cap)
{
	size_t pos = NTP_HEADER_LEN;
	int err;

	if (!r->cookie || !r->cookie_len || r->cookie_len > COOKIE_MAX_LEN)
		return -EINVAL;
	if (cap < NTP_HEADER_LEN)
		return -ENOSPC;
	put_client_header(out, 4, r->transmit_ts);
	err = ntp_ef_put(out, cap, &pos, NTP_EF_UNIQUE_ID, r->uid, NTS_CLIENT_UID_LEN);
	if (err >= 0)
		err = ntp_ef_put(out, cap, &pos, NTP_EF_NTS_COOKIE, r->cookie, r->cookie_len);
	if (err >= 0)
		err = put_placeholders(out, cap, &pos, r->placeholders, r->cookie_len);
	if (err >= 0)
		err = put_authenticator(r, c2s, out, cap, &pos);
	return err < 0 ? err : (int)pos;
}

/* ---- response ---------------------------------------------------------------------- */

static void read_header(const uint8_t *resp, struct ntp_header *h)
{
	memcpy(h, resp, sizeof(*h));
	h->root_delay = be32toh(h->root_delay);
	h->root_dispersion = be32toh(h->root_dispersion);
	h->refid = be32toh(h->refid);
	h->ref_ts = be64toh(h->ref_ts);
	h->origin_ts = be64toh(h->origin_ts);
	h->receive_ts = be64toh(h->receive_ts);
	h->transmit_ts = be64toh(h->transmit_ts);
}

/* The fields of interest: the (single) UID and the authenticator, which must come last. */
struct resp_fields {
	const struct ntp_ef *uid, *auth;
	struct ntp_ef uid_ef, auth_ef;
	bool after_auth;
};

static int scan_response(const uint8_t *resp, size_t len, struct resp_fields *f)
{
	struct ntp_ef_iter it;
	struct ntp_ef ef;
	int r;

	size_t end = NTP_HEADER_LEN; /* where the last field ended */

	memset(f, 0, sizeof(*f));
	ntp_ef_iter_init(&it, resp, len);
	while ((r = ntp_ef_next(&it, &ef)) == 1) {
		end = ef.offset + ef.len;
		if (f->auth)
			f->after_auth = true;
		if (ef.type == NTP_EF_UNIQUE_ID) {
			if (f->uid)
				return -EINVAL;
			f->uid_ef = ef;
			f->uid = &f->uid_ef;
		} else if (ef.type == NTP_EF_NTS_AUTHENTICATOR) {
			f->auth_ef = ef;
			f->auth = &f->auth_ef;
		}
	}
	/* the iterator skips a trailing legacy MAC; an NTS response has none: bytes after
	 * the fields would be unauthenticated */
	if (r < 0 || end != len)
		return -EINVAL;
	return 0;
}

/* Copies the NTS Cookie fields found in the decrypted plaintext. */
static int take_cookies(const uint8_t *pt, size_t pt_len, struct nts_client_response *out)
{
	struct ntp_ef_iter it = {.pkt = pt, .len = pt_len, .pos = 0};
	struct ntp_ef ef;
	size_t end = 0;
	int r;

	while ((r = ntp_ef_next(&it, &ef)) == 1) {
		size_t blen = ef.len - 4u;

		end = ef.offset + ef.len;

		if (ef.type != NTP_EF_NTS_COOKIE || out->n_cookies >= NTS_MAX_NEW_COOKIES)
			continue;
		if (blen > COOKIE_MAX_LEN)
			return -EINVAL;
		memcpy(out->cookies[out->n_cookies], ef.body, blen);
		out->cookie_len[out->n_cookies++] = blen;
	}
	return r < 0 || end != pt_len ? -EINVAL : 0; /* no MAC rule inside the plaintext */
}

static int verify_auth(struct siv *s2c, const uint8_t *resp, const struct ntp_ef *auth,
                       struct nts_client_response *out)
{
	uint8_t pt[NTS_CLIENT_MAX_PT];
	size_t nlen = wire_get16(auth->body), clen = wire_get16(auth->body + 2);
	const uint8_t *nonce = auth->body + 4, *ct = nonce + pad4(nlen);
	struct siv_ad ad[2] = {{resp, auth->offset}, {nonce, nlen}};
	int err;

	if (clen < SIV_TAG_LEN || 4 + pad4(nlen) + pad4(clen) > auth->len - 4u)
		return -EINVAL;
	if (clen - SIV_TAG_LEN > sizeof(pt))
		return -E2BIG;
	if (siv_decrypt(s2c, ad, 2, ct, clen, pt) < 0)
		return -EBADMSG;
	err = take_cookies(pt, clen - SIV_TAG_LEN, out);
	explicit_bzero(pt, sizeof(pt));
	return err;
}

int nts_client_parse(const struct nts_client_request *r, struct siv *s2c, const uint8_t *resp,
                     size_t len, struct nts_client_response *out)
{
	struct resp_fields f;
	int err;

	memset(out, 0, sizeof(*out));
	if (len < NTP_HEADER_LEN)
		return -EINVAL;
	read_header(resp, &out->hdr);
	if (ntp_mode(out->hdr.li_vn_mode) != NTP_MODE_SERVER ||
	    out->hdr.origin_ts != r->transmit_ts)
		return -EPROTO;
	err = scan_response(resp, len, &f);
	if (err)
		return err;
	if (!f.uid || f.uid->len - 4u < NTS_CLIENT_UID_LEN ||
	    memcmp(f.uid->body, r->uid, NTS_CLIENT_UID_LEN) != 0)
		return -EPROTO;
	if (ntp_leap(out->hdr.li_vn_mode) == 3 && out->hdr.stratum == 0 &&
	    out->hdr.refid == NTS_NAK_REFID && !f.auth) {
		out->nak = true;
		return 0;
	}
	if (!f.auth || f.after_auth)
		return -EBADMSG;
	return verify_auth(s2c, resp, f.auth, out);
}
