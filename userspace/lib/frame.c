// SPDX-License-Identifier: MIT
/*
 * Request frames in, reply frames out, for the AF_XDP path (see frame.h). Every length is
 * checked against the frame before a byte is read; headers are read byte-wise or through
 * memcpy, so no alignment is assumed.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "frame.h"

#define ETH_HLEN      14
#define ETH_ALEN      6
#define VLAN_HLEN     4
#define ETHERTYPE_IP  0x0800
#define ETHERTYPE_IP6 0x86dd
#define ETHERTYPE_Q   0x8100
#define ETHERTYPE_AD  0x88a8
#define IP4_HLEN      20
#define IP6_HLEN      40
#define UDP_HLEN      8
#define IP_DF         0x4000

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* RFC 1071: the sum is independent of byte order and may be taken over 32-bit words into a
 * wide accumulator; folded and byte-swapped back it equals the sum of big-endian 16-bit
 * words. The trailing odd byte counts as the high byte of a last word. */
uint32_t frame_csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
	uint64_t s = 0;
	uint32_t w;
	uint16_t h;
	size_t i = 0;

	for (; i + 4 <= n; i += 4) {
		memcpy(&w, p + i, 4);
		s += w;
	}
	if (i + 2 <= n) {
		memcpy(&h, p + i, 2);
		s += h;
		i += 2;
	}
	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffffffff) + (s >> 32);
	sum += ntohs(frame_csum_fold((uint32_t)s));
	if (i < n)
		sum += (uint32_t)p[i] << 8;
	return (sum & 0xffff) + (sum >> 16);
}

uint16_t frame_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* Ethernet and up to two VLAN tags: *type gets the L3 ethertype, fi->l3_off its offset. */
static enum frame_error parse_eth(const uint8_t *f, size_t len, uint16_t *type,
                                  struct frame_info *fi)
{
	size_t off = ETH_HLEN;

	if (len < ETH_HLEN)
		return FRAME_SHORT;
	if ((f[0] & 1) || (f[ETH_ALEN] & 1)) /* the group bit: a reply cannot go there */
		return FRAME_NOT_UNICAST;
	*type = get16(f + 12);
	for (int i = 0; i < 2 && (*type == ETHERTYPE_Q || *type == ETHERTYPE_AD); i++) {
		if (len < off + VLAN_HLEN)
			return FRAME_SHORT;
		*type = get16(f + off + 2);
		off += VLAN_HLEN;
	}
	fi->l3_off = off;
	return FRAME_OK;
}

/* An IPv4 address a reply may go to or come from: not 0/8, multicast, class E, broadcast. */
static int ip4_unicast(const uint8_t *a)
{
	return a[0] != 0 && a[0] < 224;
}

static enum frame_error parse_ip4(const uint8_t *f, size_t len, struct frame_info *fi)
{
	const uint8_t *ip = f + fi->l3_off;
	struct sockaddr_in *sin = (struct sockaddr_in *)&fi->peer;
	size_t tot;

	if (len < fi->l3_off + IP4_HLEN)
		return FRAME_SHORT;
	if (ip[0] != 0x45) /* version 4, no options: an echoed option has no place in a reply */
		return FRAME_BAD_IP;
	tot = get16(ip + 2);
	if (tot < IP4_HLEN + UDP_HLEN || fi->l3_off + tot > len)
		return FRAME_BAD_IP;
	if (get16(ip + 6) & 0x3fff) /* MF or an offset */
		return FRAME_FRAGMENT;
	if (ip[9] != IPPROTO_UDP)
		return FRAME_NOT_UDP;
	if (!ip4_unicast(ip + 12) || !ip4_unicast(ip + 16))
		return FRAME_NOT_UNICAST;
	fi->family = AF_INET;
	fi->l4_off = fi->l3_off + IP4_HLEN;
	fi->payload_len = tot - IP4_HLEN; /* UDP length, checked against it by parse_udp */
	sin->sin_family = AF_INET;
	memcpy(&sin->sin_addr, ip + 12, 4);
	sin = (struct sockaddr_in *)&fi->local;
	sin->sin_family = AF_INET;
	memcpy(&sin->sin_addr, ip + 16, 4);
	return FRAME_OK;
}

static enum frame_error parse_ip6(const uint8_t *f, size_t len, struct frame_info *fi)
{
	const uint8_t *ip6 = f + fi->l3_off;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&fi->peer;
	static const uint8_t any[16];
	size_t plen;

	if (len < fi->l3_off + IP6_HLEN)
		return FRAME_SHORT;
	if ((ip6[0] >> 4) != 6)
		return FRAME_BAD_IP;
	plen = get16(ip6 + 4);
	if (plen < UDP_HLEN || fi->l3_off + IP6_HLEN + plen > len) /* 0 (jumbogram) too */
		return FRAME_BAD_IP;
	if (ip6[6] != IPPROTO_UDP)
		return FRAME_NOT_UDP;
	if (ip6[8] == 0xff || ip6[24] == 0xff || !memcmp(ip6 + 8, any, 16))
		return FRAME_NOT_UNICAST;
	fi->family = AF_INET6;
	fi->l4_off = fi->l3_off + IP6_HLEN;
	fi->payload_len = plen;
	sin6->sin6_family = AF_INET6;
	memcpy(&sin6->sin6_addr, ip6 + 8, 16);
	sin6 = (struct sockaddr_in6 *)&fi->local;
	sin6->sin6_family = AF_INET6;
	memcpy(&sin6->sin6_addr, ip6 + 24, 16);
	return FRAME_OK;
}

