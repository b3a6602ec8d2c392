// SPDX-License-Identifier: MIT
/*
 * Fuzz target: nts_client_parse(), the client-side NTS response parser of tock-bench and
 * tockctl, with the fixed request and keys of fuzz_client_keys.h.
 *
 * Each input is used twice:
 *  1. as a whole response to the fixed request, verified with the fixed S2C key;
 *  2. as the plaintext of the authenticator: a response (header, UID, authenticator
 *     sealing the input with S2C) is built around it, so the parser of the encrypted
 *     fields (the new cookies) is fuzzed past the tag check. That one must verify; only
 *     the plaintext's own layout may make it fail (-EINVAL), or its size (-E2BIG).
 * A successful parse holds at most NTS_MAX_NEW_COOKIES cookies of at most COOKIE_MAX_LEN.
 */
#include <endian.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_client_keys.h"
#include "ntp.h"

#define FUZZ_CHECK(cond)                                                                           \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

#define MAX_RESPONSE 8192

struct fixture {
	struct nts_client_request req;
	struct siv *s2c;
};

static const struct fixture *fixture(void)
{
	static struct fixture f;
	struct cookie_keys k;

	if (f.s2c)
		return &f;
	fuzz_client_request(&f.req);
	fuzz_client_keys(&k, SIV_AEAD_CMAC_256);
	f.s2c = fuzz_client_siv(&k, 1);
	return &f;
}

static void check_result(int err, const struct nts_client_response *out)
{
	FUZZ_CHECK(err == 0 || err == -EPROTO || err == -EBADMSG || err == -EINVAL ||
	           err == -E2BIG);
	if (err)
		return;
	FUZZ_CHECK(out->n_cookies <= NTS_MAX_NEW_COOKIES);
	FUZZ_CHECK(!out->nak || out->n_cookies == 0);
	for (unsigned i = 0; i < out->n_cookies; i++)
		FUZZ_CHECK(out->cookie_len[i] <= COOKIE_MAX_LEN);
}

static size_t pad4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

/* header ‖ UID ‖ authenticator(nonce, SIV_s2c(AD = packet so far, nonce; pt)) */
static size_t build_response(const uint8_t *pt, size_t pt_len, uint8_t *out)
{
	const struct fixture *f = fixture();
	uint64_t origin = htobe64(FUZZ_TRANSMIT);
	size_t pos = NTP_HEADER_LEN, ct_len = SIV_TAG_LEN + pt_len;
	size_t flen = 8 + NTS_CLIENT_NONCE_LEN + pad4(ct_len);
	struct siv_ad ad[2] = {{out, 0}, {f->req.nonce, NTS_CLIENT_NONCE_LEN}};
	uint8_t *a;

	memset(out, 0, NTP_HEADER_LEN);
	out[0] = ntp_lvm(0, 4, NTP_MODE_SERVER);
	out[1] = 1;
	memcpy(out + 24, &origin, 8);
	if (ntp_ef_put(out, MAX_RESPONSE, &pos, NTP_EF_UNIQUE_ID, f->req.uid, NTS_CLIENT_UID_LEN) <
	    0)
		abort();
	a = out + pos;
	ad[0].len = pos;
	a[0] = NTP_EF_NTS_AUTHENTICATOR >> 8, a[1] = NTP_EF_NTS_AUTHENTICATOR & 0xff;
	a[2] = (uint8_t)(flen >> 8), a[3] = (uint8_t)flen;
	a[4] = 0, a[5] = NTS_CLIENT_NONCE_LEN;
	a[6] = (uint8_t)(ct_len >> 8), a[7] = (uint8_t)ct_len;
	memcpy(a + 8, f->req.nonce, NTS_CLIENT_NONCE_LEN);
	memset(a + 8 + NTS_CLIENT_NONCE_LEN, 0, pad4(ct_len));
	if (siv_encrypt(f->s2c, ad, 2, pt, pt_len, a + 8 + NTS_CLIENT_NONCE_LEN) < 0)
		abort();
	return pos + flen;
}

static void parse_sealed(const uint8_t *pt, size_t pt_len)
{
	static struct nts_client_response out;
	uint8_t *resp = malloc(MAX_RESPONSE);
	size_t len;
	int err;

	if (!resp)
		abort();
	len = build_response(pt, pt_len, resp);
	err = nts_client_parse(&fixture()->req, fixture()->s2c, resp, len, &out);
	check_result(err, &out);
	FUZZ_CHECK(err == 0 || err == -EINVAL || (err == -E2BIG && pt_len > NTS_CLIENT_MAX_PT));
	FUZZ_CHECK(!out.nak);
	free(resp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct nts_client_response out;
	uint8_t *p;

	if (size > MAX_RESPONSE - 256)
		return 0;
	p = malloc(size ? size : 1); /* exact size, so ASan sees any over-read */
	if (!p)
		abort();
	memcpy(p, data, size);
	check_result(nts_client_parse(&fixture()->req, fixture()->s2c, p, size, &out), &out);
	parse_sealed(p, size);
	free(p);
	return 0;
}
