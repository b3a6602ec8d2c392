/* SPDX-License-Identifier: MIT */
/*
 * tockd's control socket (DESIGN §8): a Unix datagram socket speaking the monitoring subset
 * of chrony's command protocol — serverstats, tracking, sources (none) — so that
 * `chronyc -h /run/tock/tockd.sock serverstats` and exporters built for chrony work.
 *
 * control_reply() is the pure part (request bytes → reply bytes) that tests drive directly;
 * control_*() around it own the socket.
 */
#ifndef TOCKD_CONTROL_H
#define TOCKD_CONTROL_H

#include <stddef.h>
#include <stdint.h>

#include "candm.h"
#include "metrics.h"

#define CONTROL_MAX_REQUEST 1024

/* What a reply can report: chrony's serverstats fields and the tracking report. */
struct control_view {
	uint64_t chrony[MCF_COUNT];
	struct candm_tracking tracking;
};

/*
 * The reply to one request, written to out (capacity cap). Returns its length, never more
 * than req_len (a reply that would be longer than its padded request is not sent), or 0 to
 * drop a malformed request. Serverstats uses chrony 4.4's 64-bit format when the request is
 * padded for it, else the 4.2/4.3 one.
 */
size_t control_reply(const uint8_t *req, size_t req_len, const struct control_view *v, uint8_t *out,
                     size_t cap);

struct tockd;

/* Creates the socket at the configured path (its directory 0750). 0 or -errno. */
int control_open(struct tockd *d);

/* Answers every request waiting on the socket (non-blocking). */
void control_serve(struct tockd *d);

/* Closes and unlinks the socket. */
void control_close(struct tockd *d);

#endif
