// SPDX-License-Identifier: MIT
/*
 * AES-SIV (RFC 5297) with two AES back-ends behind one table (struct siv_ops): AES-NI
 * (aes_ni.c) where the CPU has it, else OpenSSL's AES. S2V, the CMAC subkeys and the tag
 * check are shared; a back-end only schedules keys and runs AES as one block, CMAC or CTR.
 * Each instance picks its back-end once, at siv_new(), and neither allocates per message.
 *
 * OpenSSL back-end: S2V's CMAC runs as a CBC-MAC on one AES-CBC context keyed with K1; CTR
 * mode is an AES-ECB context keyed with K2 encrypting counter blocks built here. Why not
 * the obvious EVP calls: in OpenSSL 3.0 every EVP_EncryptInit_ex() costs ~100 ns (it
 * queries key and IV length through the provider's parameter tables), so resetting a CTR
 * context's IV per message, or re-keying both halves eagerly, would dominate an NTS
 * request. Instead the CBC chain is cancelled by XOR rather than reset, the counter blocks
 * need no IV, and K2 is scheduled only when a message has text to encrypt (an NTS
 * request's authenticator has none). The AES-NI back-end has no such costs, which is why
 * it exists: the per-client keys change with every request.
 */
#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "aes_ni.h"
#include "siv.h"

#define BLOCK 16
#define CHUNK 512 /* bytes of CBC-MAC input per EVP call: bounds the stack buffer */

struct siv_ciphers {
	EVP_CIPHER *cbc;
	EVP_CIPHER *ecb;
};

/* What differs between the AES back-ends. Each returns 0 or a negative errno. */
struct siv_ops {
	const char *name;
	int (*init)(struct siv *s);                          /* at siv_new(), may allocate */
	void (*fini)(struct siv *s);                         /* at siv_free() */
	int (*key1)(struct siv *s, const uint8_t *key);      /* schedules K1 (S2V's key) */
	int (*key2)(struct siv *s);                          /* schedules K2 (CTR's) from s->k2 */
	int (*copy)(struct siv *dst, const struct siv *src); /* copies the schedules */
	/* AES under K1 of one block. */
	int (*block)(struct siv *s, const uint8_t in[BLOCK], uint8_t out[BLOCK]);
	/* CMAC under K1; a non-NULL xorend is first XORed onto msg's last 16 bytes (len >= 16). */
	int (*cmac)(struct siv *s, const uint8_t *msg, size_t len, const uint8_t *xorend,
	            uint8_t mac[BLOCK]);
	/* CTR under K2 from counter block q (bits 31 and 63 already cleared). */
	int (*ctr)(struct siv *s, const uint8_t q[BLOCK], const uint8_t *in, size_t len,
	           uint8_t *out);
};

struct siv {
	int aead;
	int keyed;
	int k2_ready;    /* K2 is scheduled */
	int empty_ready; /* d_empty is valid */
	size_t half;     /* bytes of K1 and of K2 */
	const struct siv_ops *ops;
	uint8_t sub1[BLOCK];    /* CMAC subkey for a complete last block */
	uint8_t sub2[BLOCK];    /* CMAC subkey for a padded last block */
	uint8_t d0[BLOCK];      /* CMAC(K1, 0^128): where every S2V starts */
	uint8_t d_empty[BLOCK]; /* CMAC(K1, ""): cookies carry an empty component */
	uint8_t k2[SIV_MAX_KEY_LEN / 2];
	/* OpenSSL back-end */
	EVP_CIPHER_CTX *mac;  /* AES-CBC under K1, the CBC-MAC inside CMAC */
	EVP_CIPHER_CTX *ctr;  /* AES-ECB under K2, for the CTR keystream */
	uint8_t chain[BLOCK]; /* mac's chaining value, i.e. the last block it output */
	/* AES-NI back-end */
	struct aes_ni_key ni1, ni2; /* K1's and K2's schedules */
};

static const uint8_t zero_block[BLOCK];

/* Fetched once per process: fetching per instance would cost a provider lookup each time. */
static struct siv_ciphers aes128, aes256;
static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;
static int rekey_keeps_chain; /* what a NULL-IV re-key does to a CBC context's IV */

