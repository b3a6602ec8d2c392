// SPDX-License-Identifier: MIT
/*
 * tockd's rung of the XDP fallback ladder (DESIGN §2, §7): load the program, attach it to
 * every `xdp IFACE native|generic` interface (native falls back to generic inside the
 * loader), pin its maps for tockctl, then keep its clock map current. Any failure only
 * costs the fast path: the workers' userspace filter then applies the same rules.
 *
 * Pins go to $TOCK_BPF_DIR (as tockctl reads them), else /sys/fs/bpf/tock when /sys/fs/bpf
 * is a bpffs, else RUNDIR/bpf with a bpffs mounted there. The directory is handed to the
 * run user before the privilege drop so that the pins can still be removed at exit.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

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

/* Attaches to every configured interface; returns how many could not be attached. */
static int attach_all(struct tockd *d, int *wanted)
{
	int failed = 0, err;

	*wanted = 0;
	for (int i = 0; i < d->conf.n_xdp; i++) {
		if (d->conf.xdp[i].mode == CONF_XDP_OFF)
			continue;
		(*wanted)++;
		err = xdp_loader_attach(d->xdp, d->conf.xdp[i].ifname, d->conf.xdp[i].mode, NULL);
		if (err == -ENODEV)
			log_warn("xdp: no interface %s", d->conf.xdp[i].ifname);
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
			 "XDP counters; the control socket and metrics still do", strerror(-err));
		d->bpf_dir[0] = 0;
		return;
	}
	log_info("xdp: maps pinned in %s", d->bpf_dir);
}

void tockd_xdp_start(struct tockd *d)
{
	int wanted, failed;

	d->xdp_filters = 0;
	if (!d->conf.n_xdp)
		return;
	if (xdp_loader_open(&d->xdp, &d->conf, NULL)) {
		log_warn("xdp: unavailable; filtering in userspace instead");
		return;
	}
	failed = attach_all(d, &wanted);
	if (!wanted || failed == wanted) {
		if (wanted)
			log_warn("xdp: no interface attached; filtering in userspace instead");
		xdp_loader_destroy(d->xdp);
		d->xdp = NULL;
		return;
	}
	d->xdp_filters = !failed;
	if (failed)
		log_warn("xdp: %d of %d interfaces not attached; the userspace filter runs too",
			 failed, wanted);
	pin_maps(d);
}

void tockd_xdp_clock(struct tockd *d, const struct tock_clock_status *st)
{
	int err;

	if (!d->xdp)
		return;
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
	xdp_loader_destroy(d->xdp);
	d->xdp = NULL;
	d->bpf_dir[0] = 0;
}
