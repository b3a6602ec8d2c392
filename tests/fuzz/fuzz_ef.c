// SPDX-License-Identifier: MIT
/*
 * Fuzz target: the RFC 7822 extension-field iterator. Every field it returns must lie
 * inside the input, be well framed, and survive a round trip through ntp_ef_put(); the
 * iteration must end (each step advances by at least 16 bytes).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ntp.h"

static void walk(const uint8_t *data, size_t size, size_t start)
{
	static uint8_t out[1 << 17];
	struct ntp_ef_iter it = {.pkt = data, .len = size, .pos = start};
	struct ntp_ef ef;
	size_t steps = 0, pos = 0;

	while (ntp_ef_next(&it, &ef) == 1) {
		if (ef.len < NTP_EF_MIN_LEN || ef.len % 4 || ef.offset + ef.len > size ||
		    ef.body != data + ef.offset + 4 || ++steps > size / NTP_EF_MIN_LEN)
			abort();
		if (ntp_ef_put(out, sizeof(out), &pos, ef.type, ef.body, ef.len - 4u) != ef.len ||
		    memcmp(out + pos - ef.len + 4, ef.body, ef.len - 4u) != 0)
			abort();
	}
	if (it.pos > size)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ntp_ef_iter it;

	ntp_ef_iter_init(&it, data, size);
	walk(data, size, it.pos); /* as a packet: fields after the header */
	walk(data, size, 0);      /* as decrypted fields (no header) */
	return 0;
}
