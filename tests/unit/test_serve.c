// SPDX-License-Identifier: MIT
/*
 * The request handler: plain NTP answers field by field, every drop reason, NTS answers
 * verified with the client code and their cookies opened with the current master key,
 * NAKs, response length == request length, key-map changes, and a seeded randomized run of
 * more than 50,000 valid, malformed and NAK-worthy NTS requests built from real cookies, each
 * outcome checked against the one expected.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "cookie.h"
#include "keymap.h"
#include "ntp.h"
#include "nts_client.h"
#include "serve.h"
#include "siv.h"

#define RANDOM_ROUNDS 60000
#define BUF           8192

/* ---- fixtures ------------------------------------------------------------------------ */

static struct tock_worker_stats stats;
static struct tock_clock_cell cell;
static const struct timespec fixed_now = {.tv_sec = 1700000000, .tv_nsec = 987654321};
static struct tock_rx_meta rx = {
    .rx_time = {.tv_sec = 1700000000, .tv_nsec = 500000000},
    .rx_source = TS_SRC_KERNEL,
};
static uint64_t rng_state = 1;

static void fake_now(struct timespec *ts)
{
	*ts = fixed_now;
}

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

static unsigned rnd_below(unsigned n)
{
	return (unsigned)(rnd() % n);
}

static void rnd_bytes(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)rnd();
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

static void set_clock(uint8_t leap, uint8_t stratum)
{
	struct tock_clock_status st = {
	    .leap = leap,
	    .stratum = stratum,
	    .precision = -23,
	    .refid = 0x47505300, /* GPS */
	    .root_delay = 0x00000123,
	    .root_dispersion = 0x00004567,
	    .ref_time = 0xe9b4f2a012345678ULL,
	};

	clock_cell_publish(&cell, &st);
}

/* A key ring as tock-ke keeps it: slot e & 3 holds epoch e's key, id (e << 2) | (e & 3). */
struct ring {
	struct keymap_snapshot snap;
	uint32_t epoch;
	struct siv *master[KEYMAP_SLOTS];
};

static uint32_t ring_id(uint32_t e)
{
	return (e << 2) | (e & 3);
}

static void ring_set(struct ring *r, uint32_t e)
{
	struct keymap_slot *s = &r->snap.slots[e & 3];

	s->id = ring_id(e);
	s->aead = SIV_AEAD_CMAC_256;
	s->valid = 1;
	rnd_bytes(s->key, sizeof(s->key));
	if (!r->master[e & 3])
		r->master[e & 3] = siv_new(SIV_AEAD_CMAC_256);
	siv_set_key(r->master[e & 3], s->key, 32);
}

static void ring_init(struct ring *r, uint32_t e0)
{
	memset(&r->snap, 0, sizeof(r->snap));
	r->epoch = e0;
	for (uint32_t e = e0 - 2; e <= e0 + 1; e++)
		ring_set(r, e);
	r->snap.current_slot = e0 & 3;
}

static void ring_rotate(struct ring *r)
{
	r->epoch++;
	ring_set(r, r->epoch + 1);
	r->snap.current_slot = r->epoch & 3;
}

static void ring_free(struct ring *r)
{
	for (int i = 0; i < KEYMAP_SLOTS; i++)
		siv_free(r->master[i]);
}

static void client_keys(struct cookie_keys *k, int aead)
{
	memset(k, 0, sizeof(*k));
	k->aead = aead;
	k->key_len = siv_key_len(aead);
	rnd_bytes(k->c2s, k->key_len);
	rnd_bytes(k->s2c, k->key_len);
}

/* Mints a cookie for k under epoch e's key (which must be in the ring). */
static size_t mint(struct ring *r, uint32_t e, const struct cookie_keys *k, uint8_t *out)
{
	uint8_t nonce[COOKIE_NONCE_LEN];
	int n;

	rnd_bytes(nonce, sizeof(nonce));
	n = cookie_seal(r->master[e & 3], ring_id(e), nonce, k, out, COOKIE_MAX_LEN);
	if (n < 0) {
		fprintf(stderr, "cookie_seal: %d\n", n);
		exit(1);
	}
	return (size_t)n;
}

static struct siv *keyed(int aead, const uint8_t *key)
{
	struct siv *s = siv_new(aead);

	if (!s || siv_set_key(s, key, siv_key_len(aead)) < 0) {
		fprintf(stderr, "siv setup failed\n");
		exit(1);
	}
	return s;
}

/* ---- outcomes ------------------------------------------------------------------------ */

enum outcome {
	O_PLAIN,
	O_NTS,
	O_NAK_KEY,
	O_NAK_COOKIE,
	O_NAK_TAG,
	O_DROP_SHORT,
	O_DROP_VERSION,
	O_DROP_MODE,
	O_DROP_EF,
	O_DROP_NTS,
	O_DROP_BIG,
	O_COUNT
};

static const enum tock_stat outcome_stat[O_COUNT] = {
    STAT_PLAIN_ANSWERED,    STAT_NTS_ANSWERED,       STAT_NAK_UNKNOWN_KEY, STAT_NAK_BAD_COOKIE,
    STAT_NAK_BAD_TAG,       STAT_DROP_SHORT,         STAT_DROP_VERSION,    STAT_DROP_MODE,
    STAT_DROP_EF_MALFORMED, STAT_DROP_NTS_MALFORMED, STAT_DROP_TOO_BIG,
};

static const char *const outcome_name[O_COUNT] = {
    "plain",        "nts",       "nak_key", "nak_cookie", "nak_tag",      "drop_short",
    "drop_version", "drop_mode", "drop_ef", "drop_nts",   "drop_too_big",
};

#define M(o)     (1u << (o))
#define M_REJECT (M(O_NAK_KEY) | M(O_NAK_COOKIE) | M(O_NAK_TAG) | M(O_DROP_EF) | M(O_DROP_NTS))

