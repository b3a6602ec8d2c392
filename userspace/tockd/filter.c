// SPDX-License-Identifier: MIT
/* Userspace allow/deny lists and per-prefix rate limiter (see filter.h). */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"
#include "ntp.h"

int filter_init(struct filter *f, const struct tock_conf *conf)
{
	memset(f, 0, sizeof(*f));
	f->conf = conf;
	f->active = conf->n_deny || conf->ratelimit.enabled;
	if (!conf->ratelimit.enabled)
		return 0;
	f->table = calloc(FILTER_TABLE_SIZE, sizeof(*f->table));
	return f->table ? 0 : -ENOMEM;
}

void filter_free(struct filter *f)
{
	free(f->table);
	f->table = NULL;
}

/* The peer's address bytes and family (IPv4-mapped IPv6 counts as IPv4). */
static int peer_addr(const struct sockaddr_storage *ss, uint8_t out[16])
{
	if (ss->ss_family == AF_INET) {
		memcpy(out, &((const struct sockaddr_in *)ss)->sin_addr, 4);
		return AF_INET;
	}
	if (ss->ss_family != AF_INET6)
		return 0;
	const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;

	if (IN6_IS_ADDR_V4MAPPED(a)) {
		memcpy(out, &a->s6_addr[12], 4);
		return AF_INET;
	}
	memcpy(out, a->s6_addr, 16);
	return AF_INET6;
}

static int prefix_match(const struct conf_prefix *p, int family, const uint8_t *a)
{
	int full = p->len / 8, rest = p->len % 8;

	if (p->family != family || memcmp(p->addr, a, (size_t)full))
		return 0;
	return !rest || ((p->addr[full] ^ a[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

static int listed(const struct conf_prefix *list, int n, int family, const uint8_t *a)
{
	for (int i = 0; i < n; i++)
		if (prefix_match(&list[i], family, a))
			return 1;
	return 0;
}

/* Masks the address to the limiter's prefix (/32 and /64 by default). */
static void limiter_key(const struct conf_ratelimit *rl, int family, uint8_t a[16])
{
	int bits = family == AF_INET ? rl->prefix4 : rl->prefix6;
	int len = family == AF_INET ? 4 : 16;

	for (int i = 0; i < len; i++) {
		int keep = bits - 8 * i;

		a[i] &= keep >= 8 ? 0xff : keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));
	}
	if (family == AF_INET)
		memset(a + 4, 0, 12);
}

static uint32_t key_hash(const uint8_t *k, int family)
{
	uint32_t h = 2166136261u ^ (uint32_t)family; /* FNV-1a: short keys, good enough */

	for (int i = 0; i < 16; i++)
		h = (h ^ k[i]) * 16777619u;
	return h;
}

/* Takes a token from the prefix's bucket; a colliding stranger simply replaces the entry. */
static enum filter_verdict limit(struct filter *f, int family, uint8_t a[16], uint64_t now)
{
	const struct conf_ratelimit *rl = &f->conf->ratelimit;
	struct filter_bucket *b;

	limiter_key(rl, family, a);
	b = &f->table[key_hash(a, family) & (FILTER_TABLE_SIZE - 1)];
	if (b->family != family || memcmp(b->key, a, 16)) {
		memset(b, 0, sizeof(*b));
		memcpy(b->key, a, 16);
		b->family = (uint8_t)family;
		b->tokens = rl->burst;
		b->last_ns = now;
	}
	b->tokens += (double)(now - b->last_ns) * 1e-9 * rl->rate;
	if (b->tokens > rl->burst)
		b->tokens = rl->burst;
	b->last_ns = now;
	if (b->tokens >= 1.0) {
		b->tokens -= 1.0;
		return FILTER_PASS;
	}
	b->over++;
	/* let a few through so that a spoofed victim is never fully cut off */
	if (rl->leak_every && b->over % rl->leak_every == 0)
		return FILTER_PASS;
	if (rl->kod_every && b->over % rl->kod_every == 0)
		return FILTER_KOD;
	return FILTER_LIMIT;
}

enum filter_verdict filter_check(struct filter *f, const struct sockaddr_storage *peer,
				 uint64_t now_ns)
{
	uint8_t a[16] = {0};
	int family;

	if (!f->active)
		return FILTER_PASS;
	family = peer_addr(peer, a);
	if (!family)
		return FILTER_DENY;
	if (listed(f->conf->deny, f->conf->n_deny, family, a))
		return FILTER_DENY;
	if (!f->table || listed(f->conf->allow, f->conf->n_allow, family, a))
		return FILTER_PASS;
	return limit(f, family, a, now_ns);
}

size_t filter_kod(const uint8_t *req, uint8_t *resp)
{
	memset(resp, 0, NTP_HEADER_LEN);
	resp[0] = ntp_lvm(3, ntp_version(req[0]), NTP_MODE_SERVER);
	resp[1] = 0; /* stratum 0: a kiss code is in the refid */
	memcpy(resp + 12, "RATE", 4);
	memcpy(resp + 24, req + 40, 8); /* origin = the client's transmit timestamp */
	return NTP_HEADER_LEN;
}
