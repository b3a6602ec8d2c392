// SPDX-License-Identifier: MIT
/*
 * Worker sockets: each worker opens its own UDP socket per listen address in one
 * SO_REUSEPORT group, so the kernel spreads clients over the workers by flow hash without
 * any shared queue. IPv6 sockets are IPV6_V6ONLY so "0.0.0.0" and "::" can both be bound.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "tockd.h"

/* A big receive buffer rides out bursts; FORCE works even where net.core.rmem_max cannot
 * be raised (a network namespace), plain SO_RCVBUF is the unprivileged fallback. */
static void set_rcvbuf(int fd)
{
	int size = TOCKD_RCVBUF;

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
}

static int open_one(const struct conf_addr *a, int *ts_mode)
{
	int family = a->ss.ss_family, on = 1, fd, err;

	fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) < 0 ||
	    (family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) < 0))
		goto fail_errno;
	set_rcvbuf(fd);
	err = transport_sockopts(fd, family);
	if (err < 0)
		goto fail;
	*ts_mode = err;
	if (bind(fd, (const struct sockaddr *)&a->ss, a->len) < 0)
		goto fail_errno;
	return fd;
fail_errno:
	err = -errno;
fail:
	close(fd);
	return err;
}

int sockets_open(struct tockd *d, struct tockd_worker *w)
{
	static const char *const ts_names[] = {"none", "SO_TIMESTAMPNS", "SO_TIMESTAMPING"};
	char buf[80];
	int ts = 0;

	w->n_fds = 0;
	for (int i = 0; i < d->conf.n_listen && i < TRANSPORT_MAX_SOCKS; i++) {
		int fd = open_one(&d->conf.listen[i], &ts);

		if (fd < 0) {
			log_err("listen %s: %s",
			        conf_addr_str(&d->conf.listen[i], buf, sizeof(buf)), strerror(-fd));
			sockets_close(w);
			return fd;
		}
		w->fds[w->n_fds++] = fd;
		if (w->id == 0)
			log_info("listening on %s (rx timestamps: %s)",
			         conf_addr_str(&d->conf.listen[i], buf, sizeof(buf)), ts_names[ts]);
	}
	return 0;
}

void sockets_close(struct tockd_worker *w)
{
	for (int i = 0; i < w->n_fds; i++)
		close(w->fds[i]);
	w->n_fds = 0;
}
