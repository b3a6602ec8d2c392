// SPDX-License-Identifier: MIT
/*
 * AES-NI back-end for siv.c. Why not OpenSSL's AES: NTS re-keys two AES-SIV instances per
 * request with the client's C2S and S2C keys, and OpenSSL 3's EVP re-keying (provider
 * parameter lookups) costs more than the AES work itself. A key schedule here is about a
 * dozen instructions per round key and nothing else.
 *
 * Every function that uses AES-NI carries its own target attribute instead of a global
 * -maes, so the binary still runs on CPUs without it; siv.c calls in only after
 * aes_ni_usable() said yes. Other architectures get stubs that are never called.
 */
#include <errno.h>
#include <string.h>

#include "aes_ni.h"

#if defined(__x86_64__)

#include <immintrin.h>

/* AES-NI plus SSE4.1 (which brings SSSE3's byte shuffle for the big-endian counter). */
#define NI __attribute__((target("aes,sse4.1")))

int aes_ni_usable(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("aes") && __builtin_cpu_supports("sse4.1");
}

static inline NI __m128i load(const uint8_t *p)
{
	return _mm_loadu_si128((const __m128i *)p);
}

static inline NI void store(uint8_t *p, __m128i v)
{
	_mm_storeu_si128((__m128i *)p, v);
}

/* ---- key expansion (FIPS 197 §5.2) ---------------------------------------------------- */

/* prev's words XORed cumulatively (w0, w0^w1, ...), then every word XORed with t's word. */
static inline NI __m128i expand_step(__m128i prev, __m128i t)
{
	prev = _mm_xor_si128(prev, _mm_slli_si128(prev, 4));
	prev = _mm_xor_si128(prev, _mm_slli_si128(prev, 8));
	return _mm_xor_si128(prev, t);
}

/*
 * SubWord(RotWord(w3)) ^ rcon in every word (or SubWord(w3) when rotate is 0, AES-256's
 * mid-key step). Why not AESKEYGENASSIST: it wants rcon as an immediate (so unrolled
 * macros), and it is slow: a whole AES-128 expansion measured 49 ns with it against 39 ns
 * this way on a Xeon (Emerald Rapids). With w3 in all four columns ShiftRows moves
 * nothing, so AESENCLAST with rcon as the round key is SubBytes ^ rcon.
 */
static inline NI __m128i sub_word(__m128i x, __m128i rcon, int rotate)
{
	const __m128i rot =
	    _mm_set_epi8(12, 15, 14, 13, 12, 15, 14, 13, 12, 15, 14, 13, 12, 15, 14, 13);
	const __m128i bcast =
	    _mm_set_epi8(15, 14, 13, 12, 15, 14, 13, 12, 15, 14, 13, 12, 15, 14, 13, 12);

	return _mm_aesenclast_si128(_mm_shuffle_epi8(x, rotate ? rot : bcast), rcon);
}

/* The round constant after rcon: doubling in GF(2^8), kept in all four words. */
static inline NI __m128i next_rcon(__m128i rcon)
{
	__m128i high = _mm_cmpgt_epi32(rcon, _mm_set1_epi32(0x7f));

	rcon = _mm_slli_epi32(rcon, 1);
	return _mm_and_si128(_mm_xor_si128(rcon, _mm_and_si128(high, _mm_set1_epi32(0x11b))),
	                     _mm_set1_epi32(0xff));
}

/* Round keys go straight to k: a local copy would only add a copy and a wipe. */
static NI void expand128(struct aes_ni_key *k, const uint8_t *key)
{
	__m128i rcon = _mm_set1_epi32(1), x = load(key);

	store(k->rk[0], x);
	for (int i = 1; i <= 10; i++, rcon = next_rcon(rcon)) {
		x = expand_step(x, sub_word(x, rcon, 1));
		store(k->rk[i], x);
	}
}

/* AES-256 alternates: a step with RotWord and rcon, then one with SubWord alone. */
static NI void expand256(struct aes_ni_key *k, const uint8_t *key)
{
	__m128i rcon = _mm_set1_epi32(1), a = load(key), b = load(key + 16);

	store(k->rk[0], a);
	store(k->rk[1], b);
	for (int i = 2; i <= 14; i += 2, rcon = next_rcon(rcon)) {
		a = expand_step(a, sub_word(b, rcon, 1));
		store(k->rk[i], a);
		if (i == 14)
			break;
		b = expand_step(b, sub_word(a, _mm_setzero_si128(), 0));
		store(k->rk[i + 1], b);
	}
}

NI int aes_ni_expand(struct aes_ni_key *k, const uint8_t *key, size_t len)
{
	if (len == 16) {
		k->rounds = 10;
		expand128(k, key);
	} else if (len == 32) {
		k->rounds = 14;
		expand256(k, key);
	} else {
		return -EINVAL;
	}
	return 0;
}

