// SPDX-License-Identifier: MIT
/*
 * Fuzz target: the AF_XDP frame parser and reply rewriter (userspace/lib/frame.c). The input
 * is the frame itself, copied into a buffer of exactly its size so that the sanitizers see
 * any read past it. An accepted frame must have consistent offsets, and its reply (the first
 * byte of the input picks the payload length, up to the request's) must never be longer
 * than the request, must verify its own UDP checksum and must parse again as a frame from
 * the server port — with the ports swapped.
 */
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"

#define PORT 123

/* The reply's UDP checksum over pseudo-header + segment must fold to 0xffff. */
static void check_csum(const uint8_t *f, const struct frame_info *fi, size_t udp_len)
{
	const uint8_t *ip = f + fi->l3_off;
	uint32_t s = IPPROTO_UDP + (uint32_t)udp_len;

	if (fi->family == AF_INET)
		s = frame_csum_add(s, ip + 12, 8);
	else
		s = frame_csum_add(s, ip + 8, 32);
	s = frame_csum_add(s, f + fi->l4_off, udp_len);
	if (frame_csum_fold(s) != 0xffff)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *f = malloc(size ? size : 1), resp[2048];
	struct frame_info fi, back;
	size_t n, out;

	if (!f)
		return 0;
	memcpy(f, data, size);
	if (frame_parse(f, size, PORT, &fi) != FRAME_OK) {
		free(f);
		return 0;
	}
	if (fi.payload_off + fi.payload_len > size || fi.l4_off + 8 != fi.payload_off ||
	    fi.l3_off >= fi.l4_off || fi.payload_len > sizeof(resp))
		abort();
	n = size ? data[0] % (fi.payload_len + 1) : 0;
	memset(resp, 0x5a, n);
	out = frame_reply(f, &fi, resp, n);
	if (out != fi.payload_off + n || out > size)
		abort();
	check_csum(f, &fi, 8 + n);
	/* the reply, seen from the client: from port 123 to the client's port */
	if (frame_parse(f, out, (uint16_t)(f[fi.l4_off + 2] << 8 | f[fi.l4_off + 3]), &back) ==
	        FRAME_OK &&
	    (back.payload_len != n || back.family != fi.family))
		abort();
	free(f);
	return 0;
}
