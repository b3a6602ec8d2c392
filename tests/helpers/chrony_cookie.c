// SPDX-License-Identifier: MIT
/*
 * Cookie compatibility with chronyd, driven by tests/netns/cookie_chrony.sh:
 *
 *   chrony_cookie fetch HOST PORT CA NAME     NTS-KE; prints "C2S S2C COOKIE" (hex)
 *   chrony_cookie open KEYFILE C2S S2C COOKIE opens COOKIE with the key it names from a
 *                                             chrony key file; keys must equal C2S/S2C
 *   chrony_cookie genring KEYFILE VERSION     a fresh tock ring in chrony's NKS0/NKS1 format;
 *                                             prints the current key id
 *   chrony_cookie query KEYFILE HOST PORT     mints a cookie with the ring's current key,
 *                                             sends an NTS request with it, verifies the
 *                                             answer and opens the cookies it carries
 *
 * Exit codes: 0 success, 1 failure, 2 (query) the server answered with an NTS NAK.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "cookie.h"
#include "helper_common.h"
#include "keyring.h"
#include "log.h"
#include "nts_client.h"
#include "rand.h"

/* A keyed SIV instance for the ring's key `id`, or NULL. */
static struct siv *master_for(const struct keyring *kr, uint32_t id)
{
	const struct keymap_slot *s = keymap_find(&kr->ring, id);
	struct siv *siv = s ? siv_new(s->aead) : NULL;

	if (siv && siv_set_key(siv, s->key, siv_key_len(s->aead))) {
		siv_free(siv);
		siv = NULL;
	}
	return siv;
}

static int cmd_open(char **argv)
{
	uint8_t c2s[64], s2c[64], cookie[COOKIE_MAX_LEN];
	size_t c2s_len, s2c_len, cookie_len;
	struct cookie_keys keys;
	struct keyring kr;
	struct siv *m;
	int err;

	keyring_init(&kr, 86400);
	if (keyring_load(&kr, argv[0], time(NULL)) || helper_unhex(argv[1], c2s, 64, &c2s_len) ||
	    helper_unhex(argv[2], s2c, 64, &s2c_len) ||
	    helper_unhex(argv[3], cookie, sizeof(cookie), &cookie_len)) {
		fprintf(stderr, "open: bad key file or arguments\n");
		return 1;
	}
	uint32_t id = (uint32_t)cookie_key_id(cookie, cookie_len);
	m = master_for(&kr, id);
	if (!m) {
		fprintf(stderr, "open: no key %08X in %s\n", id, argv[0]);
		return 1;
	}
	err = cookie_open(m, cookie, cookie_len, &keys);
	siv_free(m);
	if (err || keys.key_len != c2s_len || memcmp(keys.c2s, c2s, c2s_len) ||
	    memcmp(keys.s2c, s2c, s2c_len) || s2c_len != c2s_len) {
		fprintf(stderr, "open: cookie_open %d, keys %s\n", err, err ? "-" : "differ");
		return 1;
	}
	printf("cookie key %08X (%s key of the file) opened; AEAD %d; C2S/S2C equal the "
	       "exported keys\n",
	       id, helper_slot_role(&kr.ring, id), keys.aead);
	return 0;
}

static int cmd_genring(char **argv)
{
	struct keyring kr;
	time_t now = time(NULL);

	keyring_init(&kr, 86400);
	if (keyring_generate(&kr, now) || keyring_rotate(&kr, now) ||
	    keyring_export_chrony(&kr, argv[0], atoi(argv[1]), now))
		return 1;
	printf("%08X\n", keyring_current(&kr)->id);
	return 0;
}