/* ---- encryption ------------------------------------------------------------------------ */

static inline NI __m128i round_key(const struct aes_ni_key *k, unsigned r)
{
	return load(k->rk[r]);
}

static inline NI __m128i encrypt1(const struct aes_ni_key *k, __m128i x)
{
	x = _mm_xor_si128(x, round_key(k, 0));
	for (unsigned r = 1; r < k->rounds; r++)
		x = _mm_aesenc_si128(x, round_key(k, r));
	return _mm_aesenclast_si128(x, round_key(k, k->rounds));
}

/* Four blocks in flight: named registers, as an array would go through the stack. */
struct quad {
	__m128i b0, b1, b2, b3;
};

/* The four blocks round by round: AESENC's latency is several times its issue interval,
 * so interleaving keeps the unit busy where one block at a time would stall. */
static inline NI struct quad encrypt4(const struct aes_ni_key *k, struct quad q)
{
	__m128i key = round_key(k, 0);

	q.b0 = _mm_xor_si128(q.b0, key);
	q.b1 = _mm_xor_si128(q.b1, key);
	q.b2 = _mm_xor_si128(q.b2, key);
	q.b3 = _mm_xor_si128(q.b3, key);
	for (unsigned r = 1; r < k->rounds; r++) {
		key = round_key(k, r);
		q.b0 = _mm_aesenc_si128(q.b0, key);
		q.b1 = _mm_aesenc_si128(q.b1, key);
		q.b2 = _mm_aesenc_si128(q.b2, key);
		q.b3 = _mm_aesenc_si128(q.b3, key);
	}
	key = round_key(k, k->rounds);
	q.b0 = _mm_aesenclast_si128(q.b0, key);
	q.b1 = _mm_aesenclast_si128(q.b1, key);
	q.b2 = _mm_aesenclast_si128(q.b2, key);
	q.b3 = _mm_aesenclast_si128(q.b3, key);
	return q;
}

NI void aes_ni_block(const struct aes_ni_key *k, const uint8_t in[AES_NI_BLOCK],
                     uint8_t out[AES_NI_BLOCK])
{
	store(out, encrypt1(k, load(in)));
}

/* ---- CMAC (RFC 4493 §2.4) ------------------------------------------------------------- */

/*
 * Byte-shuffle controls and padding, read 16 bytes at offset 16 - t for a last block of t
 * bytes (1..16). PSHUFB zeroes the lanes whose control has the top bit set. They build the
 * last block in registers from a 16-byte load ending at the message's end, which never
 * reads outside the message and avoids a store-then-wide-load stall on a stack copy.
 */
static const uint8_t to_front[32] = {
    0,    1,    2,    3,    4,    5,    6,    7,    8,    9,    10,   11,   12,   13,   14,   15,
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80};
static const uint8_t to_back[32] = {
    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
    0,    1,    2,    3,    4,    5,    6,    7,    8,    9,    10,   11,   12,   13,   14,   15};
static const uint8_t pad_at[32] = {[16] = 0x80};

/* The last t bytes of w moved to the front, then the 10* padding (none when t is 16). */
static inline NI __m128i last_block(__m128i w, size_t t)
{
	return _mm_or_si128(_mm_shuffle_epi8(w, load(to_front + 16 - t)), load(pad_at + 16 - t));
}

/* A message shorter than a block, padded: copied, since a 16-byte load could overrun. */
static NI __m128i short_block(const uint8_t *msg, size_t len)
{
	uint8_t buf[AES_NI_BLOCK] = {0};
	__m128i x;

	if (len)
		memcpy(buf, msg, len);
	buf[len] = 0x80;
	x = load(buf);
	explicit_bzero(buf, sizeof(buf));
	return x;
}

NI void aes_ni_cmac(const struct aes_ni_key *k, const uint8_t sub1[AES_NI_BLOCK],
                    const uint8_t sub2[AES_NI_BLOCK], const uint8_t *msg, size_t len,
                    const uint8_t *xorend, uint8_t mac[AES_NI_BLOCK])
{
	size_t t = len ? len - (len - 1) / AES_NI_BLOCK * AES_NI_BLOCK : 0; /* last block's */
	size_t head = len - t, off = 0; /* bytes MACed as they are, before the last block */
	__m128i x = _mm_setzero_si128(), last, end = _mm_setzero_si128();

	if (len < AES_NI_BLOCK) {
		last = short_block(msg, len);
	} else {
		/* xorend covers the last 16 bytes: part of the last block, the rest of the one
		 * before it (the to_back shift), which gets it below. */
		if (xorend)
			end = load(xorend);
		last = last_block(_mm_xor_si128(load(msg + len - AES_NI_BLOCK), end), t);
		end = _mm_shuffle_epi8(end, load(to_back + 16 - t));
	}
	last = _mm_xor_si128(last, load(t == AES_NI_BLOCK ? sub1 : sub2));
	/* CBC-MAC: each block waits for the previous one, so this is latency-bound. */
	for (; off + AES_NI_BLOCK < head; off += AES_NI_BLOCK)
		x = encrypt1(k, _mm_xor_si128(x, load(msg + off)));
	if (head)
		x = encrypt1(k, _mm_xor_si128(x, _mm_xor_si128(load(msg + off), end)));
	store(mac, encrypt1(k, _mm_xor_si128(x, last)));
}

