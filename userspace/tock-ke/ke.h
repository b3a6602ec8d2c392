/* SPDX-License-Identifier: MIT */
/*
 * tock-ke's internal interfaces: the state the main thread sets up and the KE worker
 * threads share (DESIGN §1, §10).
 *
 * Threads: the main thread owns the key ring, the key map, signals and certificate
 * reloads; each worker thread owns its listening sockets (one SO_REUSEPORT socket per
 * address), an epoll set, its connections and their deadline list. Workers read the
 * current master key from the key map, like tockd does.
 */
#ifndef TOCK_KE_H
#define TOCK_KE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "conf.h"
#include "keymap.h"
#include "keyring.h"
#include "stats.h"

struct ke_tls_server;
struct ke_ratelimit;

#define KE_MAX_THREADS 64

/* Everything the workers share. */
struct ke_server {
	const struct tock_conf *conf;
	struct keymap km;            /* read by workers for the current key */
	struct tock_ke_stats *stats; /* shared file, relaxed atomic adds */
	struct stats_file_hdr *stats_hdr;
	struct ke_ratelimit *rl; /* NULL when ntsratelimit is off */

	pthread_mutex_t tls_lock; /* guards tls (swapped on reload) */
	struct ke_tls_server *tls;

	uint16_t aeads[CONF_MAX_AEADS]; /* AEADs offered, in preference order */
	int n_aeads;
	int64_t timeout_ms; /* whole-session deadline */
	atomic_int n_conns; /* open sessions over all threads */
	atomic_int stop;

	int n_threads;
	int n_listen;    /* listening sockets per thread (one per address) */
	int *listen_fds; /* address k, thread t at k * n_threads + t */
};

/* Adds n to a shared counter. */
static inline void ke_count(struct ke_server *srv, enum tock_ke_stat id, uint64_t n)
{
	__atomic_fetch_add(&srv->stats->c[id], n, __ATOMIC_RELAXED);
}

/* Monotonic milliseconds. */
int64_t ke_now_ms(void);

/* ---- tls server handle (main.c) ---- */

/* A reference to the current certificates; drop it with ke_tls_server_put(). */
struct ke_tls_server *ke_server_tls(struct ke_server *srv);

/* ---- listen.c ---- */

/* Opens and binds n_threads SO_REUSEPORT listening sockets per ntslisten address. 0/-errno. */
int ke_listen_open(struct ke_server *srv);
void ke_listen_close(struct ke_server *srv);

/* ---- worker.c ---- */

/* Runs one worker thread's event loop until srv->stop; arg is a struct ke_worker_arg. */
void *ke_worker_main(void *arg);

struct ke_worker_arg {
	struct ke_server *srv;
	int index;
};

/* ---- ratelimit.c ---- */

/* A per-source connection limiter: token buckets keyed by IPv4 /32 or IPv6 /64 in a
 * fixed-size table shared by the workers. NULL on failure. */
struct ke_ratelimit *ke_ratelimit_new(uint32_t rate, uint32_t burst);
void ke_ratelimit_free(struct ke_ratelimit *rl);

/* 1 if a new connection from addr may proceed (a token taken), 0 if over the limit. */
int ke_ratelimit_allow(struct ke_ratelimit *rl, const struct sockaddr_storage *addr,
                       int64_t now_ms);

/* ---- keys.c ---- */

/* Loads the ring from STATEDIR/ntskeys (or generates and saves one; fleet mode derives
 * it), creates RUNDIR/keys and publishes. 0/-errno. */
int ke_keys_init(struct ke_server *srv, struct keyring *kr);

/* Rotates when due, then saves and publishes; called once a second. */
void ke_keys_tick(struct ke_server *srv, struct keyring *kr);

/* A worker's sealing key: a SIV instance keyed with the key map's current key. */
struct ke_sealer {
	uint64_t seq; /* key map sequence it was keyed at (0: never) */
	uint32_t key_id;
	struct siv *siv;
};

/* Rekeys the sealer if the key map changed. 0, or -errno (no valid current key). */
int ke_sealer_refresh(struct ke_sealer *s, const struct keymap *km);
void ke_sealer_free(struct ke_sealer *s);

/* ---- session.c ---- */

struct ke_tls_conn;
struct rand_pool;

/*
 * Answers a complete request buffer: parses it, on success exports the keys from the TLS
 * session and seals 8 cookies. Writes the response to out (cap bytes) and returns its
 * length, -EAGAIN while the request is incomplete, or another -errno if nothing can be
 * sent (the caller closes).
 */
int ke_session_answer(struct ke_server *srv, struct ke_tls_conn *tls, struct ke_sealer *sealer,
                      struct rand_pool *rp, const uint8_t *req, size_t req_len, uint8_t *out,
                      size_t cap);

/* ---- statsfile.c ---- */

/* Creates RUNDIR/tock-ke.stats (header + one struct tock_ke_stats), maps it, zeroes the
 * counters. 0/-errno. */
int ke_stats_open(struct ke_server *srv);
void ke_stats_close(struct ke_server *srv);

/* ---- priv.c ---- */

/* Prepares the state and run directories for `user` (creates, chowns when root). 0/-errno. */
int ke_priv_prepare_dirs(const struct tock_conf *conf, int debug);

/* Hands a file made before the drop to conf->user (a no-op unless root and the user
 * exists). 0/-errno. */
int ke_priv_chown(const struct tock_conf *conf, const char *path);

/* Drops to conf->user with no capabilities (see priv.c for the root-without-user case). */
int ke_priv_drop(const struct tock_conf *conf, int debug);

#endif