/* Opens every cookie of a response with the ring: chronyd minted them with tock's key. */
static int check_new_cookies(const struct keyring *kr, const struct nts_client_response *out,
                             const struct cookie_keys *keys)
{
	for (unsigned i = 0; i < out->n_cookies; i++) {
		uint32_t id = (uint32_t)cookie_key_id(out->cookies[i], out->cookie_len[i]);
		struct siv *m = master_for(kr, id);
		struct cookie_keys k;
		int err = m ? cookie_open(m, out->cookies[i], out->cookie_len[i], &k) : -ENOKEY;

		siv_free(m);
		if (err || memcmp(k.c2s, keys->c2s, 32) || memcmp(k.s2c, keys->s2c, 32)) {
			fprintf(stderr, "query: new cookie %u (key %08X) does not open: %d\n", i,
			        id, err);
			return 1;
		}
		printf("new cookie %u: key %08X (%s), opens with tock's ring to our keys\n", i, id,
		       helper_slot_role(&kr->ring, id));
	}
	return out->n_cookies ? 0 : 1;
}

static int cmd_query(char **argv)
{
	static struct nts_client_response out;
	struct cookie_keys keys = {.aead = SIV_AEAD_CMAC_256, .key_len = 32};
	struct nts_client_request r = {0};
	uint8_t cookie[COOKIE_MAX_LEN], nonce[COOKIE_NONCE_LEN], req[1024], resp[2048];
	struct siv *c2s = siv_new(SIV_AEAD_CMAC_256), *s2c = siv_new(SIV_AEAD_CMAC_256), *m;
	static struct rand_pool pool;
	struct timespec now;
	struct keyring kr;
	int clen, len, rc = 1;
	ssize_t n;

	keyring_init(&kr, 86400);
	rand_pool_init(&pool);
	if (keyring_load(&kr, argv[0], time(NULL)) || !c2s || !s2c)
		goto out;
	m = master_for(&kr, keyring_current(&kr)->id);
	RAND_bytes(keys.c2s, 32);
	RAND_bytes(keys.s2c, 32);
	RAND_bytes(nonce, sizeof(nonce));
	clen = m ? cookie_seal(m, keyring_current(&kr)->id, nonce, &keys, cookie, sizeof(cookie))
	         : -ENOKEY;
	siv_free(m);
	if (clen < 0 || siv_set_key(c2s, keys.c2s, 32) || siv_set_key(s2c, keys.s2c, 32) ||
	    nts_client_randomize(&r, &pool))
		goto out;
	clock_gettime(CLOCK_REALTIME, &now);
	r.transmit_ts = ntp_ts_from_timespec(&now);
	r.cookie = cookie;
	r.cookie_len = (size_t)clen;
	r.placeholders = 1;
	len = nts_client_build(&r, c2s, req, sizeof(req));
	n = len < 0 ? len
	            : helper_udp_exchange(argv[1], argv[2], req, (size_t)len, resp, sizeof(resp));
	if (n < 0) {
		fprintf(stderr, "query: no answer: %s\n", strerror((int)-n));
		goto out;
	}
	int err = nts_client_parse(&r, s2c, resp, (size_t)n, &out);
	if (err || out.nak) {
		fprintf(stderr, "query: %s (parse %d)\n", out.nak ? "NTS NAK" : "bad answer", err);
		rc = out.nak ? 2 : 1;
		goto out;
	}
	printf("authenticated NTS response to a tock cookie (key %08X): stratum %u, %u new "
	       "cookies\n",
	       keyring_current(&kr)->id, out.hdr.stratum, out.n_cookies);
	rc = check_new_cookies(&kr, &out, &keys);
out:
	siv_free(c2s);
	siv_free(s2c);
	return rc;
}

int main(int argc, char **argv)
{
	log_init("chrony_cookie", 1, LOG_WARNING);
	if (argc == 6 && !strcmp(argv[1], "fetch"))
		return helper_fetch(argv + 2, false, 1);
	if (argc == 6 && !strcmp(argv[1], "open"))
		return cmd_open(argv + 2);
	if (argc == 4 && !strcmp(argv[1], "genring"))
		return cmd_genring(argv + 2);
	if (argc == 5 && !strcmp(argv[1], "query"))
		return cmd_query(argv + 2);
	fprintf(stderr, "usage: chrony_cookie fetch HOST PORT CA NAME | open KEYFILE C2S S2C "
	                "COOKIE | genring KEYFILE 0|1 | query KEYFILE HOST PORT\n");
	return 1;
}
