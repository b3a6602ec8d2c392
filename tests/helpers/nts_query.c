// SPDX-License-Identifier: MIT
/*
 * NTS client steps for tests/netns/tockd_rotation.sh, with cookies kept by the caller so a
 * test can replay an old cookie after key rotations:
 *
 *   nts_query fetch HOST PORT CA NAME
 *       NTS-KE; prints "AEAD C2S S2C COOKIE..." (hex; every cookie received)
 *   nts_query query HOST PORT AEAD C2S S2C COOKIE [KEYMAP]
 *       one NTS request with COOKIE (and one placeholder); verifies the answer and prints
 *       "before=ROLE result=ok|nak after=ROLE new=ROLE,... cookie=HEX"
 *       where ROLE is the key's place in KEYMAP (current, previous, oldest, next, unknown;
 *       "-" without KEYMAP), read just before and just after the exchange.
 *
 * Exit codes: 0 authenticated answer, 2 NTS NAK, 1 anything else.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cookie.h"
#include "helper_common.h"
#include "keymap.h"
#include "log.h"
#include "nts_client.h"
#include "rand.h"

/* The place of key `id` in the key map at path (NULL: "-"). */
static const char *role(const char *path, uint32_t id)
{
	struct keymap_snapshot snap;
	const struct keymap_slot *s;
	struct keymap km;
	int err;

	if (!path)
		return "-";
	if (keymap_open(&km, path))
		return "nomap";
	err = keymap_read(&km, &snap);
	keymap_close(&km);
	if (err)
		return "nomap";
	s = keymap_find(&snap, id);
	return s ? helper_slot_role(&snap, id) : "unknown";
}

/* The request's keys and cookie from the command line. 0 or -EINVAL. */
static int query_args(char **argv, struct siv **c2s, struct siv **s2c, uint8_t *cookie,
                      size_t *cookie_len)
{
	uint8_t k1[SIV_MAX_KEY_LEN], k2[SIV_MAX_KEY_LEN];
	size_t l1, l2;
	int aead = atoi(argv[0]);

	if (helper_unhex(argv[1], k1, sizeof(k1), &l1) ||
	    helper_unhex(argv[2], k2, sizeof(k2), &l2) ||
	    helper_unhex(argv[3], cookie, COOKIE_MAX_LEN, cookie_len) || l1 != siv_key_len(aead) ||
	    l2 != l1)
		return -EINVAL;
	*c2s = siv_new(aead);
	*s2c = siv_new(aead);
	if (!*c2s || !*s2c || siv_set_key(*c2s, k1, l1) || siv_set_key(*s2c, k2, l2))
		return -EINVAL;
	return 0;
}

static void print_new(const struct nts_client_response *out, const char *map)
{
	printf(" new=");
	for (unsigned i = 0; i < out->n_cookies; i++)
		printf("%s%s", i ? "," : "",
		       role(map, (uint32_t)cookie_key_id(out->cookies[i], out->cookie_len[i])));
	printf(" cookie=");
	if (out->n_cookies)
		hex_fprint(stdout, out->cookies[0], out->cookie_len[0], 0);
	putchar('\n');
}

static int cmd_query(char **argv, const char *map)
{
	static struct nts_client_response out;
	static struct rand_pool pool;
	struct nts_client_request r = {.placeholders = 1};
	uint8_t cookie[COOKIE_MAX_LEN], req[1024], resp[2048];
	struct siv *c2s = NULL, *s2c = NULL;
	struct timespec now;
	size_t clen;
	int len, rc = 1;
	ssize_t n;

	rand_pool_init(&pool);
	if (query_args(argv + 2, &c2s, &s2c, cookie, &clen) || nts_client_randomize(&r, &pool)) {
		fprintf(stderr, "query: bad arguments\n");
		goto out;
	}
	uint32_t id = (uint32_t)cookie_key_id(cookie, clen);
	clock_gettime(CLOCK_REALTIME, &now);
	r.transmit_ts = ntp_ts_from_timespec(&now);
	r.cookie = cookie;
	r.cookie_len = clen;
	printf("before=%s", role(map, id));
	len = nts_client_build(&r, c2s, req, sizeof(req));
	n = len < 0 ? len
	            : helper_udp_exchange(argv[0], argv[1], req, (size_t)len, resp, sizeof(resp));
	int err = n < 0 ? (int)n : nts_client_parse(&r, s2c, resp, (size_t)n, &out);
	printf(" result=%s after=%s", err ? "error" : out.nak ? "nak" : "ok", role(map, id));
	rc = err ? 1 : out.nak ? 2 : 0;
	print_new(&out, map);
	if (err)
		fprintf(stderr, "query: %s\n", strerror(-err));
out:
	siv_free(c2s);
	siv_free(s2c);
	return rc;
}

int main(int argc, char **argv)
{
	log_init("nts_query", 1, LOG_WARNING);
	if (argc == 6 && !strcmp(argv[1], "fetch"))
		return helper_fetch(argv + 2, true, KE_MAX_COOKIES);
	if ((argc == 8 || argc == 9) && !strcmp(argv[1], "query"))
		return cmd_query(argv + 2, argc == 9 ? argv[8] : NULL);
	fprintf(stderr, "usage: nts_query fetch HOST PORT CA NAME | query HOST PORT AEAD C2S S2C "
	                "COOKIE [KEYMAP]\n");
	return 1;
}
