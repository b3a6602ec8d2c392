// SPDX-License-Identifier: MIT
/*
 * tock-bench: benchmarks for tock (DESIGN §9). One binary, one subcommand per job:
 *   ke      NTS-KE sessions in parallel (ke.c)
 *   ntp     plain NTP load at a fixed or stepped rate, every answer checked (load.c)
 *   nts     the same with NTS: cookies by NTS-KE, every authenticator verified
 *   crypto  the AEAD's cost per NTS request (crypto.c)
 * The subcommand gets argv from its own name on, so argv[0] tells ntp and nts apart.
 */
#include <stdio.h>
#include <string.h>

#include "bench.h"

struct subcommand {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *what;
};

static const struct subcommand subcommands[] = {
    {"ke", bench_ke, "NTS-KE handshakes per second and latency"},
    {"ntp", bench_load, "plain NTP load: rate, loss, latency, server CPU per response"},
    {"nts", bench_load, "NTS load: the same, every authenticator verified"},
    {"crypto", bench_crypto, "AEAD cost per NTS request"},
};

static void usage(void)
{
	fprintf(stderr,
	        "usage: tock-bench SUBCOMMAND [options]   (SUBCOMMAND --help for its options)\n");
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		fprintf(stderr, "  %-7s %s\n", subcommands[i].name, subcommands[i].what);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage();
		return 2;
	}
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (!strcmp(argv[1], subcommands[i].name))
			return subcommands[i].run(argc - 1, argv + 1);
	usage();
	return 2;
}
