// SPDX-License-Identifier: MIT
/*
 * `clock follow chronyd`: ask the local chronyd for its tracking report over its Unix command
 * socket once a second. chronyd answers to the sender's socket path, so the client socket is
 * bound next to chronyd's own (where chronyd can reach it, as chronyc does), while tockd is
 * still privileged, and kept for the daemon's lifetime.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock_source.h"
#include "log.h"

static int bind_client(struct clock_source *cs, const char *dir)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/tockd.%d.sock", dir, (int)getpid()) >=
	    (int)sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	unlink(sa.sun_path);
	if (bind(cs->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	/* chronyd runs as its own user and must be able to send the reply here */
	chmod(sa.sun_path, 0666);
	snprintf(cs->local_path, sizeof(cs->local_path), "%s", sa.sun_path);
	return 0;
}

int clock_chronyd_open(struct clock_source *cs, const char *socket_path)
{
	char dir[sizeof(cs->chronyd.sun_path)];
	int err;

	if (strlen(socket_path) >= sizeof(cs->chronyd.sun_path))
		return -ENAMETOOLONG;
	cs->chronyd.sun_family = AF_UNIX;
	strcpy(cs->chronyd.sun_path, socket_path);
	snprintf(dir, sizeof(dir), "%s", socket_path);
	cs->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (cs->fd < 0)
		return -errno;
	err = bind_client(cs, dirname(dir));
	if (err) {
		close(cs->fd);
		cs->fd = -1;
	}
	return err;
}

void clock_chronyd_send(struct clock_source *cs)
{
	uint8_t req[CANDM_TRACKING_LEN];
	size_t len = candm_tracking_request(req, sizeof(req), ++cs->seq);

	if (cs->fd < 0)
		return;
	if (sendto(cs->fd, req, len, 0, (struct sockaddr *)&cs->chronyd, sizeof(cs->chronyd)) < 0) {
		if (cs->failures++ % 60 == 0)
			log_warn("chronyd at %s: %s (serving unsynchronised until it answers)",
			         cs->chronyd.sun_path, strerror(errno));
	}
}

void clock_chronyd_input(struct clock_source *cs)
{
	uint8_t buf[512];
	struct candm_tracking t;
	ssize_t n;

	while (cs->fd >= 0 && (n = recv(cs->fd, buf, sizeof(buf), 0)) >= 0) {
		int err = candm_parse_tracking_reply(buf, (size_t)n, cs->seq, &t);

		if (err == -EIO)
			LOG_RATELIMITED(60, LOG_WARNING, "chronyd refused the tracking request");
		if (err)
			continue; /* a late answer to an older request, or garbage */
		if (!cs->have || cs->failures)
			log_info("chronyd: stratum %u, leap %u", t.stratum, t.leap);
		cs->last = t;
		cs->have = 1;
		cs->failures = 0;
		clock_gettime(CLOCK_MONOTONIC, &cs->last_at);
	}
}

int clock_chronyd_report(const struct clock_source *cs, struct candm_tracking *trk)
{
	struct timespec now;
	double age;

	if (!cs->have)
		return -EAGAIN;
	clock_gettime(CLOCK_MONOTONIC, &now);
	age = (double)(now.tv_sec - cs->last_at.tv_sec) +
	      (double)(now.tv_nsec - cs->last_at.tv_nsec) * 1e-9;
	if (age > CLOCK_CHRONYD_TIMEOUT)
		return -EAGAIN;
	*trk = cs->last;
	/* chronyd's report already holds the dispersion grown up to when it answered */
	trk->root_dispersion += CLOCK_PHI * age;
	return 0;
}
