// SPDX-License-Identifier: MIT
/*
 * tockd's rung of the XDP fallback ladder (DESIGN §2, §7): load the program, attach it to
 * every `xdp IFACE native|generic` interface (native falls back to generic inside the
 * loader), pin its maps for tockctl, then keep its clock map current. Any failure only
 * costs the fast path: the workers' userspace filter then applies the same rules.
 *
 * The interfaces are watched through rtnetlink (kmod-free/linkwatch.h) from the main loop:
 * one that does not exist at start-up is attached when it appears, and one that is deleted
 * and re-created (a VLAN or bond rebuilt by the network manager, a container's veth) is
 * attached again. Attaching after the privilege drop needs no capability on kernels that
 * let a bpf_link be made from an already loaded program's fd (5.x and 6.x without
 * unprivileged-BPF restrictions on BPF_LINK_CREATE); where it fails, the failure is logged
 * and the userspace filter takes over. Until every configured interface was attached at
 * start-up, the userspace filter runs too (and stays on: it is never turned off at run time).
 *
 * Pins go to $TOCK_BPF_DIR (as tockctl reads them), else /sys/fs/bpf/tock when /sys/fs/bpf
 * is a bpffs, else RUNDIR/bpf with a bpffs mounted there. The directory is handed to the
 * run user before the privilege drop so that the pins can still be removed at exit.
 */
#include <errno.h>
#include <net/if.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "linkwatch.h"
#include "log.h"
#include "tockd.h"
#include "xdp_loader.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

#define BPF_DIR_DEFAULT "/sys/fs/bpf"

static int is_bpffs(const char *path)
{
	struct statfs sf;

	return statfs(path, &sf) == 0 && (unsigned long)sf.f_type == BPF_FS_MAGIC;
}