/* Runs one request; returns the outcome (which counter moved), or -1 if not exactly one. */
static int serve(struct tock_worker_ctx *w, const uint8_t *req, size_t len, uint8_t *resp,
                 size_t cap, size_t *resp_len)
{
	struct tock_worker_stats before = stats;
	int found = -1, moved = 0;

	*resp_len = tock_serve(w, req, len, &rx, resp, cap);
	if (stats.c[STAT_RX] != before.c[STAT_RX] + 1)
		return -1;
	for (int o = 0; o < O_COUNT; o++) {
		uint64_t d = stats.c[outcome_stat[o]] - before.c[outcome_stat[o]];

		if (d) {
			moved++;
			found = o;
		}
	}
	return moved == 1 ? found : -1;
}

/* ---- plain NTP ------------------------------------------------------------------------ */

static void plain_request(uint8_t *req, unsigned version, unsigned mode)
{
	memset(req, 0, NTP_HEADER_LEN);
	req[0] = ntp_lvm(0, version, mode);
	req[2] = 6; /* poll */
	for (int i = 0; i < 8; i++)
		req[40 + i] = (uint8_t)(0xa0 + i);
}

static void test_plain(struct tock_worker_ctx *w)
{
	uint8_t req[BUF], resp[BUF];
	size_t n;

	set_clock(CLOCK_LEAP_INSERT, 2);
	for (unsigned v = 1; v <= 4; v++) {
		plain_request(req, v, NTP_MODE_CLIENT);
		CHECK_EQ(serve(w, req, 48, resp, sizeof(resp), &n), O_PLAIN);
		CHECK_EQ(n, 48);
		CHECK_EQ(resp[0], ntp_lvm(1, v, 4));
		CHECK_EQ(resp[1], 2);
		CHECK_EQ(resp[2], 6);
		CHECK_EQ((int8_t)resp[3], -23);
		CHECK_EQ(be32(resp + 4), 0x123);
		CHECK_EQ(be32(resp + 8), 0x4567);
		CHECK_EQ(be32(resp + 12), 0x47505300);
		CHECK_EQ(be64(resp + 16), 0xe9b4f2a012345678ULL);
		CHECK_MEM(resp + 24, req + 40, 8);
		CHECK_EQ(be64(resp + 32), ntp_ts_from_timespec(&rx.rx_time));
		CHECK_EQ(be64(resp + 40), ntp_ts_from_timespec(&fixed_now));
	}
	/* Unknown extension fields and a legacy MAC are ignored; the answer is 48 bytes. */
	memset(req + 48, 0, 64);
	req[48] = 0x20, req[49] = 0x05, req[51] = 28;
	CHECK_EQ(serve(w, req, 48 + 28, resp, sizeof(resp), &n), O_PLAIN);
	CHECK_EQ(n, 48);
	CHECK_EQ(serve(w, req, 48 + 28 + 20, resp, sizeof(resp), &n), O_PLAIN);
	memset(req + 48, 0x77, 24);
	CHECK_EQ(serve(w, req, 48 + 24, resp, sizeof(resp), &n), O_PLAIN);
	CHECK_EQ(serve(w, req, 48 + 20, resp, sizeof(resp), &n), O_PLAIN);

	/* Unsynchronised: leap 3 and stratum 0 whatever the stratum says. */
	set_clock(CLOCK_LEAP_UNSYNC, 3);
	plain_request(req, 4, NTP_MODE_CLIENT);
	CHECK_EQ(serve(w, req, 48, resp, sizeof(resp), &n), O_PLAIN);
	CHECK_EQ(resp[0], ntp_lvm(3, 4, 4));
	CHECK_EQ(resp[1], 0);
	set_clock(CLOCK_LEAP_NONE, 1);
}

static void test_ts_sources(struct tock_worker_ctx *w)
{
	uint8_t req[48], resp[64];
	size_t n;
	struct tock_worker_stats before = stats;

	plain_request(req, 4, 3);
	rx.rx_source = TS_SRC_DAEMON;
	serve(w, req, 48, resp, sizeof(resp), &n);
	rx.rx_source = TS_SRC_HARDWARE;
	serve(w, req, 48, resp, sizeof(resp), &n);
	serve(w, req, 48, resp, sizeof(resp), &n);
	rx.rx_source = TS_SRC_KERNEL;
	serve(w, req, 48, resp, sizeof(resp), &n);
	CHECK_EQ(stats.c[STAT_TS_DAEMON] - before.c[STAT_TS_DAEMON], 1);
	CHECK_EQ(stats.c[STAT_TS_HW] - before.c[STAT_TS_HW], 2);
	CHECK_EQ(stats.c[STAT_TS_KERNEL] - before.c[STAT_TS_KERNEL], 1);
}

static void test_drops(struct tock_worker_ctx *w)
{
	uint8_t req[BUF], resp[BUF];
	size_t n;

	plain_request(req, 4, 3);
	for (size_t len = 0; len < 48; len += 7)
		CHECK_EQ(serve(w, req, len, resp, sizeof(resp), &n), O_DROP_SHORT);
	CHECK_EQ(serve(w, req, 47, resp, sizeof(resp), &n), O_DROP_SHORT);
	for (unsigned v = 0; v < 8; v += (v == 0 ? 5 : 1)) {
		plain_request(req, v, 3);
		CHECK_EQ(serve(w, req, 48, resp, sizeof(resp), &n), O_DROP_VERSION);
		CHECK_EQ(n, 0);
	}
	for (unsigned m = 0; m < 8; m++) {
		if (m == 3)
			continue;
		plain_request(req, 4, m);
		CHECK_EQ(serve(w, req, 48, resp, sizeof(resp), &n), O_DROP_MODE);
	}
	plain_request(req, 4, 3);
	memset(req + 48, 0, 32);
	req[51] = 18; /* field length not a multiple of 4 */
	CHECK_EQ(serve(w, req, 48 + 32, resp, sizeof(resp), &n), O_DROP_EF);
	req[51] = 12;
	CHECK_EQ(serve(w, req, 48 + 32, resp, sizeof(resp), &n), O_DROP_EF);
	req[51] = 36; /* overruns */
	CHECK_EQ(serve(w, req, 48 + 32, resp, sizeof(resp), &n), O_DROP_EF);
	CHECK_EQ(serve(w, req, 48 + 5, resp, sizeof(resp), &n), O_DROP_EF);
	/* A lone UID makes it NTS, and without cookie or authenticator it is dropped. */
	req[48] = 0x01, req[49] = 0x04, req[51] = 36;
	CHECK_EQ(serve(w, req, 48 + 36, resp, sizeof(resp), &n), O_DROP_NTS);
	/* No room even for a header. */
	CHECK_EQ(serve(w, req, 48, resp, 47, &n), O_DROP_BIG);
}

