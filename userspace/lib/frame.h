/* SPDX-License-Identifier: MIT */
/*
 * Ethernet frames for the AF_XDP path (tockd's xsk_worker.c): the request frame the XDP
 * program redirected is parsed here, and after tock_serve() it is turned around in place as
 * the reply — MACs, addresses and ports swapped, lengths, TTL / hop limit and both checksums
 * set. Pure functions, no I/O: unit-tested and fuzzed (tests/unit/test_frame.c,
 * tests/fuzz/fuzz_frame.c).
 *
 * Accepted: Ethernet with up to two VLAN tags (802.1Q / 802.1AD, kept in the reply),
 * option-less IPv4 that is not a fragment, IPv6 whose next header is UDP; unicast on both
 * ends; the UDP length consistent with the IP length and the frame. The request's UDP
 * checksum is not verified: on a veth it is a partial one (TX offload), and a corrupted NTS
 * request fails its authenticator anyway.
 */
#ifndef TOCK_FRAME_H
#define TOCK_FRAME_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define FRAME_TTL 64 /* TTL / hop limit of replies (the kernel's default) */

/* Why frame_parse refused a frame (FRAME_OK = accepted). */
enum frame_error {
	FRAME_OK = 0,
	FRAME_SHORT,      /* ends inside a header */
	FRAME_NOT_IP,     /* not IPv4/IPv6 (after at most two VLAN tags) */
	FRAME_BAD_IP,     /* wrong version, bad lengths, IPv4 options */
	FRAME_FRAGMENT,   /* IPv4 fragment */
	FRAME_NOT_UDP,    /* not UDP (or behind an IPv6 extension header) */
	FRAME_BAD_UDP,    /* UDP length inconsistent with the IP length */
	FRAME_WRONG_PORT, /* not to the server port, or from port 0 */
	FRAME_NOT_UNICAST /* multicast/broadcast on either end */
};

/* Where the parts of an accepted frame are. */
struct frame_info {
	size_t l3_off;                 /* IP header */
	size_t l4_off;                 /* UDP header */
	size_t payload_off;            /* NTP message */
	size_t payload_len;            /* UDP length - 8 */
	int family;                    /* AF_INET or AF_INET6 */
	struct sockaddr_storage peer;  /* the client: source address and port */
	struct sockaddr_storage local; /* our side: destination address and port */
};

/* Parses a received frame of len bytes whose UDP destination must be port (host order).
 * FRAME_OK and *out filled, or the reason it was refused. */
enum frame_error frame_parse(const uint8_t *frame, size_t len, uint16_t port,
                             struct frame_info *out);

/*
 * Turns the request frame (parsed into fi) into the reply carrying resp (n bytes, at most
 * fi->payload_len; resp must not overlap the frame). Returns the reply's frame length, never
 * more than the request's, or 0 when n is too long (frame untouched).
 */
size_t frame_reply(uint8_t *frame, const struct frame_info *fi, const uint8_t *resp, size_t n);

/* The Internet checksum (RFC 1071) of a buffer added to sum; callers fold with frame_csum_fold.
 * Exposed for the tests' cross-checks. */
uint32_t frame_csum_add(uint32_t sum, const uint8_t *p, size_t n);
uint16_t frame_csum_fold(uint32_t sum);

#endif
