// SPDX-License-Identifier: MIT
/*
 * The subcommands that need the XDP program or the kernel feature probes (kmod-free/):
 * `tockctl clients`, `tockctl probe`, and the XDP counters shown by serverstats/metrics.
 * tockd pins its XDP maps under TOCK_BPF_DIR, else /sys/fs/bpf/tock, else (no bpffs at
 * /sys/fs/bpf) RUNDIR/bpf (see userspace/tockd/xdp.c); without them there is no XDP program
 * to report on.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "counters.h"
#include "linkwatch.h"
#include "metrics_xdp.h"
#include "probe_xdp.h"
#include "siv.h"
#include "tockctl.h"
#include "transport.h"
#include "xdp_loader.h"

#define DEFAULT_BPF_DIR "/sys/fs/bpf/tock"

/* The same choice tockd makes: the environment, else /sys/fs/bpf/tock, else RUNDIR/bpf
 * when tockd pinned there (no bpffs at /sys/fs/bpf). */
static const char *bpf_dir(void)
{
	static char rundir_pins[4096];
	const char *d = getenv("TOCK_BPF_DIR");

	if (d && *d)
		return d;
	snprintf(rundir_pins, sizeof(rundir_pins), "%s/bpf/stats", tockctl_rundir);
	if (access(DEFAULT_BPF_DIR "/stats", F_OK) < 0 && access(rundir_pins, F_OK) == 0) {
		rundir_pins[strlen(rundir_pins) - strlen("/stats")] = 0;
		return rundir_pins;
	}
	return DEFAULT_BPF_DIR;
}

int ctl_xdp_counters(struct ctl_counters *c)
{
	uint64_t v[XDP_STAT_COUNT];
	int fd = -1, err;

	_Static_assert(XDP_STAT_COUNT <= sizeof(c->xdp) / sizeof(c->xdp[0]), "xdp[] too small");
	err = xdp_pinned_open(bpf_dir(), &fd, NULL, NULL);
	if (err)
		return err; /* no XDP program (or not ours to read): the workers' counters stand */
	err = xdp_stats_read_fd(fd, v);
	close(fd);
	if (err)
		return err;
	metrics_xdp_fill(&c->in, c->xdp, v); /* as tockd's control socket does */
	return 0;
}

/* ---- clients ------------------------------------------------------------------------------ */

static void print_client(const struct xdp_client *cl)
{
	char addr[INET6_ADDRSTRLEN], prefix[INET6_ADDRSTRLEN + 8];

	inet_ntop(cl->family, cl->addr, addr, sizeof(addr));
	snprintf(prefix, sizeof(prefix), "%s/%u", addr, cl->prefixlen);
	printf("%-43s %12llu %12llu %9.1f %9.1f\n", prefix, (unsigned long long)cl->hits,
	       (unsigned long long)cl->limited, cl->tokens, cl->idle);
}

static int open_error(const char *what, int err)
{
	if (err == -ENOENT)
		fprintf(stderr,
		        "tockctl: %s: no XDP maps pinned in %s (tockd is not running, or "
		        "runs without an `xdp IFACE` directive)\n",
		        what, bpf_dir());
	else if (err == -EACCES || err == -EPERM)
		fprintf(stderr, "tockctl: %s: permission denied on %s (run as root)\n", what,
		        bpf_dir());
	else
		fprintf(stderr, "tockctl: %s: %s: %s\n", what, bpf_dir(), strerror(-err));
	return 1;
}

static int parse_clients_args(int argc, char **argv, size_t *max)
{
	static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {0}};
	char *end;
	int opt;

	*max = 20;
	while ((opt = getopt_long(argc, argv, "n:h", opts, NULL)) != -1) {
		if (opt != 'n')
			return -1;
		*max = strtoul(optarg, &end, 10);
		if (*end || *max == 0 || *max > 100000)
			return -1;
	}
	return optind < argc ? -1 : 0;
}

