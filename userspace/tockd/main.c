// SPDX-License-Identifier: MIT
/*
 * tockd: start-up in the order DESIGN §10 fixes (config, sockets and rings, key map, stats
 * file, XDP program and its maps, control socket and metrics listener, then drop privileges
 * and start the workers), then the main thread's loop: signals, the control socket, the
 * metrics listener, chronyd's replies, link notifications for the XDP interfaces, and a
 * once-a-second tick that publishes the clock status (to the workers and the XDP fast path),
 * follows the key map (or derives the fleet keys) and samples the NIC clocks.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "daemon_args.h"
#include "siv.h"
#include "log.h"
#include "sdnotify.h"
#include "tockd.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: tockd -f FILE [-n] [-d] [--no-io-uring]\n"
	           "  -f FILE          configuration file\n"
	           "  -n               check the configuration and exit\n"
	           "  -d               stay in the foreground, log to stderr\n"
	           "  --no-io-uring    use the recvmmsg/sendmmsg transport\n");
}

static int parse_args(struct tockd *d, int argc, char **argv)
{
	struct daemon_args a;
	int err = daemon_parse_args(argc, argv, 1, &a);

	if (!err && a.help) {
		usage(stdout);
		exit(0);
	}
	d->conf_path = a.config;
	d->check_only = a.check_only;
	d->foreground = a.foreground;
	d->no_io_uring = a.no_io_uring;
	return err;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void publish_clock(struct tockd *d)
{
	struct tock_clock_status st;

	clock_source_status(&d->clk, &d->conf, &st, &d->tracking);
	clock_cell_publish(&d->clock, &st);
	tockd_xdp_clock(d, &st);
}

/* Whether the userspace filter's rules differ (XDP takes new ones on reload; it does not). */
static int filter_changed(const struct tock_conf *old, const struct tock_conf *new)
{
	return memcmp(&old->ratelimit, &new->ratelimit, sizeof(old->ratelimit)) ||
	       old->n_allow != new->n_allow || old->n_deny != new->n_deny ||
	       memcmp(old->allow, new->allow, sizeof(old->allow)) ||
	       memcmp(old->deny, new->deny, sizeof(old->deny));
}

/* Warns about changed settings that only a restart applies. */
static void reload_warn(const struct tockd *d, const struct tock_conf *new)
{
	const struct tock_conf *old = &d->conf;

	if (memcmp(old->listen, new->listen, sizeof(old->listen)) ||
	    old->n_listen != new->n_listen || old->workers != new->workers ||
	    old->io_uring != new->io_uring || strcmp(old->rundir, new->rundir) ||
	    strcmp(old->controlsocket, new->controlsocket) ||
	    strcmp(old->chronyd_socket, new->chronyd_socket) ||
	    old->n_hwtimestamp != new->n_hwtimestamp || old->n_xdp != new->n_xdp ||
	    memcmp(old->xdp, new->xdp, sizeof(old->xdp)) ||
	    old->metrics_enabled != new->metrics_enabled ||
	    memcmp(&old->metrics, &new->metrics, sizeof(old->metrics)) ||
	    strcmp(old->ntskeyseed, new->ntskeyseed) || old->ntsrotate != new->ntsrotate)
		log_warn("reload: listen/workers/io_uring/rundir/controlsocket/hwtimestamp/xdp "
		         "interfaces/metrics/ntskeyseed changes need a restart");
	if (new->xdp_afxdp && !d->n_xsks)
		log_warn("reload: xdp afxdp on needs a restart (AF_XDP sockets are made at "
		         "start-up)");
	if (!d->xdp_filters && filter_changed(old, new))
		log_warn("reload: ratelimit/allow/deny changes need a restart (the filter runs "
		         "in userspace)");
}

/* SIGHUP: re-read the file; on error keep running as before. Workers never read the config,
 * so only the main thread's clock settings change in place. */
static void reload(struct tockd *d)
{
	static struct tock_conf fresh; /* large: not on the stack */
	char err[512];

	if (conf_load(&fresh, d->conf_path, err, sizeof(err)) < 0) {
		log_err("reload failed, keeping the running configuration: %s", err);
		return;
	}
	reload_warn(d, &fresh);
	tockd_xdp_reload(d, &fresh);
	if (fresh.clock_mode == CONF_CLOCK_CHRONYD && d->clk.fd < 0)
		log_warn("reload: clock follow chronyd needs a restart (its socket is bound at "
		         "start-up); keeping the current clock source");
	else
		d->clk.mode = fresh.clock_mode;
	d->conf.clock_mode = d->clk.mode;
	d->conf.stratum = fresh.stratum;
	memcpy(d->conf.refid, fresh.refid, sizeof(d->conf.refid));
	publish_clock(d);
	log_notice("configuration reloaded from %s", d->conf_path);
}

static void tick(struct tockd *d)
{
	clock_source_tick(&d->clk);
	publish_clock(d);
	keys_poll(d);
	fleet_tick(d);
	hwts_set_sample(&d->hw);
}

/* 1 to keep running, 0 to stop. */
static int handle_signal(struct tockd *d, int sfd)
{
	struct signalfd_siginfo si;

	while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			reload(d);
			continue;
		}
		log_notice("signal %u: stopping", si.ssi_signo);
		return 0;
	}
	return 1;
}

/* signals, control socket, chronyd, XDP interface watcher; then the metrics listener */
#define POLL_FIXED 4

