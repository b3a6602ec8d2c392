// SPDX-License-Identifier: MIT
/*
 * The userspace filter (see filter.h): bpf/tock.bpf.c's classification, deny/allow lists and
 * per-prefix token bucket, for workers that run without XDP.
 *
 * Limiter state is one 64-bit word per slot: the time of the last update in ticks (high
 * bits) and the bucket's credit (low bits), where a token is worth `tps` credit units and
 * one tick adds `rate` of them — exact integer arithmetic, as the XDP program's ns × rate.
 * The tick length is chosen from the burst so that credit fits and the time field still
 * spans at least ~12 days (1 µs ticks for bursts up to 16, down to 1 ms ticks for 1677+).
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "filter.h"
#include "ntp.h"
#include "tock_shared.h"

#define FILTER_MIN_TIME_BITS 40 /* time field wraps after 2^40 ticks at the finest tick */
#define FILTER_CAS_TRIES     64 /* a CAS only fails when another thread made progress */

/* An address or prefix as two big-endian-ordered words; IPv4 sits in hi's top 32 bits. */
struct fkey {
	uint64_t hi, lo;
	int family; /* AF_INET or AF_INET6 */
};

struct plist_group {
	uint8_t len;
	uint16_t start, count;
};

/* One family's prefixes of one list, grouped by length, longest first, each group sorted
 * by address: a lookup is one binary search per distinct length. */
struct plist {
	struct fkey keys[CONF_MAX_PREFIX];
	uint8_t lens[CONF_MAX_PREFIX];
	struct plist_group groups[129];
	unsigned n, n_groups;
};

struct filter_slot {
	_Atomic uint64_t tag;   /* key_tag() of the prefix that owns the slot; 0 = empty */
	_Atomic uint64_t state; /* time << tok_bits | credit; 0 = fresh (full bucket) */
	_Atomic uint64_t hits;
	_Atomic uint64_t key_hi; /* the owner's prefix, for filter_top_talkers() only */
	_Atomic uint64_t key_lo;
	_Atomic uint32_t key_fam;
};

struct limiter {
	int enabled;
	uint32_t rate, burst, kod_every, leak_every;
	uint8_t prefix4, prefix6;
	uint64_t tps; /* ticks per second = credit units per token */
	uint64_t ns_per_tick;
	uint64_t cap; /* burst * tps */
	unsigned tok_bits;
	uint64_t tok_mask, time_mask;
	uint64_t full_ticks; /* ticks to refill an empty bucket */
	uint64_t race_ticks; /* a "now" up to 64 s behind the last update is a racing thread's
	                      * (a preempted one's); farther is the time field wrapping */
	struct filter_slot *slots;
	size_t n_sets; /* slots / FILTER_WAYS, a power of two */
};

struct tock_filter {
	struct plist lists[2][2]; /* [enum filter_list][0 = IPv4, 1 = IPv6] */
	unsigned allowed_modes;
	uint64_t seed; /* keys the slot hash so sources cannot aim at a set */
	struct limiter lim;
};

/* ---- sampling: per-thread xorshift64* ---------------------------------------------------- */

