// SPDX-License-Identifier: MIT
/*
 * tock's XDP program (DESIGN §7): in front of UDP port 123 it parses, classifies, counts,
 * rate-limits per source prefix and optionally answers plain NTP from the clock map.
 * Everything that is not an NTP request to us passes untouched; NTS goes to tockd.
 * Policy is decided by the loader (config map, tries); the program only applies it.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "tock_shared.h"

#ifndef bpf_ksym_exists
#define bpf_ksym_exists(sym) (!!(sym))
#endif

/* NIC receive timestamp (kernel 6.3+, device-bound programs only; see tock_xdp_hwts). */
extern int bpf_xdp_metadata_rx_timestamp(const struct xdp_md *ctx, __u64 *timestamp) __ksym __weak;

/* The server port (host order); fixed for the life of the program. */
const volatile __u16 tock_port = TOCK_XDP_NTP_PORT;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tock_xdp_config);
} tock_config SEC(".maps");

/*
 * The clock is double-buffered: the loader rewrites the entry that is not current, then
 * points tock_clock_cur at it. A map update copies the value without a lock, so rewriting
 * a single entry in place could hand a reader a torn mix of two seconds (new leap, old
 * stratum); a spin lock would serialise every CPU's fast path on one cache line instead.
 * A reader sees a torn entry only if the loader rewrites the entry it is reading, which
 * takes two updates during one packet: they are a second apart.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TOCK_XDP_CLOCK_SLOTS);
	__type(key, __u32);
	__type(value, struct tock_xdp_clock);
} tock_clock SEC(".maps");

/* Index of the current tock_clock entry (0 or 1). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} tock_clock_cur SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tock_xdp_stats);
} tock_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TOCK_XDP_LIMITER_ENTRIES);
	__type(key, struct tock_limit_key);
	__type(value, struct tock_limit_bucket);
} tock_limiter SEC(".maps");

#define TOCK_LPM_MAP(name, keytype)                                                                \
	struct {                                                                                   \
		__uint(type, BPF_MAP_TYPE_LPM_TRIE);                                               \
		__uint(max_entries, TOCK_XDP_LPM_ENTRIES);                                         \
		__uint(map_flags, BPF_F_NO_PREALLOC);                                              \
		__type(key, keytype);                                                              \
		__type(value, __u32);                                                              \
	} name SEC(".maps")

/* tockd's AF_XDP sockets (see TOCK_XSK_MAX_QUEUES in tock_shared.h). */
struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, TOCK_XSK_MAP_ENTRIES);
	__type(key, __u32);
	__type(value, __u32);
} tock_xsks SEC(".maps");

/* ifindex -> the interface's slot in tock_xsks (written by the loader). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TOCK_XSK_MAX_IFACES);
	__type(key, __u32);
	__type(value, __u32);
} tock_xsk_ifaces SEC(".maps");

TOCK_LPM_MAP(tock_deny4, struct tock_lpm4_key);
TOCK_LPM_MAP(tock_deny6, struct tock_lpm6_key);
TOCK_LPM_MAP(tock_allow4, struct tock_lpm4_key);
TOCK_LPM_MAP(tock_allow6, struct tock_lpm6_key);

struct vlan_tag {
	__be16 tci;
	__be16 proto;
};

/* What the parser found; pointers are packet pointers already bounds-checked. */
struct pkt {
	void *data_end;
	struct ethhdr *eth;
	void *l3; /* struct iphdr or struct ipv6hdr */
	__u8 v6;  /* which one */
	struct udphdr *udp;
	__u8 *ntp;     /* at least 48 bytes when classify() accepts */
	__u32 ntp_len; /* from the UDP length */
	__u32 l4_off;  /* offset of the UDP header in the frame */
};

enum { NEXT = -1 }; /* "no verdict yet" */

static __always_inline int count(struct tock_xdp_stats *st, __u32 id, int verdict)
{
	if (id < XDP_STAT_COUNT)
		st->c[id]++;
	return verdict;
}

