// SPDX-License-Identifier: MIT
/*
 * The control socket's I/O (the protocol is control_proto.c): a non-blocking Unix datagram
 * socket served from the main thread's poll loop. Counters come from the shared stats blocks,
 * tock-ke's file and the XDP maps (counters.c), so a reply never waits for a worker.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "control.h"
#include "log.h"
#include "tockd.h"

#define CONTROL_BATCH 64 /* requests per wake-up, so a flood cannot starve the clock tick */

int control_open(struct tockd *d)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char dir[CONF_PATH_MAX];
	uid_t uid;
	gid_t gid;

	if (strlen(d->conf.controlsocket) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, d->conf.controlsocket);
	snprintf(dir, sizeof(dir), "%s", d->conf.controlsocket);
	if (mkdir(dirname(dir), 0750) < 0 && errno != EEXIST)
		return -errno;
	d->ctl_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (d->ctl_fd < 0)
		return -errno;
	unlink(sa.sun_path);
	if (bind(d->ctl_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = -errno;

		close(d->ctl_fd);
		d->ctl_fd = -1;
		return err;
	}
	/* the tock group may monitor; the directory (0750) keeps everyone else out */
	chmod(sa.sun_path, 0660);
	if (geteuid() == 0 && tockd_user_ids(d->conf.user, &uid, &gid) == 0 &&
	    chown(sa.sun_path, uid, gid) < 0)
		log_warn("%s: chown: %s", sa.sun_path, strerror(errno));
	snprintf(d->ctl_path, sizeof(d->ctl_path), "%s", sa.sun_path);
	log_info("control socket %s", d->ctl_path);
	return 0;
}

static void build_view(const struct tockd *d, struct control_view *v)
{
	static struct tockd_counters c; /* main thread only; large */

	tockd_counters_read(d, &c);
	metrics_chrony_values(&c.in, v->chrony);
	v->chrony[MCF_CMD_HITS] = d->cmd_hits;
	v->chrony[MCF_CMD_DROPS] = d->cmd_drops;
	v->tracking = d->tracking;
}

void control_serve(struct tockd *d)
{
	uint8_t req[CONTROL_MAX_REQUEST], rpy[CONTROL_MAX_REQUEST];
	struct control_view v;

	for (int i = 0; i < CONTROL_BATCH && d->ctl_fd >= 0; i++) {
		struct sockaddr_un from;
		socklen_t fromlen = sizeof(from);
		ssize_t n = recvfrom(d->ctl_fd, req, sizeof(req), MSG_TRUNC,
		                     (struct sockaddr *)&from, &fromlen);
		size_t len;

		if (n < 0)
			return;
		d->cmd_hits++;
		build_view(d, &v);
		len = (size_t)n > sizeof(req) ? 0
		                              : control_reply(req, (size_t)n, &v, rpy, sizeof(rpy));
		/* an unbound sender has no address to answer to */
		if (!len || fromlen <= sizeof(sa_family_t) ||
		    sendto(d->ctl_fd, rpy, len, MSG_DONTWAIT, (struct sockaddr *)&from, fromlen) <
		        0)
			d->cmd_drops++;
	}
}

void control_close(struct tockd *d)
{
	if (d->ctl_fd < 0)
		return;
	close(d->ctl_fd);
	d->ctl_fd = -1;
	unlink(d->ctl_path);
}