/*
 * Re-keying with a NULL IV is cheaper than passing one. OpenSSL 3.0 then restores the IV
 * given at the first init (zero here); should a version keep the running chain instead,
 * siv_set_key must keep tracking it. One probe at start-up tells which.
 */
static void probe_rekey(void)
{
	static const uint8_t k[16] = {1};
	uint8_t a[2 * BLOCK] = {0}, b[BLOCK] = {0};
	EVP_CIPHER_CTX *cbc = EVP_CIPHER_CTX_new(), *ecb = EVP_CIPHER_CTX_new();
	int outl;

	if (cbc && ecb && EVP_EncryptInit_ex(cbc, aes128.cbc, NULL, k, zero_block) &&
	    EVP_EncryptUpdate(cbc, a, &outl, a, BLOCK) &&
	    EVP_EncryptInit_ex(cbc, NULL, NULL, k, NULL) &&
	    EVP_EncryptUpdate(cbc, a + BLOCK, &outl, zero_block, BLOCK) &&
	    EVP_EncryptInit_ex(ecb, aes128.ecb, NULL, k, NULL) &&
	    EVP_EncryptUpdate(ecb, b, &outl, a, BLOCK))
		rekey_keeps_chain = memcmp(a + BLOCK, b, BLOCK) == 0;
	EVP_CIPHER_CTX_free(cbc);
	EVP_CIPHER_CTX_free(ecb);
}

static void fetch_ciphers(void)
{
	aes128.cbc = EVP_CIPHER_fetch(NULL, "AES-128-CBC", NULL);
	aes128.ecb = EVP_CIPHER_fetch(NULL, "AES-128-ECB", NULL);
	aes256.cbc = EVP_CIPHER_fetch(NULL, "AES-256-CBC", NULL);
	aes256.ecb = EVP_CIPHER_fetch(NULL, "AES-256-ECB", NULL);
	if (aes128.cbc && aes128.ecb)
		probe_rekey();
}

static const struct siv_ciphers *ciphers_for(int aead)
{
	const struct siv_ciphers *c;

	if (aead == SIV_AEAD_CMAC_256)
		c = &aes128;
	else if (aead == SIV_AEAD_CMAC_512)
		c = &aes256;
	else
		return NULL;
	if (pthread_once(&fetch_once, fetch_ciphers) != 0 || !c->cbc || !c->ecb)
		return NULL;
	return c;
}

size_t siv_key_len(int aead)
{
	if (aead == SIV_AEAD_CMAC_256)
		return 32;
	if (aead == SIV_AEAD_CMAC_512)
		return 64;
	return 0;
}

static void xor_block(uint8_t *dst, const uint8_t *src)
{
	for (int i = 0; i < BLOCK; i++)
		dst[i] ^= src[i];
}

static uint64_t load_be64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return be64toh(v);
}

static void store_be64(uint8_t *p, uint64_t v)
{
	v = htobe64(v);
	memcpy(p, &v, sizeof(v));
}

/* A block as its two big-endian halves in host order: doubling and XOR stay in registers. */
struct blk {
	uint64_t hi, lo;
};

static struct blk blk_load(const uint8_t *p)
{
	return (struct blk){load_be64(p), load_be64(p + 8)};
}

static void blk_store(uint8_t *p, struct blk b)
{
	store_be64(p, b.hi);
	store_be64(p + 8, b.lo);
}

static struct blk blk_xor(struct blk a, struct blk b)
{
	return (struct blk){a.hi ^ b.hi, a.lo ^ b.lo};
}

/* Doubling in GF(2^128) (RFC 5297 §2.3), without a branch on the secret top bit. */
static struct blk dbl(struct blk b)
{
	uint64_t poly = (0 - (b.hi >> 63)) & 0x87;

	return (struct blk){b.hi << 1 | b.lo >> 63, b.lo << 1 ^ poly};
}