/* Ethernet and up to two VLAN tags (802.1Q / 802.1AD); returns the L3 ethertype or 0. */
static __always_inline __u16 parse_eth(struct pkt *p, void **l3, __u32 *l3_off)
{
	struct ethhdr *eth = p->eth;
	void *cur = eth + 1;
	__u32 off = sizeof(*eth);
	__be16 proto;

	if (cur > p->data_end)
		return 0;
	proto = eth->h_proto;
#pragma unroll
	for (int i = 0; i < 2; i++) {
		struct vlan_tag *tag = cur;

		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
			break;
		if ((void *)(tag + 1) > p->data_end)
			return 0;
		proto = tag->proto;
		cur = tag + 1;
		off += sizeof(*tag);
	}
	*l3 = cur;
	*l3_off = off;
	return bpf_ntohs(proto);
}

/* IPv4 with IHL honoured; fragments and non-UDP leave with a verdict. */
static __always_inline int parse_ip4(struct pkt *p, struct tock_xdp_stats *st, void *l3,
                                     __u32 l3_off)
{
	struct iphdr *ip = l3;
	__u32 hlen;

	if ((void *)(ip + 1) > p->data_end || ip->version != 4 || ip->ihl < 5)
		return count(st, XDP_STAT_PASSED_NOT_NTP, XDP_PASS);
	if (ip->protocol != IPPROTO_UDP)
		return count(st, XDP_STAT_PASSED_NOT_NTP, XDP_PASS);
	if (ip->frag_off & bpf_htons(0x3fff)) /* MF or an offset: the stack reassembles */
		return count(st, XDP_STAT_PASSED_FRAGMENT, XDP_PASS);
	hlen = ip->ihl * 4;
	p->l3 = ip;
	p->udp = l3 + hlen;
	p->l4_off = l3_off + hlen;
	return NEXT;
}

/* IPv6 fixed header only: any extension header goes to the stack. */
static __always_inline int parse_ip6(struct pkt *p, struct tock_xdp_stats *st, void *l3,
                                     __u32 l3_off)
{
	struct ipv6hdr *ip6 = l3;

	if ((void *)(ip6 + 1) > p->data_end)
		return count(st, XDP_STAT_PASSED_NOT_NTP, XDP_PASS);
	if (ip6->nexthdr != IPPROTO_UDP) {
		/* TCP, ICMPv6 and the like are not ours; anything else may hide UDP behind an
		 * extension header, which the stack walks for us. */
		if (ip6->nexthdr == IPPROTO_TCP || ip6->nexthdr == IPPROTO_ICMPV6)
			return count(st, XDP_STAT_PASSED_NOT_NTP, XDP_PASS);
		return count(st, XDP_STAT_PASSED_FRAGMENT, XDP_PASS);
	}
	p->l3 = ip6;
	p->v6 = 1;
	p->udp = (void *)(ip6 + 1);
	p->l4_off = l3_off + sizeof(*ip6);
	return NEXT;
}

/* UDP to our port with a length that fits the frame. */
static __always_inline int parse_udp(struct pkt *p, struct tock_xdp_stats *st)
{
	struct udphdr *udp = p->udp;
	__u32 ulen;

	if ((void *)(udp + 1) > p->data_end)
		return count(st, XDP_STAT_PASSED_NOT_NTP, XDP_PASS);
	if (udp->dest != bpf_htons(tock_port))
		return count(st, XDP_STAT_PASSED_NOT_NTP, XDP_PASS);
	ulen = bpf_ntohs(udp->len);
	if (ulen < sizeof(*udp) || ulen > 0xffff)
		return count(st, XDP_STAT_DROP_MALFORMED, XDP_DROP);
	if ((void *)udp + ulen > p->data_end)
		return count(st, XDP_STAT_DROP_MALFORMED, XDP_DROP);
	p->ntp = (__u8 *)(udp + 1);
	p->ntp_len = ulen - sizeof(*udp);
	return NEXT;
}