/* ---- NTS request assembly (independent of nts_client for the mutations) --------------- */

struct field {
	uint16_t type;
	size_t body_len;
	uint8_t body[COOKIE_MAX_LEN + 64];
};

struct spec {
	uint8_t hdr[NTP_HEADER_LEN];
	struct field f[24]; /* before the authenticator, in order */
	unsigned nf;
	bool auth;
	size_t nonce_len;
	uint8_t nonce[32];
	unsigned enc_ph;    /* encrypted placeholders */
	size_t enc_ph_len;  /* their body length */
	const uint8_t *c2s; /* key for the authenticator (client's AEAD) */
	int aead;
	struct field after[2];
	unsigned nafter;
	bool mac;
};

struct built {
	uint8_t pkt[BUF];
	size_t len;
	size_t off[32], flen[32]; /* every field, the authenticator and what follows */
	unsigned n;
	size_t auth_off;
	size_t uid_off, uid_len, cookie_off;
};

static void put_field(struct built *b, uint16_t type, const uint8_t *body, size_t len)
{
	size_t pos = b->len;
	int r = ntp_ef_put(b->pkt, sizeof(b->pkt), &pos, type, body, len);

	if (r < 0) {
		fprintf(stderr, "test request too big\n");
		exit(1);
	}
	b->off[b->n] = b->len;
	b->flen[b->n++] = (size_t)r;
	b->len = pos;
}

static void put_auth(const struct spec *s, struct built *b)
{
	static const uint8_t zeros[COOKIE_MAX_LEN + 64];
	uint8_t pt[BUF], *a = b->pkt + b->len;
	size_t pt_len = 0, np = (s->nonce_len + 3) & ~3u, ct_len, flen;
	struct siv *c2s = keyed(s->aead, s->c2s);
	struct siv_ad ad[2] = {{b->pkt, b->len}, {s->nonce, s->nonce_len}};

	for (unsigned i = 0; i < s->enc_ph; i++)
		ntp_ef_put(pt, sizeof(pt), &pt_len, NTP_EF_NTS_COOKIE_PH, zeros, s->enc_ph_len);
	ct_len = SIV_TAG_LEN + pt_len;
	flen = 8 + np + ((ct_len + 3) & ~3u);
	memset(a, 0, flen);
	a[0] = 0x04, a[1] = 0x04, a[2] = (uint8_t)(flen >> 8), a[3] = (uint8_t)flen;
	a[4] = (uint8_t)(s->nonce_len >> 8), a[5] = (uint8_t)s->nonce_len;
	a[6] = (uint8_t)(ct_len >> 8), a[7] = (uint8_t)ct_len;
	memcpy(a + 8, s->nonce, s->nonce_len);
	siv_encrypt(c2s, ad, 2, pt, pt_len, a + 8 + np);
	siv_free(c2s);
	b->auth_off = b->len;
	b->off[b->n] = b->len;
	b->flen[b->n++] = flen;
	b->len += flen;
}

static void build(const struct spec *s, struct built *b)
{
	b->len = NTP_HEADER_LEN;
	b->n = 0;
	b->auth_off = 0;
	memcpy(b->pkt, s->hdr, NTP_HEADER_LEN);
	for (unsigned i = 0; i < s->nf; i++) {
		if (s->f[i].type == NTP_EF_UNIQUE_ID) {
			b->uid_off = b->len;
			b->uid_len = s->f[i].body_len;
		}
		if (s->f[i].type == NTP_EF_NTS_COOKIE)
			b->cookie_off = b->len;
		put_field(b, s->f[i].type, s->f[i].body, s->f[i].body_len);
	}
	if (s->auth)
		put_auth(s, b);
	for (unsigned i = 0; i < s->nafter; i++)
		put_field(b, s->after[i].type, s->after[i].body, s->after[i].body_len);
	if (s->mac) {
		rnd_bytes(b->pkt + b->len, 20);
		b->len += 20;
	}
}

static void add_field(struct spec *s, uint16_t type, const uint8_t *body, size_t len)
{
	struct field *f = &s->f[s->nf++];

	f->type = type;
	f->body_len = len;
	if (body)
		memcpy(f->body, body, len);
	else
		memset(f->body, 0, len);
}

/* The usual request: header, UID, cookie, placeholders, authenticator. */
static void base_spec(struct spec *s, const struct cookie_keys *k, const uint8_t *cookie,
                      size_t cookie_len, size_t uid_len, unsigned ph)
{
	uint8_t uid[128];

	memset(s, 0, sizeof(*s));
	s->hdr[0] = ntp_lvm(0, 4, NTP_MODE_CLIENT);
	rnd_bytes(s->hdr + 40, 8);
	rnd_bytes(uid, uid_len);
	add_field(s, NTP_EF_UNIQUE_ID, uid, uid_len);
	add_field(s, NTP_EF_NTS_COOKIE, cookie, cookie_len);
	for (unsigned i = 0; i < ph; i++)
		add_field(s, NTP_EF_NTS_COOKIE_PH, NULL, cookie_len);
	s->auth = true;
	s->nonce_len = 16;
	rnd_bytes(s->nonce, sizeof(s->nonce));
	s->enc_ph_len = cookie_len;
	s->c2s = k->c2s;
	s->aead = k->aead;
}

