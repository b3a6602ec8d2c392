// SPDX-License-Identifier: MIT
/*
 * The request handler (DESIGN §3, RFC 8915 §5): plain NTP and NTS-authenticated NTP.
 *
 * tock_serve() classifies a request in one pass over its extension fields, then answers it
 * as plain NTP, as NTS (new cookies sealed with the current master key, the response
 * authenticated with the client's S2C key and padded to exactly the request's length), or
 * with an NTS NAK. Everything it needs was allocated and keyed beforehand: the master-key
 * SIV instances per key-map slot (re-keyed only when the key map's sequence moves), one
 * scratch instance per AEAD and direction for the per-request keys, a random pool and a
 * plaintext buffer. Every request that gets no answer is counted by reason.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cookie.h"
#include "ntp.h"
#include "rand.h"
#include "serve.h"
#include "siv.h"
#include "wire.h"

/* "NTSN": the kiss code of an NTS NAK (RFC 8915 §5.7). */
#define NTS_NAK_REFID 0x4e54534eU

/* The largest request (and so plaintext) a worker handles: a UDP datagram's payload. */
#define SERVE_MAX_PT 65536

/* Client AEADs with pre-allocated per-request instances (those siv_new() supports). */
static const int serve_aeads[] = {SIV_AEAD_CMAC_256, SIV_AEAD_CMAC_512};
#define SERVE_N_AEADS (sizeof(serve_aeads) / sizeof(serve_aeads[0]))

struct tock_worker_ctx {
	struct tock_serve_opts opts;
	struct tock_worker_stats *stats;
	const struct tock_clock_cell *clock;
	bool have_keys;
	struct keymap_snapshot keys;      /* slots whose instance failed are !valid */
	struct siv *master[KEYMAP_SLOTS]; /* keyed once per key-map change */
	struct siv *c2s[SERVE_N_AEADS];   /* per-request keys, re-keyed per request */
	struct siv *s2c[SERVE_N_AEADS];
	struct rand_pool rand;
	uint8_t pt[SERVE_MAX_PT]; /* decrypted request EFs, then new cookies */
};

/* What one pass over a request's extension fields found. */
struct nts_scan {
	unsigned n_nts; /* NTS fields of any kind: nonzero makes this an NTS request */
	unsigned n_uid, n_cookie, n_auth, n_ph;
	bool after_auth; /* a field follows the authenticator */
	bool ph_len_differs;
	uint16_t ph_len; /* length of the first placeholder */
	struct ntp_ef uid, cookie, auth;
};

/* The authenticator's parts (RFC 8915 §5.6). */
struct nts_auth {
	const uint8_t *nonce;
	size_t nonce_len;
	const uint8_t *ct;
	size_t ct_len;
};

/* Everything needed to answer an authenticated request. */
struct nts_job {
	struct cookie_keys keys;
	struct siv *s2c;
	unsigned n_cookies; /* wanted: 1 + placeholders, capped */
};

/* ---- small helpers ------------------------------------------------------------------ */

static size_t pad4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

static int aead_index(int aead)
{
	for (size_t i = 0; i < SERVE_N_AEADS; i++)
		if (serve_aeads[i] == aead)
			return (int)i;
	return -1;
}

static void now_ts(const struct tock_worker_ctx *w, struct timespec *ts)
{
	if (w->opts.now)
		w->opts.now(ts);
	else
		clock_gettime(CLOCK_REALTIME, ts);
}

static void count_ts_source(struct tock_worker_ctx *w, const struct tock_rx_meta *rx)
{
	if (rx->rx_source == TS_SRC_HARDWARE)
		STAT_INC(w->stats, TS_HW);
	else if (rx->rx_source == TS_SRC_KERNEL)
		STAT_INC(w->stats, TS_KERNEL);
	else
		STAT_INC(w->stats, TS_DAEMON);
}

/* ---- worker context ----------------------------------------------------------------- */