/* Version and mode rules, then the length: mode 6/7 floods are counted as what they are. */
static __always_inline int classify(struct pkt *p, struct tock_xdp_stats *st,
                                    const struct tock_xdp_config *cfg)
{
	__u8 *ntp = p->ntp;
	__u8 vn, mode;

	if (p->ntp_len < 1 || (void *)(ntp + 1) > p->data_end)
		return count(st, XDP_STAT_DROP_SHORT, XDP_DROP);
	vn = (ntp[0] >> 3) & 7;
	mode = ntp[0] & 7;
	if (vn == 0 || vn > 4)
		return count(st, XDP_STAT_DROP_VERSION, XDP_DROP);
	if (mode == 6)
		return count(st, XDP_STAT_DROP_MODE_CONTROL, XDP_DROP);
	if (mode == 7)
		return count(st, XDP_STAT_DROP_MODE_PRIVATE, XDP_DROP);
	if (mode == 4 || mode == 5)
		return count(st, XDP_STAT_DROP_REFLECTION, XDP_DROP);
	if (mode != 3 && !(cfg->allowed_modes & (1U << mode)))
		return count(st, XDP_STAT_DROP_MODE_OTHER, XDP_DROP);
	if (p->ntp_len < TOCK_XDP_NTP_HDR || (void *)(ntp + TOCK_XDP_NTP_HDR) > p->data_end)
		return count(st, XDP_STAT_DROP_SHORT, XDP_DROP);
	return NEXT;
}

/* Looks the source up in an IPv4 or IPv6 LPM trie. */
static __always_inline int source_in(struct pkt *p, void *map4, void *map6)
{
	struct iphdr *ip = p->l3;
	struct ipv6hdr *ip6 = p->l3;

	if (!p->v6) {
		struct tock_lpm4_key k = {.prefixlen = 32};

		if ((void *)(ip + 1) > p->data_end)
			return 0;
		__builtin_memcpy(k.addr, &ip->saddr, 4);
		return bpf_map_lookup_elem(map4, &k) != NULL;
	}
	struct tock_lpm6_key k = {.prefixlen = 128};

	if ((void *)(ip6 + 1) > p->data_end)
		return 0;
	__builtin_memcpy(k.addr, &ip6->saddr, 16);
	return bpf_map_lookup_elem(map6, &k) != NULL;
}

/* Host-order mask of the first `bits` bits of a 32-bit word (bits clamped to 0..32). */
static __always_inline __u32 mask32(int bits)
{
	if (bits <= 0)
		return 0;
	if (bits >= 32)
		return 0xffffffff;
	return 0xffffffffU << (32 - bits);
}

/* The limiter key: the source masked to prefix4 / prefix6. */
static __always_inline void limit_key(struct pkt *p, const struct tock_xdp_config *cfg,
                                      struct tock_limit_key *k)
{
	struct iphdr *ip = p->l3;
	struct ipv6hdr *ip6 = p->l3;
	__u32 w[4] = {};

	if (!p->v6) {
		k->family = 4;
		k->prefixlen = cfg->prefix4;
		if ((void *)(ip + 1) <= p->data_end)
			w[0] = ip->saddr & bpf_htonl(mask32(cfg->prefix4));
	} else {
		k->family = 6;
		k->prefixlen = cfg->prefix6;
		if ((void *)(ip6 + 1) <= p->data_end) {
#pragma unroll
			for (int i = 0; i < 4; i++)
				w[i] = ip6->saddr.in6_u.u6_addr32[i] &
				       bpf_htonl(mask32((int)cfg->prefix6 - 32 * i));
		}
	}
	__builtin_memcpy(k->addr, w, sizeof(w));
}

/* Attempts at the compare-and-swap before a contended request counts as over the limit. */
#define LIMIT_CAS_TRIES 4

