/* SPDX-License-Identifier: MIT */
/* tockctl's subcommands; main.c dispatches on argv[1]. Each returns the exit code. */
#ifndef TOCKCTL_H
#define TOCKCTL_H

/* `tockctl ke HOST[:PORT] [--ca FILE] [--ntpperf|--json]` — NTS-KE client (ke.c). */
int cmd_ke(int argc, char **argv);

/*
 * Added by main.c's owner. Every cmd_* gets the subcommand's own argv, argv[0] being the
 * subcommand's name ("ke", "serverstats", ...), and getopt reset (optind = 0), so each can
 * parse its options with getopt_long. The global options come first and are parsed by main:
 * `tockctl [-s SOCKET|-r RUNDIR] CMD ...`.
 */

/* The run directory: -r RUNDIR, else the directory of -s SOCKET, else /run/tock. */
extern const char *tockctl_rundir;

/* The control socket: -s SOCKET, else RUNDIR/tockd.sock. */
extern const char *tockctl_socket;

/* `tockctl serverstats [-c|--json]` — chrony's fields, then tock's counters. */
int cmd_serverstats(int argc, char **argv);

/* `tockctl metrics` — the Prometheus text format on stdout. */
int cmd_metrics(int argc, char **argv);

/* `tockctl keys [--export FILE [--nks 0|1]]` — the key map's ids and ages (never key bytes,
 * except into FILE with --export). */
int cmd_keys(int argc, char **argv);

/* `tockctl clients [-n N]` — top talkers from the XDP limiter map. */
int cmd_clients(int argc, char **argv);

/* `tockctl probe` — what this host's kernel offers (XDP modes, io_uring, timestamps). */
int cmd_probe(int argc, char **argv);

#endif
