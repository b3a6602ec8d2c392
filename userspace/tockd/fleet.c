// SPDX-License-Identifier: MIT
/*
 * Fleet keys in tockd (`ntskeyseed FILE`, DESIGN §5): an NTP-only server derives the cookie
 * master keys from the fleet's seed itself, so it opens the cookies of every KE server of the
 * fleet without tock-ke running here. The derived ring is published into an in-process key
 * map (the same seqlock layout as RUNDIR/keys), and the workers follow it exactly as they
 * follow tock-ke's map: a new derivation moves the sequence, and they re-key on their next
 * batch.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "tockd.h"

static void fleet_publish(struct tockd *d)
{
	keymap_publish(&d->fleet_km, &d->fleet->ring);
	atomic_store_explicit(&d->keys, &d->fleet_km, memory_order_release);
}

int fleet_start(struct tockd *d)
{
	int err;

	d->fleet = calloc(1, sizeof(*d->fleet));
	if (!d->fleet)
		return -ENOMEM;
	keyring_init(d->fleet, d->conf.ntsrotate);
	err = keyring_fleet_init(d->fleet, d->conf.ntskeyseed, time(NULL));
	if (err) {
		log_err("ntskeyseed %s: %s", d->conf.ntskeyseed, strerror(-err));
		return err;
	}
	d->fleet_shm.magic = KEYMAP_MAGIC;
	d->fleet_shm.version = KEYMAP_VERSION;
	d->fleet_shm.size = sizeof(d->fleet_shm);
	d->fleet_km.shm = &d->fleet_shm;
	d->fleet_km.writable = 1;
	fleet_publish(d);
	log_notice("fleet keys from %s (rotation every %u s): current key id %08x; the key map "
	           "of tock-ke is not used",
	           d->conf.ntskeyseed, d->fleet->rotate, keyring_current(d->fleet)->id);
	return 0;
}

void fleet_tick(struct tockd *d)
{
	int n;

	if (!d->fleet)
		return;
	n = keyring_rotate_if_due(d->fleet, time(NULL));
	if (n < 0) {
		LOG_RATELIMITED(60, LOG_ERR, "fleet key derivation failed: %s", strerror(-n));
		return;
	}
	if (n == 0)
		return;
	fleet_publish(d);
	log_info("fleet keys: current key id %08x", keyring_current(d->fleet)->id);
}

void fleet_stop(struct tockd *d)
{
	if (!d->fleet)
		return;
	if (atomic_load(&d->keys) == &d->fleet_km)
		atomic_store(&d->keys, NULL);
	explicit_bzero(d->fleet, sizeof(*d->fleet));
	explicit_bzero(&d->fleet_shm, sizeof(d->fleet_shm));
	free(d->fleet);
	d->fleet = NULL;
}