/* out = in ^ ks, a word at a time (out may equal in, so the compiler cannot vectorise). */
static void xor_into(uint8_t *out, const uint8_t *in, const uint8_t *ks, size_t n)
{
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t a, b;

		memcpy(&a, in + i, 8);
		memcpy(&b, ks + i, 8);
		a ^= b;
		memcpy(out + i, &a, 8);
	}
	for (; i < n; i++)
		out[i] = in[i] ^ ks[i];
}

/* ---- OpenSSL back-end ---------------------------------------------------------------- */

/* CBC-encrypts buf (n bytes, a multiple of BLOCK) in place and remembers the chain value. */
static int cbc(struct siv *s, uint8_t *buf, size_t n)
{
	int outl;

	if (!EVP_EncryptUpdate(s->mac, buf, &outl, buf, (int)n) || (size_t)outl != n) {
		/* Resynchronise so the instance stays usable after a failure. */
		EVP_EncryptInit_ex(s->mac, NULL, NULL, NULL, zero_block);
		memset(s->chain, 0, BLOCK);
		return -EIO;
	}
	memcpy(s->chain, buf + n - BLOCK, BLOCK);
	return 0;
}

/*
 * CMAC (RFC 4493) under K1. The context keeps chaining across calls, so instead of
 * resetting its IV a new MAC cancels the old chain value out of its first block. When
 * xorend is set, it is XORed onto the last 16 message bytes (S2V's "xorend", len >= 16).
 */
static int evp_cmac(struct siv *s, const uint8_t *msg, size_t len, const uint8_t *xorend,
                    uint8_t mac[BLOCK])
{
	uint8_t buf[CHUNK + BLOCK];
	size_t body = len ? (len - 1) / BLOCK * BLOCK : 0; /* whole blocks before the last */
	size_t off = 0, rest, tail = len - body;
	int err;

	while (body - off > CHUNK) {
		memcpy(buf, msg + off, CHUNK);
		if (off == 0)
			xor_block(buf, s->chain);
		err = cbc(s, buf, CHUNK);
		if (err)
			return err;
		off += CHUNK;
	}
	rest = body - off;
	if (rest + tail)
		memcpy(buf, msg + off, rest + tail);
	if (tail == BLOCK) {
		xor_block(buf + rest, s->sub1);
	} else {
		buf[rest + tail] = 0x80;
		memset(buf + rest + tail + 1, 0, BLOCK - tail - 1);
		xor_block(buf + rest, s->sub2);
	}
	if (xorend)
		xor_block(buf + rest + tail - BLOCK, xorend);
	if (off == 0)
		xor_block(buf, s->chain);
	err = cbc(s, buf, rest + BLOCK);
	if (!err)
		memcpy(mac, buf + rest, BLOCK);
	explicit_bzero(buf, off ? sizeof(buf) : rest + BLOCK);
	return err;
}

/* One block under K1: a CBC step whose input cancels the chain value. */
static int evp_block(struct siv *s, const uint8_t in[BLOCK], uint8_t out[BLOCK])
{
	uint8_t b[BLOCK];
	int err;

	memcpy(b, in, BLOCK);
	xor_block(b, s->chain);
	err = cbc(s, b, BLOCK);
	if (!err)
		memcpy(out, b, BLOCK);
	explicit_bzero(b, BLOCK);
	return err;
}

/*
 * AES-CTR under K2 from q: the counter blocks of a chunk are encrypted in one ECB call,
 * then XORed onto the input (out may equal in).
 */
static int evp_ctr(struct siv *s, const uint8_t qb[BLOCK], const uint8_t *in, size_t len,
                   uint8_t *out)
{
	struct blk q = blk_load(qb);
	uint8_t ks[CHUNK];
	size_t used = len < CHUNK ? len : CHUNK;
	int outl, err = 0;

	while (len && !err) {
		size_t n = len < CHUNK ? len : CHUNK, blocks = (n + BLOCK - 1) / BLOCK;

		/* RFC 5297 adds 1 modulo 2^128; the counter is public (it is the tag). */
		for (size_t b = 0; b < blocks; b++) {
			blk_store(ks + b * BLOCK, q);
			q.lo++;
			q.hi += q.lo == 0;
		}
		if (!EVP_EncryptUpdate(s->ctr, ks, &outl, ks, (int)(blocks * BLOCK)))
			err = -EIO;
		if (!err)
			xor_into(out, in, ks, n);
		in += n;
		out += n;
		len -= n;
	}
	explicit_bzero(ks, used);
	return err;
}