struct tock_worker_ctx *tock_worker_new(const struct tock_serve_opts *opts,
                                        struct tock_worker_stats *stats,
                                        const struct tock_clock_cell *clock)
{
	struct tock_worker_ctx *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	if (opts)
		w->opts = *opts;
	w->stats = stats;
	w->clock = clock;
	rand_pool_init(&w->rand);
	for (size_t i = 0; i < SERVE_N_AEADS; i++) {
		/* An AEAD the crypto back-end lacks simply has no instance: such cookies NAK. */
		w->c2s[i] = siv_new(serve_aeads[i]);
		w->s2c[i] = siv_new(serve_aeads[i]);
	}
	if (!w->c2s[0] || !w->s2c[0]) { /* AEAD 15 is required */
		tock_worker_free(w);
		return NULL;
	}
	return w;
}

void tock_worker_free(struct tock_worker_ctx *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < KEYMAP_SLOTS; i++)
		siv_free(w->master[i]);
	for (size_t i = 0; i < SERVE_N_AEADS; i++) {
		siv_free(w->c2s[i]);
		siv_free(w->s2c[i]);
	}
	explicit_bzero(w, sizeof(*w));
	free(w);
}

/* Keys the instance for one slot, replacing it if the slot's AEAD changed. 0/-errno. */
static int key_slot(struct tock_worker_ctx *w, size_t i, const struct keymap_slot *slot)
{
	size_t klen = siv_key_len(slot->aead);

	if (!klen || klen > KEYMAP_KEY_MAX)
		return -EINVAL;
	if (w->master[i] && siv_aead(w->master[i]) != slot->aead) {
		siv_free(w->master[i]);
		w->master[i] = NULL;
	}
	if (!w->master[i])
		w->master[i] = siv_new(slot->aead);
	if (!w->master[i])
		return -ENOMEM;
	return siv_set_key(w->master[i], slot->key, klen);
}

/* True if the worker's instance for slot i already holds this key (a rotation changes one
 * slot; the others keep their keyed instances). */
static bool slot_unchanged(const struct tock_worker_ctx *w, size_t i, const struct keymap_slot *s)
{
	const struct keymap_slot *old = &w->keys.slots[i];

	return w->have_keys && w->master[i] && old->valid && old->id == s->id &&
	       old->aead == s->aead && memcmp(old->key, s->key, sizeof(s->key)) == 0;
}

int tock_worker_set_keys(struct tock_worker_ctx *w, const struct keymap_snapshot *snap)
{
	bool same[KEYMAP_SLOTS];
	int err = 0, e;

	for (size_t i = 0; i < KEYMAP_SLOTS; i++)
		same[i] = snap->slots[i].valid && slot_unchanged(w, i, &snap->slots[i]);
	w->keys = *snap;
	for (size_t i = 0; i < KEYMAP_SLOTS; i++) {
		struct keymap_slot *slot = &w->keys.slots[i];

		if (!slot->valid || same[i])
			continue;
		/* A slot that is not in its ring position could never be found by keymap_find. */
		e = KEYMAP_SLOT_OF(slot->id) == i ? key_slot(w, i, slot) : -EINVAL;
		if (e) {
			slot->valid =
			    0; /* cookies under this key will NAK; the others still work */
			err = err ? err : e;
		}
	}
	w->have_keys = true;
	return err;
}

int tock_worker_sync_keys(struct tock_worker_ctx *w, const struct keymap *km)
{
	struct keymap_snapshot snap;
	int err;

	if (w->have_keys && keymap_seq(km) == w->keys.seq)
		return 0;
	err = keymap_read(km, &snap);
	if (err)
		return err;
	return tock_worker_set_keys(w, &snap);
}

/* ---- request classification ----------------------------------------------------------- */

static void scan_field(struct nts_scan *s, const struct ntp_ef *ef)
{
	if (s->n_auth)
		s->after_auth = true;
	switch (ef->type) {
	case NTP_EF_UNIQUE_ID:
		s->n_uid++;
		s->uid = *ef;
		break;
	case NTP_EF_NTS_COOKIE:
		s->n_cookie++;
		s->cookie = *ef;
		break;
	case NTP_EF_NTS_COOKIE_PH:
		if (s->n_ph++ == 0)
			s->ph_len = ef->len;
		else if (ef->len != s->ph_len)
			s->ph_len_differs = true;
		break;
	case NTP_EF_NTS_AUTHENTICATOR:
		s->n_auth++;
		s->auth = *ef;
		break;
	default:
		return; /* unknown fields are ignored (RFC 7822) */
	}
	s->n_nts++;
}