static void main_loop(struct tockd *d, int sfd)
{
	int64_t next = mono_ms() + 1000;

	for (;;) {
		struct pollfd p[POLL_FIXED + 1 + HTTP_MAX_CONNS] = {
		    {.fd = sfd, .events = POLLIN},
		    {.fd = d->ctl_fd, .events = POLLIN},
		    {.fd = clock_source_fd(&d->clk), .events = POLLIN},
		    {.fd = tockd_xdp_fd(d), .events = POLLIN}};
		int n = POLL_FIXED + http_pollfds(&d->http, p + POLL_FIXED);
		int64_t wait = next - mono_ms();

		if (poll(p, (nfds_t)n, wait < 0 ? 0 : (int)wait) < 0 && errno != EINTR)
			log_err("poll: %s", strerror(errno));
		if ((p[0].revents & POLLIN) && !handle_signal(d, sfd))
			return;
		if (p[1].revents & POLLIN)
			control_serve(d);
		if (p[2].revents & POLLIN) {
			clock_source_input(&d->clk);
			publish_clock(d);
		}
		if (p[3].revents & POLLIN)
			tockd_xdp_links(d);
		http_serve(&d->http, p + POLL_FIXED, mono_ms());
		if (mono_ms() >= next) {
			tick(d);
			next += 1000;
			if (next <
			    mono_ms()) /* suspended or stalled: don't catch up tick by tick */
				next = mono_ms() + 1000;
		}
	}
}

/* Signals arrive through a signalfd in the main loop; the mask is inherited by the workers. */
static int signals_setup(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	signal(SIGPIPE, SIG_IGN);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL))
		return -EINVAL;
	return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

static void hwts_setup(struct tockd *d)
{
	for (int i = 0; i < d->conf.n_hwtimestamp; i++) {
		int err = hwts_set_add(&d->hw, d->conf.hwtimestamp[i]);

		if (err)
			log_warn("hwtimestamp %s: %s; using software timestamps",
			         d->conf.hwtimestamp[i], strerror(-err));
		else
			log_info("hwtimestamp %s: NIC receive timestamps on",
			         d->conf.hwtimestamp[i]);
	}
}

/* The metrics listener, when configured. 0 or -errno. */
static int metrics_open(struct tockd *d)
{
	char addr[64];
	int err;

	if (!d->conf.metrics_enabled)
		return 0;
	conf_addr_str(&d->conf.metrics, addr, sizeof(addr));
	err = http_open(&d->http, &d->conf.metrics, tockd_metrics_text, d);
	if (err)
		log_err("metrics %s: %s", addr, strerror(-err));
	else
		log_info("metrics on http://%s/metrics", addr);
	return err;
}

/* The keys: derived here in fleet mode, else tock-ke's key map (when it exists). */
static int keys_start(struct tockd *d)
{
	if (d->conf.ntskeyseed[0])
		return fleet_start(d);
	keys_poll(d);
	return 0;
}

/* The control socket and the metrics listener. 0 or -errno. */
static int control_start(struct tockd *d)
{
	int err = control_open(d);

	if (err) {
		log_err("control socket %s: %s", d->conf.controlsocket, strerror(-err));
		return err;
	}
	return metrics_open(d);
}

/* Everything privileged, in order (sockets and rings, XDP, maps, control sockets); then the
 * privilege drop. 0 or -errno. */
static int start(struct tockd *d)
{
	int err = rundir_prepare(&d->conf);

	if (err) {
		log_err("rundir %s: %s", d->conf.rundir, strerror(-err));
		return err;
	}
	hwts_setup(d);
	clock_source_open(&d->clk, &d->conf); /* failure: unsynchronised until restart */
	publish_clock(d);
	err = workers_create(d);
	if (err)
		return err;
	tockd_xdp_start(d);
	publish_clock(d); /* the fast path's clock map, before the first tick */
	xsk_workers_create(d);
	stats_file_set_afxdp(d, d->n_xsks); /* the counter blocks really in use */
	err = workers_filter_setup(d);
	if (!err)
		err = keys_start(d);
	if (!err)
		err = control_start(d);
	if (err)
		return err;
	err = privdrop(d);
	if (!err)
		err = workers_start(d);
	if (!err)
		err = xsk_workers_start(d);
	return err;
}

static void stop(struct tockd *d)
{
	xsk_workers_stop(d); /* first: they read the filter that workers_stop frees */
	workers_stop(d);
	http_close(&d->http);
	control_close(d);
	tockd_xdp_stop(d);
	keys_close(d);
	fleet_stop(d);
	stats_file_close(d);
	clock_source_close(&d->clk);
	hwts_set_close(&d->hw);
}

int main(int argc, char **argv)
{
	static struct tockd d = {.ctl_fd = -1};
	char err[512];
	int sfd, ret = 1;

	if (parse_args(&d, argc, argv) < 0) {
		usage(stderr);
		return 2;
	}
	log_init("tockd", d.foreground || d.check_only, LOG_INFO);
	if (conf_load(&d.conf, d.conf_path, err, sizeof(err)) < 0) {
		fprintf(stderr, "tockd: %s\n", err);
		return 1;
	}
	if (d.check_only) {
		printf("tockd: configuration %s is valid\n", d.conf_path);
		return 0;
	}
	d.start_time = time(NULL);
	d.clk.fd = -1;
	http_init(&d.http);
	sfd = signals_setup();
	if (sfd < 0) {
		log_err("signals: %s", strerror(errno));
		return 1;
	}
	if (start(&d) == 0) {
		sdnotify_ready();
		log_notice("serving NTP (AES-SIV on %s)", siv_impl_default());
		main_loop(&d, sfd);
		ret = 0;
	}
	stop(&d);
	close(sfd);
	return ret;
}
