// SPDX-License-Identifier: MIT
/* tockctl: the operator's command line. Global options, then one subcommand (tockctl.h). */
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "tockctl.h"

#define DEFAULT_RUNDIR "/run/tock"

const char *tockctl_rundir = DEFAULT_RUNDIR;
const char *tockctl_socket;

struct subcommand {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *args;
	const char *summary;
};

static const struct subcommand subcommands[] = {
    {"serverstats", cmd_serverstats, "[-c|--json]", "chrony's serverstats, then tock's"},
    {"metrics", cmd_metrics, "", "the counters in the Prometheus text format"},
    {"clients", cmd_clients, "[-n N]", "top talkers seen by the XDP limiter"},
    {"keys", cmd_keys, "[--export FILE [--nks 0|1]]", "cookie master keys: ids and ages"},
    {"probe", cmd_probe, "", "what this kernel offers (XDP, io_uring, timestamps)"},
    {"ke", cmd_ke, "HOST[:PORT] [--ca FILE] [--json|--ntpperf]", "NTS-KE client"},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: tockctl [-s SOCKET|-r RUNDIR] COMMAND [ARGS]\n\n"
	           "  -r RUNDIR   tock's run directory (default " DEFAULT_RUNDIR ")\n"
	           "  -s SOCKET   tockd's control socket (default RUNDIR/tockd.sock; its\n"
	           "              directory is then the run directory)\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		fprintf(f, "  %-12s %-42s %s\n", subcommands[i].name, subcommands[i].args,
		        subcommands[i].summary);
}

/* -s names the socket inside the run directory, so the counter files are next to it. */
static void set_socket(const char *path)
{
	char *copy = strdup(path);

	tockctl_socket = path;
	if (copy)
		tockctl_rundir = dirname(copy); /* kept for the process's lifetime */
}

static int parse_global(int argc, char **argv)
{
	const char *rundir = NULL;
	int opt;

	/* '+': stop at the subcommand so its own options are left for it. */
	while ((opt = getopt(argc, argv, "+s:r:h")) != -1) {
		switch (opt) {
		case 's':
			set_socket(optarg);
			break;
		case 'r':
			rundir = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			return -1;
		}
	}
	/* -r wins over the directory derived from -s, whatever their order. */
	if (rundir)
		tockctl_rundir = rundir;
	return 0;
}

int main(int argc, char **argv)
{
	/* Library code reports through log.h; for a command line tool that is stderr. */
	log_init("tockctl", 1, LOG_WARNING);
	if (parse_global(argc, argv) < 0 || optind >= argc) {
		usage(stderr);
		return 2;
	}
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++) {
		if (strcmp(argv[optind], subcommands[i].name) != 0)
			continue;
		argc -= optind;
		argv += optind;
		optind = 0; /* GNU getopt: 0 re-initialises for the subcommand's argv */
		return subcommands[i].run(argc, argv);
	}
	fprintf(stderr, "tockctl: unknown command '%s'\n", argv[optind]);
	usage(stderr);
	return 2;
}
