// SPDX-License-Identifier: MIT
/*
 * Privileges (DESIGN §10): tock-ke reads its certificate keys, binds and maps its files
 * first, then runs as `user` with no capabilities and no_new_privs. Started as root when
 * that user does not exist, it refuses to run — except in debug mode (-d), where it warns
 * and stays root so that a developer can try it on a bare machine.
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

#include "ke.h"
#include "log.h"

static int lookup_user(const char *name, uid_t *uid, gid_t *gid)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	int err = getpwnam_r(name, &pw, buf, sizeof(buf), &res);

	if (err)
		return -err;
	if (!res)
		return -ENOENT;
	*uid = pw.pw_uid;
	*gid = pw.pw_gid;
	return 0;
}

int ke_priv_chown(const struct tock_conf *conf, const char *path)
{
	uid_t uid;
	gid_t gid;

	if (geteuid() != 0 || lookup_user(conf->user, &uid, &gid))
		return 0; /* nobody to hand it to */
	return chown(path, uid, gid) < 0 ? -errno : 0;
}

/* mkdir -p for one level below an existing parent is all the packaging needs; a missing
 * parent is reported, not created. */
static int make_dir(const struct tock_conf *conf, const char *path, mode_t mode)
{
	int err;

	if (mkdir(path, mode) < 0 && errno != EEXIST) {
		log_err("cannot create directory %s: %s", path, strerror(errno));
		return -errno;
	}
	err = ke_priv_chown(conf, path);
	if (err)
		log_err("cannot hand %s to user %s: %s", path, conf->user, strerror(-err));
	return err;
}

int ke_priv_prepare_dirs(const struct tock_conf *conf, int debug)
{
	int err = make_dir(conf, conf->statedir, 0700);

	return err ? err : make_dir(conf, conf->rundir, 0755);
}

/* Fails unless the process holds no capability at all. */
static int check_no_caps(void)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data) < 0)
		return -errno;
	if (data[0].effective || data[0].permitted || data[1].effective || data[1].permitted)
		return -EPERM;
	return 0;
}

/* Clears every capability set; what staying uid 0 (`user root`) needs, since setuid(0)
 * keeps them. */
static int clear_caps(void)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2] = {{0}};

	return syscall(SYS_capset, &hdr, data) < 0 ? -errno : 0;
}

static int become(uid_t uid, gid_t gid)
{
	if (setgroups(1, &gid) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
		return -errno;
	if (uid == 0)
		return clear_caps();
	/* paranoia: getting root back must be impossible now */
	if (setuid(0) == 0)
		return -EPERM;
	return 0;
}

int ke_priv_drop(const struct tock_conf *conf, int debug)
{
	uid_t uid;
	gid_t gid;
	int err = 0;

	if (geteuid() != 0) {
		log_info("not started as root: running as uid %u", (unsigned)geteuid());
	} else if ((err = lookup_user(conf->user, &uid, &gid)) == -ENOENT && debug) {
		log_warn("user '%s' does not exist: STAYING ROOT because of -d (never do this "
		         "in production)",
		         conf->user);
		err = 0;
	} else if (err) {
		log_err("cannot drop privileges: user '%s' %s (create it, e.g. `useradd --system "
		        "%s`, or set `user`)",
		        conf->user, err == -ENOENT ? "does not exist" : strerror(-err), conf->user);
		return err;
	} else {
		err = become(uid, gid);
		if (!err)
			err = check_no_caps();
		if (err) {
			log_err("cannot drop privileges to %s: %s", conf->user, strerror(-err));
			return err;
		}
		log_info("running as user %s (uid %u), no capabilities", conf->user, (unsigned)uid);
	}
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	return 0;
}