int cmd_clients(int argc, char **argv)
{
	struct xdp_client *cl;
	int lfd = -1, cfd = -1, err;
	size_t max, n;

	if (parse_clients_args(argc, argv, &max) < 0) {
		fprintf(stderr, "usage: tockctl clients [-n N]   (1 <= N <= 100000, default 20)\n");
		return 2;
	}
	err = xdp_pinned_open(bpf_dir(), NULL, &lfd, &cfd);
	if (err)
		return open_error("clients", err);
	cl = calloc(max, sizeof(*cl));
	err = cl ? xdp_clients_read_fd(lfd, cfd, cl, max, &n) : -ENOMEM;
	close(lfd);
	close(cfd);
	if (!err) {
		printf("%-43s %12s %12s %9s %9s\n", "prefix", "requests", "limited", "tokens",
		       "idle (s)");
		for (size_t i = 0; i < n; i++)
			print_client(&cl[i]);
	} else {
		fprintf(stderr, "tockctl: clients: %s\n", strerror(-err));
	}
	free(cl);
	return err ? 1 : 0;
}

/* ---- probe -------------------------------------------------------------------------------- */

static const char *ts_mode_name(int mode)
{
	switch (mode) {
	case TS_MODE_TIMESTAMPING:
		return "SO_TIMESTAMPING (kernel; NIC where `hwtimestamp` and the driver allow)";
	case TS_MODE_TIMESTAMPNS:
		return "SO_TIMESTAMPNS (kernel, software)";
	case TS_MODE_NONE:
		return "none (the daemon stamps on receive)";
	default:
		return "error";
	}
}

static void probe_io(void)
{
	int err = probe_io_uring();

	if (!err)
		printf("%-28s yes\n", "io_uring");
	else
		printf("%-28s no (%s)\n", "io_uring", strerror(-err));
	printf("%-28s %s\n", "timestamps_ipv4", ts_mode_name(probe_timestamping(AF_INET)));
	printf("%-28s %s\n", "timestamps_ipv6", ts_mode_name(probe_timestamping(AF_INET6)));
}

/* Which AES back-end the NTS crypto runs on here (the daemons choose the same way). */
static void probe_crypto(void)
{
	printf("%-28s %s\n", "aes_siv", siv_impl_default());
}

/* The name of an XDP program by id ("" when it cannot be read, e.g. without CAP_SYS_ADMIN). */
static void prog_name(uint32_t id, char *out, size_t len)
{
	struct bpf_prog_info info;
	uint32_t ilen = sizeof(info);
	int fd = id ? bpf_prog_get_fd_by_id(id) : -1;

	out[0] = 0;
	if (fd < 0)
		return;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &ilen) == 0)
		snprintf(out, len, "%.*s", (int)sizeof(info.name), info.name);
	close(fd);
}

/* linkwatch_list callback: one line per interface with its XDP attachment. */
static void print_link(void *arg, const struct linkwatch_event *ev)
{
	char name[BPF_OBJ_NAME_LEN + 1];

	prog_name(ev->xdp_prog_id, name, sizeof(name));
	printf("  %-16s %5d %-5s xdp %s", ev->ifname, ev->ifindex, ev->up ? "up" : "down",
	       linkwatch_xdp_name(ev->xdp));
	if (ev->xdp_prog_id)
		printf(", prog %u%s%s", ev->xdp_prog_id, name[0] ? " " : "", name);
	printf("\n");
}

static void probe_links(void)
{
	int err;

	printf(
	    "\ninterfaces (name, ifindex, state, XDP attachment; tock's program is tock_xdp):\n");
	err = linkwatch_list(print_link, NULL);
	if (err)
		printf("  cannot list the interfaces: %s\n", strerror(-err));
}

int cmd_probe(int argc, char **argv)
{
	struct xdp_probe xp;
	struct utsname u;
	int xdp_ok;

	if (argc > 1) {
		fprintf(stderr, "usage: tockctl probe\n");
		return 2;
	}
	if (uname(&u) == 0)
		printf("%-28s %s %s\n", "kernel", u.release, u.machine);
	if (geteuid() != 0)
		printf("(not root: the BPF probes may fail with EPERM)\n");
	xdp_ok = xdp_probe_run(&xp);
	xdp_probe_print(stdout, &xp);
	probe_io();
	probe_crypto();
	printf("\nladder: XDP %s; receive path %s; timestamps as above\n",
	       xdp_ok ? "available (native per interface, generic where the driver has none)"
	              : "unavailable (the same filters run in userspace)",
	       probe_io_uring() == 0 ? "io_uring multishot recvmsg" : "recvmmsg/sendmmsg");
	probe_links();
	return 0;
}
