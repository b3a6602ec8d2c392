/* SPDX-License-Identifier: MIT */
/*
 * What the NTS test helpers (chrony_cookie, nts_query) share: NTS-KE with the keys and
 * cookies printed in hex, hex arguments, one UDP request/answer exchange, and the name of
 * a key's place in the ring. Each helper is its own binary (see the Makefile), so these are
 * static; `inline` only keeps a helper that uses fewer of them free of unused warnings.
 */
#ifndef TOCK_HELPER_COMMON_H
#define TOCK_HELPER_COMMON_H

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hex.h"
#include "ke_client.h"
#include "keymap.h"

/* A whole hex argument into out (capacity cap); its byte count in *len. 0 or -errno. */
static inline int helper_unhex(const char *s, uint8_t *out, size_t cap, size_t *len)
{
	int n = hex_decode(s, strlen(s), out, cap);

	if (n < 0)
		return n;
	*len = (size_t)n;
	return 0;
}

/*
 * NTS-KE with HOST PORT CA NAME from argv[0..3]; prints one line "C2S S2C COOKIE..." in hex
 * with at most max_cookies cookies (the server sends at least one), after "AEAD " when
 * with_aead. Returns the helper's exit code: 0, or 1 after saying why on stderr.
 */
static inline int helper_fetch(char **argv, bool with_aead, int max_cookies)
{
	struct ke_client_opts o = {.host = argv[0],
	                           .port = (uint16_t)atoi(argv[1]),
	                           .ca_file = argv[2],
	                           .name = argv[3],
	                           .timeout_ms = 3000};
	static struct ke_client_result r;

	if (ke_client_run(&o, &r)) {
		fprintf(stderr, "fetch: %s\n", r.errmsg);
		return 1;
	}
	if (with_aead)
		printf("%d ", r.aead);
	hex_fprint(stdout, r.c2s, r.key_len, 0);
	putchar(' ');
	hex_fprint(stdout, r.s2c, r.key_len, 0);
	for (int i = 0; i < r.rec.n_cookies && i < max_cookies; i++) {
		putchar(' ');
		hex_fprint(stdout, r.rec.cookies[i], r.rec.cookie_len[i], 0);
	}
	putchar('\n');
	return 0;
}

/* Sends req to host:port over UDP and waits for one answer (3 tries, 1 s each). Its length,
 * or negative: -ENOENT (host unknown), -ETIMEDOUT (no answer), -1 (recv failed). */
static inline ssize_t helper_udp_exchange(const char *host, const char *port, const uint8_t *req,
                                          size_t len, uint8_t *resp, size_t cap)
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

/* The place of key `id` in a ring whose current slot is snap's, by slot alone. */
static inline const char *helper_slot_role(const struct keymap_snapshot *snap, uint32_t id)
{
	static const char *const names[] = {"current", "next", "oldest", "previous"};

	return names[(KEYMAP_SLOT_OF(id) - snap->current_slot) & 3];
}

#endif