/* Checks an NTS answer: authenticator, new cookies (current key, same client keys). */
static void verify_answer(const struct ring *r, const struct cookie_keys *k, const struct built *b,
                          const uint8_t *resp, size_t n, unsigned want_cookies)
{
	struct nts_client_request cr = {.transmit_ts = be64(b->pkt + 40)};
	struct nts_client_response out;
	struct siv *s2c = keyed(k->aead, k->s2c);
	const struct keymap_slot *cur = &r->snap.slots[r->snap.current_slot];
	struct cookie_keys got;

	memcpy(cr.uid, b->pkt + b->uid_off + 4, NTS_CLIENT_UID_LEN);
	CHECK_EQ(nts_client_parse(&cr, s2c, resp, n, &out), 0);
	/* unauthenticated bytes after the authenticator, even shaped as a legacy MAC, are
	 * refused by the client side */
	if (n + 20 <= 2048) {
		uint8_t longer[2048] = {0};

		memcpy(longer, resp, n);
		CHECK_EQ(nts_client_parse(&cr, s2c, longer, n + 20, &out), -EINVAL);
		CHECK_EQ(nts_client_parse(&cr, s2c, resp, n, &out), 0);
	}
	siv_free(s2c);
	CHECK(!out.nak);
	CHECK_EQ(out.n_cookies, want_cookies);
	CHECK_EQ(out.hdr.li_vn_mode, ntp_lvm(0, 4, 4));
	CHECK_EQ(out.hdr.transmit_ts, ntp_ts_from_timespec(&fixed_now));
	CHECK_MEM(resp + 48, b->pkt + b->uid_off, 4 + b->uid_len);
	for (unsigned i = 0; i < out.n_cookies; i++) {
		CHECK_EQ(out.cookie_len[i], cookie_len(k->aead));
		CHECK_EQ(be32(out.cookies[i]), cur->id);
		CHECK_EQ(cookie_open(r->master[r->snap.current_slot], out.cookies[i],
		                     out.cookie_len[i], &got),
		         0);
		CHECK(got.aead == k->aead && !memcmp(got.c2s, k->c2s, k->key_len) &&
		          !memcmp(got.s2c, k->s2c, k->key_len),
		      "cookie carries other keys");
	}
}

static void verify_nak(const struct built *b, const uint8_t *resp, size_t n)
{
	struct nts_client_request cr = {.transmit_ts = be64(b->pkt + 40)};
	struct nts_client_response out;

	memcpy(cr.uid, b->pkt + b->uid_off + 4, NTS_CLIENT_UID_LEN);
	CHECK_EQ(n, 48 + 4 + b->uid_len);
	CHECK_EQ(resp[0], ntp_lvm(3, 4, 4));
	CHECK_EQ(resp[1], 0);
	CHECK_MEM(resp + 12, "NTSN", 4);
	CHECK_MEM(resp + 24, b->pkt + 40, 8);
	CHECK_MEM(resp + 48, b->pkt + b->uid_off, 4 + b->uid_len);
	CHECK_EQ(nts_client_parse(&cr, NULL, resp, n, &out), 0);
	CHECK(out.nak);
}

/* ---- deterministic NTS tests ---------------------------------------------------------- */

static unsigned cookies_for(unsigned ph)
{
	return ph + 1 > NTS_MAX_NEW_COOKIES ? NTS_MAX_NEW_COOKIES : ph + 1;
}

static void test_nts_client_path(struct tock_worker_ctx *w, struct ring *r, int aead)
{
	struct cookie_keys k;
	uint8_t cookie[COOKIE_MAX_LEN], req[BUF], resp[BUF];
	struct nts_client_request cr = {.transmit_ts = 0x1122334455667788ULL};
	struct nts_client_response out;
	struct siv *c2s, *s2c;
	size_t n;
	int len;

	client_keys(&k, aead);
	c2s = keyed(aead, k.c2s);
	s2c = keyed(aead, k.s2c);
	cr.cookie = cookie;
	cr.cookie_len = mint(r, r->epoch, &k, cookie);
	for (unsigned ph = 0; ph <= 12; ph++) {
		rnd_bytes(cr.uid, sizeof(cr.uid));
		rnd_bytes(cr.nonce, sizeof(cr.nonce));
		cr.placeholders = ph;
		cr.enc_placeholders = ph % 3 == 2;
		len = nts_client_build(&cr, c2s, req, sizeof(req));
		CHECK(len > 0);
		CHECK_EQ(serve(w, req, (size_t)len, resp, sizeof(resp), &n), O_NTS);
		CHECK_EQ(n, (size_t)len);
		CHECK_EQ(nts_client_parse(&cr, s2c, resp, n, &out), 0);
		CHECK(!out.nak);
		CHECK_EQ(out.n_cookies, cookies_for(ph + cr.enc_placeholders));
		CHECK_EQ(out.hdr.origin_ts, cr.transmit_ts);
		CHECK_EQ(out.hdr.receive_ts, ntp_ts_from_timespec(&rx.rx_time));
		/* The client rejects a response it did not ask for, or one altered. */
		resp[60] ^= 1;
		CHECK_EQ(nts_client_parse(&cr, s2c, resp, n, &out), -EPROTO);
		resp[60] ^= 1;
		resp[48 + 36 + 8 + 16 + 3] ^= 1; /* the SIV tag */
		CHECK_EQ(nts_client_parse(&cr, s2c, resp, n, &out), -EBADMSG);
		resp[48 + 36 + 8 + 16 + 3] ^= 1;
		CHECK_EQ(nts_client_parse(&cr, s2c, resp, n, &out), 0);
	}
	/* A cookie from the response works in the next request. */
	memcpy(cookie, out.cookies[0], out.cookie_len[0]);
	cr.placeholders = 2;
	len = nts_client_build(&cr, c2s, req, sizeof(req));
	CHECK_EQ(serve(w, req, (size_t)len, resp, sizeof(resp), &n), O_NTS);
	CHECK_EQ(nts_client_parse(&cr, s2c, resp, n, &out), 0);
	CHECK_EQ(out.n_cookies, 3);
	/* A plain request from the same builder module. */
	CHECK_EQ(nts_client_build_plain(5, 4, req, sizeof(req)), 48);
	CHECK_EQ(serve(w, req, 48, resp, sizeof(resp), &n), O_PLAIN);
	CHECK_EQ(be64(resp + 24), 5);
	siv_free(c2s);
	siv_free(s2c);
}

