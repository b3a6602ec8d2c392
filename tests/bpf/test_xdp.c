// SPDX-License-Identifier: MIT
/*
 * Tests of tock's XDP program through the loader and the skeleton, with
 * bpf_prog_test_run_opts on hand-built frames (no NIC): every verdict and counter, VLAN,
 * IPv4 options and fragments, IPv6 and its extension headers, the token bucket, KoD RATE
 * and fast-path replies with checksums verified by an independent routine.
 *
 *   bpf_test_xdp          run the tests
 *   bpf_test_xdp bench    also time each verdict (ns per frame)
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <sched.h>
#include <endian.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "check.h"
#include "log.h"
#include "probe_xdp.h"
#include "tock.skel.h"
#include "xdp_loader.h"

#define T_NAME "bpf_test_xdp"
#define MAXF   512

static struct xdp_loader *xl;

/* What a hand-built frame looks like. */
struct spec {
	int family;    /* 4 or 6 */
	int vlans;     /* 0, 1 or 2 tags */
	int ip_opts;   /* IPv4 option bytes (multiple of 4) */
	uint16_t frag; /* IPv4 frag_off field (host order) */
	int ext_hdr;   /* IPv6: a hop-by-hop header before UDP */
	uint8_t proto; /* 0 = UDP */
	uint32_t src4; /* host order */
	uint8_t src6[16];
	uint16_t sport, dport;
	uint8_t lvm; /* NTP byte 0 */
	int ntp_len;
	int udp_len_adj; /* added to the UDP length field (malformed frames) */
};

static const uint8_t mac_cli[6] = {0x02, 0, 0, 0, 0, 0x02};
static const uint8_t mac_srv[6] = {0x02, 0, 0, 0, 0, 0x01};
static const uint8_t srv6[16] = {0x20, 0x01, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
static const uint64_t req_tx = 0x1122334455667788ULL;

/* A spec for a plain v4 mode-3 request from 198.18.x.y. */
static struct spec req4(uint32_t host)
{
	struct spec s = {.family = 4,
	                 .src4 = 0xc6120000 | host,
	                 .sport = 40000,
	                 .dport = 123,
	                 .lvm = (0 << 6) | (4 << 3) | 3,
	                 .ntp_len = 48};
	return s;
}

/* The same over IPv6 from 2001:2:0:HOST::5. */
static struct spec req6(uint16_t host)
{
	struct spec s = req4(0);
	uint8_t a[16] = {0x20, 0x01, 0, 2, 0, 0, host >> 8, host & 0xff, 0, 0, 0, 0, 0, 0, 0, 5};

	s.family = 6;
	memcpy(s.src6, a, 16);
	return s;
}

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t sum);
static uint16_t fold(uint32_t sum);
static void fill_checksums(uint8_t *l3, int family, uint8_t *udp, size_t ulen);

/* Writes the frame described by s into buf; returns its length. Checksums are valid (real
 * frames carry them; the program must not depend on finding zeros there). */
static size_t build(uint8_t *buf, const struct spec *s)
{
	size_t off = 0, l3, l4;
	uint16_t type = s->family == 4 ? ETH_P_IP : ETH_P_IPV6, ulen;
	uint8_t proto = s->proto ? s->proto : 17;

	memset(buf, 0, MAXF);
	memcpy(buf, mac_srv, 6);
	memcpy(buf + 6, mac_cli, 6);
	off = 12;
	for (int i = 0; i < s->vlans; i++) {
		uint16_t tpid = htons(i == 0 && s->vlans == 2 ? ETH_P_8021AD : ETH_P_8021Q);
		uint16_t tci = htons(100 + i);

		memcpy(buf + off, &tpid, 2);
		memcpy(buf + off + 2, &tci, 2);
		off += 4;
	}
	type = htons(type);
	memcpy(buf + off, &type, 2);
	l3 = off + 2;
	ulen = (uint16_t)(8 + s->ntp_len + s->udp_len_adj);
	if (s->family == 4) {
		uint32_t src = htonl(s->src4), dst = htonl(0xc6120001);
		uint16_t tot = htons((uint16_t)(20 + s->ip_opts + 8 + s->ntp_len));
		uint16_t frag = htons(s->frag);

		buf[l3] = 0x45 + s->ip_opts / 4;
		memcpy(buf + l3 + 2, &tot, 2);
		memcpy(buf + l3 + 6, &frag, 2);
		buf[l3 + 8] = 61;
		buf[l3 + 9] = proto;
		memcpy(buf + l3 + 12, &src, 4);
		memcpy(buf + l3 + 16, &dst, 4);
		memset(buf + l3 + 20, 1, (size_t)s->ip_opts); /* NOP options */
		l4 = l3 + 20 + (size_t)s->ip_opts;
	} else {
		uint16_t plen = htons((uint16_t)(8 + s->ntp_len + (s->ext_hdr ? 8 : 0)));

		buf[l3] = 0x60;
		memcpy(buf + l3 + 4, &plen, 2);
		buf[l3 + 6] = s->ext_hdr ? 0 : proto;
		buf[l3 + 7] = 61;
		memcpy(buf + l3 + 8, s->src6, 16);
		memcpy(buf + l3 + 24, srv6, 16);
		l4 = l3 + 40;
		if (s->ext_hdr) {
			buf[l4] = proto; /* hop-by-hop, 8 bytes of PadN */
			buf[l4 + 2] = 1;
			buf[l4 + 3] = 4;
			l4 += 8;
		}
	}
	uint16_t sp = htons(s->sport), dp = htons(s->dport), ul = htons(ulen);
	uint64_t tx = htobe64(req_tx);

	memcpy(buf + l4, &sp, 2);
	memcpy(buf + l4 + 2, &dp, 2);
	memcpy(buf + l4 + 4, &ul, 2);
	buf[l4 + 8] = s->lvm;
	buf[l4 + 8 + 2] = 6; /* poll */
	for (int i = 48; i < s->ntp_len; i++)
		buf[l4 + 8 + i] = (uint8_t)i;
	if (s->ntp_len >= 48)
		memcpy(buf + l4 + 8 + 40, &tx, 8);
	buf[l3 + 4] = 0x12; /* IPv4 id / IPv6 flow label: nonzero like real traffic */
	buf[l3 + 5] = 0x34;
	if (s->family == 4)
		buf[l3 + 1] = 0xb8; /* DSCP EF */
	fill_checksums(buf + l3, s->family, buf + l4, 8 + (size_t)s->ntp_len);
	return l4 + 8 + (size_t)s->ntp_len;
}