/* UDP length must equal the IP payload length (fi->payload_len on entry). */
static enum frame_error parse_udp(const uint8_t *f, uint16_t port, struct frame_info *fi)
{
	const uint8_t *udp = f + fi->l4_off;
	uint16_t sport = get16(udp);

	if (get16(udp + 4) != fi->payload_len)
		return FRAME_BAD_UDP;
	if (get16(udp + 2) != port || sport == 0)
		return FRAME_WRONG_PORT;
	fi->payload_off = fi->l4_off + UDP_HLEN;
	fi->payload_len -= UDP_HLEN;
	if (fi->family == AF_INET) {
		((struct sockaddr_in *)&fi->peer)->sin_port = htons(sport);
		((struct sockaddr_in *)&fi->local)->sin_port = htons(port);
	} else {
		((struct sockaddr_in6 *)&fi->peer)->sin6_port = htons(sport);
		((struct sockaddr_in6 *)&fi->local)->sin6_port = htons(port);
	}
	return FRAME_OK;
}

enum frame_error frame_parse(const uint8_t *frame, size_t len, uint16_t port,
                             struct frame_info *out)
{
	uint16_t type = 0;
	enum frame_error err;

	memset(out, 0, sizeof(*out));
	err = parse_eth(frame, len, &type, out);
	if (err != FRAME_OK)
		return err;
	if (type == ETHERTYPE_IP)
		err = parse_ip4(frame, len, out);
	else if (type == ETHERTYPE_IP6)
		err = parse_ip6(frame, len, out);
	else
		err = FRAME_NOT_IP;
	if (err == FRAME_OK)
		err = parse_udp(frame, port, out);
	return err;
}

static void swap(uint8_t *a, uint8_t *b, size_t n)
{
	uint8_t t[16];

	memcpy(t, a, n);
	memcpy(a, b, n);
	memcpy(b, t, n);
}

/* IPv4 header of the reply: addresses swapped, no fragmentation (DF, ID 0, as the socket
 * path sends with IP_PMTUDISC_PROBE), TOS 0, TTL 64, new length and header checksum. */
static void turn_ip4(uint8_t *ip, size_t udp_len)
{
	swap(ip + 12, ip + 16, 4);
	ip[1] = 0;
	put16(ip + 2, (uint16_t)(IP4_HLEN + udp_len));
	put16(ip + 4, 0);
	put16(ip + 6, IP_DF);
	ip[8] = FRAME_TTL;
	put16(ip + 10, 0);
	put16(ip + 10, (uint16_t)~frame_csum_fold(frame_csum_add(0, ip, IP4_HLEN)));
}

static void turn_ip6(uint8_t *ip6, size_t udp_len)
{
	swap(ip6 + 8, ip6 + 24, 16);
	put16(ip6 + 4, (uint16_t)udp_len);
	ip6[7] = FRAME_TTL;
}

/* UDP checksum over the pseudo-header (addresses as they now stand), header and payload;
 * mandatory for IPv6, and 0 is sent as 0xffff. */
static void udp_csum(uint8_t *frame, const struct frame_info *fi, size_t udp_len)
{
	uint8_t *udp = frame + fi->l4_off;
	const uint8_t *ip = frame + fi->l3_off;
	uint32_t sum = IPPROTO_UDP + (uint32_t)udp_len;
	uint16_t c;

	if (fi->family == AF_INET)
		sum = frame_csum_add(sum, ip + 12, 8);
	else
		sum = frame_csum_add(sum, ip + 8, 32);
	put16(udp + 6, 0);
	sum = frame_csum_add(sum, udp, udp_len);
	c = (uint16_t)~frame_csum_fold(sum);
	put16(udp + 6, c ? c : 0xffff);
}

size_t frame_reply(uint8_t *frame, const struct frame_info *fi, const uint8_t *resp, size_t n)
{
	uint8_t *udp = frame + fi->l4_off;
	size_t udp_len = UDP_HLEN + n;

	if (n > fi->payload_len)
		return 0;
	memcpy(frame + fi->payload_off, resp, n);
	swap(frame, frame + ETH_ALEN, ETH_ALEN);
	if (fi->family == AF_INET)
		turn_ip4(frame + fi->l3_off, udp_len);
	else
		turn_ip6(frame + fi->l3_off, udp_len);
	swap(udp, udp + 2, 2);
	put16(udp + 4, (uint16_t)udp_len);
	udp_csum(frame, fi, udp_len);
	return fi->payload_off + n;
}