/* One pass over the fields. 0, or -EINVAL for broken framing. */
static int scan_request(const uint8_t *req, size_t len, struct nts_scan *s)
{
	struct ntp_ef_iter it;
	struct ntp_ef ef;
	int r;

	memset(s, 0, sizeof(*s));
	ntp_ef_iter_init(&it, req, len);
	while ((r = ntp_ef_next(&it, &ef)) == 1)
		scan_field(s, &ef);
	return r;
}

/* Splits the authenticator body; false if its lengths do not fit the field. */
static bool parse_auth(const struct ntp_ef *ef, struct nts_auth *a)
{
	size_t body_len = ef->len - 4u;

	a->nonce_len = wire_get16(ef->body);
	a->ct_len = wire_get16(ef->body + 2);
	if (a->nonce_len == 0 || a->ct_len < SIV_TAG_LEN)
		return false;
	if (4 + pad4(a->nonce_len) + pad4(a->ct_len) > body_len)
		return false;
	a->nonce = ef->body + 4;
	a->ct = a->nonce + pad4(a->nonce_len);
	return true;
}

/* RFC 8915 §5.7's structural rules; true if the request may go on to the crypto. */
static bool nts_well_formed(const uint8_t *req, size_t len, const struct nts_scan *s,
                            struct nts_auth *a)
{
	if (ntp_version(req[0]) != 4)
		return false;
	if (s->n_uid != 1 || s->uid.len - 4u < NTS_UID_MIN_LEN)
		return false;
	if (s->n_cookie != 1 || s->n_auth != 1 || s->after_auth)
		return false;
	/* The authenticator covers the whole packet: nothing (not even a MAC) may follow. */
	if (s->auth.offset + s->auth.len != len)
		return false;
	if (s->n_ph && (s->ph_len_differs || s->ph_len != s->cookie.len))
		return false;
	return parse_auth(&s->auth, a);
}

/* ---- responses ------------------------------------------------------------------------- */

/* The 48-byte header of a server response, all but the transmit timestamp. */
static void put_header(uint8_t *resp, const uint8_t *req, const struct tock_clock_status *cs,
                       const struct tock_rx_meta *rx)
{
	unsigned leap = cs->leap & 3;

	resp[0] = ntp_lvm(leap, ntp_version(req[0]), NTP_MODE_SERVER);
	resp[1] = leap == CLOCK_LEAP_UNSYNC ? 0 : cs->stratum;
	resp[2] = req[2]; /* poll echoed */
	resp[3] = (uint8_t)cs->precision;
	wire_put32(resp + 4, cs->root_delay);
	wire_put32(resp + 8, cs->root_dispersion);
	wire_put32(resp + 12, cs->refid);
	wire_put64(resp + 16, cs->ref_time);
	memcpy(resp + 24, req + 40, 8); /* origin = the client's transmit, bit for bit */
	wire_put64(resp + 32, ntp_ts_from_timespec(&rx->rx_time));
}

static void put_transmit(const struct tock_worker_ctx *w, uint8_t *resp)
{
	struct timespec ts;

	now_ts(w, &ts);
	wire_put64(resp + 40, ntp_ts_from_timespec(&ts));
}

static size_t answer_plain(struct tock_worker_ctx *w, const uint8_t *req,
                           const struct tock_rx_meta *rx, uint8_t *resp, size_t cap)
{
	struct tock_clock_status cs;

	if (cap < NTP_HEADER_LEN) {
		STAT_INC(w->stats, DROP_TOO_BIG);
		return 0;
	}
	clock_cell_read(w->clock, &cs);
	put_header(resp, req, &cs, rx);
	STAT_INC(w->stats, PLAIN_ANSWERED);
	count_ts_source(w, rx);
	put_transmit(w, resp); /* last, as late as possible */
	return NTP_HEADER_LEN;
}