/* Runs the program once; returns the verdict (or -1) and the output frame. */
static int run(const uint8_t *in, size_t len, uint8_t *out, uint32_t *out_len)
{
	struct bpf_test_run_opts o = {.sz = sizeof(o),
	                              .data_in = in,
	                              .data_size_in = (uint32_t)len,
	                              .data_out = out,
	                              .data_size_out = MAXF,
	                              .repeat = 1};
	int err = bpf_prog_test_run_opts(xdp_loader_prog_fd(xl), &o);

	if (err) {
		fprintf(stderr, "test_run: %s\n", strerror(errno));
		return -1;
	}
	*out_len = o.data_size_out;
	return (int)o.retval;
}

static uint64_t stat_now(int id)
{
	uint64_t v[XDP_STAT_COUNT];

	if (xdp_loader_read_stats(xl, v))
		return 0;
	return v[id];
}

/* Builds s, runs it, and checks the verdict, the counter and (for PASS/DROP) that the frame
 * came back untouched. Returns the verdict. */
static int expect(const char *what, const struct spec *s, int verdict, int stat)
{
	uint8_t in[MAXF], out[MAXF];
	size_t len = build(in, s);
	uint64_t before = stat_now(stat);
	uint32_t olen = 0;
	int v = run(in, len, out, &olen);

	CHECK(v == verdict, "%s: verdict %d, want %d", what, v, verdict);
	CHECK(stat_now(stat) == before + 1, "%s: counter %s not bumped", what,
	      tock_xdp_stat_names[stat]);
	if (verdict != XDP_TX)
		CHECK(olen == len && !memcmp(in, out, len), "%s: frame modified", what);
	return v;
}

static int set_cfg(uint32_t flags, uint32_t rate, uint32_t burst, uint32_t kod, uint32_t leak,
                   uint8_t p4, uint8_t p6, uint8_t modes)
{
	struct tock_xdp_config c = {.flags = flags,
	                            .kod_every = kod,
	                            .leak_every = leak,
	                            .prefix4 = p4,
	                            .prefix6 = p6,
	                            .allowed_modes = modes};

	xdp_config_set_rate(&c, rate, burst);
	return xdp_loader_set_config(xl, &c);
}

/* ---- independent checksum routines (RFC 1071, big-endian 16-bit words) ---- */

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t sum)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* Sets the IPv4 header checksum (if IPv4) and the UDP checksum of a built request. */
static void fill_checksums(uint8_t *l3, int family, uint8_t *udp, size_t ulen)
{
	uint32_t sum = 17 + (uint32_t)ulen;
	uint16_t c;

	if (family == 4) {
		c = htons((uint16_t)~fold(sum16(l3, (size_t)(l3[0] & 15) * 4, 0)));
		memcpy(l3 + 10, &c, 2);
		sum = sum16(l3 + 12, 8, sum);
	} else {
		sum = sum16(l3 + 8, 32, sum);
	}
	c = htons((uint16_t)~fold(sum16(udp, ulen, sum)));
	memcpy(udp + 6, &c, 2);
}

/* 0xffff when the IPv4 header's checksum is right. */
static uint16_t ip4_verify(const uint8_t *ip)
{
	return fold(sum16(ip, (size_t)(ip[0] & 15) * 4, 0));
}

/* 0xffff when the UDP checksum (over pseudo-header, header, payload) is right. */
static uint16_t udp_verify(const uint8_t *l3, int family, const uint8_t *udp)
{
	size_t ulen = (size_t)(udp[4] << 8 | udp[5]);
	uint32_t sum = 17 + (uint32_t)ulen;

	if (family == 4)
		sum = sum16(l3 + 12, 8, sum);
	else
		sum = sum16(l3 + 8, 32, sum);
	return fold(sum16(udp, ulen, sum));
}

/* ---- checks on the XDP_TX replies ---- */

/* Offsets of a reply built from s. */
struct layout {
	size_t l3, l4, ntp;
};

static struct layout layout_of(const struct spec *s)
{
	struct layout o;

	o.l3 = 14 + 4 * (size_t)s->vlans;
	o.l4 = o.l3 + (s->family == 4 ? 20 + (size_t)s->ip_opts : 40);
	o.ntp = o.l4 + 8;
	return o;
}

static uint64_t be64_at(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return be64toh(v);
}

static uint32_t be32_at(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return ntohl(v);
}

