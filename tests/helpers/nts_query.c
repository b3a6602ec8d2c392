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
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cookie.h"
#include "ke_client.h"
#include "keymap.h"
#include "log.h"
#include "nts_client.h"
#include "rand.h"

static void print_hex(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%02x", p[i]);
}

static int unhex(const char *s, uint8_t *out, size_t cap, size_t *len)
{
	size_t n = strlen(s);

	if (n % 2 || n / 2 > cap)
		return -EINVAL;
	for (size_t i = 0; i < n; i += 2) {
		unsigned v;

		if (sscanf(s + i, "%2x", &v) != 1)
			return -EINVAL;
		out[i / 2] = (uint8_t)v;
	}
	*len = n / 2;
	return 0;
}

static int cmd_fetch(char **argv)
{
	struct ke_client_opts o = {.host = argv[0], .port = (uint16_t)atoi(argv[1]),
				   .ca_file = argv[2], .name = argv[3], .timeout_ms = 3000};
	static struct ke_client_result r;

	if (ke_client_run(&o, &r)) {
		fprintf(stderr, "fetch: %s\n", r.errmsg);
		return 1;
	}
	printf("%d ", r.aead);
	print_hex(r.c2s, r.key_len);
	putchar(' ');
	print_hex(r.s2c, r.key_len);
	for (int i = 0; i < r.rec.n_cookies; i++) {
		putchar(' ');
		print_hex(r.rec.cookies[i], r.rec.cookie_len[i]);
	}
	putchar('\n');
	return 0;
}

/* The place of key `id` in the key map at path (NULL: "-"). */
static const char *role(const char *path, uint32_t id)
{
	static const char *const names[] = {"current", "next", "oldest", "previous"};
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
	return s ? names[(KEYMAP_SLOT_OF(id) - snap.current_slot) & 3] : "unknown";
}

/* Sends req to host:port over UDP and waits for one answer (3 tries, 1 s each). */
static ssize_t udp_exchange(const char *host, const char *port, const uint8_t *req, size_t len,
			    uint8_t *resp, size_t cap)
{
	struct addrinfo hints = {.ai_socktype = SOCK_DGRAM}, *ai;
	ssize_t n = -ETIMEDOUT;
	int fd;

	if (getaddrinfo(host, port, &hints, &ai))
		return -ENOENT;
	fd = socket(ai->ai_family, SOCK_DGRAM, 0);
	if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
		for (int i = 0; i < 3 && n < 0; i++) {
			struct pollfd p = {.fd = fd, .events = POLLIN};

			if (send(fd, req, len, 0) < 0 || poll(&p, 1, 1000) <= 0)
				continue;
			n = recv(fd, resp, cap, 0);
		}
	}
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	return n;
}

/* The request's keys and cookie from the command line. 0 or -EINVAL. */
static int query_args(char **argv, struct siv **c2s, struct siv **s2c, uint8_t *cookie,
		      size_t *cookie_len)
{
	uint8_t k1[SIV_MAX_KEY_LEN], k2[SIV_MAX_KEY_LEN];
	size_t l1, l2;
	int aead = atoi(argv[0]);

	if (unhex(argv[1], k1, sizeof(k1), &l1) || unhex(argv[2], k2, sizeof(k2), &l2) ||
	    unhex(argv[3], cookie, COOKIE_MAX_LEN, cookie_len) || l1 != siv_key_len(aead) ||
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
		print_hex(out->cookies[0], out->cookie_len[0]);
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
	n = len < 0 ? len : udp_exchange(argv[0], argv[1], req, (size_t)len, resp, sizeof(resp));
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
		return cmd_fetch(argv + 2);
	if ((argc == 8 || argc == 9) && !strcmp(argv[1], "query"))
		return cmd_query(argv + 2, argc == 9 ? argv[8] : NULL);
	fprintf(stderr, "usage: nts_query fetch HOST PORT CA NAME | query HOST PORT AEAD C2S S2C "
			"COOKIE [KEYMAP]\n");
	return 1;
}
