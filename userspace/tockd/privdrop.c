// SPDX-License-Identifier: MIT
/*
 * The last step of start-up (DESIGN §10): everything privileged is open, so become the
 * configured user with no capabilities and no way back (no_new_privs, empty bounding set).
 * Called before the worker threads exist, so the per-thread parts (capabilities) cover them.
 */
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"
#include "tockd.h"

int tockd_user_ids(const char *user, uid_t *uid, gid_t *gid)
{
	struct passwd pw, *res = NULL;
	char buf[1024];

	if (getpwnam_r(user, &pw, buf, sizeof(buf), &res) || !res)
		return -ENOENT;
	*uid = res->pw_uid;
	*gid = res->pw_gid;
	return 0;
}

int rundir_prepare(const struct tock_conf *conf)
{
	uid_t uid;
	gid_t gid;

	if (mkdir(conf->rundir, 0750) < 0 && errno != EEXIST)
		return -errno;
	if (geteuid() == 0 && tockd_user_ids(conf->user, &uid, &gid) == 0 &&
	    chown(conf->rundir, uid, gid) < 0)
		return -errno;
	return 0;
}

static int clear_caps(void)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2];

	memset(data, 0, sizeof(data));
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	return syscall(SYS_capset, &hdr, data) < 0 ? -errno : 0;
}

/* Empties the bounding set while CAP_SETPCAP is still held. */
static void drop_bounding(void)
{
	for (int cap = 0; cap <= 63; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno == EINVAL)
			break; /* past the last capability this kernel knows */
}

static int switch_user(uid_t uid, gid_t gid)
{
	if (setgroups(1, &gid) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
		return -errno;
	if (uid != 0 && setuid(0) == 0)
		return -EPERM; /* root could be regained: refuse to run like that */
	return 0;
}

int privdrop(struct tockd *d)
{
	uid_t uid;
	gid_t gid;
	int err;

	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	if (geteuid() != 0)
		return clear_caps(); /* started unprivileged: keep the user, shed any caps */
	err = tockd_user_ids(d->conf.user, &uid, &gid);
	if (err && d->foreground) {
		log_warn("user %s does not exist: running as root (allowed with -d only)",
		         d->conf.user);
		return 0;
	}
	if (err) {
		log_err("user %s does not exist (create it, or set `user`)", d->conf.user);
		return err;
	}
	drop_bounding();
	err = switch_user(uid, gid);
	if (!err)
		err = clear_caps();
	if (err)
		log_err("cannot drop privileges to %s: %s", d->conf.user, strerror(-err));
	else
		log_info("running as %s (uid %u) without capabilities", d->conf.user,
		         (unsigned)uid);
	return err;
}