/* NTS NAK (RFC 8915 §5.7): a kiss-o'-death "NTSN" with the UID echoed, no authenticator. */
static size_t answer_nak(struct tock_worker_ctx *w, const uint8_t *req, const struct nts_scan *s,
                         enum tock_stat reason, const struct tock_rx_meta *rx, uint8_t *resp,
                         size_t cap)
{
	struct tock_clock_status cs;
	size_t n = NTP_HEADER_LEN + s->uid.len;

	if (cap < n) {
		STAT_INC(w->stats, DROP_TOO_BIG);
		return 0;
	}
	clock_cell_read(w->clock, &cs);
	cs.leap = CLOCK_LEAP_UNSYNC;
	cs.refid = NTS_NAK_REFID;
	put_header(resp, req, &cs, rx);
	memcpy(resp + NTP_HEADER_LEN, req + s->uid.offset, s->uid.len);
	w->stats->c[reason]++;
	count_ts_source(w, rx);
	put_transmit(w, resp);
	return n;
}

/* ---- NTS: opening the cookie and the authenticator ------------------------------------- */

/* How an NTS request ends; a NAK is counted by its reason only once it is sent. */
enum nts_verdict { NTS_OK = 0, NTS_NAK_KEY, NTS_NAK_COOKIE, NTS_NAK_TAG, NTS_DROP };

/* Opens the request's cookie into job->keys. NTS_OK, or the NAK's reason. */
static enum nts_verdict open_cookie(struct tock_worker_ctx *w, const struct nts_scan *s,
                                    struct nts_job *job)
{
	const uint8_t *ck = s->cookie.body;
	size_t ck_len = s->cookie.len - 4u;
	const struct keymap_slot *slot =
	    w->have_keys ? keymap_find(&w->keys, wire_get32(ck)) : NULL;
	const struct keymap_slot *cur = &w->keys.slots[w->keys.current_slot % KEYMAP_SLOTS];

	/* Without a current key no new cookie could be issued: the client must redo NTS-KE. */
	if (!slot || !cur->valid)
		return NTS_NAK_KEY;
	if (cookie_open(w->master[slot - w->keys.slots], ck, ck_len, &job->keys) < 0 ||
	    aead_index(job->keys.aead) < 0 || !w->c2s[aead_index(job->keys.aead)] ||
	    !w->s2c[aead_index(job->keys.aead)])
		return NTS_NAK_COOKIE;
	return NTS_OK;
}

/* Counts the placeholders among the decrypted fields. NTS_OK or NTS_DROP (malformed). */
static enum nts_verdict scan_encrypted(struct tock_worker_ctx *w, size_t pt_len,
                                       const struct nts_scan *s, struct nts_job *job)
{
	struct ntp_ef_iter it = {.pkt = w->pt, .len = pt_len, .pos = 0};
	struct ntp_ef ef;
	int r;

	while ((r = ntp_ef_next(&it, &ef)) == 1) {
		if (ef.type != NTP_EF_NTS_COOKIE_PH)
			continue; /* unknown (or pointless) encrypted fields are ignored */
		if (ef.len != s->cookie.len)
			return NTS_DROP;
		if (job->n_cookies < NTS_MAX_NEW_COOKIES)
			job->n_cookies++;
	}
	return r < 0 ? NTS_DROP : NTS_OK;
}

/* Verifies the authenticator with C2S and reads the encrypted fields. */
static enum nts_verdict check_auth(struct tock_worker_ctx *w, const uint8_t *req,
                                   const struct nts_scan *s, const struct nts_auth *a,
                                   struct nts_job *job)
{
	int ai = aead_index(job->keys.aead);
	struct siv *c2s = w->c2s[ai];
	struct siv_ad ad[2] = {{req, s->auth.offset}, {a->nonce, a->nonce_len}};
	size_t pt_len = a->ct_len - SIV_TAG_LEN;