/* Common to KoD and fast path: turned around, 48 bytes of NTP, every checksum right. */
static void check_reply_frame(const char *what, const struct spec *s, const uint8_t *out,
                              uint32_t olen)
{
	struct layout L = layout_of(s);

	CHECK_EQ(olen, L.ntp + 48);
	CHECK(!memcmp(out, mac_cli, 6) && !memcmp(out + 6, mac_srv, 6), "%s: MACs", what);
	CHECK(out[L.l4] == 0 && out[L.l4 + 1] == 123, "%s: source port", what);
	CHECK_EQ(out[L.l4 + 2] << 8 | out[L.l4 + 3], s->sport);
	CHECK_EQ(out[L.l4 + 4] << 8 | out[L.l4 + 5], 56);
	if (s->family == 4) {
		CHECK_EQ(be32_at(out + L.l3 + 12), 0xc6120001);
		CHECK_EQ(be32_at(out + L.l3 + 16), s->src4);
		CHECK_EQ(out[L.l3 + 2] << 8 | out[L.l3 + 3], 20 + 8 + 48);
		CHECK(ip4_verify(out + L.l3) == 0xffff, "%s: IPv4 header checksum", what);
	} else {
		CHECK_MEM(out + L.l3 + 8, srv6, 16);
		CHECK_MEM(out + L.l3 + 24, s->src6, 16);
		CHECK_EQ(out[L.l3 + 4] << 8 | out[L.l3 + 5], 56);
	}
	CHECK(out[L.l4 + 6] | out[L.l4 + 7], "%s: UDP checksum is zero", what);
	CHECK(udp_verify(out + L.l3, s->family, out + L.l4) == 0xffff, "%s: UDP checksum", what);
}

/* NTP time now (realtime), as a 32.32 value, for plausibility checks. */
static uint64_t ntp_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)(ts.tv_sec + 2208988800LL) << 32) |
	       (((uint64_t)ts.tv_nsec << 32) / 1000000000ULL);
}

static void check_kod(const char *what, const struct spec *s)
{
	uint8_t in[MAXF], out[MAXF];
	size_t len = build(in, s);
	uint64_t kod = stat_now(XDP_STAT_KOD_SENT);
	uint32_t olen = 0;
	int v = run(in, len, out, &olen);
	const uint8_t *n = out + layout_of(s).ntp;

	CHECK(v == XDP_TX, "%s: verdict %d", what, v);
	CHECK_EQ(stat_now(XDP_STAT_KOD_SENT), kod + 1);
	if (v != XDP_TX)
		return;
	check_reply_frame(what, s, out, olen);
	CHECK_EQ(n[0], (3 << 6) | (s->lvm & 0x38) | 4);
	CHECK_EQ(n[1], 0);
	CHECK_MEM(n + 12, "RATE", 4);
	CHECK_EQ(be64_at(n + 24), req_tx);
}

/* ---- the tests ---- */

static void test_pass_cases(void)
{
	struct spec s = req4(10);

	set_cfg(0, 0, 0, 0, 0, 32, 64, 0);
	expect("v4 mode 3", &s, XDP_PASS, XDP_STAT_PASSED_TO_STACK);
	s.dport = 53;
	expect("v4 port 53", &s, XDP_PASS, XDP_STAT_PASSED_NOT_NTP);
	s = req4(10);
	s.proto = 6;
	expect("v4 tcp", &s, XDP_PASS, XDP_STAT_PASSED_NOT_NTP);
	s = req4(10);
	s.ntp_len = 48 + 104; /* NTS-sized: extension fields go to tockd */
	expect("v4 with EFs", &s, XDP_PASS, XDP_STAT_PASSED_TO_STACK);

	uint8_t arp[60] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 2, 0x08, 0x06};
	uint8_t out[MAXF];
	uint64_t before = stat_now(XDP_STAT_PASSED_NOT_NTP);
	uint32_t olen;

	CHECK_EQ(run(arp, sizeof(arp), out, &olen), XDP_PASS);
	CHECK_EQ(stat_now(XDP_STAT_PASSED_NOT_NTP), before + 1);
	arp[13] = 0x00; /* IPv4 ethertype, header cut off */
	CHECK_EQ(run(arp, 14, out, &olen), XDP_PASS);
	CHECK_EQ(stat_now(XDP_STAT_PASSED_NOT_NTP), before + 2);
	arp[12] = 0x81; /* VLAN tag cut off */
	CHECK_EQ(run(arp, 14, out, &olen), XDP_PASS);
	CHECK_EQ(stat_now(XDP_STAT_PASSED_NOT_NTP), before + 3);
}

static void test_vlan_options_fragments(void)
{
	struct spec s = req4(11);

	s.vlans = 1;
	expect("1 VLAN", &s, XDP_PASS, XDP_STAT_PASSED_TO_STACK);
	s.lvm = (4 << 3) | 7;
	expect("1 VLAN mode 7", &s, XDP_DROP, XDP_STAT_DROP_MODE_PRIVATE);
	s.vlans = 2;
	expect("2 VLANs mode 7", &s, XDP_DROP, XDP_STAT_DROP_MODE_PRIVATE);
	s.lvm = (4 << 3) | 3;
	expect("2 VLANs", &s, XDP_PASS, XDP_STAT_PASSED_TO_STACK);

	s = req4(11);
	s.ip_opts = 8;
	expect("IPv4 options", &s, XDP_PASS, XDP_STAT_PASSED_TO_STACK);
	s.lvm = (3 << 3) | 6;
	expect("IPv4 options mode 6", &s, XDP_DROP, XDP_STAT_DROP_MODE_CONTROL);
	s.ip_opts = 40;
	s.vlans = 2;
	expect("IPv4 max options + 2 VLANs mode 6", &s, XDP_DROP, XDP_STAT_DROP_MODE_CONTROL);

	s = req4(11);
	s.frag = 0x2000; /* MF */
	s.lvm = (4 << 3) | 7;
	expect("IPv4 first fragment", &s, XDP_PASS, XDP_STAT_PASSED_FRAGMENT);
	s.frag = 0x0010; /* offset */
	expect("IPv4 later fragment", &s, XDP_PASS, XDP_STAT_PASSED_FRAGMENT);
	s.frag = 0x4000; /* DF only: not a fragment */
	expect("IPv4 DF", &s, XDP_DROP, XDP_STAT_DROP_MODE_PRIVATE);
}

