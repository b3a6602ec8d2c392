// SPDX-License-Identifier: MIT
/*
 * Fuzz target for the NTS-KE record parsers: the input is fed to the server's request
 * parser and the client's response parser; a complete request is then answered through
 * the response builder, and its output must parse back on the client side.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ke_proto.h"

/* Not FUZZ_CHECK(): the checks must stay in a -DNDEBUG build. */
#define FUZZ_CHECK(cond)                                                                           \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

static void answer(const struct ke_request *req)
{
	static const uint16_t offered[] = {15, 17};
	static const uint8_t cookie[100];
	static struct ke_client_response cr;
	struct ke_response r = {.server = "198.18.0.1", .port = 123};
	uint8_t out[2048];
	int i, n;

	ke_choose(req, offered, 2, &r.protocol, &r.aead);
	for (i = 0; i < KE_MAX_COOKIES; i++) {
		r.cookies[i] = cookie;
		r.cookie_len[i] = sizeof(cookie);
	}
	r.n_cookies = KE_MAX_COOKIES;
	n = ke_build_response(out, sizeof(out), &r);
	FUZZ_CHECK(n > 0);
	FUZZ_CHECK(ke_parse_response(out, (size_t)n, &cr) == 0);
	FUZZ_CHECK(cr.protocol == r.protocol && cr.aead == r.aead);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ke_client_response cr;
	struct ke_request req;
	int ret;

	ret = ke_parse_request(data, size, &req);
	FUZZ_CHECK(ret == 0 || ret == -EAGAIN || ret == -EBADMSG);
	if (ret == 0) {
		FUZZ_CHECK(req.len == size);
		answer(&req);
	} else if (ret == -EBADMSG) {
		FUZZ_CHECK(req.error == KE_ERR_UNRECOGNIZED_CRITICAL ||
		           req.error == KE_ERR_BAD_REQUEST);
	}
	ret = ke_parse_response(data, size, &cr);
	FUZZ_CHECK(ret == 0 || ret == -EAGAIN || ret == -EBADMSG);
	FUZZ_CHECK(cr.n_cookies <= KE_MAX_COOKIES);
	return 0;
}