	if (pt_len > sizeof(w->pt))
		return NTS_DROP;
	if (siv_set_key(c2s, job->keys.c2s, job->keys.key_len) < 0 ||
	    siv_decrypt(c2s, ad, 2, a->ct, a->ct_len, w->pt) < 0)
		return NTS_NAK_TAG;
	job->s2c = w->s2c[ai];
	job->n_cookies = s->n_ph < NTS_MAX_NEW_COOKIES ? 1 + s->n_ph : NTS_MAX_NEW_COOKIES;
	return scan_encrypted(w, pt_len, s, job);
}

/* ---- NTS: the response ------------------------------------------------------------------ */

/* Fixed part of the response authenticator: type/len, nonce len, ct len, nonce, SIV tag. */
#define AUTH_FIXED (4 + 4 + NTS_SERVER_NONCE_LEN + SIV_TAG_LEN)

/* Seals n new cookie fields into w->pt. Returns the plaintext length, or -errno. */
static int seal_cookies(struct tock_worker_ctx *w, const struct nts_job *job, unsigned n,
                        const uint8_t *nonces)
{
	uint32_t cur = w->keys.current_slot % KEYMAP_SLOTS;
	size_t pos = 0;

	for (unsigned i = 0; i < n; i++) {
		uint8_t *f = w->pt + pos;
		int clen = cookie_seal(w->master[cur], w->keys.slots[cur].id,
		                       nonces + i * COOKIE_NONCE_LEN, &job->keys, f + 4,
		                       sizeof(w->pt) - pos - 4);
		size_t flen;

		if (clen < 0)
			return clen;
		flen = pad4(4 + (size_t)clen);
		wire_put16(f, NTP_EF_NTS_COOKIE);
		wire_put16(f + 2, (uint16_t)flen);
		memset(f + 4 + clen, 0, flen - 4 - (size_t)clen);
		pos += flen;
	}
	return (int)pos;
}

/*
 * How many cookies fit: the response (header, UID, authenticator with n cookie fields) may
 * not exceed `target`. 0 if not even one fits.
 */
static unsigned cookies_that_fit(size_t auth_off, size_t cookie_field, unsigned want, size_t target)
{
	unsigned n = want;

	while (n > 0 && auth_off + AUTH_FIXED + n * cookie_field > target)
		n--;
	return n;
}

/* Writes the authenticator at resp + off (length resp_len - off) over n sealed cookies. */
static int seal_response(struct tock_worker_ctx *w, const struct nts_job *job, uint8_t *resp,
                         size_t off, size_t resp_len, size_t pt_len, const uint8_t *nonce)
{
	uint8_t *a = resp + off;
	size_t ct_len = SIV_TAG_LEN + pt_len;
	struct siv_ad ad[2] = {{resp, off}, {a + 8, NTS_SERVER_NONCE_LEN}};
	size_t used = 8 + NTS_SERVER_NONCE_LEN + ct_len;

	wire_put16(a, NTP_EF_NTS_AUTHENTICATOR);
	wire_put16(a + 2, (uint16_t)(resp_len - off));
	wire_put16(a + 4, NTS_SERVER_NONCE_LEN);
	wire_put16(a + 6, (uint16_t)ct_len);
	memcpy(a + 8, nonce, NTS_SERVER_NONCE_LEN);
	memset(a + used, 0, resp_len - off - used); /* ciphertext and additional padding */
	/* The transmit timestamp is covered by the tag: take it right before sealing. */
	put_transmit(w, resp);
	if (siv_set_key(job->s2c, job->keys.s2c, job->keys.key_len) < 0)
		return -EINVAL;
	return siv_encrypt(job->s2c, ad, 2, w->pt, pt_len, a + 8 + NTS_SERVER_NONCE_LEN);
}

