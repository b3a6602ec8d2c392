/* SPDX-License-Identifier: MIT */
/* tock-bench's subcommands; main.c dispatches on argv[1]. Each returns the exit code. */
#ifndef TOCK_BENCH_H
#define TOCK_BENCH_H

/* `tock-bench crypto [-n N]` — ns per NTS request: tock's SIV vs EVP AES-SIV (crypto.c). */
int bench_crypto(int argc, char **argv);

/* `tock-bench ke HOST[:PORT] [-c N] [-n N] [-t S] ...` — NTS-KE sessions in parallel:
 * handshakes/s, failures, latency percentiles, server CPU per handshake (ke.c). */
int bench_ke(int argc, char **argv);

/* `tock-bench ntp|nts SERVER[:PORT] ...` — the NTP/NTS load generator; argv[0] names the
 * mode (load.c). */
int bench_load(int argc, char **argv);

#endif