/* Takes one token from the bucket whose state is *tat (see struct tock_limit_bucket). */
static __always_inline int gcra_take(__u64 *tat, __u64 now, const struct tock_xdp_config *cfg)
{
	__u64 seen = *(volatile __u64 *)tat;

	for (int i = 0; i < LIMIT_CAS_TRIES; i++) {
		__u64 at = seen > now ? seen : now, prev;

		if (at - now > cfg->tau_ns)
			return 0;
		prev = __sync_val_compare_and_swap(tat, seen, at + cfg->interval_ns);
		if (prev == seen)
			return 1;
		seen = prev; /* another CPU took one meanwhile: decide again on its value */
	}
	return 0; /* still contended: refusing keeps the rate a ceiling */
}

/* Token bucket: 1 if the request may go on, 0 if it is over the limit. */
static __always_inline int limiter_admit(struct pkt *p, const struct tock_xdp_config *cfg)
{
	struct tock_limit_key k = {};
	struct tock_limit_bucket *b;
	__u64 now = bpf_ktime_get_ns();

	limit_key(p, cfg, &k);
	b = bpf_map_lookup_elem(&tock_limiter, &k);
	if (!b) {
		/* a new prefix: a full bucket less this request's token */
		struct tock_limit_bucket nb = {
		    .tat = now + cfg->interval_ns, .last_ns = now, .hits = 1};

		if (bpf_map_update_elem(&tock_limiter, &k, &nb, BPF_NOEXIST) == 0)
			return 1;
		b = bpf_map_lookup_elem(&tock_limiter, &k); /* another CPU made it first */
		if (!b)
			return 0;
	}
	b->last_ns = now;
	__sync_fetch_and_add(&b->hits, 1);
	if (gcra_take(&b->tat, now, cfg))
		return 1;
	__sync_fetch_and_add(&b->limited, 1);
	return 0;
}