/* Makes sure RUNDIR/bpf is a bpffs (mounting one if needed). 0 or -errno. */
static int rundir_bpffs(const struct tock_conf *conf, char *dir, size_t len)
{
	snprintf(dir, len, "%s/bpf", conf->rundir);
	if (mkdir(dir, 0750) < 0 && errno != EEXIST)
		return -errno;
	if (is_bpffs(dir))
		return 0;
	if (mount("bpf", dir, "bpf", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0750") < 0)
		return -errno;
	log_info("xdp: %s is not a bpffs; mounted one at %s (tockctl -r finds it there)",
	         BPF_DIR_DEFAULT, dir);
	return 0;
}

/* Chooses the pin directory, creates it and gives it to the run user. 0 or -errno. */
static int pin_dir_prepare(const struct tock_conf *conf, char *dir, size_t len)
{
	const char *env = getenv("TOCK_BPF_DIR");
	uid_t uid;
	gid_t gid;
	int err = 0;

	if (env && *env)
		snprintf(dir, len, "%s", env);
	else if (is_bpffs(BPF_DIR_DEFAULT))
		snprintf(dir, len, "%s/tock", BPF_DIR_DEFAULT);
	else
		err = rundir_bpffs(conf, dir, len);
	if (err)
		return err;
	if (mkdir(dir, 0750) < 0 && errno != EEXIST)
		return -errno;
	/* after the drop tockd must still be able to unlink its pins in here */
	if (geteuid() == 0 && tockd_user_ids(conf->user, &uid, &gid) == 0 && chown(dir, uid, gid))
		return -errno;
	return 0;
}

static const char *mode_name(int mode)
{
	return mode == CONF_XDP_NATIVE ? "native" : "generic";
}

/* Traffic on some `xdp` interface is not filtered in XDP: make sure the workers filter it.
 * One-way: once on, the userspace filter stays on until restart (a worker may be reading
 * it, so it is never freed before workers_stop). */
static void filter_ensure(struct tockd *d, const char *ifname)
{
	struct tock_filter *f;

	if (!d->xdp_filters)
		return; /* already on */
	f = filter_new(&d->conf, (unsigned)d->n_workers);
	if (!f) {
		log_err("xdp: %s is not filtered in XDP and the userspace filter cannot be "
		        "built: %s",
		        ifname, strerror(errno));
		return;
	}
	atomic_store(&d->filter, f);
	d->xdp_filters = 0;
	log_warn("xdp: %s is not filtered in XDP; the userspace filter runs from now on", ifname);
}

/* Attaches conf.xdp[i] at ifindex (the loader resolves the name again). 0 or -errno; a
 * failure is remembered so that later events for the same ifindex do not retry it. */
static int attach_one(struct tockd *d, int i, int ifindex)
{
	const struct conf_xdp_iface *c = &d->conf.xdp[i];
	int mode = c->mode, err;

	if (d->xdp_failed[i] == ifindex)
		return -EALREADY;
	err = xdp_loader_attach(d->xdp, c->ifname, c->mode, &mode);
	if (err == -ENODEV)
		return err; /* gone again already: a later event tells */
	d->xdp_failed[i] = err ? ifindex : 0;
	if (err)
		filter_ensure(d, c->ifname); /* the loader logged why */
	else
		log_notice("xdp: %s appeared (ifindex %d); attached in %s mode", c->ifname, ifindex,
		           mode_name(mode));
	return err;
}

/*
 * Brings conf.xdp[i] in line with the kernel: the event that got us here may be stale, so
 * the name is looked up again. A link whose interface was deleted (or renamed away) is
 * closed — the kernel already dropped the program from a deleted one — and a new interface
 * of that name is attached.
 */
static void reconcile(struct tockd *d, int i)
{
	const char *name = d->conf.xdp[i].ifname;
	int cur = (int)if_nametoindex(name);
	int att = xdp_loader_attached(d->xdp, name, NULL);

	if (att > 0 && att == cur)
		return;
	if (att > 0) {
		xdp_loader_detach(d->xdp, name);
		if (cur)
			log_notice("xdp: %s was re-created (ifindex %d, was %d)", name, cur, att);
		else
			log_notice("xdp: %s (ifindex %d) is gone; waiting for it to come back",
			           name, att);
	}
	if (cur)
		attach_one(d, i, cur);
}

/* Whether an event may concern conf.xdp[i]: its name, or the ifindex we attached it at. */
static int event_concerns(const struct tockd *d, int i, const struct linkwatch_event *ev)
{
	const char *name = d->conf.xdp[i].ifname;

	if (d->conf.xdp[i].mode == CONF_XDP_OFF)
		return 0;
	return ev->kind == LINKWATCH_RESYNC || !strcmp(ev->ifname, name) ||
	       xdp_loader_attached(d->xdp, name, NULL) == ev->ifindex;
}

/* linkwatch callback (main thread). */
static void on_link(void *arg, const struct linkwatch_event *ev)
{
	struct tockd *d = arg;

	if (ev->kind == LINKWATCH_RESYNC)
		log_warn("xdp: link notifications were lost; checking every interface again");
	for (int i = 0; i < d->conf.n_xdp; i++)
		if (event_concerns(d, i, ev))
			reconcile(d, i);
}

#define LINKWATCH_BUDGET 32 /* datagrams per main-loop wakeup */

int tockd_xdp_fd(const struct tockd *d)
{
	return d->linkwatch ? linkwatch_fd(d->linkwatch) : -1;
}

void tockd_xdp_links(struct tockd *d)
{
	int n;

	if (!d->linkwatch)
		return;
	n = linkwatch_process(d->linkwatch, LINKWATCH_BUDGET);
	if (n < 0) {
		/* a broken socket would wake poll forever: stop watching instead */
		log_err("xdp: interface watching failed (%s); stopped", strerror(-n));
		linkwatch_close(d->linkwatch);
		d->linkwatch = NULL;
	}
}

/* Subscribes to link notifications before the first attach, so that an interface created
 * in between is not missed. Without them, a missing interface stays unattached. */
static void watch_open(struct tockd *d)
{
	int err = linkwatch_open(&d->linkwatch, on_link, d);

	if (err)
		log_warn("xdp: cannot watch interfaces (%s); a missing or re-created interface "
		         "will not be attached",
		         strerror(-err));
}

/* Attaches to every configured interface; *waiting gets how many do not exist yet (and are
 * watched for). Returns how many could not be attached, waiting ones included. */
static int attach_all(struct tockd *d, int *wanted, int *waiting)
{
	int failed = 0, err;

	*wanted = *waiting = 0;
	for (int i = 0; i < d->conf.n_xdp; i++) {
		const char *name = d->conf.xdp[i].ifname;

		if (d->conf.xdp[i].mode == CONF_XDP_OFF)
			continue;
		(*wanted)++;
		err = xdp_loader_attach(d->xdp, name, d->conf.xdp[i].mode, NULL);
		if (err == -ENODEV && d->linkwatch) {
			log_notice("xdp: waiting for %s (no such interface yet); filtering in "
			           "userspace instead meanwhile",
			           name);
			(*waiting)++;
		} else if (err == -ENODEV) {
			log_warn("xdp: no interface %s", name);
		} else if (err) {
			d->xdp_failed[i] = (int)if_nametoindex(name);
		}
		failed += err != 0; /* other failures the loader logged itself */
	}
	return failed;
}

static void pin_maps(struct tockd *d)
{
	int err = pin_dir_prepare(&d->conf, d->bpf_dir, sizeof(d->bpf_dir));

	if (!err)
		err = xdp_loader_pin_maps(d->xdp, d->bpf_dir);
	if (err) {
		log_warn("xdp: maps not pinned (%s): tockctl clients/serverstats cannot see the "
		         "XDP counters; the control socket and metrics still do",
		         strerror(-err));
		d->bpf_dir[0] = 0;
		return;
	}
	log_info("xdp: maps pinned in %s", d->bpf_dir);
}

/* Whether start-up leaves XDP on: something attached, or an interface is awaited. */
static int keep_xdp(int wanted, int failed, int waiting)
{
	if (!wanted)
		return 0;
	if (failed < wanted || waiting)
		return 1;
	log_warn("xdp: no interface attached; filtering in userspace instead");
	return 0;
}

void tockd_xdp_start(struct tockd *d)
{
	int wanted, failed, waiting;

	d->xdp_filters = 0;
	if (!d->conf.n_xdp)
		return;
	if (xdp_loader_open(&d->xdp, &d->conf, NULL)) {
		log_warn("xdp: unavailable; filtering in userspace instead");
		return;
	}
	watch_open(d);
	failed = attach_all(d, &wanted, &waiting);
	if (!keep_xdp(wanted, failed, waiting)) {
		tockd_xdp_stop(d);
		return;
	}
	d->xdp_filters = !failed;
	if (failed > waiting)
		log_warn("xdp: %d of %d interfaces not attached; the userspace filter runs too",
		         failed - waiting, wanted);
	pin_maps(d);
}

void tockd_xdp_clock(struct tockd *d, const struct tock_clock_status *st)
{
	int ifindex, err;
	struct hwts_phc_est e;

	if (!d->xdp)
		return;
	/* the NIC's clock goes with each update: the program converts NIC stamps with it */
	ifindex = xdp_loader_hwts_ifindex(d->xdp);
	xdp_loader_set_phc(d->xdp,
	                   ifindex && hwts_set_estimate(&d->hw, ifindex, &e) == 0 ? &e : NULL);
	err = xdp_loader_set_clock(d->xdp, st, st->leap != CLOCK_LEAP_UNSYNC);
	if (err)
		LOG_RATELIMITED(60, LOG_WARNING, "xdp: cannot update the clock map: %s",
		                strerror(-err));
}

void tockd_xdp_reload(struct tockd *d, const struct tock_conf *fresh)
{
	if (!d->xdp)
		return;
	if (xdp_loader_configure(d->xdp, fresh) == 0)
		log_info("xdp: rate limit, allow/deny and fast path reloaded");
}

void tockd_xdp_stop(struct tockd *d)
{
	linkwatch_close(d->linkwatch);
	d->linkwatch = NULL;
	xdp_loader_destroy(d->xdp);
	d->xdp = NULL;
	d->bpf_dir[0] = 0;
}
