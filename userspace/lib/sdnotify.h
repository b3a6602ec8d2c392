/* SPDX-License-Identifier: MIT */
/*
 * systemd's readiness protocol without libsystemd: one datagram with "KEY=VALUE" lines sent
 * to the AF_UNIX socket named by $NOTIFY_SOCKET (a path, or '@' for the abstract namespace).
 * Outside systemd (no $NOTIFY_SOCKET) every call is a successful no-op.
 *
 * The units are Type=notify: each daemon calls sdnotify_ready() once its sockets are bound,
 * XDP is attached and the shared files are mapped (the same point it drops privileges), and
 * sdnotify_send("RELOADING=1") / sdnotify_ready() around a SIGHUP reload if it likes.
 */
#ifndef TOCK_SDNOTIFY_H
#define TOCK_SDNOTIFY_H

/* Sends `state` (e.g. "READY=1\nSTATUS=serving") to $NOTIFY_SOCKET. 0 if sent or if there is
 * no $NOTIFY_SOCKET; -errno (-EINVAL for a malformed variable) on failure. */
int sdnotify_send(const char *state);

/* sdnotify_send("READY=1"). */
int sdnotify_ready(void);

#endif
