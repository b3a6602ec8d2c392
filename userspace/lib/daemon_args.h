/* SPDX-License-Identifier: MIT */
/*
 * The command line both daemons share (DESIGN §12): `-f FILE [-n] [-d]`, plus tockd's
 * `--no-io-uring`. Scripts and units rely on these names, so they live in one place.
 */
#ifndef TOCK_DAEMON_ARGS_H
#define TOCK_DAEMON_ARGS_H

struct daemon_args {
	const char *config; /* -f FILE */
	int check_only;     /* -n: check the configuration and exit */
	int foreground;     /* -d: stay in the foreground, log to stderr */
	int no_io_uring;    /* --no-io-uring (only where allowed) */
	int help;           /* -h / --help */
};

/*
 * Parses argv into *a (zeroed first); `--no-io-uring` is accepted only when
 * allow_no_io_uring. 0, or -EINVAL for an unknown option, a stray argument or no -f.
 */
int daemon_parse_args(int argc, char **argv, int allow_no_io_uring, struct daemon_args *a);

#endif