static int evp_key1(struct siv *s, const uint8_t *key)
{
	/* A NULL cipher keeps the provider context (re-keying must not allocate); a NULL IV
	 * skips a costly IV-length query (see probe_rekey). */
	if (!EVP_EncryptInit_ex(s->mac, NULL, NULL, key, NULL))
		return -EIO;
	if (!rekey_keeps_chain)
		memset(s->chain, 0, BLOCK);
	return 0;
}

static int evp_key2(struct siv *s)
{
	return EVP_EncryptInit_ex(s->ctr, NULL, NULL, s->k2, NULL) ? 0 : -EIO;
}

static int evp_copy(struct siv *dst, const struct siv *src)
{
	if (!EVP_CIPHER_CTX_copy(dst->mac, src->mac) || !EVP_CIPHER_CTX_copy(dst->ctr, src->ctr))
		return -EIO;
	memcpy(dst->chain, src->chain, BLOCK);
	return 0;
}

static int evp_init(struct siv *s)
{
	const struct siv_ciphers *c = ciphers_for(s->aead);

	if (!c)
		return -ENOMEM;
	s->mac = EVP_CIPHER_CTX_new();
	s->ctr = EVP_CIPHER_CTX_new();
	/* The zero IV given here is the one every NULL-IV re-key restores. */
	if (!s->mac || !s->ctr || !EVP_EncryptInit_ex(s->mac, c->cbc, NULL, NULL, zero_block) ||
	    !EVP_CIPHER_CTX_set_padding(s->mac, 0) ||
	    !EVP_EncryptInit_ex(s->ctr, c->ecb, NULL, NULL, NULL) ||
	    !EVP_CIPHER_CTX_set_padding(s->ctr, 0))
		return -ENOMEM;
	return 0;
}

static void evp_fini(struct siv *s)
{
	EVP_CIPHER_CTX_free(s->mac);
	EVP_CIPHER_CTX_free(s->ctr);
}

static const struct siv_ops evp_ops = {
    .name = "openssl",
    .init = evp_init,
    .fini = evp_fini,
    .key1 = evp_key1,
    .key2 = evp_key2,
    .copy = evp_copy,
    .block = evp_block,
    .cmac = evp_cmac,
    .ctr = evp_ctr,
};

/* ---- AES-NI back-end (aes_ni.c) ------------------------------------------------------ */

static int ni_init(struct siv *s)
{
	return 0;
}

static void ni_fini(struct siv *s)
{
}

/* K2 waits for the first CTR, as with OpenSSL: scheduling it here as well measured slower
 * per NTS request (the C2S key never encrypts, and the S2C key's CTR schedule overlaps S2V). */
static int ni_key1(struct siv *s, const uint8_t *key)
{
	return aes_ni_expand(&s->ni1, key, s->half);
}

static int ni_key2(struct siv *s)
{
	return aes_ni_expand(&s->ni2, s->k2, s->half);
}

static int ni_copy(struct siv *dst, const struct siv *src)
{
	dst->ni1 = src->ni1;
	dst->ni2 = src->ni2;
	return 0;
}

static int ni_block(struct siv *s, const uint8_t in[BLOCK], uint8_t out[BLOCK])
{
	aes_ni_block(&s->ni1, in, out);
	return 0;
}

static int ni_cmac(struct siv *s, const uint8_t *msg, size_t len, const uint8_t *xorend,
                   uint8_t mac[BLOCK])
{
	aes_ni_cmac(&s->ni1, s->sub1, s->sub2, msg, len, xorend, mac);
	return 0;
}

static int ni_ctr(struct siv *s, const uint8_t q[BLOCK], const uint8_t *in, size_t len,
                  uint8_t *out)
{
	aes_ni_ctr(&s->ni2, q, in, len, out);
	return 0;
}

