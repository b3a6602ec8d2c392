// SPDX-License-Identifier: MIT
/*
 * tock-ke's side of the cookie master keys: load or make the ring, publish it to the key
 * map that tockd reads, rotate on schedule; and the workers' sealing key, which they take
 * from the same key map so that tock-ke and tockd always agree on the current key.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ke.h"
#include "log.h"
#include "siv.h"

static int join_path(char *out, size_t cap, const char *dir, const char *name)
{
	int n = snprintf(out, cap, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

/* Shows the current key in the counters file for tockctl. */
static void publish(struct ke_server *srv, const struct keyring *kr)
{
	const struct keymap_slot *cur = keyring_current(kr);

	keymap_publish(&srv->km, &kr->ring);
	if (srv->stats_hdr && cur) {
		__atomic_store_n(&srv->stats_hdr->key_id, cur->id, __ATOMIC_RELAXED);
		__atomic_store_n(&srv->stats_hdr->key_created, cur->current_from, __ATOMIC_RELAXED);
	}
}

static int save(const struct ke_server *srv, const struct keyring *kr, time_t now)
{
	char path[PATH_MAX];
	int err;

	if (kr->fleet)
		return 0; /* derived from the seed: nothing worth persisting */
	err = join_path(path, sizeof(path), srv->conf->statedir, "ntskeys");
	if (!err)
		err = keyring_save(kr, path, now);
	if (err)
		log_err("cannot save keys to %s/ntskeys: %s", srv->conf->statedir, strerror(-err));
	return err;
}

/* Loads the persisted ring, or makes a new one when there is none. A malformed file is an
 * error: overwriting it would silently invalidate every client's cookies. */
static int load_or_generate(struct ke_server *srv, struct keyring *kr, time_t now)
{
	char path[PATH_MAX];
	int err;

	err = join_path(path, sizeof(path), srv->conf->statedir, "ntskeys");
	if (err)
		return err;
	err = keyring_load(kr, path, now);
	if (err == -ENOENT) {
		log_notice("no key file %s: generating new cookie keys", path);
		err = keyring_generate(kr, now);
		return err ? err : save(srv, kr, now);
	}
	if (err) {
		log_err("cannot load keys from %s: %s", path, strerror(-err));
		return err;
	}
	log_info("loaded cookie keys from %s", path);
	err = keyring_rotate_if_due(kr, now);
	return err > 0 ? save(srv, kr, now) : err;
}

int ke_keys_init(struct ke_server *srv, struct keyring *kr)
{
	const struct tock_conf *c = srv->conf;
	char path[PATH_MAX];
	time_t now = time(NULL);
	int err;

	keyring_init(kr, c->ntsrotate);
	if (c->ntskeyseed[0]) {
		err = keyring_fleet_init(kr, c->ntskeyseed, now);
		if (err)
			log_err("cannot use key seed %s: %s", c->ntskeyseed, strerror(-err));
	} else {
		err = load_or_generate(srv, kr, now);
	}
	if (err)
		return err;
	err = join_path(path, sizeof(path), c->rundir, "keys");
	if (!err)
		err = keymap_create(&srv->km, path);
	if (!err)
		err = ke_priv_chown(c, path); /* tockd, running as that user, maps it too */
	if (err) {
		log_err("cannot create key map %s/keys: %s", c->rundir, strerror(-err));
		return err;
	}
	publish(srv, kr);
	log_info("current cookie key id %08x, rotation every %u s%s", keyring_current(kr)->id,
	         kr->rotate, kr->fleet ? " (fleet keys)" : "");
	return 0;
}

void ke_keys_tick(struct ke_server *srv, struct keyring *kr)
{
	time_t now = time(NULL);
	int n = keyring_rotate_if_due(kr, now);

	if (n < 0) {
		LOG_RATELIMITED(60, LOG_ERR, "key rotation failed: %s", strerror(-n));
		return;
	}
	if (n == 0)
		return;
	/* Publish even if saving failed: serving with the new key beats serving stale ones,
	 * and the save is retried at the next rotation. */
	save(srv, kr, now);
	publish(srv, kr);
	ke_count(srv, KE_STAT_ROTATIONS, (uint64_t)n);
	log_info("rotated cookie keys, current id %08x", keyring_current(kr)->id);
}

int ke_sealer_refresh(struct ke_sealer *s, const struct keymap *km)
{
	struct keymap_snapshot snap;
	const struct keymap_slot *cur;
	int err;

	if (s->siv && s->seq == keymap_seq(km))
		return 0;
	err = keymap_read(km, &snap);
	if (err)
		return s->siv ? 0 : err; /* keep the key we have */
	cur = &snap.slots[snap.current_slot % KEYMAP_SLOTS];
	err = -ENOKEY;
	if (!cur->valid || !siv_key_len(cur->aead))
		goto out;
	if (s->siv && siv_aead(s->siv) != cur->aead) {
		siv_free(s->siv);
		s->siv = NULL;
	}
	err = -ENOMEM;
	if (!s->siv && !(s->siv = siv_new(cur->aead)))
		goto out;
	err = siv_set_key(s->siv, cur->key, siv_key_len(cur->aead));
	if (!err) {
		s->seq = snap.seq;
		s->key_id = cur->id;
	}
out:
	explicit_bzero(&snap, sizeof(snap));
	return err;
}

void ke_sealer_free(struct ke_sealer *s)
{
	siv_free(s->siv);
	s->siv = NULL;
}