static void test_nts_spec_path(struct tock_worker_ctx *w, struct ring *r)
{
	struct cookie_keys k;
	uint8_t cookie[COOKIE_MAX_LEN], resp[BUF];
	static struct spec s;
	static struct built b;
	size_t clen, n;
	uint64_t issued = stats.c[STAT_NTS_COOKIES_ISSUED], a17 = stats.c[STAT_NTS_AEAD17];

	client_keys(&k, SIV_AEAD_CMAC_512);
	clen = mint(r, r->epoch - 1, &k, cookie); /* a previous key still opens */
	for (unsigned ph = 0; ph <= 10; ph++) {
		base_spec(&s, &k, cookie, clen, 32, ph);
		build(&s, &b);
		CHECK_EQ(serve(w, b.pkt, b.len, resp, sizeof(resp), &n), O_NTS);
		CHECK_EQ(n, b.len);
		verify_answer(r, &k, &b, resp, n, cookies_for(ph));
	}
	CHECK_EQ(stats.c[STAT_NTS_AEAD17] - a17, 11);
	CHECK_EQ(stats.c[STAT_NTS_COOKIES_ISSUED] - issued, 1 + 2 + 3 + 4 + 5 + 6 + 7 + 8 * 4);

	/* Capacity below the request: fewer cookies, never more than fits; then too big. */
	base_spec(&s, &k, cookie, clen, 32, 4);
	build(&s, &b);
	CHECK_EQ(serve(w, b.pkt, b.len, resp, b.len - 168, &n), O_NTS);
	CHECK_EQ(n, b.len - 168);
	verify_answer(r, &k, &b, resp, n, 4);
	CHECK_EQ(serve(w, b.pkt, b.len, resp, 48 + 36 + 40 + 168 - 1, &n), O_DROP_BIG);
	/* A short client nonce leaves no room for 1 + placeholders: one cookie fewer. */
	base_spec(&s, &k, cookie, clen, 32, 2);
	s.nonce_len = 8;
	build(&s, &b);
	CHECK_EQ(serve(w, b.pkt, b.len, resp, sizeof(resp), &n), O_NTS);
	CHECK_EQ(n, b.len);
	verify_answer(r, &k, &b, resp, n, 2);
	/* Without placeholders and with a short nonce not even one cookie fits. */
	base_spec(&s, &k, cookie, clen, 32, 0);
	s.nonce_len = 4;
	build(&s, &b);
	CHECK_EQ(serve(w, b.pkt, b.len, resp, sizeof(resp), &n), O_DROP_BIG);
}

static void test_naks(struct tock_worker_ctx *w, struct ring *r)
{
	struct cookie_keys k;
	uint8_t cookie[COOKIE_MAX_LEN], resp[BUF];
	static struct spec s;
	static struct built b;
	size_t clen, n;

	client_keys(&k, SIV_AEAD_CMAC_256);
	clen = mint(r, r->epoch, &k, cookie);
	/* Unknown key id: one that the slot does not hold. */
	cookie[0] ^= 0x40;
	base_spec(&s, &k, cookie, clen, 32, 1);
	build(&s, &b);
	CHECK_EQ(serve(w, b.pkt, b.len, resp, sizeof(resp), &n), O_NAK_KEY);
	verify_nak(&b, resp, n);
	CHECK(n <= b.len);
	/* Right id, damaged cookie. */
	cookie[0] ^= 0x40;
	cookie[30] ^= 0x01;
	base_spec(&s, &k, cookie, clen, 48, 0);
	build(&s, &b);
	CHECK_EQ(serve(w, b.pkt, b.len, resp, sizeof(resp), &n), O_NAK_COOKIE);
	verify_nak(&b, resp, n);
	/* Good cookie, authenticator made with another key. */
	cookie[30] ^= 0x01;
	base_spec(&s, &k, cookie, clen, 32, 0);
	s.c2s = k.s2c;
	build(&s, &b);
	CHECK_EQ(serve(w, b.pkt, b.len, resp, sizeof(resp), &n), O_NAK_TAG);
	verify_nak(&b, resp, n);
	/* The NAK must fit the capacity too. */
	CHECK_EQ(serve(w, b.pkt, b.len, resp, 48 + 35, &n), O_DROP_BIG);
}

/* A worker without keys NAKs every NTS request; with the key map it recovers. */
static void test_keymap_sync(struct ring *r)
{
	char dir[] = "/tmp/tock-test-serve-XXXXXX", path[64];
	struct tock_worker_ctx *w;
	struct tock_serve_opts opts = {.now = fake_now};
	struct keymap km = {0};
	struct cookie_keys k;
	uint8_t cookie[COOKIE_MAX_LEN], resp[BUF];
	static struct spec s;
	static struct built b;
	size_t clen, n;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/keys", dir);
	CHECK_EQ(keymap_create(&km, path), 0);
	w = tock_worker_new(&opts, &stats, &cell);
	CHECK(w != NULL);
	if (!w)
		return;
	client_keys(&k, SIV_AEAD_CMAC_256);
	clen = mint(r, r->epoch, &k, cookie);
	base_spec(&s, &k, cookie, clen, 32, 0);
	build(&s, &b);
	CHECK_EQ(tock_worker_sync_keys(w, &km), 0); /* an empty map */
	CHECK_EQ(serve(w, b.pkt, b.len, resp, sizeof(resp), &n), O_NAK_KEY);
	keymap_publish(&km, &r->snap);
	CHECK_EQ(serve(w, b.pkt, b.len, resp, sizeof(resp), &n), O_NAK_KEY); /* not synced yet */
	CHECK_EQ(tock_worker_sync_keys(w, &km), 0);
	CHECK_EQ(serve(w, b.pkt, b.len, resp, sizeof(resp), &n), O_NTS);
	verify_answer(r, &k, &b, resp, n, 1);
	/* Rotate three times: the cookie's key drops out of the ring. */
	for (int i = 0; i < 3; i++)
		ring_rotate(r);
	keymap_publish(&km, &r->snap);
	CHECK_EQ(tock_worker_sync_keys(w, &km), 0);
	CHECK_EQ(serve(w, b.pkt, b.len, resp, sizeof(resp), &n), O_NAK_KEY);
	clen = mint(r, r->epoch - 2, &k, cookie);
	base_spec(&s, &k, cookie, clen, 32, 0);
	build(&s, &b);
	CHECK_EQ(serve(w, b.pkt, b.len, resp, sizeof(resp), &n), O_NTS);
	verify_answer(r, &k, &b, resp, n, 1);
	tock_worker_free(w);
	keymap_close(&km);
	unlink(path);
	rmdir(dir);
}

