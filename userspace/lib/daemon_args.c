// SPDX-License-Identifier: MIT
/* The daemons' shared command line, see daemon_args.h. */
#include <errno.h>
#include <getopt.h>
#include <string.h>

#include "daemon_args.h"

int daemon_parse_args(int argc, char **argv, int allow_no_io_uring, struct daemon_args *a)
{
	static const struct option longopts[] = {{"no-io-uring", no_argument, NULL, 'U'},
	                                         {"help", no_argument, NULL, 'h'},
	                                         {NULL, 0, NULL, 0}};
	int c;

	memset(a, 0, sizeof(*a));
	optind = 1;
	while ((c = getopt_long(argc, argv, "f:ndh", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			a->config = optarg;
			break;
		case 'n':
			a->check_only = 1;
			break;
		case 'd':
			a->foreground = 1;
			break;
		case 'U':
			if (!allow_no_io_uring)
				return -EINVAL;
			a->no_io_uring = 1;
			break;
		case 'h':
			a->help = 1;
			return 0;
		default:
			return -EINVAL;
		}
	}
	return a->config && optind == argc ? 0 : -EINVAL;
}
