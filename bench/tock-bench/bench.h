/* SPDX-License-Identifier: MIT */
/* tock-bench's subcommands; main.c dispatches on argv[1]. Each returns the exit code. */
#ifndef TOCK_BENCH_H
#define TOCK_BENCH_H

/* `tock-bench crypto [-n N]` — ns per NTS request: tock's SIV vs EVP AES-SIV (crypto.c). */
int bench_crypto(int argc, char **argv);

#endif