static const struct siv_ops ni_ops = {
    .name = "aes-ni",
    .init = ni_init,
    .fini = ni_fini,
    .key1 = ni_key1,
    .key2 = ni_key2,
    .copy = ni_copy,
    .block = ni_block,
    .cmac = ni_cmac,
    .ctr = ni_ctr,
};

/* ---- choosing the back-end ----------------------------------------------------------- */

static const struct siv_ops *auto_ops;
static pthread_once_t pick_once = PTHREAD_ONCE_INIT;
static int portable_forced;

/* Once per process: the CPU decides, unless TOCK_SIV_NO_AESNI asks for OpenSSL. */
static void pick_ops(void)
{
	const char *no = getenv("TOCK_SIV_NO_AESNI");

	if (no && *no && strcmp(no, "0") != 0)
		auto_ops = &evp_ops;
	else
		auto_ops = aes_ni_usable() ? &ni_ops : &evp_ops;
}

static const struct siv_ops *ops_for_new(void)
{
	if (__atomic_load_n(&portable_forced, __ATOMIC_RELAXED))
		return &evp_ops;
	if (pthread_once(&pick_once, pick_ops) != 0)
		return &evp_ops;
	return auto_ops;
}

void siv_force_portable(int on)
{
	__atomic_store_n(&portable_forced, !!on, __ATOMIC_RELAXED);
}

const char *siv_impl(const struct siv *s)
{
	return s && s->ops ? s->ops->name : NULL;
}

const char *siv_impl_default(void)
{
	return ops_for_new()->name;
}

/* ---- SIV on either back-end ---------------------------------------------------------- */

/* CMAC of an empty component, computed once per key. */
static int cmac_empty(struct siv *s, uint8_t mac[BLOCK])
{
	if (!s->empty_ready) {
		int err = s->ops->cmac(s, NULL, 0, NULL, s->d_empty);

		if (err)
			return err;
		s->empty_ready = 1;
	}
	memcpy(mac, s->d_empty, BLOCK);
	return 0;
}

/* S2V (RFC 5297 §2.4) over the components and, as the last one, the plaintext. */
static int s2v(struct siv *s, const struct siv_ad *ad, size_t n_ad, const uint8_t *pt,
               size_t pt_len, uint8_t v[BLOCK])
{
	struct blk d = blk_load(s->d0);
	uint8_t m[BLOCK];
	int err = 0;

	for (size_t i = 0; i < n_ad && !err; i++) {
		if (ad[i].len)
			err = s->ops->cmac(s, ad[i].data, ad[i].len, NULL, m);
		else
			err = cmac_empty(s, m);
		d = blk_xor(dbl(d), blk_load(m));
	}
	if (err)
		return err;
	if (pt_len >= BLOCK) {
		blk_store(m, d);
		return s->ops->cmac(s, pt, pt_len, m, v);
	}
	memset(m, 0, BLOCK);
	if (pt_len)
		memcpy(m, pt, pt_len);
	m[pt_len] = 0x80;
	blk_store(m, blk_xor(dbl(d), blk_load(m)));
	err = s->ops->cmac(s, m, BLOCK, NULL, v);
	explicit_bzero(m, BLOCK);
	return err;
}

/*
 * AES-CTR under K2 from the synthetic IV with bits 31 and 63 cleared (RFC 5297 §2.5); K2
 * is scheduled on first use after a re-key. out may equal in.
 */
static int ctr(struct siv *s, const uint8_t v[BLOCK], const uint8_t *in, size_t len, uint8_t *out)
{
	uint8_t q[BLOCK];

	if (!len)
		return 0;
	if (!s->k2_ready) {
		if (s->ops->key2(s))
			return -EIO;
		s->k2_ready = 1;
	}
	memcpy(q, v, BLOCK);
	q[8] &= 0x7f;  /* bit 63 */
	q[12] &= 0x7f; /* bit 31 */
	return s->ops->ctr(s, q, in, len, out);
}