/* ---- the randomized run ----------------------------------------------------------------- */

enum mutation {
	MU_NONE,
	MU_HDR_BIT,
	MU_UID_BIT,
	MU_COOKIE_BIT,
	MU_PH_BIT,
	MU_AUTH_BIT,
	MU_EF_HDR_BIT,
	MU_TRUNCATE,
	MU_PH_LEN,
	MU_UID_SHORT,
	MU_UID_LONG,
	MU_ENC_PH_LEN,
	MU_DUP,
	MU_MISSING,
	MU_AFTER_AUTH,
	MU_VERSION3,
	MU_WRONG_KEY,
	MU_UNKNOWN_EF,
	MU_PLAIN,
	MU_SMALL_CAP,
	MU_COUNT
};

struct round {
	struct cookie_keys k;
	uint8_t cookie[COOKIE_MAX_LEN];
	size_t clen;
	uint32_t cookie_id;
	unsigned ph;
	unsigned expect;  /* mask of acceptable outcomes */
	unsigned cookies; /* expected new cookies if answered */
	size_t cap;
};

/* Old cookies (and their keys) kept across rotations. */
struct old_cookie {
	struct cookie_keys k;
	uint8_t cookie[COOKIE_MAX_LEN];
	size_t clen;
};
static struct old_cookie old[64];
static unsigned n_old;

/* What a valid request (no mutation of the crypto-covered bytes) yields for this cookie. */
static unsigned cookie_outcome(const struct ring *r, uint32_t id, bool tampered)
{
	if (!keymap_find(&r->snap, id))
		return M(O_NAK_KEY);
	return tampered ? M(O_NAK_COOKIE) : 0;
}

/* Fit rule: 1 + placeholders (capped) cookies, fewer if the response would not fit. */
static unsigned fit(const struct built *b, size_t cfield, unsigned want, size_t cap)
{
	size_t target = (b->len < cap ? b->len : cap) & ~(size_t)3;
	size_t fixed = 48 + 4 + b->uid_len + 40;

	if (want > NTS_MAX_NEW_COOKIES)
		want = NTS_MAX_NEW_COOKIES;
	while (want && fixed + want * cfield > target)
		want--;
	return want;
}

/* Expected outcome of a truncation of a valid request to `cut` bytes. */
static unsigned truncate_outcome(const struct built *b, size_t cut)
{
	size_t end = NTP_HEADER_LEN, rem;
	unsigned whole = 0;

	if (cut < NTP_HEADER_LEN)
		return M(O_DROP_SHORT);
	for (unsigned i = 0; i < b->n && b->off[i] + b->flen[i] <= cut; i++, whole++)
		end = b->off[i] + b->flen[i];
	rem = cut - end;
	if (rem == 0 || rem == 20 || rem == 24) /* clean end or a "MAC": no authenticator */
		return whole ? M(O_DROP_NTS) : M(O_PLAIN);
	return M(O_DROP_EF);
}

static unsigned hdr_bit_outcome(const struct spec *s, size_t byte, unsigned bit, unsigned ok)
{
	uint8_t lvm = s->hdr[0] ^ (uint8_t)(1u << bit);

	if (byte != 0)
		return ok ? ok : M(O_NAK_TAG);
	if (ntp_version(lvm) == 0 || ntp_version(lvm) > 4)
		return M(O_DROP_VERSION);
	if (ntp_mode(lvm) != 3)
		return M(O_DROP_MODE);
	if (ntp_version(lvm) != 4)
		return M(O_DROP_NTS);
	return ok ? ok : M(O_NAK_TAG);
}

/* The authenticator's nonce/ciphertext length fields: malformed or a failing tag. */
static unsigned auth_len_outcome(const struct built *b, size_t rel, unsigned bit, unsigned ok)
{
	const uint8_t *a = b->pkt + b->auth_off;
	size_t body = b->flen[b->n - 1] - 4;
	size_t nl = (size_t)(a[4] << 8 | a[5]), cl = (size_t)(a[6] << 8 | a[7]);

	if (rel < 6)
		nl ^= (size_t)1 << (bit + (rel == 4 ? 8 : 0));
	else
		cl ^= (size_t)1 << (bit + (rel == 6 ? 8 : 0));
	if (nl == 0 || cl < 16 || 4 + ((nl + 3) & ~3u) + ((cl + 3) & ~3u) > body)
		return M(O_DROP_NTS);
	return ok ? ok : M(O_NAK_TAG);
}

/* A bit flip in a field's type/length header. */
static unsigned ef_hdr_outcome(uint16_t type, size_t rel, unsigned bit, unsigned ok)
{
	uint16_t t = type ^ (uint16_t)(1u << (bit + (rel == 0 ? 8 : 0)));

	if (rel >= 2)
		return M_REJECT; /* a new length reframes everything after it */
	if (type != NTP_EF_NTS_COOKIE_PH)
		return M(O_DROP_NTS); /* the UID, cookie or authenticator is gone */
	if (t == NTP_EF_UNIQUE_ID || t == NTP_EF_NTS_COOKIE || t == NTP_EF_NTS_AUTHENTICATOR)
		return M(O_DROP_NTS);
	return ok ? ok : M(O_NAK_TAG); /* just an unknown field now, but signed as a placeholder */
}

static void flip(struct built *b, size_t pos, unsigned bit)
{
	b->pkt[pos] ^= (uint8_t)(1u << bit);
}

/*
 * Mutations that change what is assembled (lengths, duplicates, missing or extra fields).
 * Builds the request and sets rd->expect; false for the other mutations.
 */