static void test_ipv6(void)
{
	struct spec s = req6(1);

	expect("v6 mode 3", &s, XDP_PASS, XDP_STAT_PASSED_TO_STACK);
	s.vlans = 1;
	expect("v6 + VLAN", &s, XDP_PASS, XDP_STAT_PASSED_TO_STACK);
	s.lvm = (4 << 3) | 7;
	expect("v6 mode 7", &s, XDP_DROP, XDP_STAT_DROP_MODE_PRIVATE);
	s.ext_hdr = 1;
	expect("v6 ext header", &s, XDP_PASS, XDP_STAT_PASSED_FRAGMENT);
	s = req6(1);
	s.proto = 58;
	expect("v6 icmp", &s, XDP_PASS, XDP_STAT_PASSED_NOT_NTP);
}

static void test_drop_reasons(void)
{
	struct spec s = req4(12);

	s.ntp_len = 47;
	expect("short", &s, XDP_DROP, XDP_STAT_DROP_SHORT);
	s.ntp_len = 0;
	expect("empty", &s, XDP_DROP, XDP_STAT_DROP_SHORT);
	s = req4(12);
	s.lvm = 3;
	expect("version 0", &s, XDP_DROP, XDP_STAT_DROP_VERSION);
	s.lvm = (5 << 3) | 3;
	expect("version 5", &s, XDP_DROP, XDP_STAT_DROP_VERSION);
	s.lvm = (7 << 3) | 3;
	expect("version 7", &s, XDP_DROP, XDP_STAT_DROP_VERSION);
	s.lvm = (2 << 3) | 6;
	expect("mode 6", &s, XDP_DROP, XDP_STAT_DROP_MODE_CONTROL);
	s.lvm = (2 << 3) | 7;
	s.ntp_len = 8; /* a monlist request is short, counted as what it is */
	expect("mode 7", &s, XDP_DROP, XDP_STAT_DROP_MODE_PRIVATE);
	s.ntp_len = 48;
	s.lvm = (4 << 3) | 4;
	expect("mode 4 reflection", &s, XDP_DROP, XDP_STAT_DROP_REFLECTION);
	s.lvm = (4 << 3) | 5;
	expect("mode 5 reflection", &s, XDP_DROP, XDP_STAT_DROP_REFLECTION);
	for (int m = 0; m <= 2; m++) {
		s.lvm = (uint8_t)((4 << 3) | m);
		expect("mode 0/1/2", &s, XDP_DROP, XDP_STAT_DROP_MODE_OTHER);
	}
	set_cfg(0, 0, 0, 0, 0, 32, 64, 1 << 1);
	s.lvm = (4 << 3) | 1;
	expect("mode 1 enabled", &s, XDP_PASS, XDP_STAT_PASSED_TO_STACK);
	s.lvm = (4 << 3) | 2;
	expect("mode 2 still off", &s, XDP_DROP, XDP_STAT_DROP_MODE_OTHER);
	set_cfg(0, 0, 0, 0, 0, 32, 64, 0);
	s = req4(12);
	s.udp_len_adj = 4;
	expect("UDP length past the frame", &s, XDP_DROP, XDP_STAT_DROP_MALFORMED);
	s.udp_len_adj = -50;
	expect("UDP length < 8", &s, XDP_DROP, XDP_STAT_DROP_MALFORMED);
}

static void test_deny(void)
{
	struct tock_conf c;
	struct spec s = req4(0x0305);
	struct spec s6 = req6(0x0042);

	memset(&c, 0, sizeof(c));
	c.ratelimit.prefix4 = 32;
	c.ratelimit.prefix6 = 64;
	c.deny[0] = (struct conf_prefix){.family = AF_INET, .addr = {198, 18, 3, 0}, .len = 24};
	c.deny[1] = (struct conf_prefix){
	    .family = AF_INET6, .addr = {0x20, 0x01, 0, 2, 0, 0, 0, 0x42}, .len = 64};
	c.n_deny = 2;
	CHECK_EQ(xdp_loader_configure(xl, &c), 0);
	expect("denied v4", &s, XDP_DROP, XDP_STAT_DROP_DENIED);
	expect("denied v6", &s6, XDP_DROP, XDP_STAT_DROP_DENIED);
	s.src4 = 0xc6120405;
	expect("not denied v4", &s, XDP_PASS, XDP_STAT_PASSED_TO_STACK);
	c.n_deny = 0; /* a reload empties the list */
	CHECK_EQ(xdp_loader_configure(xl, &c), 0);
	expect("deny list reloaded", &s6, XDP_PASS, XDP_STAT_PASSED_TO_STACK);
}

