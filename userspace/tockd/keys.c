// SPDX-License-Identifier: MIT
/*
 * Following the key map that tock-ke writes (RUNDIR/keys). tockd starts and serves plain NTP
 * without it; NTS requests get NAKs until it appears. The main thread looks once a second and
 * maps it read-only when it shows up, or again when tock-ke replaced the file (a new inode).
 * A replaced map stays mapped until exit, since a worker may still be reading it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "tockd.h"

void keys_poll(struct tockd *d)
{
	char path[CONF_PATH_MAX + 8];
	struct keymap *km;
	struct stat st;
	int err;

	if (d->fleet)
		return; /* fleet keys are derived here (fleet.c) */
	snprintf(path, sizeof(path), "%s/keys", d->conf.rundir);
	if (stat(path, &st) < 0) {
		if (!d->keys_logged++)
			log_notice("no key map at %s yet: NTS requests get NAKs until tock-ke "
			           "creates it",
			           path);
		return;
	}
	if (atomic_load(&d->keys) && st.st_ino == d->keys_ino)
		return;
	if (d->n_keymaps >= TOCKD_MAX_KEYMAPS) {
		LOG_RATELIMITED(3600, LOG_WARNING, "key map replaced too often; restart tockd");
		return;
	}
	km = &d->keymaps[d->n_keymaps];
	err = keymap_open(km, path);
	if (err) {
		/* -EPROTO while tock-ke is still sizing a fresh file: next second */
		LOG_RATELIMITED(60, LOG_WARNING, "key map %s: %s", path, strerror(-err));
		return;
	}
	d->n_keymaps++;
	d->keys_ino = st.st_ino;
	atomic_store_explicit(&d->keys, km, memory_order_release);
	log_info("key map %s mapped", path);
}

void keys_close(struct tockd *d)
{
	atomic_store(&d->keys, NULL);
	for (int i = 0; i < d->n_keymaps; i++)
		keymap_close(&d->keymaps[i]);
	d->n_keymaps = 0;
}