static __thread uint64_t rng_state;

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static uint64_t clock_entropy(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return mix64((uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ (uintptr_t)&rng_state);
}

void filter_seed_thread(uint64_t seed)
{
	uint64_t s = mix64(seed ? seed + 0x9e3779b97f4a7c15ULL : clock_entropy());

	rng_state = s ? s : 0x9e3779b97f4a7c15ULL;
}

static uint32_t rng_next(void)
{
	uint64_t x = rng_state;

	if (!x) {
		filter_seed_thread(0);
		x = rng_state;
	}
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return (uint32_t)((x * 0x2545f4914f6cdd1dULL) >> 32);
}

/* True once in n draws on average (never when n is 0), like the program's prandom % n. */
static int one_in(uint32_t n)
{
	return n && rng_next() % n == 0;
}

/* ---- addresses and prefixes ----------------------------------------------------------- */

static uint64_t be64_load(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void be64_store(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static void key_from_bytes(struct fkey *k, int family, const uint8_t *a)
{
	k->family = family;
	if (family == AF_INET) {
		uint8_t b[8] = {a[0], a[1], a[2], a[3]};

		k->hi = be64_load(b);
		k->lo = 0;
		return;
	}
	k->hi = be64_load(a);
	k->lo = be64_load(a + 8);
}

/* The source as a key; an IPv4-mapped IPv6 address is IPv4. 0 if neither family. */
static int key_from_sockaddr(const struct sockaddr_storage *ss, struct fkey *k)
{
	const struct in6_addr *a6;

	if (ss->ss_family == AF_INET) {
		key_from_bytes(k, AF_INET,
		               (const uint8_t *)&((const struct sockaddr_in *)ss)->sin_addr);
		return 1;
	}
	if (ss->ss_family != AF_INET6)
		return 0;
	a6 = &((const struct sockaddr_in6 *)ss)->sin6_addr;
	if (IN6_IS_ADDR_V4MAPPED(a6))
		key_from_bytes(k, AF_INET, &a6->s6_addr[12]);
	else
		key_from_bytes(k, AF_INET6, a6->s6_addr);
	return 1;
}

static uint64_t mask64(int bits)
{
	if (bits <= 0)
		return 0;
	return bits >= 64 ? ~0ULL : ~0ULL << (64 - bits);
}

static struct fkey key_masked(const struct fkey *k, int len)
{
	struct fkey m = {k->hi & mask64(len), k->lo & mask64(len - 64), k->family};

	return m;
}

static int key_cmp(const struct fkey *a, const struct fkey *b)
{
	if (a->hi != b->hi)
		return a->hi < b->hi ? -1 : 1;
	return a->lo < b->lo ? -1 : a->lo > b->lo;
}

static int fam_index(int family)
{
	return family == AF_INET6;
}

/* ---- prefix lists (longest-prefix match) ------------------------------------------------ */

struct plist_entry {
	struct fkey key;
	uint8_t len;
};

static int entry_cmp(const void *pa, const void *pb)
{
	const struct plist_entry *a = pa, *b = pb;

	if (a->len != b->len)
		return a->len > b->len ? -1 : 1;
	return key_cmp(&a->key, &b->key);
}

/* Sorted, de-duplicated entries into the list, with one group per distinct length. */
static void plist_fill(struct plist *l, struct plist_entry *e, unsigned n)
{
	qsort(e, n, sizeof(*e), entry_cmp);
	for (unsigned i = 0; i < n; i++) {
		struct plist_group *g;

		if (i > 0 && entry_cmp(&e[i], &e[i - 1]) == 0)
			continue;
		if (!l->n_groups || l->groups[l->n_groups - 1].len != e[i].len)
			l->groups[l->n_groups++] =
			    (struct plist_group){.len = e[i].len, .start = (uint16_t)l->n};
		g = &l->groups[l->n_groups - 1];
		g->count++;
		l->keys[l->n] = e[i].key;
		l->lens[l->n++] = e[i].len;
	}
}

/* Builds both families' lists from conf's prefixes. 0 or -EINVAL. */
static int plist_build(struct plist l[2], const struct conf_prefix *p, int n)
{
	struct plist_entry e[2][CONF_MAX_PREFIX];
	unsigned cnt[2] = {0, 0};

	if (n < 0 || n > CONF_MAX_PREFIX)
		return -EINVAL;
	for (int i = 0; i < n; i++) {
		int fi = fam_index(p[i].family);
		struct fkey k;

		if ((p[i].family != AF_INET && p[i].family != AF_INET6) ||
		    p[i].len > (fi ? 128 : 32))
			return -EINVAL;
		key_from_bytes(&k, p[i].family, p[i].addr);
		e[fi][cnt[fi]++] = (struct plist_entry){key_masked(&k, p[i].len), p[i].len};
	}
	plist_fill(&l[0], e[0], cnt[0]);
	plist_fill(&l[1], e[1], cnt[1]);
	return 0;
}

static int group_has(const struct plist *l, const struct plist_group *g, const struct fkey *m)
{
	unsigned lo = g->start, hi = (unsigned)g->start + g->count;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		int c = key_cmp(&l->keys[mid], m);

		if (c == 0)
			return 1;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/* The longest listed prefix holding k, or -1. */
static int plist_match(const struct plist *l, const struct fkey *k)
{
	for (unsigned i = 0; i < l->n_groups; i++) {
		struct fkey m = key_masked(k, l->groups[i].len);

		if (group_has(l, &l->groups[i], &m))
			return l->groups[i].len;
	}
	return -1;
}

int filter_list_match(const struct tock_filter *f, enum filter_list which,
                      const struct sockaddr_storage *src)
{
	struct fkey k;

	if (!f || (which != FILTER_LIST_ALLOW && which != FILTER_LIST_DENY) ||
	    !key_from_sockaddr(src, &k))
		return -1;
	return plist_match(&f->lists[which][fam_index(k.family)], &k);
}

/* ---- limiter: bucket arithmetic --------------------------------------------------------- */

static unsigned bit_width(uint64_t v)
{
	return v ? 64 - (unsigned)__builtin_clzll(v) : 0;
}

/* Picks the finest tick that keeps FILTER_MIN_TIME_BITS of time next to the credit. */
static void limiter_units(struct limiter *l)
{
	static const uint64_t tps[] = {1000000, 100000, 10000, 1000};
	unsigned i = 0;

	while (i + 1 < sizeof(tps) / sizeof(tps[0]) &&
	       64 - bit_width((uint64_t)l->burst * tps[i]) < FILTER_MIN_TIME_BITS)
		i++;
	l->tps = tps[i];
	l->ns_per_tick = TOCK_XDP_NSEC / l->tps;
	l->cap = (uint64_t)l->burst * l->tps;
	l->tok_bits = bit_width(l->cap);
	l->tok_mask = (1ULL << l->tok_bits) - 1;
	l->time_mask = ~0ULL >> l->tok_bits;
	l->full_ticks = (l->cap + l->rate - 1) / l->rate;
	l->race_ticks = 64 * l->tps;
}

/* The credit at now (ticks) and the time to store with it. */
static uint64_t bucket_refill(const struct limiter *l, uint64_t st, uint64_t now, uint64_t *last)
{
	uint64_t then = st >> l->tok_bits, credit = st & l->tok_mask, dt;

	if (!st) { /* fresh slot: a new source starts with a full bucket */
		*last = now;
		return l->cap;
	}
	dt = (now - then) & l->time_mask;
	if (dt > l->time_mask - l->race_ticks) {
		/* Another thread stored a later "now" (up to race_ticks): keep its time, so the
		 * bucket's clock never runs backwards and no interval is credited twice. */
		*last = then;
		return credit;
	}
	*last = now;
	if (dt >= l->full_ticks)
		return l->cap;
	credit += dt * l->rate; /* dt < full_ticks: no overflow */
	return credit < l->cap ? credit : l->cap;
}

/* Takes one token if there is one; 1 if taken. Lock-free: retries only after another
 * thread's update succeeded, and gives the request the benefit of the doubt after
 * FILTER_CAS_TRIES of those. */
static int bucket_take(const struct limiter *l, struct filter_slot *s, uint64_t now)
{
	uint64_t old = atomic_load_explicit(&s->state, memory_order_relaxed);

	for (int i = 0; i < FILTER_CAS_TRIES; i++) {
		uint64_t last, credit = bucket_refill(l, old, now, &last), next;
		int ok = credit >= l->tps;

		if (ok)
			credit -= l->tps;
		next = (last & l->time_mask) << l->tok_bits | credit;
		if (!next)
			next = 1ULL << l->tok_bits; /* 0 means "fresh": shift time by a tick */
		if (atomic_compare_exchange_weak_explicit(
		        &s->state, &old, next, memory_order_relaxed, memory_order_relaxed))
			return ok;
	}
	return 1;
}

/* ---- limiter: the table ----------------------------------------------------------------- */

static uint64_t key_tag(const struct tock_filter *f, const struct fkey *k)
{
	uint64_t h = mix64(k->hi ^ f->seed);

	h = mix64(h + k->lo);
	return mix64(h ^ (uint64_t)k->family) | 1;
}

/* Ticks since the slot's last update: empty slots are the oldest, ones just claimed (fresh
 * state) the youngest, so two new prefixes racing for a set do not evict each other. */
static uint64_t slot_age(const struct limiter *l, struct filter_slot *s, uint64_t now)
{
	uint64_t st = atomic_load_explicit(&s->state, memory_order_relaxed);

	if (!atomic_load_explicit(&s->tag, memory_order_relaxed))
		return UINT64_MAX;
	if (!st)
		return 0;
	return (now - (st >> l->tok_bits)) & l->time_mask;
}

/* Takes victim (which had tag `old`) for k; 0 if another thread changed it first. */
static int slot_claim(struct filter_slot *victim, uint64_t old, uint64_t tag, const struct fkey *k,
                      uint8_t prefixlen)
{
	if (!atomic_compare_exchange_strong_explicit(&victim->tag, &old, tag, memory_order_relaxed,
	                                             memory_order_relaxed))
		return 0;
	atomic_store_explicit(&victim->key_hi, k->hi, memory_order_relaxed);
	atomic_store_explicit(&victim->key_lo, k->lo, memory_order_relaxed);
	atomic_store_explicit(&victim->key_fam, (uint32_t)k->family | (uint32_t)prefixlen << 16,
	                      memory_order_relaxed);
	atomic_store_explicit(&victim->hits, 0, memory_order_relaxed);
	/* A thread still working for the previous owner may land one more update after this,
	 * so the new owner starts from that bucket instead of a full one; a thread of the new
	 * owner that raced ahead of this store took a token from the old bucket. Either way one
	 * update per racing thread, the error the XDP program's lost updates also make. */
	atomic_store_explicit(&victim->state, 0, memory_order_relaxed);
	return 1;
}

static struct filter_slot *set_lookup(struct filter_slot *set, uint64_t tag)
{
	for (int i = 0; i < FILTER_WAYS; i++)
		if (atomic_load_explicit(&set[i].tag, memory_order_relaxed) == tag)
			return &set[i];
	return NULL;
}

/* The set's slot to give away: an empty one, else the one idle longest. */
static struct filter_slot *set_victim(const struct limiter *l, struct filter_slot *set,
                                      uint64_t now, uint64_t *victim_tag)
{
	struct filter_slot *victim = &set[0];
	uint64_t oldest = slot_age(l, &set[0], now);

	for (int i = 1; i < FILTER_WAYS; i++) {
		uint64_t age = slot_age(l, &set[i], now);

		if (age > oldest) {
			oldest = age;
			victim = &set[i];
		}
	}
	*victim_tag = atomic_load_explicit(&victim->tag, memory_order_relaxed);
	return victim;
}

/* The slot of masked prefix k: its own, else a victim of its set. NULL only when other
 * threads replaced the set's slots under us twice. */
static struct filter_slot *slot_find(struct tock_filter *f, const struct fkey *k, uint8_t prefixlen,
                                     uint64_t now)
{
	const struct limiter *l = &f->lim;
	uint64_t tag = key_tag(f, k), victim_tag;
	struct filter_slot *set = &l->slots[((tag >> 1) & (l->n_sets - 1)) * FILTER_WAYS], *s;

	for (int attempt = 0; attempt < 2; attempt++) {
		s = set_lookup(set, tag);
		if (s)
			return s;
		s = set_victim(l, set, now, &victim_tag);
		if (slot_claim(s, victim_tag, tag, k, prefixlen))
			return s;
	}
	return NULL;
}

/* 1 if the source's prefix has a token for this request. */
static int limiter_admit(struct tock_filter *f, const struct fkey *src, uint64_t now_ns)
{
	const struct limiter *l = &f->lim;
	uint8_t len = src->family == AF_INET ? l->prefix4 : l->prefix6;
	struct fkey k = key_masked(src, len);
	uint64_t now = (now_ns / l->ns_per_tick) & l->time_mask;
	struct filter_slot *s = slot_find(f, &k, len, now);

	if (!s)
		return 1;
	atomic_fetch_add_explicit(&s->hits, 1, memory_order_relaxed);
	return bucket_take(l, s, now);
}

/* ---- verdicts ----------------------------------------------------------------------------- */

/* Version and mode rules, then the length, in the XDP program's order. */
static enum filter_reason classify(const struct tock_filter *f, const uint8_t *pkt, size_t len)
{
	unsigned vn, mode;

	if (len < 1 || !pkt)
		return FILTER_R_SHORT;
	vn = (pkt[0] >> 3) & 7;
	mode = pkt[0] & 7;
	if (vn == 0 || vn > 4)
		return FILTER_R_VERSION;
	if (mode == NTP_MODE_CONTROL)
		return FILTER_R_MODE_CONTROL;
	if (mode == NTP_MODE_PRIVATE)
		return FILTER_R_MODE_PRIVATE;
	if (mode == NTP_MODE_SERVER || mode == NTP_MODE_BROADCAST)
		return FILTER_R_REFLECTION;
	if (mode != NTP_MODE_CLIENT && !(f->allowed_modes & (1U << mode)))
		return FILTER_R_MODE_OTHER;
	if (len < NTP_HEADER_LEN)
		return FILTER_R_SHORT;
	return FILTER_R_NONE;
}

/* Over the limit: leak 1 in M, KoD 1 in N, drop the rest (leak drawn first, as in XDP). */
static enum filter_verdict over_limit(const struct limiter *l)
{
	if (one_in(l->leak_every))
		return FILTER_LEAK;
	if (one_in(l->kod_every))
		return FILTER_KOD;
	return FILTER_DROP;
}

/* Deny list, then (limiter on) allow list and token bucket. */
static enum filter_verdict policy(struct tock_filter *f, const struct fkey *k, uint64_t now_ns,
                                  enum filter_reason *r)
{
	int fi = fam_index(k->family);

	if (plist_match(&f->lists[FILTER_LIST_DENY][fi], k) >= 0) {
		*r = FILTER_R_DENIED;
		return FILTER_DROP;
	}
	if (!f->lim.enabled)
		return FILTER_PASS;
	if (plist_match(&f->lists[FILTER_LIST_ALLOW][fi], k) >= 0) {
		*r = FILTER_R_ALLOWLISTED;
		return FILTER_PASS;
	}
	if (limiter_admit(f, k, now_ns))
		return FILTER_PASS;
	*r = FILTER_R_RATELIMIT;
	return over_limit(&f->lim);
}

enum filter_verdict filter_check(struct tock_filter *f, const struct sockaddr_storage *src,
                                 const uint8_t *pkt, size_t len, uint64_t now_ns,
                                 enum filter_reason *reason)
{
	enum filter_reason r = classify(f, pkt, len);
	enum filter_verdict v = r == FILTER_R_NONE ? FILTER_PASS : FILTER_DROP;
	struct fkey k;

	if (v == FILTER_PASS && src && key_from_sockaddr(src, &k))
		v = policy(f, &k, now_ns, &r);
	if (reason)
		*reason = r;
	return v;
}

enum tock_stat filter_reason_stat(enum filter_reason r)
{
	static const enum tock_stat map[FILTER_R_COUNT] = {
	    [FILTER_R_NONE] = STAT_COUNT,
	    [FILTER_R_SHORT] = STAT_DROP_SHORT,
	    [FILTER_R_VERSION] = STAT_DROP_VERSION,
	    [FILTER_R_MODE_CONTROL] = STAT_DROP_MODE_CONTROL,
	    [FILTER_R_MODE_PRIVATE] = STAT_DROP_MODE_PRIVATE,
	    [FILTER_R_REFLECTION] = STAT_DROP_REFLECTION,
	    [FILTER_R_MODE_OTHER] = STAT_DROP_MODE,
	    [FILTER_R_DENIED] = STAT_DROP_DENIED,
	    [FILTER_R_ALLOWLISTED] = STAT_ALLOWLISTED,
	    [FILTER_R_RATELIMIT] = STAT_DROP_RATELIMIT,
	};

	return (unsigned)r < FILTER_R_COUNT ? map[r] : STAT_COUNT;
}

void filter_count(struct tock_worker_stats *ws, enum filter_verdict v, enum filter_reason r)
{
	enum tock_stat s = filter_reason_stat(r);

	switch (v) {
	case FILTER_PASS:
		if (r == FILTER_R_ALLOWLISTED)
			STAT_INC(ws, ALLOWLISTED);
		return;
	case FILTER_LEAK:
		STAT_INC(ws, RATELIMIT_LEAKED);
		return;
	case FILTER_KOD:
		STAT_INC(ws, RX);
		STAT_INC(ws, KOD_SENT);
		return;
	case FILTER_DROP:
		STAT_INC(ws, RX);
		if (s < STAT_COUNT)
			ws->c[s]++;
		if (r != FILTER_R_RATELIMIT)
			STAT_INC(ws, DROP_FILTERED);
		return;
	}
}

/* ---- KoD ------------------------------------------------------------------------------- */

size_t filter_kod_at(const uint8_t *req, size_t len, uint8_t *resp, size_t cap,
                     const struct timespec *now)
{
	uint64_t ts = ntp_ts_from_timespec(now);

	if (!req || !resp || len < NTP_HEADER_LEN || cap < NTP_HEADER_LEN)
		return 0;
	memset(resp, 0, NTP_HEADER_LEN);
	resp[0] = (uint8_t)((3 << 6) | (req[0] & 0x38) | NTP_MODE_SERVER);
	resp[2] = req[2]; /* poll, echoed as the XDP program does */
	memcpy(resp + 12, "RATE", 4);
	memcpy(resp + 24, req + 40, 8); /* origin = the client's transmit timestamp */
	be64_store(resp + 32, ts);
	be64_store(resp + 40, ts);
	return NTP_HEADER_LEN;
}

size_t filter_kod(const uint8_t *req, size_t len, uint8_t *resp, size_t cap)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	return filter_kod_at(req, len, resp, cap, &now);
}

/* ---- top talkers ------------------------------------------------------------------------- */

/* A consistent snapshot of a slot, or 0 if it is empty or being replaced. */
static int slot_read(const struct tock_filter *f, struct filter_slot *s, struct filter_talker *t)
{
	uint64_t tag = atomic_load_explicit(&s->tag, memory_order_relaxed), st;
	uint32_t fam = atomic_load_explicit(&s->key_fam, memory_order_relaxed);
	struct fkey k = {atomic_load_explicit(&s->key_hi, memory_order_relaxed),
	                 atomic_load_explicit(&s->key_lo, memory_order_relaxed),
	                 (int)(fam & 0xffff)};

	if (!tag || key_tag(f, &k) != tag)
		return 0;
	st = atomic_load_explicit(&s->state, memory_order_relaxed);
	memset(t, 0, sizeof(*t));
	t->family = k.family;
	t->prefixlen = (uint8_t)(fam >> 16);
	be64_store(t->addr, k.hi);
	be64_store(t->addr + 8, k.lo);
	t->hits = atomic_load_explicit(&s->hits, memory_order_relaxed);
	t->tokens = st ? (double)(st & f->lim.tok_mask) / (double)f->lim.tps : f->lim.burst;
	return 1;
}

size_t filter_top_talkers(struct tock_filter *f, struct filter_talker *out, size_t max)
{
	size_t n = 0;

	if (!f || !f->lim.slots || !max)
		return 0;
	for (size_t i = 0; i < f->lim.n_sets * FILTER_WAYS; i++) {
		struct filter_talker t;
		size_t j;

		if (!slot_read(f, &f->lim.slots[i], &t))
			continue;
		if (n == max && t.hits <= out[n - 1].hits)
			continue;
		j = n < max ? n++ : n - 1; /* insertion into the sorted prefix of out */
		for (; j > 0 && out[j - 1].hits < t.hits; j--)
			out[j] = out[j - 1];
		out[j] = t;
	}
	return n;
}

/* ---- life cycle -------------------------------------------------------------------------- */

static int limiter_init(struct limiter *l, const struct conf_ratelimit *rl, size_t slots)
{
	size_t bytes = slots * sizeof(struct filter_slot);

	l->prefix4 = rl->prefix4 ? rl->prefix4 : 32;
	l->prefix6 = rl->prefix6 ? rl->prefix6 : 64;
	if (l->prefix4 > 32 || l->prefix6 > 128)
		return -EINVAL;
	if (!rl->enabled)
		return 0;
	if (rl->rate < 1 || rl->rate > TOCK_XDP_MAX_RATE || rl->burst < 1 ||
	    rl->burst > TOCK_XDP_MAX_BURST || slots < FILTER_WAYS || (slots & (slots - 1)))
		return -EINVAL;
	*l = (struct limiter){.enabled = 1,
	                      .rate = rl->rate,
	                      .burst = rl->burst,
	                      .kod_every = rl->kod_every,
	                      .leak_every = rl->leak_every,
	                      .prefix4 = l->prefix4,
	                      .prefix6 = l->prefix6,
	                      .n_sets = slots / FILTER_WAYS};
	limiter_units(l);
	l->slots = aligned_alloc(64, (bytes + 63) & ~(size_t)63);
	if (!l->slots)
		return -ENOMEM;
	memset(l->slots, 0, bytes);
	return 0;
}

static uint64_t hash_seed(void)
{
	uint64_t s;

	if (getrandom(&s, sizeof(s), GRND_NONBLOCK) == (ssize_t)sizeof(s))
		return s;
	return clock_entropy(); /* only sets are at stake, not secrets */
}

struct tock_filter *filter_new_sized(const struct tock_conf *conf, unsigned n_workers, size_t slots)
{
	struct tock_filter *f;
	int err = -EINVAL;

	if (!conf || !n_workers)
		goto fail;
	f = calloc(1, sizeof(*f));
	if (!f) {
		err = -ENOMEM;
		goto fail;
	}
	f->seed = hash_seed();
	err = plist_build(f->lists[FILTER_LIST_DENY], conf->deny, conf->n_deny);
	if (!err)
		err = plist_build(f->lists[FILTER_LIST_ALLOW], conf->allow, conf->n_allow);
	if (!err)
		err = limiter_init(&f->lim, &conf->ratelimit, slots);
	if (err)
		goto fail_free;
	return f;
fail_free:
	filter_free(f);
fail:
	errno = -err;
	return NULL;
}

struct tock_filter *filter_new(const struct tock_conf *conf, unsigned n_workers)
{
	return filter_new_sized(conf, n_workers, FILTER_TABLE_DEFAULT);
}

void filter_set_allowed_modes(struct tock_filter *f, unsigned modes)
{
	if (f)
		f->allowed_modes = modes & 7;
}

void filter_free(struct tock_filter *f)
{
	if (!f)
		return;
	free(f->lim.slots);
	free(f);
}
