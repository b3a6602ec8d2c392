/* SPDX-License-Identifier: MIT */
/*
 * Where tockd's clock status comes from (DESIGN §6), sampled once a second by the main thread
 * and published through the clock cell:
 *
 *  - `clock follow kernel` (default): adjtimex. STA_UNSYNC or TIME_ERROR → unsynchronised;
 *    maxerror → root dispersion; STA_INS/STA_DEL → leap indicator. The kernel knows no
 *    stratum or reference, so those come from `stratum`/`refid` (defaults 1 and "LOCL", i.e.
 *    a host disciplined by PTP/PPS, whose operator sets refid PTP or PPS).
 *  - `clock follow chronyd [SOCKET]`: chronyd's tracking report over its command socket.
 *    tockd answers exactly as chronyd's own NTP server would: chronyd's stratum as its
 *    tracking report gives it (already its upstream's + 1), its reference id (the server it
 *    follows), root delay, and root dispersion grown by 15 ppm for the age of the report.
 *    No answer for 4 seconds, or chronyd unsynchronised → leap 3, stratum 0.
 *  - static (`stratum N` + `refid ID`): a GPS/PPS host whose discipline tockd cannot see.
 *  - `clock unsynchronised`: always leap 3 (tests, draining a server).
 */
#ifndef TOCKD_CLOCK_SOURCE_H
#define TOCKD_CLOCK_SOURCE_H

#include <stdint.h>
#include <sys/un.h>
#include <time.h>

#include "candm.h"
#include "clock.h"
#include "conf.h"

#define CLOCK_CHRONYD_TIMEOUT 4.0   /* seconds without a tracking report → unsynchronised */
#define CLOCK_PHI             15e-6 /* dispersion growth, seconds per second (RFC 5905) */

struct clock_source {
	int mode; /* enum conf_clock_mode */
	int8_t precision;
	/* chronyd */
	int fd;
	char local_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct sockaddr_un chronyd;
	uint32_t seq;
	int have; /* a report has been received */
	struct candm_tracking last;
	struct timespec last_at; /* CLOCK_MONOTONIC when it arrived */
	unsigned failures;       /* for rate-limited logging */
};

/* Prepares the source (for chronyd: binds the client socket while still privileged). 0 or
 * -errno; a chronyd that is not running yet is not an error (it is retried each second). */
int clock_source_open(struct clock_source *cs, const struct tock_conf *conf);

/* The descriptor to poll for chronyd's replies, or -1. */
int clock_source_fd(const struct clock_source *cs);

/* Once a second: sends the next request (chronyd). */
void clock_source_tick(struct clock_source *cs);

/* Reads chronyd's replies waiting on the socket. */
void clock_source_input(struct clock_source *cs);

/* The status to publish now, and the same as a chronyc tracking report. */
void clock_source_status(struct clock_source *cs, const struct tock_conf *conf,
                         struct tock_clock_status *st, struct candm_tracking *trk);

void clock_source_close(struct clock_source *cs);

/* kernel (clock_kernel.c): fills the status from adjtimex. */
void clock_kernel_status(const struct tock_conf *conf, struct candm_tracking *trk, int32_t *tai);

/* chronyd client (clock_chronyd.c) */
int clock_chronyd_open(struct clock_source *cs, const char *socket_path);
void clock_chronyd_send(struct clock_source *cs);
void clock_chronyd_input(struct clock_source *cs);
/* The last report aged to now; 0, or -EAGAIN when there is none fresh enough. */
int clock_chronyd_report(const struct clock_source *cs, struct candm_tracking *trk);

/* "GPS" → 0x47505300, the refid's wire bytes read big-endian. */
uint32_t clock_refid_from_string(const char *s);

#endif
