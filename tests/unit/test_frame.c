// SPDX-License-Identifier: MIT
/* The AF_XDP frame parser and reply rewriter (userspace/lib/frame.c): IPv4, IPv6 and VLAN
 * request frames turned into replies, checked byte by byte with checksums verified by a
 * routine of this test's own; every truncation and the malformed frames refused. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "frame.h"

#define PORT 123

static const uint8_t mac_cli[6] = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};
static const uint8_t mac_srv[6] = {0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee};
static const uint8_t ip4_cli[4] = {198, 18, 0, 2}, ip4_srv[4] = {198, 18, 0, 1};
static uint8_t ip6_cli[16], ip6_srv[16];

struct req {
	int v6;
	int vlans;  /* 0..3 tags */
	size_t ntp; /* payload bytes */
	size_t pad; /* Ethernet trailer bytes after the IP packet */
};

/* An independent Internet checksum: plain byte pairs, folded at the end. */
static uint32_t sum16(const uint8_t *p, size_t n)
{
	uint32_t s = 0;

	for (size_t i = 0; i < n; i++)
		s += (i & 1) ? p[i] : (uint32_t)p[i] << 8;
	return s;
}

static uint16_t fold(uint64_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* Whether the UDP checksum of the segment at udp (len bytes) verifies with the addresses. */
static int udp_ok(const uint8_t *src, const uint8_t *dst, size_t alen, const uint8_t *udp,
                  size_t len)
{
	uint64_t s = sum16(src, alen) + sum16(dst, alen) + IPPROTO_UDP + len + sum16(udp, len);

	return (udp[6] | udp[7]) != 0 && fold(s) == 0xffff;
}

static size_t build(uint8_t *f, const struct req *r)
{
	size_t off = 12, udp_len = 8 + r->ntp;

	memcpy(f, mac_srv, 6);
	memcpy(f + 6, mac_cli, 6);
	for (int i = 0; i < r->vlans; i++, off += 4) {
		f[off] = i ? 0x81 : 0x88;
		f[off + 1] = i ? 0x00 : 0xa8;
		f[off + 2] = 0x00;
		f[off + 3] = (uint8_t)(10 + i); /* VLAN id */
	}
	f[off] = r->v6 ? 0x86 : 0x08;
	f[off + 1] = r->v6 ? 0xdd : 0x00;
	off += 2;
	if (r->v6) {
		uint8_t *ip = f + off;

		memset(ip, 0, 40);
		ip[0] = 0x60;
		ip[4] = (uint8_t)(udp_len >> 8);
		ip[5] = (uint8_t)udp_len;
		ip[6] = IPPROTO_UDP;
		ip[7] = 5;
		memcpy(ip + 8, ip6_cli, 16);
		memcpy(ip + 24, ip6_srv, 16);
		off += 40;
	} else {
		uint8_t *ip = f + off;

		memset(ip, 0, 20);
		ip[0] = 0x45;
		ip[1] = 0xb8; /* DSCP EF: the reply goes out with 0 */
		ip[2] = (uint8_t)((20 + udp_len) >> 8);
		ip[3] = (uint8_t)(20 + udp_len);
		ip[4] = 0x12; /* ID */
		ip[8] = 3;
		ip[9] = IPPROTO_UDP;
		memcpy(ip + 12, ip4_cli, 4);
		memcpy(ip + 16, ip4_srv, 4);
		ip[10] = 0xde; /* a wrong checksum: the parser must not care, the reply fixes it */
		off += 20;
	}
	f[off] = 0x9c; /* source port 40000 */
	f[off + 1] = 0x40;
	f[off + 2] = 0;
	f[off + 3] = PORT;
	f[off + 4] = (uint8_t)(udp_len >> 8);
	f[off + 5] = (uint8_t)udp_len;
	f[off + 6] = 0x12; /* a partial checksum as a veth delivers it: not verified */
	f[off + 7] = 0x34;
	for (size_t i = 0; i < r->ntp; i++)
		f[off + 8 + i] = (uint8_t)(0x23 + i);
	memset(f + off + 8 + r->ntp, 0xee, r->pad);
	return off + 8 + r->ntp + r->pad;
}

/* Builds, parses, replies with n payload bytes and checks every field of the reply. */
static void check_turn(const struct req *r, size_t n)
{
	uint8_t f[2048], orig[2048], resp[2048];
	size_t len = build(f, r), l3 = 14 + 4 * (size_t)r->vlans, l4 = l3 + (r->v6 ? 40 : 20);
	struct frame_info fi;
	size_t out;

	memcpy(orig, f, len);
	CHECK_EQ(frame_parse(f, len, PORT, &fi), FRAME_OK);
	CHECK_EQ(fi.family, r->v6 ? AF_INET6 : AF_INET);
	CHECK_EQ(fi.l3_off, l3);
	CHECK_EQ(fi.payload_off, l4 + 8);
	CHECK_EQ(fi.payload_len, r->ntp);
	if (r->v6) {
		const struct sockaddr_in6 *p = (const struct sockaddr_in6 *)&fi.peer;

		CHECK_MEM(&p->sin6_addr, ip6_cli, 16);
		CHECK_EQ(ntohs(p->sin6_port), 40000);
	} else {
		const struct sockaddr_in *p = (const struct sockaddr_in *)&fi.peer;

		CHECK_MEM(&p->sin_addr, ip4_cli, 4);
		CHECK_EQ(ntohs(p->sin_port), 40000);
		CHECK_MEM(&((const struct sockaddr_in *)&fi.local)->sin_addr, ip4_srv, 4);
	}
	for (size_t i = 0; i < n; i++)
		resp[i] = (uint8_t)(i * 7 + 1);
	out = frame_reply(f, &fi, resp, n);
	CHECK_EQ(out, l4 + 8 + n);
	CHECK(out <= len, "reply %zu longer than request %zu", out, len);
	CHECK_MEM(f, mac_cli, 6);
	CHECK_MEM(f + 6, mac_srv, 6);
	CHECK_MEM(f + 12, orig + 12, l3 - 12); /* VLAN tags and ethertype kept */
	CHECK_MEM(f + l4 + 8, resp, n);
	CHECK(f[l4] == orig[l4 + 2] && f[l4 + 1] == orig[l4 + 3], "source port");
	CHECK(f[l4 + 2] == orig[l4] && f[l4 + 3] == orig[l4 + 1], "destination port");
	CHECK_EQ((size_t)(f[l4 + 4] << 8 | f[l4 + 5]), 8 + n);
	if (r->v6) {
		CHECK_EQ(f[l3] >> 4, 6);
		CHECK_EQ((size_t)(f[l3 + 4] << 8 | f[l3 + 5]), 8 + n);
		CHECK_EQ(f[l3 + 6], IPPROTO_UDP);
		CHECK_EQ(f[l3 + 7], FRAME_TTL);
		CHECK_MEM(f + l3 + 8, ip6_srv, 16);
		CHECK_MEM(f + l3 + 24, ip6_cli, 16);
		CHECK(udp_ok(f + l3 + 8, f + l3 + 24, 16, f + l4, 8 + n), "IPv6 UDP checksum");
	} else {
		CHECK_EQ(f[l3], 0x45);
		CHECK_EQ(f[l3 + 1], 0);
		CHECK_EQ((size_t)(f[l3 + 2] << 8 | f[l3 + 3]), 20 + 8 + n);
		CHECK_EQ(f[l3 + 6] << 8 | f[l3 + 7], 0x4000); /* DF, no fragment */
		CHECK_EQ(f[l3 + 8], FRAME_TTL);
		CHECK_MEM(f + l3 + 12, ip4_srv, 4);
		CHECK_MEM(f + l3 + 16, ip4_cli, 4);
		CHECK(fold(sum16(f + l3, 20)) == 0xffff, "IPv4 header checksum");
		CHECK(udp_ok(f + l3 + 12, f + l3 + 16, 4, f + l4, 8 + n), "IPv4 UDP checksum");
	}
}

static void test_replies(void)
{
	for (int v6 = 0; v6 < 2; v6++)
		for (int vlans = 0; vlans <= 2; vlans++) {
			struct req r = {.v6 = v6, .vlans = vlans, .ntp = 228};

			check_turn(&r, 228); /* NTS: same length */
			check_turn(&r, 48);  /* NAK or a shorter answer */
			r.ntp = 48;
			r.pad = 10; /* a short frame padded by the NIC */
			check_turn(&r, 48);
			r.ntp = 49; /* odd lengths exercise the checksum's last byte */
			r.pad = 0;
			check_turn(&r, 47);
		}
}

/* Random payloads: the checksums must verify every time. */
static void test_random(unsigned seed)
{
	srand(seed);
	for (int i = 0; i < 300; i++) {
		struct req r = {
		    .v6 = rand() & 1, .vlans = rand() % 3, .ntp = 48 + (size_t)(rand() % 900)};

		check_turn(&r, 48 + (size_t)rand() % (r.ntp - 47));
	}
}

static void test_too_long(void)
{
	struct req r = {.ntp = 48};
	uint8_t f[256], orig[256], resp[64] = {0};
	size_t len = build(f, &r);
	struct frame_info fi;

	CHECK_EQ(frame_parse(f, len, PORT, &fi), FRAME_OK);
	memcpy(orig, f, len);
	CHECK_EQ(frame_reply(f, &fi, resp, 49), 0);
	CHECK_MEM(f, orig, len); /* untouched */
}

/* Every prefix of a valid frame shorter than its headers + UDP length is refused. */
static void test_truncated(void)
{
	for (int v6 = 0; v6 < 2; v6++)
		for (int vlans = 0; vlans <= 2; vlans++) {
			struct req r = {.v6 = v6, .vlans = vlans, .ntp = 48};
			uint8_t f[256];
			size_t len = build(f, &r);
			struct frame_info fi;

			for (size_t n = 0; n < len; n++) {
				uint8_t *copy = malloc(n ? n : 1); /* ASan sees any overread */

				memcpy(copy, f, n);
				CHECK(frame_parse(copy, n, PORT, &fi) != FRAME_OK,
				      "accepted %zu of %zu", n, len);
				free(copy);
			}
		}
}

/* Mutates a valid frame (IPv4 or IPv6, one VLAN tag) and expects a refusal reason. */
static void expect(int v6, size_t at, uint8_t val, enum frame_error want, const char *what)
{
	struct req r = {.v6 = v6, .vlans = 1, .ntp = 48};
	uint8_t f[256];
	size_t len = build(f, &r);
	struct frame_info fi;
	enum frame_error got;

	f[at] = val;
	got = frame_parse(f, len, PORT, &fi);
	CHECK(got == want, "%s: got %d, want %d", what, got, want);
}

#define L3   18 /* one VLAN tag */
#define L4_4 (L3 + 20)
#define L4_6 (L3 + 40)

static void test_malformed(void)
{
	expect(0, L3, 0x46, FRAME_BAD_IP, "IPv4 options");
	expect(0, L3, 0x55, FRAME_BAD_IP, "IPv4 version 5");
	expect(0, L3 + 2, 0x7f, FRAME_BAD_IP, "IPv4 total length past the frame");
	expect(0, L3 + 3, 27, FRAME_BAD_IP, "IPv4 total length below IP + UDP");
	expect(0, L3 + 3, 20 + 8 + 47, FRAME_BAD_UDP, "IPv4 length != UDP length");
	expect(0, L3 + 6, 0x20, FRAME_FRAGMENT, "IPv4 more fragments");
	expect(0, L3 + 7, 0x01, FRAME_FRAGMENT, "IPv4 fragment offset");
	expect(0, L3 + 9, IPPROTO_TCP, FRAME_NOT_UDP, "IPv4 TCP");
	expect(0, L3 + 16, 224, FRAME_NOT_UNICAST, "IPv4 multicast destination");
	expect(0, L3 + 16, 255, FRAME_NOT_UNICAST, "IPv4 broadcast destination");
	expect(0, L3 + 12, 0, FRAME_NOT_UNICAST, "IPv4 source 0/8");
	expect(0, L4_4 + 5, 8 + 49, FRAME_BAD_UDP, "UDP length past the IP length");
	expect(0, L4_4 + 5, 7, FRAME_BAD_UDP, "UDP length below its header");
	expect(0, L4_4 + 3, 124, FRAME_WRONG_PORT, "another destination port");
	expect(0, L4_4 + 0, 0, FRAME_OK, "source port 0x0040 (sanity)");
	expect(0, 0, 0x01, FRAME_NOT_UNICAST, "multicast destination MAC");
	expect(0, 6, 0xff, FRAME_NOT_UNICAST, "group-bit source MAC");
	expect(0, 16, 0x86, FRAME_NOT_IP, "ARP-ish ethertype after the tag");
	expect(1, L3, 0x40, FRAME_BAD_IP, "IPv6 version 4");
	expect(1, L3 + 5, 0, FRAME_BAD_IP, "IPv6 payload length 0 (jumbogram)");
	expect(1, L3 + 4, 0x7f, FRAME_BAD_IP, "IPv6 payload length past the frame");
	expect(1, L3 + 5, 8 + 47, FRAME_BAD_UDP, "IPv6 payload length != UDP length");
	expect(1, L3 + 6, 0, FRAME_NOT_UDP, "IPv6 hop-by-hop header");
	expect(1, L3 + 6, 44, FRAME_NOT_UDP, "IPv6 fragment header");
	expect(1, L3 + 24, 0xff, FRAME_NOT_UNICAST, "IPv6 multicast destination");
	expect(1, L3 + 8, 0xff, FRAME_NOT_UNICAST, "IPv6 multicast source");
}

static void test_more(void)
{
	struct req r = {.vlans = 2, .ntp = 48};
	uint8_t f[256];
	size_t len = build(f, &r);
	struct frame_info fi;

	/* a third tag: not parsed further, like the XDP program */
	memmove(f + 16, f + 12, len - 12);
	f[12] = 0x81;
	f[13] = 0x00;
	f[14] = 0;
	f[15] = 12;
	CHECK_EQ(frame_parse(f, len + 4, PORT, &fi), FRAME_NOT_IP);
	/* source port 0 cannot be answered */
	len = build(f, &(struct req){.ntp = 48});
	f[34] = f[35] = 0;
	CHECK_EQ(frame_parse(f, len, PORT, &fi), FRAME_WRONG_PORT);
	/* IPv6 unspecified source */
	len = build(f, &(struct req){.v6 = 1, .ntp = 48});
	memset(f + 14 + 8, 0, 16);
	CHECK_EQ(frame_parse(f, len, PORT, &fi), FRAME_NOT_UNICAST);
}

int main(void)
{
	unsigned seed = check_seed("test_frame");

	inet_pton(AF_INET6, "2001:2::2", ip6_cli);
	inet_pton(AF_INET6, "2001:2::1", ip6_srv);
	test_replies();
	test_random(seed);
	test_too_long();
	test_truncated();
	test_malformed();
	test_more();
	return check_done("test_frame");
}