static bool mutate_spec(struct round *rd, struct spec *s, struct built *b, enum mutation mu,
                        unsigned ok)
{
	unsigned i = rnd_below(3);

	switch (mu) {
	case MU_UID_SHORT:
		s->f[0].body_len = 12 + 4 * rnd_below(5); /* 12..28 */
		rd->expect = M(O_DROP_NTS);
		break;
	case MU_PH_LEN:
		add_field(s, NTP_EF_NTS_COOKIE_PH, NULL, rd->clen + (rnd_below(2) ? 4 : -4));
		rd->expect = M(O_DROP_NTS);
		break;
	case MU_ENC_PH_LEN: /* authenticated, so only after the cookie and tag checks */
		s->enc_ph = 1 + rnd_below(2);
		s->enc_ph_len = rd->clen + (rnd_below(2) ? 4 : -4);
		rd->expect = ok ? ok : M(O_DROP_NTS);
		break;
	case MU_DUP:
		if (i < 2)
			add_field(s, s->f[i].type, s->f[i].body, s->f[i].body_len);
		else
			s->after[s->nafter++] =
			    (struct field){.type = NTP_EF_NTS_AUTHENTICATOR, .body_len = 36};
		rd->expect = M(O_DROP_NTS);
		break;
	case MU_MISSING:
		if (i == 2) {
			s->auth = false;
		} else {
			memmove(&s->f[i], &s->f[i + 1], (s->nf - i - 1) * sizeof(s->f[0]));
			s->nf--;
		}
		rd->expect = M(O_DROP_NTS);
		break;
	case MU_AFTER_AUTH:
		if (rnd_below(2))
			s->mac = true;
		else
			s->after[s->nafter++] = (struct field){.type = 0x2005, .body_len = 24};
		rd->expect = M(O_DROP_NTS);
		break;
	case MU_VERSION3:
		s->hdr[0] = ntp_lvm(0, 1 + rnd_below(3), 3);
		rd->expect = M(O_DROP_NTS);
		break;
	case MU_WRONG_KEY:
		s->c2s = rd->k.s2c;
		rd->expect = ok ? ok : M(O_NAK_TAG);
		break;
	case MU_PLAIN:
		s->nf = 0;
		s->auth = false;
		rd->expect = M(O_PLAIN);
		break;
	default:
		return false;
	}
	build(s, b);
	if (mu == MU_MISSING && i == 0)
		b->uid_len = 0; /* no UID to compare answers against */
	return true;
}

/* Valid requests (possibly with a longer UID, an unknown field, or a small capacity). */
static bool mutate_valid(struct round *rd, struct spec *s, struct built *b, enum mutation mu,
                         unsigned ok)
{
	size_t cfield = (rd->clen + 4 + 3) & ~(size_t)3;
	unsigned i;

	if (mu == MU_UID_LONG) {
		s->f[0].body_len = 32 + 4 * (1 + rnd_below(8));
		rnd_bytes(s->f[0].body, s->f[0].body_len);
	} else if (mu == MU_UNKNOWN_EF) {
		struct field t;

		add_field(s, 0x2000 + (uint16_t)rnd_below(0x100), NULL, 4 * rnd_below(20));
		i = rnd_below(s->nf); /* any place before the authenticator will do */
		t = s->f[i];
		s->f[i] = s->f[s->nf - 1];
		s->f[s->nf - 1] = t;
	} else if (mu != MU_NONE && mu != MU_SMALL_CAP) {
		return false;
	}
	build(s, b);
	if (mu == MU_SMALL_CAP)
		rd->cap = 40 + rnd_below((unsigned)b->len);
	if (ok) /* a NAK, if it fits */
		rd->expect = rd->cap < 48 + 4 + b->uid_len ? M(O_DROP_BIG) : ok;
	else
		rd->cookies = fit(b, cfield, rd->ph + s->enc_ph + 1, rd->cap);
	if (!ok)
		rd->expect = rd->cookies ? M(O_NTS) : M(O_DROP_BIG);
	return true;
}

/* Bit flips in a region of a built request, and truncation. */
static void mutate_bytes(const struct ring *r, struct round *rd, const struct spec *s,
                         struct built *b, enum mutation mu, unsigned ok)
{
	unsigned bit = rnd_below(8), i;
	size_t pos, rel;

	switch (mu) {
	case MU_HDR_BIT:
		pos = rnd_below(NTP_HEADER_LEN);
		rd->expect = hdr_bit_outcome(s, pos, bit, ok);
		break;
	case MU_PH_BIT: /* without a placeholder, in the UID instead: both are signed only */
	case MU_UID_BIT:
		if (mu == MU_PH_BIT && rd->ph)
			pos = b->off[2 + rnd_below(rd->ph)] + 4 + rnd_below((unsigned)rd->clen);
		else
			pos = b->uid_off + 4 + rnd_below((unsigned)b->uid_len);
		rd->expect = ok ? ok : M(O_NAK_TAG);
		break;
	case MU_COOKIE_BIT:
		rel = rnd_below((unsigned)rd->clen);
		pos = b->cookie_off + 4 + rel;
		if (rel < 4) /* the key id */
			rd->expect =
			    cookie_outcome(r, rd->cookie_id ^ (1u << (bit + 8 * (3 - rel))), true);
		else
			rd->expect = ok ? ok : M(O_NAK_COOKIE);
		break;
	case MU_AUTH_BIT:
		rel = 4 + rnd_below((unsigned)(b->flen[b->n - 1] - 4));
		pos = b->auth_off + rel;
		rd->expect = rel < 8 ? auth_len_outcome(b, rel, bit, ok) : ok ? ok : M(O_NAK_TAG);
		break;
	case MU_EF_HDR_BIT:
		i = rnd_below(b->n);
		pos = b->off[i] + rnd_below(4);
		rd->expect =
		    ef_hdr_outcome((uint16_t)(b->pkt[b->off[i]] << 8 | b->pkt[b->off[i] + 1]),
		                   pos - b->off[i], bit, ok);
		break;
	case MU_TRUNCATE:
		b->len = rnd_below((unsigned)b->len);
		rd->expect = truncate_outcome(b, b->len);
		return;
	default:
		return;
	}
	flip(b, pos, bit);
}

