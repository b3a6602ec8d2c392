// SPDX-License-Identifier: MIT
/*
 * Writes the seed corpora of fuzz_ef and fuzz_serve (tests/fuzz/corpus/{ef,serve}/).
 * Not part of the build; regenerate after a format change with:
 *
 *   make build/lib/libtock.a
 *   cc -D_GNU_SOURCE -Iuserspace/lib -Itests/fuzz tests/fuzz/gen_corpus.c build/lib/libtock.a \
 *      -lssl -lcrypto -o /tmp/gen_corpus && /tmp/gen_corpus tests/fuzz/corpus
 *
 * The NTS seeds carry cookies sealed with fuzz_serve_keys.h's fixed keys, so they reach the
 * authenticator check and the response path.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cookie.h"
#include "fuzz_serve_keys.h"
#include "ntp.h"
#include "nts_client.h"

static const char *dir;

static void save(const char *sub, const char *name, const uint8_t *p, size_t n)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name);
	f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n || fclose(f)) {
		perror(path);
		exit(1);
	}
}

static void ef(uint8_t *p, unsigned type, unsigned len)
{
	p[0] = (uint8_t)(type >> 8), p[1] = (uint8_t)type;
	p[2] = (uint8_t)(len >> 8), p[3] = (uint8_t)len;
}

static void gen_ef(void)
{
	uint8_t p[256] = {0x23};

	save("ef", "header_only", p, 48);
	ef(p + 48, 0x0104, 36);
	ef(p + 84, 0x2005, 16);
	save("ef", "two_fields", p, 100);
	memset(p + 100, 0xab, 20);
	save("ef", "field_then_mac20", p, 120);
	memset(p + 48, 0xcd, 24);
	save("ef", "mac24", p, 72);
	ef(p + 48, 0x0204, 18);
	save("ef", "len_not_mult4", p, 80);
	ef(p + 48, 0x0204, 12);
	save("ef", "len_below_16", p, 80);
	ef(p + 48, 0x0204, 200);
	save("ef", "overrun", p, 100);
	save("ef", "tiny", p, 7);
}

struct client {
	struct cookie_keys k;
	struct siv *c2s;
	uint8_t cookie[COOKIE_MAX_LEN];
	size_t cookie_len;
};

static void client(struct client *c, int aead, unsigned epoch)
{
	struct keymap_snapshot snap;
	const struct keymap_slot *s;
	struct siv *m = siv_new(15);
	uint8_t nonce[16] = {1, 2, 3};

	fuzz_serve_keymap(&snap);
	s = &snap.slots[epoch & 3];
	c->k.aead = aead;
	c->k.key_len = siv_key_len(aead);
	memset(c->k.c2s, 0x11, sizeof(c->k.c2s));
	memset(c->k.s2c, 0x22, sizeof(c->k.s2c));
	c->c2s = siv_new(aead);
	if (!m || !c->c2s || siv_set_key(m, s->key, 32) ||
	    siv_set_key(c->c2s, c->k.c2s, c->k.key_len))
		exit(1);
	c->cookie_len = (size_t)cookie_seal(m, s->id, nonce, &c->k, c->cookie, sizeof(c->cookie));
	siv_free(m);
}

static size_t request(const struct client *c, unsigned ph, unsigned enc, uint8_t *out)
{
	struct nts_client_request r = {
	    .transmit_ts = 0x0102030405060708ULL,
	    .cookie = c->cookie,
	    .cookie_len = c->cookie_len,
	    .placeholders = ph,
	    .enc_placeholders = enc,
	};
	int n;

	memset(r.uid, 0x5a, sizeof(r.uid));
	memset(r.nonce, 0xa5, sizeof(r.nonce));
	n = nts_client_build(&r, c->c2s, out, 4096);
	if (n < 0)
		exit(1);
	return (size_t)n;
}

static void gen_nts(void)
{
	struct client c15, c17, old;
	uint8_t p[4096];
	size_t n;

	client(&c15, 15, FUZZ_EPOCH);
	client(&c17, 17, FUZZ_EPOCH - 1);
	n = request(&c15, 0, 0, p);
	save("serve", "nts15_0ph", p, n);
	n = request(&c15, 3, 0, p);
	save("serve", "nts15_3ph", p, n);
	n = request(&c15, 1, 2, p);
	save("serve", "nts15_enc_ph", p, n);
	n = request(&c17, 1, 0, p);
	save("serve", "nts17_1ph", p, n);
	n = request(&c15, 9, 0, p);
	save("serve", "nts15_9ph", p, n);
	n = request(&c15, 1, 0, p);
	p[n - 5] ^= 1;
	save("serve", "nts_bad_tag", p, n);
	n = request(&c15, 0, 0, p);
	p[48 + 36 + 4 + 30] ^= 1;
	save("serve", "nts_bad_cookie", p, n);
	client(&old, 15, FUZZ_EPOCH);
	old.cookie[0] ^= 0x10; /* an id the key map does not hold */
	n = request(&old, 0, 0, p);
	save("serve", "nts_unknown_key", p, n);
	n = request(&c15, 2, 0, p);
	save("serve", "nts_truncated", p, n - 30);
	p[48 + 3] = 38; /* UID length not a multiple of 4 */
	save("serve", "nts_bad_len", p, n);
	n = request(&c15, 0, 0, p);
	memcpy(p + n, p + 48, 36); /* a second UID, after the authenticator */
	save("serve", "nts_after_auth", p, n + 36);
	save("serve", "nts_missing_auth", p, 48 + 36 + 4 + c15.cookie_len);
}

static void gen_plain(void)
{
	uint8_t p[128] = {0};

	nts_client_build_plain(0x1122334455667788ULL, 4, p, sizeof(p));
	save("serve", "plain_v4", p, 48);
	p[0] = ntp_lvm(0, 3, 3);
	memset(p + 48, 0x77, 20);
	save("serve", "plain_v3_mac", p, 68);
	p[0] = ntp_lvm(0, 4, 3);
	ef(p + 48, 0x2005, 28);
	save("serve", "plain_unknown_ef", p, 76);
	save("serve", "short", p, 30);
	p[0] = ntp_lvm(0, 4, 6);
	save("serve", "mode6", p, 48);
	p[0] = ntp_lvm(0, 5, 3);
	save("serve", "version5", p, 48);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
		return 2;
	}
	dir = argv[1];
	gen_ef();
	gen_plain();
	gen_nts();
	return 0;
}