static void sleep_ms(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static void test_ratelimit(void)
{
	struct spec s = req4(0x0501);

	/* 4/s, burst 3: a fourth request in a row is over; 600 ms later ~2.4 tokens are back.
	 * The slow rate leaves a busy machine 150 ms of slack before a third token returns. */
	set_cfg(TOCK_XDP_F_RATELIMIT, 4, 3, 0, 0, 32, 64, 0);
	for (int i = 0; i < 3; i++)
		expect("within burst", &s, XDP_PASS, XDP_STAT_PASSED_TO_STACK);
	expect("over limit", &s, XDP_DROP, XDP_STAT_RATELIMITED_DROPPED);
	sleep_ms(600);
	for (int i = 0; i < 2; i++)
		expect("refilled", &s, XDP_PASS, XDP_STAT_PASSED_TO_STACK);
	expect("over again", &s, XDP_DROP, XDP_STAT_RATELIMITED_DROPPED);

	/* Another /32 has its own bucket; a /24 key makes two hosts share one. */
	s.src4 = 0xc6120502;
	expect("other source", &s, XDP_PASS, XDP_STAT_PASSED_TO_STACK);
	set_cfg(TOCK_XDP_F_RATELIMIT, 1, 2, 0, 0, 24, 64, 0);
	s.src4 = 0xc6120601;
	expect("/24 first", &s, XDP_PASS, XDP_STAT_PASSED_TO_STACK);
	s.src4 = 0xc6120602;
	expect("/24 second", &s, XDP_PASS, XDP_STAT_PASSED_TO_STACK);
	s.src4 = 0xc6120603;
	expect("/24 third", &s, XDP_DROP, XDP_STAT_RATELIMITED_DROPPED);

	/* IPv6 /64: hosts in one /64 share the bucket, the next /64 does not. */
	struct spec a = req6(0x0601), b = req6(0x0601), o = req6(0x0602);

	b.src6[15] = 9;
	expect("v6 /64 first", &a, XDP_PASS, XDP_STAT_PASSED_TO_STACK);
	expect("v6 /64 second", &b, XDP_PASS, XDP_STAT_PASSED_TO_STACK);
	expect("v6 /64 third", &a, XDP_DROP, XDP_STAT_RATELIMITED_DROPPED);
	expect("v6 other /64", &o, XDP_PASS, XDP_STAT_PASSED_TO_STACK);

	/* Leak 1 in 1 passes everything over the limit, counted as leaked. */
	set_cfg(TOCK_XDP_F_RATELIMIT, 1, 2, 0, 1, 24, 64, 0);
	expect("leaked", &s, XDP_PASS, XDP_STAT_LEAKED);
}

static void test_allowlist(void)
{
	struct tock_conf c;
	struct spec s = req4(0x0701);

	memset(&c, 0, sizeof(c));
	c.ratelimit = (struct conf_ratelimit){
	    .enabled = 1, .rate = 1, .burst = 1, .prefix4 = 32, .prefix6 = 64};
	c.allow[0] = (struct conf_prefix){.family = AF_INET, .addr = {198, 18, 7, 0}, .len = 24};
	c.n_allow = 1;
	CHECK_EQ(xdp_loader_configure(xl, &c), 0);
	for (int i = 0; i < 5; i++)
		expect("allow-listed", &s, XDP_PASS, XDP_STAT_ALLOWLISTED);
	s.src4 = 0xc6120801;
	expect("not allow-listed", &s, XDP_PASS, XDP_STAT_PASSED_TO_STACK);
	expect("not allow-listed, over", &s, XDP_DROP, XDP_STAT_RATELIMITED_DROPPED);
	c.n_allow = 0;
	CHECK_EQ(xdp_loader_configure(xl, &c), 0);
}

static void test_kod(void)
{
	struct spec s = req4(0x0901);

	set_cfg(TOCK_XDP_F_RATELIMIT, 1, 1, 1, 0, 32, 64, 0);
	expect("kod: first", &s, XDP_PASS, XDP_STAT_PASSED_TO_STACK);
	check_kod("kod v4", &s);
	s.lvm = (3 << 3) | 3;
	check_kod("kod v4 version 3", &s);
	s.ntp_len = 48 + 136; /* an NTS request: the KoD is trimmed to 48 bytes */
	check_kod("kod v4 trimmed", &s);
	s.vlans = 2;
	check_kod("kod v4 2 VLANs", &s);
	s.ip_opts = 4; /* options: never answered from XDP, just dropped */
	expect("kod v4 options", &s, XDP_DROP, XDP_STAT_RATELIMITED_DROPPED);

	struct spec s6 = req6(0x0901);

	expect("kod v6: first", &s6, XDP_PASS, XDP_STAT_PASSED_TO_STACK);
	check_kod("kod v6", &s6);
	s6.ntp_len = 48 + 200;
	s6.vlans = 1;
	check_kod("kod v6 trimmed + VLAN", &s6);
}

/* The clock the fast-path tests publish. */
static const struct tock_clock_status test_clock = {
    .leap = 0,
    .stratum = 2,
    .precision = -23,
    .refid = 0xc6120063,
    .root_delay = 0x00000123,
    .root_dispersion = 0x00000456,
    .ref_time = 0xe9876543210fedcbULL,
    .tai_offset = 37,
};

static void check_fast(const char *what, const struct spec *s)
{
	uint8_t in[MAXF], out[MAXF];
	size_t len = build(in, s);
	uint64_t fp = stat_now(XDP_STAT_FASTPATH_ANSWERED), t0 = ntp_now();
	uint32_t olen = 0;
	int v = run(in, len, out, &olen);
	uint64_t t1 = ntp_now();
	const uint8_t *n = out + layout_of(s).ntp;
	uint64_t rx, tx;
	struct timespec tai, rt;

	CHECK(v == XDP_TX, "%s: verdict %d", what, v);
	CHECK_EQ(stat_now(XDP_STAT_FASTPATH_ANSWERED), fp + 1);
	if (v != XDP_TX)
		return;
	check_reply_frame(what, s, out, olen);
	CHECK_EQ(n[0], (s->lvm & 0x38) | 4);
	CHECK_EQ(n[1], 2);
	CHECK_EQ(n[2], 6); /* poll echoed */
	CHECK_EQ((int8_t)n[3], -23);
	CHECK_EQ(be32_at(n + 4), test_clock.root_delay);
	CHECK_EQ(be32_at(n + 8), test_clock.root_dispersion);
	CHECK_EQ(be32_at(n + 12), test_clock.refid);
	CHECK_EQ(be64_at(n + 16), test_clock.ref_time);
	CHECK_EQ(be64_at(n + 24), req_tx);
	rx = be64_at(n + 32);
	tx = be64_at(n + 40);
	CHECK(tx >= rx, "%s: transmit before receive", what);
	/* The program subtracts the published offset from CLOCK_TAI; expect realtime shifted
	 * by (kernel TAI offset - 37 s). */
	clock_gettime(CLOCK_TAI, &tai);
	clock_gettime(CLOCK_REALTIME, &rt);
	int64_t shift = (int64_t)(tai.tv_sec - rt.tv_sec) - test_clock.tai_offset;
	uint64_t lo = t0 + ((uint64_t)shift << 32) - (1ULL << 31);
	uint64_t hi = t1 + ((uint64_t)shift << 32) + (1ULL << 31);

	CHECK(rx >= lo && rx <= hi, "%s: receive stamp %llx not near %llx (shift %lld s)", what,
	      (unsigned long long)rx, (unsigned long long)t0, (long long)shift);
}

static void test_fastpath(void)
{
	struct spec s = req4(0x0a01);
	struct spec s6 = req6(0x0a01);

	set_cfg(TOCK_XDP_F_FASTPATH, 0, 0, 0, 0, 32, 64, 0);
	CHECK_EQ(xdp_loader_set_clock(xl, &test_clock, 0), 0);
	expect("fast path, clock invalid", &s, XDP_PASS, XDP_STAT_PASSED_TO_STACK);
	CHECK_EQ(xdp_loader_set_clock(xl, &test_clock, 1), 0);
	check_fast("fast v4", &s);
	s.lvm = (1 << 3) | 3;
	check_fast("fast v4 version 1", &s);
	s.vlans = 2;
	check_fast("fast v4 2 VLANs", &s);
	check_fast("fast v6", &s6);
	s6.vlans = 1;
	check_fast("fast v6 VLAN", &s6);
	s = req4(0x0a01);
	s.ntp_len = 48 + 104;
	expect("fast path: NTS to tockd", &s, XDP_PASS, XDP_STAT_PASSED_TO_STACK);
	s.ntp_len = 52;
	expect("fast path: 52 bytes to tockd", &s, XDP_PASS, XDP_STAT_PASSED_TO_STACK);
	s = req4(0x0a01);
	s.ip_opts = 4;
	expect("fast path: options to tockd", &s, XDP_PASS, XDP_STAT_PASSED_TO_STACK);
	s = req4(0x0a01);
	set_cfg(TOCK_XDP_F_FASTPATH, 0, 0, 0, 0, 32, 64, 1 << 1);
	s.lvm = (4 << 3) | 1;
	expect("fast path: mode 1 to tockd", &s, XDP_PASS, XDP_STAT_PASSED_TO_STACK);

	/* Limiter first, then the fast path. */
	set_cfg(TOCK_XDP_F_FASTPATH | TOCK_XDP_F_RATELIMIT, 1, 1, 0, 0, 32, 64, 0);
	s = req4(0x0b01);
	check_fast("fast + limiter", &s);
	expect("fast + limiter, over", &s, XDP_DROP, XDP_STAT_RATELIMITED_DROPPED);
}

/* The current clock index and the stratum of entry i, read from the maps. */
static uint32_t clock_cur(void)
{
	struct tock_bpf *sk = xdp_loader_skel(xl);
	uint32_t zero = 0, cur = 99;

	bpf_map__lookup_elem(sk->maps.tock_clock_cur, &zero, sizeof(zero), &cur, sizeof(cur), 0);
	return cur;
}

static int clock_stratum(uint32_t i)
{
	struct tock_bpf *sk = xdp_loader_skel(xl);
	struct tock_xdp_clock c;

	if (bpf_map__lookup_elem(sk->maps.tock_clock, &i, sizeof(i), &c, sizeof(c), 0))
		return -1;
	return c.stratum;
}

static void set_clock_cur(uint32_t i)
{
	struct tock_bpf *sk = xdp_loader_skel(xl);
	uint32_t zero = 0;

	CHECK_EQ(bpf_map__update_elem(sk->maps.tock_clock_cur, &zero, sizeof(zero), &i, sizeof(i),
	                              BPF_ANY),
	         0);
}

/* Runs a plain request through the fast path and returns the reply's stratum (-1: none). */
static int fast_stratum(void)
{
	struct spec s = req4(0x0a02);
	uint8_t in[MAXF], out[MAXF];
	size_t len = build(in, &s);
	uint32_t olen = 0;

	if (run(in, len, out, &olen) != XDP_TX)
		return -1;
	return out[layout_of(&s).ntp + 1];
}

/* Double buffer: each update writes the other entry and switches the index to it, and the
 * program answers from whichever entry the index names. */
static void test_clock_double_buffer(void)
{
	struct tock_clock_status other = test_clock;
	uint32_t cur;

	set_cfg(TOCK_XDP_F_FASTPATH, 0, 0, 0, 0, 32, 64, 0);
	other.stratum = 9;
	CHECK_EQ(xdp_loader_set_clock(xl, &test_clock, 1), 0);
	CHECK_EQ(xdp_loader_set_clock(xl, &other, 1), 0);
	cur = clock_cur();
	CHECK(cur < TOCK_XDP_CLOCK_SLOTS, "clock index %u out of range", cur);
	CHECK_EQ(clock_stratum(cur), 9);
	CHECK_EQ(clock_stratum(cur ^ 1), 2);
	CHECK_EQ(fast_stratum(), 9);
	set_clock_cur(cur ^ 1);
	CHECK_EQ(fast_stratum(), 2);
	set_clock_cur(cur);
	CHECK_EQ(fast_stratum(), 9);
	/* The next update lands in the entry not read, and becomes current. */
	CHECK_EQ(xdp_loader_set_clock(xl, &test_clock, 1), 0);
	CHECK_EQ(clock_cur(), cur ^ 1);
	CHECK_EQ(clock_stratum(cur), 9);
	CHECK_EQ(fast_stratum(), 2);
	/* An invalid entry named by the index stops the fast path, whatever the other holds. */
	CHECK_EQ(xdp_loader_set_clock(xl, &other, 0), 0);
	CHECK_EQ(clock_cur(), cur);
	CHECK_EQ(fast_stratum(), -1);
	set_clock_cur(cur ^ 1);
	CHECK_EQ(fast_stratum(), 2);
	set_clock_cur(cur);
	CHECK_EQ(xdp_loader_set_clock(xl, &test_clock, 1), 0);
}

static void test_clients_and_names(void)
{
	struct xdp_client c[4];
	size_t n = 0;
	int found = 0;

	CHECK_EQ(xdp_loader_clients(xl, c, 4, &n), 0);
	CHECK(n == 4, "clients: %zu", n);
	for (size_t i = 0; i < n; i++) {
		CHECK(i == 0 || c[i - 1].hits >= c[i].hits, "clients not sorted");
		CHECK(c[i].idle >= 0 && c[i].idle < 60, "idle %f", c[i].idle);
		/* 198.18.5.1 (test_ratelimit) had 7 requests, 2 over the limit: the top. */
		if (c[i].family == AF_INET && !memcmp(c[i].addr, "\xc6\x12\x05\x01", 4)) {
			found = 1;
			CHECK_EQ(c[i].hits, 7);
			CHECK_EQ(c[i].limited, 2);
			CHECK_EQ(c[i].prefixlen, 32);
		}
	}
	CHECK(found, "198.18.5.1 not among the top talkers");
	for (int i = 0; i < XDP_STAT_COUNT; i++)
		CHECK(tock_xdp_stat_names[i] && tock_xdp_stat_help[i], "name %d", i);
}

static void test_config_from_conf(void)
{
	struct tock_conf c;
	struct tock_xdp_config x;

	memset(&c, 0, sizeof(c));
	c.ratelimit = (struct conf_ratelimit){.enabled = 1,
	                                      .rate = 3,
	                                      .burst = 10,
	                                      .prefix4 = 24,
	                                      .prefix6 = 56,
	                                      .kod_every = 4,
	                                      .leak_every = 100};
	c.xdp_fastpath = 1;
	CHECK_EQ(xdp_config_from_conf(&c, &x), 0);
	CHECK_EQ(x.flags, TOCK_XDP_F_RATELIMIT | TOCK_XDP_F_FASTPATH);
	CHECK_EQ(x.interval_ns, 333333333ULL);
	CHECK_EQ(x.tau_ns, 9 * 333333333ULL);
	CHECK_EQ(x.prefix4, 24);
	CHECK_EQ(x.prefix6, 56);
	c.ratelimit.rate = 0;
	CHECK_EQ(xdp_config_from_conf(&c, &x), -EINVAL);
	c.ratelimit.enabled = 0;
	CHECK_EQ(xdp_config_from_conf(&c, &x), 0);
	CHECK_EQ(x.flags, TOCK_XDP_F_FASTPATH);
}

/* ---- bench: ns per frame by verdict ---- */

/* One BPF_PROG_TEST_RUN of frame in[0..len) repeated `repeat` times: the kernel's average ns
 * per run, or -1 if the run failed or gave another verdict than `want`. */
static double bench_run(const uint8_t *in, size_t len, uint32_t repeat, int want)
{
	uint8_t out[MAXF];
	struct bpf_test_run_opts o = {.sz = sizeof(o),
	                              .data_in = in,
	                              .data_size_in = (uint32_t)len,
	                              .data_out = out,
	                              .data_size_out = MAXF,
	                              .repeat = repeat};

	if (bpf_prog_test_run_opts(xdp_loader_prog_fd(xl), &o) || (int)o.retval != want)
		return -1;
	return o.duration;
}

/* Average ns per run with the kernel's own repeat loop (verdicts that leave the frame). */
static double bench_repeat(const struct spec *s, int want)
{
	uint8_t in[MAXF];
	size_t len = build(in, s);

	return bench_run(in, len, 100000, want);
}

/* XDP_TX verdicts rewrite the frame, so the kernel's repeat loop would time the reply, not
 * the request: time single runs instead and subtract what a single run of a no-op verdict
 * costs beyond its repeat-loop figure (timer and loop overhead). */
static double bench_single(const struct spec *s, int want, int n)
{
	uint8_t in[MAXF];
	size_t len = build(in, s);
	double total = 0;

	for (int i = 0; i < n; i++) {
		double ns = bench_run(in, len, 1, want);

		if (ns < 0)
			return -1;
		total += ns;
	}
	return total / n;
}

static void bench(void)
{
	struct spec s = req4(0x0c01), bad = req4(0x0c02), other = req4(0x0c03);
	double base_single, base_repeat;

	bad.lvm = (2 << 3) | 7;
	other.dport = 53;
	set_cfg(0, 0, 0, 0, 0, 32, 64, 0);
	printf("bench: ns per frame (bpf_prog_test_run_opts, repeat=100000)\n");
	printf("  %-40s %6.1f\n", "pass: not NTP (UDP/53)", bench_repeat(&other, XDP_PASS));
	printf("  %-40s %6.1f\n", "drop: mode 7", bench_repeat(&bad, XDP_DROP));
	printf("  %-40s %6.1f\n", "pass to stack, no limiter", bench_repeat(&s, XDP_PASS));
	set_cfg(TOCK_XDP_F_RATELIMIT, TOCK_XDP_MAX_RATE, TOCK_XDP_MAX_BURST, 0, 0, 32, 64, 0);
	printf("  %-40s %6.1f\n", "pass to stack, filter + limiter", bench_repeat(&s, XDP_PASS));
	set_cfg(TOCK_XDP_F_RATELIMIT, 1, 1, 0, 0, 32, 64, 0);
	printf("  %-40s %6.1f\n", "drop: over the limit", bench_repeat(&s, XDP_DROP));
	base_repeat = bench_repeat(&other, XDP_PASS);
	base_single = bench_single(&other, XDP_PASS, 20000);
	set_cfg(TOCK_XDP_F_RATELIMIT, 1, 1, 1, 0, 32, 64, 0);
	printf("  %-40s %6.1f (single runs, corrected by %.1f)\n", "KoD RATE (XDP_TX)",
	       bench_single(&s, XDP_TX, 20000) - base_single + base_repeat,
	       base_single - base_repeat);
	set_cfg(TOCK_XDP_F_FASTPATH, 0, 0, 0, 0, 32, 64, 0);
	xdp_loader_set_clock(xl, &test_clock, 1);
	printf("  %-40s %6.1f (single runs, corrected)\n", "fast path answer (XDP_TX)",
	       bench_single(&s, XDP_TX, 20000) - base_single + base_repeat);
	set_cfg(TOCK_XDP_F_FASTPATH | TOCK_XDP_F_RATELIMIT, TOCK_XDP_MAX_RATE, TOCK_XDP_MAX_BURST,
	        0, 0, 32, 64, 0);
	printf("  %-40s %6.1f (single runs, corrected)\n", "limiter + fast path (XDP_TX)",
	       bench_single(&s, XDP_TX, 20000) - base_single + base_repeat);
}

/*
 * Every CPU floods one prefix at once (a flood spread over NIC queues): the bucket is one word
 * updated with compare-and-swap, so together they get exactly the burst plus what the rate
 * refilled meanwhile, never more. Without the compare-and-swap, two CPUs that read the same
 * state both take its last token.
 */
#define RACE_RUNS 20000

struct racer {
	int cpu;
	long passed;
	long runs;
};

static void *race(void *arg)
{
	struct racer *r = arg;
	struct spec s = req4(0x0a01);
	uint8_t in[MAXF], out[MAXF];
	size_t len = build(in, &s);
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(r->cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	for (int i = 0; i < RACE_RUNS; i++) {
		uint32_t olen = 0;
		int v = run(in, len, out, &olen);

		r->runs += v >= 0;
		r->passed += v == XDP_PASS;
	}
	return NULL;
}

static void test_ratelimit_race(void)
{
	enum { BURST = 5000 };
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN), passed = 0, runs = 0;
	struct racer r[4] = {0};
	pthread_t t[4];
	int n = ncpu < 2 ? 2 : ncpu > 4 ? 4 : (int)ncpu;
	struct timespec a, b;
	double secs;

	/* 1/s: the refill during the run is a token or two */
	set_cfg(TOCK_XDP_F_RATELIMIT, 1, BURST, 0, 0, 32, 64, 0);
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < n; i++) {
		r[i].cpu = i % (int)(ncpu > 0 ? ncpu : 1);
		CHECK_EQ(pthread_create(&t[i], NULL, race, &r[i]), 0);
	}
	for (int i = 0; i < n; i++) {
		pthread_join(t[i], NULL);
		passed += r[i].passed;
		runs += r[i].runs;
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	CHECK_EQ(runs, (long)n * RACE_RUNS);
	CHECK(passed >= BURST && passed <= BURST + (long)secs + 1,
	      "%d CPUs, %d runs each: %ld passed, want %d + at most %.0f refilled", n, RACE_RUNS,
	      passed, BURST, secs + 1);
	printf("%s: %d CPUs racing on one prefix: %ld of %ld passed (burst %d, %.2f s)\n", T_NAME,
	       n, passed, runs, BURST, secs);
}

int main(int argc, char **argv)
{
	struct xdp_loader_opts opts = {.hwts_ifname = ""};
	struct xdp_probe probe;
	int err;

	log_init(T_NAME, 1, LOG_WARNING);
	if (geteuid() != 0)
		return check_skip(T_NAME, "needs root (BPF)");
	if (!xdp_probe_run(&probe)) {
		xdp_probe_print(stdout, &probe);
		return check_skip(T_NAME, "the kernel lacks what the XDP program needs");
	}
	/* The kernel has everything: a load failure now is a verifier rejection, a bug. */
	err = xdp_loader_open(&xl, NULL, &opts);
	CHECK(err == 0, "xdp_loader_open: %s", strerror(-err));
	if (err)
		return check_done(T_NAME);
	test_config_from_conf();
	test_pass_cases();
	test_vlan_options_fragments();
	test_ipv6();
	test_drop_reasons();
	test_deny();
	test_ratelimit();
	test_allowlist();
	test_kod();
	test_fastpath();
	test_clock_double_buffer();
	test_clients_and_names();
	test_ratelimit_race(); /* last: its prefix would top the client list */
	if (argc > 1 && !strcmp(argv[1], "bench"))
		bench();
	xdp_loader_destroy(xl);
	return check_done(T_NAME);
}
