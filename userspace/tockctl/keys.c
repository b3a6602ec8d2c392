// SPDX-License-Identifier: MIT
/*
 * `tockctl keys [--export FILE [--nks 0|1]]`: what the key map (RUNDIR/keys) holds — ids,
 * AEADs, when each became (or becomes) current and which key is current. Key bytes are never
 * printed; --export writes them to FILE (mode 0600) in chrony's ntskeys format, for migrating to or
 * mixing with chronyd.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "keymap.h"
#include "keyring.h"
#include "tockctl.h"

struct keys_args {
	const char *export_path;
	int nks; /* chrony's ntskeys version: 0 (chrony <= 4.3) or 1 (>= 4.4) */
};

static int parse_keys_args(int argc, char **argv, struct keys_args *a)
{
	static const struct option opts[] = {
	    {"export", required_argument, NULL, 'e'},
	    {"nks", required_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	int opt;

	a->export_path = NULL;
	a->nks = 1;
	while ((opt = getopt_long(argc, argv, "e:h", opts, NULL)) != -1) {
		if (opt == 'e')
			a->export_path = optarg;
		else if (opt == 'v' && (!strcmp(optarg, "0") || !strcmp(optarg, "1")))
			a->nks = optarg[0] - '0';
		else
			return -1;
	}
	return optind < argc ? -1 : 0;
}

/* "3d 04:05:06 ago", or "in 00:00:10" for the next key, not current yet. */
static const char *fmt_since(long long secs, char *buf, size_t len)
{
	const char *pre = secs < 0 ? "in " : "", *post = secs < 0 ? "" : " ago";
	long long s = secs < 0 ? -secs : secs;

	if (s >= 86400)
		snprintf(buf, len, "%s%lldd %02lld:%02lld:%02lld%s", pre, s / 86400, s / 3600 % 24,
		         s / 60 % 60, s % 60, post);
	else
		snprintf(buf, len, "%s%02lld:%02lld:%02lld%s", pre, s / 3600, s / 60 % 60, s % 60,
		         post);
	return buf;
}

static void print_keys(const char *path, const struct keymap_snapshot *snap, time_t now)
{
	static const char *const role[] = {"previous", "previous", "current", "next"};
	char since[48];

	printf("Key map: %s (sequence %llu)\n", path, (unsigned long long)snap->seq);
	printf("%-4s  %-10s  %-10s  %-4s  %-18s  %s\n", "slot", "id", "id (hex)", "aead",
	       "current from", "role");
	for (int rel = -2; rel <= 1; rel++) {
		unsigned i = keymap_slot_rel(snap, rel);
		const struct keymap_slot *s = &snap->slots[i];

		if (!s->valid) {
			printf("%-4u  %-10s  %-10s  %-4s  %-18s  %s\n", i, "-", "-", "-", "-",
			       "empty");
			continue;
		}
		printf("%-4u  %-10u  0x%08x  %-4u  %-18s  %s\n", i, s->id, s->id, s->aead,
		       fmt_since((long long)(now - s->current_from), since, sizeof(since)),
		       role[rel + 2]);
	}
}

static int export_keys(const struct keymap_snapshot *snap, const struct keys_args *a, time_t now)
{
	struct keyring *kr = calloc(1, sizeof(*kr));
	int err;

	if (!kr)
		return -ENOMEM;
	keyring_init(kr, 86400);
	kr->ring = *snap;
	/* chrony's file records how long the current key has been current */
	kr->last_rotation = snap->slots[snap->current_slot].current_from;
	umask(077);
	err = keyring_export_chrony(kr, a->export_path, a->nks, now);
	explicit_bzero(kr, sizeof(*kr));
	free(kr);
	return err;
}

static int read_map(const char *path, struct keymap_snapshot *snap)
{
	struct keymap km;
	int err = keymap_open(&km, path);

	if (err == -ENOENT) {
		fprintf(stderr, "tockctl: no key map at %s (is tock-ke running?)\n", path);
		return 1;
	}
	if (err == -EACCES || err == -EPERM) {
		fprintf(stderr,
		        "tockctl: %s: permission denied (the key map is readable by root "
		        "and the tock user only)\n",
		        path);
		return 1;
	}
	if (err) {
		fprintf(stderr, "tockctl: %s: %s\n", path,
		        err == -EPROTO ? "not a tock key map of this version" : strerror(-err));
		return 1;
	}
	err = keymap_read(&km, snap);
	keymap_close(&km);
	if (err) {
		fprintf(stderr, "tockctl: %s: the writer is stuck mid-update\n", path);
		return 1;
	}
	return 0;
}

int cmd_keys(int argc, char **argv)
{
	struct keymap_snapshot snap;
	struct keys_args a;
	char path[4096];
	time_t now = time(NULL);
	int rc, err;

	if (parse_keys_args(argc, argv, &a) < 0) {
		fprintf(stderr, "usage: tockctl keys [--export FILE [--nks 0|1]]\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/keys", tockctl_rundir);
	rc = read_map(path, &snap);
	if (rc)
		return rc;
	print_keys(path, &snap, now);
	if (a.export_path) {
		err = export_keys(&snap, &a, now);
		if (err == -EINVAL)
			fprintf(stderr,
			        "tockctl: the key map does not hold a full ring of four "
			        "keys%s\n",
			        a.nks == 0 ? " of one AEAD (NKS0)" : "");
		if (err)
			rc = 1; /* keyring_export_chrony() has said why */
		else
			printf("Exported to %s (chrony ntskeys, NKS%d, mode 0600)\n", a.export_path,
			       a.nks);
	}
	explicit_bzero(&snap, sizeof(snap));
	return rc;
}