/* Folds a 64-bit one's-complement accumulator to 16 bits. */
static __always_inline __u16 csum_fold(__u64 sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

/* Checksums read the packet as 32-bit words right after 8/16/64-bit stores to it: without
 * may_alias, strict aliasing would let the compiler hoist the loads above those stores. */
typedef __u32 __attribute__((may_alias)) alias_u32;

/* Sum of n 32-bit words as they sit in memory (the result is stored back unswapped). */
static __always_inline __u64 csum_words(const alias_u32 *w, int n)
{
	__u64 sum = 0;

#pragma unroll
	for (int i = 0; i < n; i++)
		sum += w[i];
	return sum;
}

/* Converts a TAI nanosecond count to a wire-order NTP timestamp (era-wrapped). */
static __always_inline __u64 ntp_ts_from_tai(__u64 tai_ns, const struct tock_xdp_clock *clk)
{
	__u64 ns =
	    tai_ns - (__s64)clk->tai_offset * (__s64)TOCK_XDP_NSEC + 2208988800ULL * TOCK_XDP_NSEC;
	__u64 sec = ns / TOCK_XDP_NSEC, frac = ((ns % TOCK_XDP_NSEC) << 32) / TOCK_XDP_NSEC;

	return bpf_cpu_to_be64(((sec & 0xffffffff) << 32) | frac);
}

/* Swaps the IPv4 addresses, sets the reply's length and TTL and recomputes the header
 * checksum. Only option-less headers are answered (an echoed option has no business in a
 * reply); -1 leaves the frame untouched. */
static __always_inline int turn_ip4(struct pkt *p)
{
	struct iphdr *ip = p->l3;
	__be32 a;

	if ((void *)(ip + 1) > p->data_end || ip->ihl != 5)
		return -1;
	a = ip->saddr;
	ip->saddr = ip->daddr;
	ip->daddr = a;
	ip->tot_len = bpf_htons(sizeof(*ip) + sizeof(struct udphdr) + TOCK_XDP_NTP_HDR);
	ip->ttl = 64;
	ip->check = 0;
	ip->check = ~csum_fold(csum_words((alias_u32 *)ip, 5));
	return 0;
}

/* The same for IPv6 (no header checksum; the UDP checksum covers the addresses). */
static __always_inline int turn_ip6(struct pkt *p)
{
	struct ipv6hdr *ip6 = p->l3;
	struct in6_addr a;

	if ((void *)(ip6 + 1) > p->data_end)
		return -1;
	a = ip6->saddr;
	ip6->saddr = ip6->daddr;
	ip6->daddr = a;
	ip6->payload_len = bpf_htons(sizeof(struct udphdr) + TOCK_XDP_NTP_HDR);
	ip6->hop_limit = 64;
	return 0;
}

/*
 * Turns the request around in place as a 48-byte reply: MACs, addresses and ports swapped,
 * lengths and the IPv4 header checksum set. The UDP checksum is left to finish_udp_csum().
 * Returns the reply's frame length, or 0 (frame untouched) when we do not answer it here.
 */
static __always_inline __u32 turn_around(struct pkt *p)
{
	struct ethhdr *eth = p->eth;
	struct udphdr *udp = p->udp;
	__u8 mac[ETH_ALEN];
	__be16 port;

	if ((void *)(eth + 1) > p->data_end || (void *)(udp + 1) > p->data_end)
		return 0;
	if (p->v6 ? turn_ip6(p) : turn_ip4(p))
		return 0;
	__builtin_memcpy(mac, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, mac, ETH_ALEN);
	port = udp->source;
	udp->source = udp->dest;
	udp->dest = port;
	udp->len = bpf_htons(sizeof(*udp) + TOCK_XDP_NTP_HDR);
	udp->check = 0;
	return p->l4_off + sizeof(*udp) + TOCK_XDP_NTP_HDR;
}

/* Pseudo-header + UDP header + the first 40 NTP bytes (all but the transmit timestamp). */
static __always_inline __u64 udp_csum_partial(struct pkt *p)
{
	__u64 sum = bpf_htons(IPPROTO_UDP) + bpf_htons(sizeof(struct udphdr) + TOCK_XDP_NTP_HDR);
	alias_u32 *w = (alias_u32 *)p->udp;
	struct iphdr *ip = p->l3;
	struct ipv6hdr *ip6 = p->l3;

	if ((void *)(w + 12) > p->data_end) /* 8 header + 40 NTP bytes */
		return 0;
	if (!p->v6 && (void *)(ip + 1) <= p->data_end)
		sum += csum_words((alias_u32 *)&ip->saddr, 2);
	else if (p->v6 && (void *)(ip6 + 1) <= p->data_end)
		sum += csum_words((alias_u32 *)&ip6->saddr, 8);
	return sum + csum_words(w, 12);
}

/* Writes the transmit timestamp and the final UDP checksum. */
static __always_inline void finish_udp_csum(struct pkt *p, __u64 sum, __u64 tx)
{
	__u8 *ntp = p->ntp;
	__u16 c;

	if ((void *)(ntp + TOCK_XDP_NTP_HDR) > p->data_end)
		return;
	*(__u64 *)(ntp + 40) = tx;
	sum += (tx & 0xffffffff) + (tx >> 32); /* the two words just stored */
	c = ~csum_fold(sum);
	p->udp->check = c ? c : 0xffff; /* 0 means "no checksum" in UDP */
}

/* Shrinks the frame to new_len (a longer NTS request answered by a 48-byte KoD). */
static __always_inline int trim_to(struct xdp_md *ctx, __u32 new_len)
{
	__u32 len = bpf_xdp_get_buff_len(ctx);

	if (new_len == 0 || new_len > len)
		return -1;
	if (new_len < len && bpf_xdp_adjust_tail(ctx, -(int)(len - new_len)))
		return -1;
	return 0;
}

/* The clock entry the loader last published (NULL only if a lookup fails). The index is read
 * once; its only possible values, 0 and 1, differ in one bit, so even a byte-wise copy by
 * the map update cannot produce a third value. */
static __always_inline struct tock_xdp_clock *clock_current(void)
{
	__u32 zero = 0, idx;
	__u32 *cur = bpf_map_lookup_elem(&tock_clock_cur, &zero);

	if (!cur)
		return NULL;
	idx = *(volatile __u32 *)cur & (TOCK_XDP_CLOCK_SLOTS - 1);
	return bpf_map_lookup_elem(&tock_clock, &idx);
}

/* Current time as a wire-order NTP timestamp from the TAI clock (0 when no clock). */
static __always_inline __u64 ntp_now(const struct tock_xdp_clock *clk)
{
	return clk ? ntp_ts_from_tai(bpf_ktime_get_tai_ns(), clk) : 0;
}

/* KoD RATE (RFC 5905 §7.4): leap 3, stratum 0, refid "RATE", origin = client transmit. */
static __always_inline int send_kod(struct xdp_md *ctx, struct pkt *p, struct tock_xdp_stats *st)
{
	struct tock_xdp_clock *clk = clock_current();
	__u32 new_len;
	__u8 *ntp = p->ntp;
	__u64 org, now;

	if ((void *)(ntp + TOCK_XDP_NTP_HDR) > p->data_end)
		return count(st, XDP_STAT_RATELIMITED_DROPPED, XDP_DROP);
	org = *(__u64 *)(ntp + 40);
	new_len = turn_around(p);
	if (!new_len)
		return count(st, XDP_STAT_RATELIMITED_DROPPED, XDP_DROP);
	now = ntp_now(clk);
	ntp[0] = (3 << 6) | (ntp[0] & 0x38) | 4;
	ntp[1] = 0;
	ntp[3] = 0;
	__builtin_memset(ntp + 4, 0, 8);
	__builtin_memcpy(ntp + 12, "RATE", 4);
	__builtin_memset(ntp + 16, 0, 8);
	*(__u64 *)(ntp + 24) = org;
	*(__u64 *)(ntp + 32) = now;
	finish_udp_csum(p, udp_csum_partial(p), now);
	if (trim_to(ctx, new_len))
		return count(st, XDP_STAT_RATELIMITED_DROPPED, XDP_DROP);
	return count(st, XDP_STAT_KOD_SENT, XDP_TX);
}

/* Over the limit: leak 1 in M to the stack, KoD 1 in N, drop the rest. */
static __always_inline int over_limit(struct xdp_md *ctx, struct pkt *p, struct tock_xdp_stats *st,
                                      const struct tock_xdp_config *cfg)
{
	if (cfg->leak_every && bpf_get_prandom_u32() % cfg->leak_every == 0)
		return count(st, XDP_STAT_LEAKED, XDP_PASS);
	if (cfg->kod_every && bpf_get_prandom_u32() % cfg->kod_every == 0)
		return send_kod(ctx, p, st);
	return count(st, XDP_STAT_RATELIMITED_DROPPED, XDP_DROP);
}

/* The NIC's receive stamp converted to CLOCK_REALTIME ns (device-bound variant, with tockd's
 * estimate of that NIC's clock in the clock map), else 0. */
static __always_inline __u64 nic_rx_realtime(struct xdp_md *ctx, const struct tock_xdp_clock *clk,
                                             const int hwts)
{
	__u64 ts = 0;

	if (!hwts || !clk->hw_valid || !bpf_ksym_exists(bpf_xdp_metadata_rx_timestamp) ||
	    bpf_xdp_metadata_rx_timestamp(ctx, &ts) != 0 || !ts)
		return 0;
	return tock_xdp_phc_to_realtime(clk, ts);
}

/* Receive time: the NIC's stamp in the device-bound variant when it converts, else TAI. */
static __always_inline __u64 rx_time(struct xdp_md *ctx, const struct tock_xdp_clock *clk,
                                     struct tock_xdp_stats *st, const int hwts)
{
	__u64 rt = nic_rx_realtime(ctx, clk, hwts);

	if (rt) {
		struct tock_xdp_clock utc = *clk;

		utc.tai_offset = 0; /* already on the UTC scale */
		st->c[XDP_STAT_FASTPATH_HWTS]++;
		return ntp_ts_from_tai(rt, &utc);
	}
	return ntp_ts_from_tai(bpf_ktime_get_tai_ns(), clk);
}

/* Plain mode-3 request of exactly 48 bytes: answered here from the clock map. */
static __always_inline int fast_path(struct xdp_md *ctx, struct pkt *p, struct tock_xdp_stats *st,
                                     const int hwts)
{
	struct tock_xdp_clock *clk = clock_current();
	__u8 *ntp = p->ntp;
	__u64 rx, org;

	if (!clk || !clk->valid || p->ntp_len != TOCK_XDP_NTP_HDR || (ntp[0] & 7) != 3)
		return NEXT;
	if ((void *)(ntp + TOCK_XDP_NTP_HDR) > p->data_end)
		return NEXT;
	rx = rx_time(ctx, clk, st, hwts);
	org = *(__u64 *)(ntp + 40);
	if (!turn_around(p))
		return NEXT;
	ntp[0] = ((clk->leap & 3) << 6) | (ntp[0] & 0x38) | 4;
	ntp[1] = clk->stratum;
	ntp[3] = clk->precision;
	*(__u32 *)(ntp + 4) = clk->root_delay;
	*(__u32 *)(ntp + 8) = clk->root_dispersion;
	*(__u32 *)(ntp + 12) = clk->refid;
	*(__u64 *)(ntp + 16) = clk->ref_time;
	*(__u64 *)(ntp + 24) = org;
	*(__u64 *)(ntp + 32) = rx;
	/* The transmit stamp is taken last, after everything else is summed. */
	finish_udp_csum(p, udp_csum_partial(p), ntp_now(clk));
	return count(st, XDP_STAT_FASTPATH_ANSWERED, XDP_TX);
}

/* Receive time in ns on the CLOCK_REALTIME scale for an AF_XDP frame's metadata: the NIC
 * stamp as the fast path converts it, or the TAI clock less the offset tockd publishes.
 * *src gets TOCK_XSK_TS_*; 0 when there is no clock map yet. */
static __always_inline __u64 rx_ns_utc(struct xdp_md *ctx, const int hwts, __u32 *src)
{
	struct tock_xdp_clock *clk = clock_current();
	__u64 rt;

	if (!clk)
		return 0;
	rt = nic_rx_realtime(ctx, clk, hwts);
	if (rt) {
		*src = TOCK_XSK_TS_HARDWARE;
		return rt;
	}
	*src = TOCK_XSK_TS_KERNEL;
	return bpf_ktime_get_tai_ns() - (__s64)clk->tai_offset * (__s64)TOCK_XDP_NSEC;
}

/* Writes the receive time into the frame's metadata area (tockd reads it in front of the
 * frame in its UMEM). Silently nothing where the driver offers no metadata: tockd then sees
 * no magic and stamps the request itself. Invalidates every packet pointer. */
static __always_inline void stamp_meta(struct xdp_md *ctx, const int hwts)
{
	struct tock_xsk_meta *m;
	__u32 src = 0;
	__u64 ns = rx_ns_utc(ctx, hwts, &src);

	if (!ns || bpf_xdp_adjust_meta(ctx, -(int)sizeof(*m)))
		return;
	m = (void *)(long)ctx->data_meta;
	if ((void *)(m + 1) > (void *)(long)ctx->data)
		return;
	m->rx_ns = ns;
	m->source = src;
	m->magic = TOCK_XSK_META_MAGIC;
}

/* A request for tockd: its AF_XDP socket for this interface and queue when there is one
 * (`xdp afxdp on`), else the UDP stack. bpf_redirect_map() falls back to XDP_PASS when no
 * socket sits at the key, so a queue tockd has no socket for keeps working. */
static __always_inline int to_tockd(struct xdp_md *ctx, struct tock_xdp_stats *st,
                                    const struct tock_xdp_config *cfg, const int hwts)
{
	__u32 ifindex = ctx->ingress_ifindex, queue = ctx->rx_queue_index, key, *slot;

	if (!(cfg->flags & TOCK_XDP_F_AFXDP) || queue >= TOCK_XSK_MAX_QUEUES)
		return count(st, XDP_STAT_PASSED_TO_STACK, XDP_PASS);
	slot = bpf_map_lookup_elem(&tock_xsk_ifaces, &ifindex);
	if (!slot || *slot >= TOCK_XSK_MAX_IFACES)
		return count(st, XDP_STAT_PASSED_TO_STACK, XDP_PASS);
	key = *slot * TOCK_XSK_MAX_QUEUES + queue;
	if (!bpf_map_lookup_elem(&tock_xsks, &key))
		return count(st, XDP_STAT_PASSED_TO_STACK, XDP_PASS);
	stamp_meta(ctx, hwts);
	if (bpf_redirect_map(&tock_xsks, key, XDP_PASS) == XDP_REDIRECT)
		return count(st, XDP_STAT_REDIRECTED_AFXDP, XDP_REDIRECT);
	return count(st, XDP_STAT_PASSED_TO_STACK, XDP_PASS);
}

/* Deny list, allow list, limiter, fast path; the request goes to tockd if nothing else
 * claims it. */
static __always_inline int policy(struct xdp_md *ctx, struct pkt *p, struct tock_xdp_stats *st,
                                  const struct tock_xdp_config *cfg, const int hwts)
{
	int v;

	if (source_in(p, &tock_deny4, &tock_deny6))
		return count(st, XDP_STAT_DROP_DENIED, XDP_DROP);
	if (cfg->flags & TOCK_XDP_F_RATELIMIT) {
		if (source_in(p, &tock_allow4, &tock_allow6))
			st->c[XDP_STAT_ALLOWLISTED]++;
		else if (!limiter_admit(p, cfg))
			return over_limit(ctx, p, st, cfg);
	}
	if (cfg->flags & TOCK_XDP_F_FASTPATH) {
		v = fast_path(ctx, p, st, hwts);
		if (v != NEXT)
			return v;
	}
	return to_tockd(ctx, st, cfg, hwts);
}

static __always_inline int tock_xdp_run(struct xdp_md *ctx, const int hwts)
{
	struct pkt p = {.data_end = (void *)(long)ctx->data_end, .eth = (void *)(long)ctx->data};
	__u32 zero = 0;
	struct tock_xdp_stats *st = bpf_map_lookup_elem(&tock_stats, &zero);
	struct tock_xdp_config *cfg = bpf_map_lookup_elem(&tock_config, &zero);
	void *l3 = NULL;
	__u32 l3_off = 0;
	__u16 proto;
	int v;

	if (!st || !cfg)
		return XDP_PASS;
	proto = parse_eth(&p, &l3, &l3_off);
	if (proto == ETH_P_IP)
		v = parse_ip4(&p, st, l3, l3_off);
	else if (proto == ETH_P_IPV6)
		v = parse_ip6(&p, st, l3, l3_off);
	else
		v = count(st, XDP_STAT_PASSED_NOT_NTP, XDP_PASS);
	if (v == NEXT)
		v = parse_udp(&p, st);
	if (v == NEXT)
		v = classify(&p, st, cfg);
	if (v == NEXT)
		v = policy(ctx, &p, st, cfg, hwts);
	return v;
}

/* The program tockd attaches (native or generic mode, any interface). */
SEC("xdp")
int tock_xdp(struct xdp_md *ctx)
{
	return tock_xdp_run(ctx, 0);
}

/* The same, device-bound (BPF_F_XDP_DEV_BOUND_ONLY) so it may read the NIC's receive
 * timestamp; loaded only when asked for (autoload off by default). */
SEC("xdp")
int tock_xdp_hwts(struct xdp_md *ctx)
{
	return tock_xdp_run(ctx, 1);
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
