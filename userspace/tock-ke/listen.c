// SPDX-License-Identifier: MIT
/*
 * Listening sockets: one SO_REUSEPORT socket per worker thread and ntslisten address, so
 * the kernel spreads new connections over the workers without a shared accept lock.
 * TCP_DEFER_ACCEPT keeps connections that never send a byte out of accept() (a TLS client
 * always speaks first), which blunts floods of idle connections before they cost a slot.
 */
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ke.h"
#include "log.h"

#define LISTEN_BACKLOG 4096

static int set_int(int fd, int level, int opt, int v)
{
	return setsockopt(fd, level, opt, &v, sizeof(v)) < 0 ? -errno : 0;
}

static int open_one(const struct conf_addr *a, int defer_s)
{
	int fd, err, fam = a->ss.ss_family;

	fd = socket(fam, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	err = set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1);
	if (!err)
		err = set_int(fd, SOL_SOCKET, SO_REUSEPORT, 1);
	if (!err && fam == AF_INET6)
		err = set_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1);
	if (!err)
		err = set_int(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, defer_s);
	if (!err && bind(fd, (const struct sockaddr *)&a->ss, a->len) < 0)
		err = -errno;
	if (!err && listen(fd, LISTEN_BACKLOG) < 0)
		err = -errno;
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

/* Opens address j for every thread into slot k (fds k * n_threads + thread); all or none. */
static int open_addr(struct ke_server *srv, int j, int k, int defer_s)
{
	const struct conf_addr *a = &srv->conf->ntslisten[j];
	int *fds = srv->listen_fds + k * srv->n_threads;
	char name[64];
	int t, fd;

	for (t = 0; t < srv->n_threads; t++) {
		fd = open_one(a, defer_s);
		if (fd < 0) {
			log_err("cannot listen on %s: %s", conf_addr_str(a, name, sizeof(name)),
			        strerror(-fd));
			while (t-- > 0)
				close(fds[t]);
			return fd;
		}
		fds[t] = fd;
	}
	log_info("NTS-KE listening on %s (%d threads)", conf_addr_str(a, name, sizeof(name)),
	         srv->n_threads);
	return 0;
}

int ke_listen_open(struct ke_server *srv)
{
	const struct tock_conf *c = srv->conf;
	int j, err, defer_s = (int)ceil(c->ntstimeout);

	srv->listen_fds = malloc(sizeof(int) * (size_t)(srv->n_threads * c->n_ntslisten));
	if (!srv->listen_fds)
		return -ENOMEM;
	srv->n_listen = 0;
	for (j = 0; j < c->n_ntslisten; j++) {
		err = open_addr(srv, j, srv->n_listen, defer_s);
		if (err == -EAFNOSUPPORT && c->n_ntslisten > 1) {
			/* e.g. the default "::" on a host without IPv6 */
			log_warn("address family not supported, skipping that ntslisten address");
			continue;
		}
		if (err)
			return err;
		srv->n_listen++;
	}
	return srv->n_listen ? 0 : -EADDRNOTAVAIL;
}

void ke_listen_close(struct ke_server *srv)
{
	int i;

	for (i = 0; srv->listen_fds && i < srv->n_threads * srv->n_listen; i++)
		close(srv->listen_fds[i]);
	free(srv->listen_fds);
	srv->listen_fds = NULL;
	srv->n_listen = 0;
}