static int args_ok(const struct siv *s, const struct siv_ad *ad, size_t n_ad)
{
	if (!s || !s->keyed || n_ad > SIV_MAX_AD || (n_ad && !ad))
		return 0;
	for (size_t i = 0; i < n_ad; i++)
		if (ad[i].len && !ad[i].data)
			return 0;
	return 1;
}

int siv_encrypt(struct siv *s, const struct siv_ad *ad, size_t n_ad, const uint8_t *pt,
                size_t pt_len, uint8_t *out)
{
	uint8_t v[BLOCK];
	int err;

	if (!args_ok(s, ad, n_ad) || (pt_len && !pt) || !out)
		return -EINVAL;
	err = s2v(s, ad, n_ad, pt, pt_len, v);
	if (err)
		return err;
	memcpy(out, v, BLOCK);
	return ctr(s, v, pt, pt_len, out + BLOCK);
}

int siv_decrypt(struct siv *s, const struct siv_ad *ad, size_t n_ad, const uint8_t *in,
                size_t in_len, uint8_t *pt)
{
	uint8_t tag[BLOCK], v[BLOCK];
	size_t pt_len;
	int err;

	if (!args_ok(s, ad, n_ad) || !in || in_len < BLOCK || (in_len > BLOCK && !pt))
		return -EINVAL;
	pt_len = in_len - BLOCK;
	memcpy(tag, in, BLOCK); /* pt may overlap in */
	err = ctr(s, tag, in + BLOCK, pt_len, pt);
	if (!err)
		err = s2v(s, ad, n_ad, pt, pt_len, v);
	if (!err && CRYPTO_memcmp(v, tag, BLOCK) != 0)
		err = -EBADMSG;
	if (err && pt_len)
		explicit_bzero(pt, pt_len);
	return err;
}

/* CMAC subkeys from L = AES(K1, 0^128), and S2V's constant first value (RFC 4493 §2.3). */
static int derive(struct siv *s)
{
	uint8_t l[BLOCK];
	int err = s->ops->block(s, zero_block, l);

	if (err)
		return err;
	blk_store(s->sub1, dbl(blk_load(l)));
	blk_store(s->sub2, dbl(blk_load(s->sub1)));
	explicit_bzero(l, BLOCK);
	/* CMAC(0^128) is one complete block: AES(0 ^ sub1). */
	return s->ops->block(s, s->sub1, s->d0);
}

int siv_set_key(struct siv *s, const uint8_t *key, size_t len)
{
	if (!s || !key || len != 2 * s->half)
		return -EINVAL;
	s->keyed = 0;
	s->k2_ready = 0;
	s->empty_ready = 0;
	memcpy(s->k2, key + s->half, s->half);
	if (s->ops->key1(s, key))
		return -EIO;
	if (derive(s))
		return -EIO;
	s->keyed = 1;
	return 0;
}

int siv_copy(struct siv *dst, const struct siv *src)
{
	if (!dst || !src || dst == src || dst->aead != src->aead || dst->ops != src->ops ||
	    !src->keyed)
		return -EINVAL;
	dst->keyed = 0;
	if (dst->ops->copy(dst, src))
		return -EIO;
	memcpy(dst->sub1, src->sub1, BLOCK);
	memcpy(dst->sub2, src->sub2, BLOCK);
	memcpy(dst->d0, src->d0, BLOCK);
	memcpy(dst->d_empty, src->d_empty, BLOCK);
	memcpy(dst->k2, src->k2, sizeof(dst->k2));
	dst->k2_ready = src->k2_ready;
	dst->empty_ready = src->empty_ready;
	dst->keyed = 1;
	return 0;
}

int siv_aead(const struct siv *s)
{
	return s ? s->aead : 0;
}

struct siv *siv_new(int aead)
{
	size_t key_len = siv_key_len(aead);
	struct siv *s;

	if (!key_len)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->aead = aead;
	s->half = key_len / 2;
	s->ops = ops_for_new();
	if (s->ops->init(s)) {
		siv_free(s);
		return NULL;
	}
	return s;
}

void siv_free(struct siv *s)
{
	if (!s)
		return;
	if (s->ops)
		s->ops->fini(s);
	OPENSSL_cleanse(s, sizeof(*s));
	free(s);
}