/* Builds the round's request with one mutation; sets rd->expect (and rd->cookies). */
static void mutate(const struct ring *r, struct round *rd, struct spec *s, struct built *b,
                   enum mutation mu)
{
	unsigned ok = cookie_outcome(r, rd->cookie_id, false); /* 0: the cookie is fine */

	rd->cap = BUF;
	if (mutate_spec(rd, s, b, mu, ok) || mutate_valid(rd, s, b, mu, ok))
		return;
	build(s, b);
	mutate_bytes(r, rd, s, b, mu, ok);
}

static unsigned outcome_seen[O_COUNT];

static void check_round(struct tock_worker_ctx *w, const struct ring *r, struct round *rd,
                        const struct built *b, enum mutation mu, unsigned iter)
{
	static uint8_t resp[BUF];
	size_t n;
	int o = serve(w, b->pkt, b->len, resp, rd->cap, &n);

	CHECK(o >= 0 && (rd->expect & M(o)), "round %u mutation %d: got %s, expected mask %#x",
	      iter, mu, o >= 0 ? outcome_name[o] : "?", rd->expect);
	CHECK(n <= b->len && n <= rd->cap, "round %u: response %zu > request %zu", iter, n, b->len);
	if (o >= 0)
		outcome_seen[o]++;
	if (o == O_NTS) {
		CHECK_EQ(n, (b->len < rd->cap ? b->len : rd->cap) & ~(size_t)3);
		verify_answer(r, &rd->k, b, resp, n, rd->cookies);
	} else if (o == O_NAK_KEY || o == O_NAK_COOKIE || o == O_NAK_TAG) {
		if (b->uid_len >= 32)
			verify_nak(b, resp, n);
	} else if (o == O_PLAIN) {
		CHECK_EQ(n, 48);
	} else {
		CHECK_EQ(n, 0);
	}
}

/* Picks this round's cookie: fresh under the current or another valid key, or an old one. */
static void pick_cookie(struct ring *r, struct round *rd)
{
	unsigned c = rnd_below(10);

	if (c == 0 && n_old) {
		struct old_cookie *oc = &old[rnd_below(n_old)];

		rd->k = oc->k;
		memcpy(rd->cookie, oc->cookie, oc->clen);
		rd->clen = oc->clen;
	} else {
		uint32_t e = c < 7 ? r->epoch : r->epoch - 2 + rnd_below(4);

		client_keys(&rd->k, rnd_below(3) ? SIV_AEAD_CMAC_256 : SIV_AEAD_CMAC_512);
		rd->clen = mint(r, e, &rd->k, rd->cookie);
		if (rnd_below(50) == 0) {
			struct old_cookie *oc = &old[n_old < 64 ? n_old++ : rnd_below(64)];

			oc->k = rd->k;
			memcpy(oc->cookie, rd->cookie, rd->clen);
			oc->clen = rd->clen;
		}
	}
	rd->cookie_id = be32(rd->cookie);
}

static void test_random(struct ring *r, unsigned seed)
{
	char dir[] = "/tmp/tock-test-serve-XXXXXX", path[64];
	struct tock_serve_opts opts = {.now = fake_now};
	struct keymap km = {0};
	struct tock_worker_ctx *w;
	static struct spec s;
	static struct built b;
	struct round rd;
	unsigned per_mu[MU_COUNT] = {0}, fails_before = check_failed;

	rng_state = seed * 0x9E3779B97F4A7C15ULL + 1;
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/keys", dir);
	CHECK_EQ(keymap_create(&km, path), 0);
	keymap_publish(&km, &r->snap);
	w = tock_worker_new(&opts, &stats, &cell);
	for (unsigned it = 0; it < RANDOM_ROUNDS && check_failed - fails_before < 20; it++) {
		enum mutation mu = (enum mutation)rnd_below(MU_COUNT);

		if (it % 4000 == 3999) { /* rotate: the key map's sequence moves */
			ring_rotate(r);
			keymap_publish(&km, &r->snap);
		}
		CHECK_EQ(tock_worker_sync_keys(w, &km), 0);
		memset(&rd, 0, sizeof(rd));
		pick_cookie(r, &rd);
		rd.ph = rnd_below(11);
		base_spec(&s, &rd.k, rd.cookie, rd.clen, 32, rd.ph);
		if (rnd_below(4) == 0)
			s.enc_ph = rnd_below(3);
		if (rnd_below(4) == 0)
			s.nonce_len = 4 * (1 + rnd_below(8)); /* 4..32 */
		mutate(r, &rd, &s, &b, mu);
		check_round(w, r, &rd, &b, mu, it);
		per_mu[mu]++;
	}
	for (int m = 0; m < MU_COUNT; m++)
		CHECK(per_mu[m] > 1000, "mutation %d ran %u times", m, per_mu[m]);
	printf("test_serve: %u random requests:", (unsigned)RANDOM_ROUNDS);
	for (int o = 0; o < O_COUNT; o++) {
		printf(" %s=%u", outcome_name[o], outcome_seen[o]);
		/* every outcome is reached (version and mode only by flips in one byte) */
		CHECK(outcome_seen[o] > 5, "outcome %s seen %u times", outcome_name[o],
		      outcome_seen[o]);
	}
	printf("\n");
	tock_worker_free(w);
	keymap_close(&km);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	unsigned seed = check_seed("test_serve");
	struct tock_serve_opts opts = {.now = fake_now};
	struct tock_worker_ctx *w;
	struct ring r = {0};

	rng_state = seed | 1;
	set_clock(CLOCK_LEAP_NONE, 1);
	ring_init(&r, 1000);
	w = tock_worker_new(&opts, &stats, &cell);
	if (!w)
		return check_skip("test_serve", "no AES-SIV in this crypto library");
	CHECK_EQ(tock_worker_set_keys(w, &r.snap), 0);
	test_plain(w);
	test_ts_sources(w);
	test_drops(w);
	test_nts_client_path(w, &r, SIV_AEAD_CMAC_256);
	test_nts_client_path(w, &r, SIV_AEAD_CMAC_512);
	test_nts_spec_path(w, &r);
	test_naks(w, &r);
	tock_worker_free(w);
	test_keymap_sync(&r);
	test_random(&r, seed);
	ring_free(&r);
	return check_done("test_serve");
}