/* ---- CTR ------------------------------------------------------------------------------- */

/* The counter is big-endian on the wire; held little-endian so one 64-bit add counts. */
static inline NI __m128i byte_swap(__m128i x)
{
	return _mm_shuffle_epi8(x,
	                        _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
}

/* The keystream of the next four counter blocks; advances *ctr by 4. */
static inline NI struct quad keystream4(const struct aes_ni_key *k, __m128i *ctr)
{
	struct quad q = {byte_swap(*ctr), byte_swap(_mm_add_epi64(*ctr, _mm_set_epi64x(0, 1))),
	                 byte_swap(_mm_add_epi64(*ctr, _mm_set_epi64x(0, 2))),
	                 byte_swap(_mm_add_epi64(*ctr, _mm_set_epi64x(0, 3)))};

	*ctr = _mm_add_epi64(*ctr, _mm_set_epi64x(0, 4));
	return encrypt4(k, q);
}

/* out = in ^ ks for one whole block. */
static inline NI void xor_block(uint8_t *out, const uint8_t *in, __m128i ks)
{
	store(out, _mm_xor_si128(load(in), ks));
}

/* The last n (< 16) bytes: through a stack copy of the keystream, wiped after. */
static NI void xor_partial(uint8_t *out, const uint8_t *in, __m128i ks, size_t n)
{
	uint8_t b[AES_NI_BLOCK];

	store(b, ks);
	for (size_t i = 0; i < n; i++)
		out[i] = in[i] ^ b[i];
	explicit_bzero(b, sizeof(b));
}

/* Up to 4 blocks' worth (n < 64 bytes) of the quad's keystream, block by block. */
static NI void xor_rest(uint8_t *out, const uint8_t *in, struct quad q, size_t n)
{
	__m128i ks[4] = {q.b0, q.b1, q.b2, q.b3};
	size_t i = 0;

	for (; n >= AES_NI_BLOCK; i++, n -= AES_NI_BLOCK)
		xor_block(out + i * AES_NI_BLOCK, in + i * AES_NI_BLOCK, ks[i]);
	if (n)
		xor_partial(out + i * AES_NI_BLOCK, in + i * AES_NI_BLOCK, ks[i], n);
}

NI void aes_ni_ctr(const struct aes_ni_key *k, const uint8_t ctr[AES_NI_BLOCK], const uint8_t *in,
                   size_t len, uint8_t *out)
{
	__m128i c = byte_swap(load(ctr));
	struct quad q;

	/* Block by block, each read before its write: out may sit below in. */
	for (; len >= 4 * AES_NI_BLOCK; len -= 4 * AES_NI_BLOCK) {
		q = keystream4(k, &c);
		xor_block(out, in, q.b0);
		xor_block(out + 16, in + 16, q.b1);
		xor_block(out + 32, in + 32, q.b2);
		xor_block(out + 48, in + 48, q.b3);
		in += 4 * AES_NI_BLOCK;
		out += 4 * AES_NI_BLOCK;
	}
	if (len)
		xor_rest(out, in, keystream4(k, &c), len);
}

#else /* no AES-NI on this architecture: siv.c keeps to OpenSSL */

int aes_ni_usable(void)
{
	return 0;
}

int aes_ni_expand(struct aes_ni_key *k, const uint8_t *key, size_t len)
{
	return -EOPNOTSUPP;
}

void aes_ni_block(const struct aes_ni_key *k, const uint8_t in[AES_NI_BLOCK],
                  uint8_t out[AES_NI_BLOCK])
{
	memset(out, 0, AES_NI_BLOCK);
}

void aes_ni_cmac(const struct aes_ni_key *k, const uint8_t sub1[AES_NI_BLOCK],
                 const uint8_t sub2[AES_NI_BLOCK], const uint8_t *msg, size_t len,
                 const uint8_t *xorend, uint8_t mac[AES_NI_BLOCK])
{
	memset(mac, 0, AES_NI_BLOCK);
}

void aes_ni_ctr(const struct aes_ni_key *k, const uint8_t ctr[AES_NI_BLOCK], const uint8_t *in,
                size_t len, uint8_t *out)
{
	memset(out, 0, len);
}

#endif