static size_t answer_nts(struct tock_worker_ctx *w, const uint8_t *req, size_t len,
                         const struct nts_scan *s, struct nts_job *job,
                         const struct tock_rx_meta *rx, uint8_t *resp, size_t cap)
{
	size_t off = NTP_HEADER_LEN + s->uid.len;
	size_t target = (len <= cap ? len : cap) & ~(size_t)3;
	size_t cfield = pad4(4 + cookie_len(job->keys.aead));
	unsigned n = cookies_that_fit(off, cfield, job->n_cookies, target);
	uint8_t nonces[NTS_SERVER_NONCE_LEN + NTS_MAX_NEW_COOKIES * COOKIE_NONCE_LEN];
	struct tock_clock_status cs;
	int pt_len;

	if (n == 0 || target - off > UINT16_MAX) {
		STAT_INC(w->stats, DROP_TOO_BIG);
		return 0;
	}
	/* One pool take for the response nonce and every cookie nonce. */
	if (rand_pool_take(&w->rand, nonces, NTS_SERVER_NONCE_LEN + n * COOKIE_NONCE_LEN) < 0 ||
	    (pt_len = seal_cookies(w, job, n, nonces + NTS_SERVER_NONCE_LEN)) < 0)
		goto internal;
	clock_cell_read(w->clock, &cs);
	put_header(resp, req, &cs, rx);
	memcpy(resp + NTP_HEADER_LEN, req + s->uid.offset, s->uid.len);
	if (seal_response(w, job, resp, off, target, (size_t)pt_len, nonces) < 0)
		goto internal;
	STAT_INC(w->stats, NTS_ANSWERED);
	if (job->keys.aead == SIV_AEAD_CMAC_256)
		STAT_INC(w->stats, NTS_AEAD15);
	else if (job->keys.aead == SIV_AEAD_CMAC_512)
		STAT_INC(w->stats, NTS_AEAD17);
	STAT_ADD(w->stats, NTS_COOKIES_ISSUED, n);
	count_ts_source(w, rx);
	return target;
internal:
	/* The CSPRNG or the cipher failed: nothing safe to send. No dedicated counter exists;
	 * it is counted with the responses that could not be sent. */
	STAT_INC(w->stats, TX_ERRORS);
	return 0;
}

static const enum tock_stat nak_stat[] = {
    [NTS_NAK_KEY] = STAT_NAK_UNKNOWN_KEY,
    [NTS_NAK_COOKIE] = STAT_NAK_BAD_COOKIE,
    [NTS_NAK_TAG] = STAT_NAK_BAD_TAG,
};

static size_t serve_nts(struct tock_worker_ctx *w, const uint8_t *req, size_t len,
                        const struct nts_scan *s, const struct tock_rx_meta *rx, uint8_t *resp,
                        size_t cap)
{
	struct nts_auth a;
	struct nts_job job;
	enum nts_verdict v;
	size_t n = 0;

	if (!nts_well_formed(req, len, s, &a)) {
		STAT_INC(w->stats, DROP_NTS_MALFORMED);
		return 0;
	}
	v = open_cookie(w, s, &job);
	if (v == NTS_OK)
		v = check_auth(w, req, s, &a, &job);
	if (v == NTS_OK)
		n = answer_nts(w, req, len, s, &job, rx, resp, cap);
	else if (v == NTS_DROP)
		STAT_INC(w->stats, DROP_NTS_MALFORMED);
	else
		n = answer_nak(w, req, s, nak_stat[v], rx, resp, cap);
	explicit_bzero(&job.keys, sizeof(job.keys)); /* the client's keys live no longer */
	return n;
}

size_t tock_serve(struct tock_worker_ctx *w, const uint8_t *req, size_t len,
                  const struct tock_rx_meta *rx, uint8_t *resp, size_t cap)
{
	struct nts_scan s;
	unsigned version;

	STAT_INC(w->stats, RX);
	if (len < NTP_HEADER_LEN) {
		STAT_INC(w->stats, DROP_SHORT);
		return 0;
	}
	version = ntp_version(req[0]);
	if (version == 0 || version > 4) {
		STAT_INC(w->stats, DROP_VERSION);
		return 0;
	}
	if (ntp_mode(req[0]) != NTP_MODE_CLIENT) {
		STAT_INC(w->stats, DROP_MODE);
		return 0;
	}
	if (scan_request(req, len, &s) < 0) {
		STAT_INC(w->stats, DROP_EF_MALFORMED);
		return 0;
	}
	if (s.n_nts)
		return serve_nts(w, req, len, &s, rx, resp, cap);
	return answer_plain(w, req, rx, resp, cap);
}
