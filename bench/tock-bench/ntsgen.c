// SPDX-License-Identifier: MIT
/*
 * Simulated NTS clients for the load generator (load.h). Each client keeps a small pool of
 * cookies like a real client does: every request spends the oldest one, every verified
 * response adds the fresh ones it carries. A client whose pool ran dry (responses lost)
 * reuses its last cookie rather than stalling; servers accept that, only privacy suffers.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "load.h"
#include "nts_client.h"
#include "rand.h"

#define POOL_COOKIES 8

struct cookie_pool {
	uint8_t n, head;
	uint16_t len[POOL_COOKIES];
	uint16_t last_len;
	uint8_t ck[POOL_COOKIES][COOKIE_MAX_LEN];
	uint8_t last[COOKIE_MAX_LEN];
};

struct ntsgen {
	const struct load_cfg *cfg;
	int thread, n_clients;
	struct siv *c2s[LOAD_MAX_SESS], *s2c[LOAD_MAX_SESS];
	struct cookie_pool *pools;
	struct rand_pool rand;
	struct nts_client_response resp; /* scratch, too large for the stack per packet */
};

static void pool_push(struct cookie_pool *p, const uint8_t *ck, size_t len)
{
	unsigned i;

	if (len > COOKIE_MAX_LEN)
		return;
	if (p->n == POOL_COOKIES) { /* full: the oldest goes */
		p->head = (uint8_t)((p->head + 1) % POOL_COOKIES);
		p->n--;
	}
	i = (p->head + p->n) % POOL_COOKIES;
	memcpy(p->ck[i], ck, len);
	p->len[i] = (uint16_t)len;
	p->n++;
}

/* The cookie to spend: the oldest in the pool, else the last one spent again. */
static const uint8_t *pool_take(struct cookie_pool *p, size_t *len)
{
	if (p->n) {
		memcpy(p->last, p->ck[p->head], p->len[p->head]);
		p->last_len = p->len[p->head];
		p->head = (uint8_t)((p->head + 1) % POOL_COOKIES);
		p->n--;
	}
	*len = p->last_len;
	return p->last;
}

static int session_of(const struct ntsgen *n, uint32_t l)
{
	return (int)(((uint32_t)n->thread + (uint32_t)n->cfg->threads * l) %
	             (uint32_t)n->cfg->n_sess);
}

static int key_sessions(struct ntsgen *n)
{
	for (int i = 0; i < n->cfg->n_sess; i++) {
		const struct load_session *s = &n->cfg->sess[i];

		n->c2s[i] = siv_new(s->aead);
		n->s2c[i] = siv_new(s->aead);
		if (!n->c2s[i] || !n->s2c[i] || siv_set_key(n->c2s[i], s->c2s, s->key_len) ||
		    siv_set_key(n->s2c[i], s->s2c, s->key_len))
			return -EINVAL;
	}
	return 0;
}

/* Every client starts with its session's cookies (shared by the clients of a session). */
static void seed_pools(struct ntsgen *n)
{
	for (int l = 0; l < n->n_clients; l++) {
		const struct load_session *s = &n->cfg->sess[session_of(n, (uint32_t)l)];

		for (int i = 0; i < s->n_cookies; i++)
			pool_push(&n->pools[l], s->cookies[i], s->cookie_len[i]);
		/* so that a pool run dry still has a cookie to reuse */
		memcpy(n->pools[l].last, s->cookies[0], s->cookie_len[0]);
		n->pools[l].last_len = (uint16_t)s->cookie_len[0];
	}
}

struct ntsgen *ntsgen_new(const struct load_cfg *cfg, int thread, int n_clients)
{
	struct ntsgen *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->cfg = cfg;
	n->thread = thread;
	n->n_clients = n_clients;
	rand_pool_init(&n->rand);
	n->pools = calloc((size_t)n_clients, sizeof(*n->pools));
	if (!n->pools || cfg->n_sess < 1 || key_sessions(n) < 0) {
		ntsgen_free(n);
		return NULL;
	}
	seed_pools(n);
	return n;
}

void ntsgen_free(struct ntsgen *n)
{
	if (!n)
		return;
	for (int i = 0; i < LOAD_MAX_SESS; i++) {
		siv_free(n->c2s[i]);
		siv_free(n->s2c[i]);
	}
	free(n->pools);
	free(n);
}

int ntsgen_build(struct ntsgen *n, uint32_t l, uint64_t ts, uint8_t *uid, uint8_t *out, size_t cap)
{
	struct nts_client_request r = {.transmit_ts = ts,
	                               .placeholders = (unsigned)n->cfg->placeholders};
	int err = nts_client_randomize(&r, &n->rand);

	if (err)
		return err;
	r.cookie = pool_take(&n->pools[l], &r.cookie_len);
	memcpy(uid, r.uid, NTS_CLIENT_UID_LEN);
	return nts_client_build(&r, n->c2s[session_of(n, l)], out, cap);
}

int ntsgen_check(struct ntsgen *n, uint32_t l, uint64_t ts, const uint8_t *uid, const uint8_t *resp,
                 size_t len)
{
	struct nts_client_request r = {.transmit_ts = ts};
	struct nts_client_response *out = &n->resp;

	memcpy(r.uid, uid, NTS_CLIENT_UID_LEN);
	if (nts_client_parse(&r, n->s2c[session_of(n, l)], resp, len, out) < 0)
		return NTSGEN_INVALID;
	if (out->nak)
		return NTSGEN_NAK;
	for (unsigned i = 0; i < out->n_cookies; i++)
		pool_push(&n->pools[l], out->cookies[i], out->cookie_len[i]);
	return NTSGEN_OK;
}

int ntsgen_fake_sessions(struct load_session *sess, int n)
{
	struct rand_pool rp;

	rand_pool_init(&rp);
	for (int i = 0; i < n; i++) {
		struct load_session *s = &sess[i];

		s->aead = SIV_AEAD_CMAC_256;
		s->key_len = siv_key_len(s->aead);
		s->n_cookies = KE_MAX_COOKIES;
		for (int j = 0; j < s->n_cookies; j++)
			s->cookie_len[j] = cookie_len(s->aead);
		if (rand_pool_take(&rp, s->c2s, s->key_len) ||
		    rand_pool_take(&rp, s->s2c, s->key_len))
			return -EIO;
		for (int j = 0; j < s->n_cookies; j++)
			if (rand_pool_take(&rp, s->cookies[j], s->cookie_len[j]))
				return -EIO;
	}
	return 0;
}
