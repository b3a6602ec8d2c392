// SPDX-License-Identifier: MIT
/*
 * tock-ke: the NTS-KE server (RFC 8915 §4) and owner of the cookie master keys.
 *
 *   tock-ke -f FILE [-n] [-d]     -n: check the config and certificates, then exit 0/1
 *                                 -d: stay in the foreground, log to stderr
 *
 * Start-up order (DESIGN §10): certificates and keys are read, sockets bound and shared
 * files mapped while privileged; then the process drops to `user` before any TLS byte
 * is parsed. The main thread then only handles signals, key rotation and certificate
 * reloads; worker threads serve the connections (worker.c).
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "cookie.h"
#include "ke.h"
#include "daemon_args.h"
#include "log.h"
#include "sdnotify.h"
#include "tls.h"

#define CERT_CHECK_TICKS 5 /* seconds between looks at the certificate files' mtimes */
#define AEAD_GCM_SIV     30

/* A fingerprint of the certificate and key files, to notice replaced files. */
struct cert_stamp {
	struct timespec mtime[2 * CONF_MAX_CERTS];
	ino_t ino[2 * CONF_MAX_CERTS];
};

static void usage(FILE *f)
{
	fprintf(f, "usage: tock-ke -f FILE [-n] [-d]\n"
	           "  -f FILE  configuration file\n"
	           "  -n       check the configuration and certificates, then exit\n"
	           "  -d       debug: foreground, log to stderr\n");
}

/* The configured AEADs this build and OpenSSL can serve, in the configured order. */
static int pick_aeads(struct ke_server *srv)
{
	const struct tock_conf *c = srv->conf;
	int i, a;

	srv->n_aeads = 0;
	for (i = 0; i < c->n_ntsaeads; i++) {
		a = c->ntsaeads[i];
		if (a == AEAD_GCM_SIV && !ke_tls_has_gcm_siv()) {
			log_notice("AEAD 30 (AES-128-GCM-SIV) not offered: this OpenSSL lacks it");
			continue;
		}
		if (!cookie_len(a)) {
			log_warn("AEAD %d not offered: not supported by tock", a);
			continue;
		}
		srv->aeads[srv->n_aeads++] = (uint16_t)a;
	}
	if (!srv->n_aeads)
		log_err("none of the ntsaeads can be served");
	return srv->n_aeads ? 0 : -EINVAL;
}

struct ke_tls_server *ke_server_tls(struct ke_server *srv)
{
	struct ke_tls_server *s;

	pthread_mutex_lock(&srv->tls_lock);
	s = ke_tls_server_get(srv->tls);
	pthread_mutex_unlock(&srv->tls_lock);
	return s;
}

static void cert_stamp(const struct tock_conf *c, struct cert_stamp *st)
{
	struct stat sb;
	int i;

	memset(st, 0, sizeof(*st));
	for (i = 0; i < 2 * c->n_certs; i++) {
		const char *path = i % 2 ? c->certs[i / 2].key : c->certs[i / 2].cert;

		if (stat(path, &sb) == 0) {
			st->mtime[i] = sb.st_mtim;
			st->ino[i] = sb.st_ino;
		}
	}
}

/* Builds new TLS contexts and swaps them in; on failure the old ones keep serving.
 * Connections in flight hold references to the contexts they started with. */
static void reload_certs(struct ke_server *srv, struct cert_stamp *stamp)
{
	struct ke_tls_server *fresh, *old;
	char err[512];

	cert_stamp(srv->conf, stamp);
	if (ke_tls_server_new(srv->conf->certs, srv->conf->n_certs, &fresh, err, sizeof(err))) {
		log_err("certificate reload failed, keeping the current ones: %s", err);
		return;
	}
	pthread_mutex_lock(&srv->tls_lock);
	old = srv->tls;
	srv->tls = fresh;
	pthread_mutex_unlock(&srv->tls_lock);
	ke_tls_server_put(old);
	log_notice("certificates reloaded");
}

static void check_cert_files(struct ke_server *srv, struct cert_stamp *stamp)
{
	struct cert_stamp now;

	cert_stamp(srv->conf, &now);
	if (memcmp(&now, stamp, sizeof(now)) != 0) {
		log_info("certificate files changed");
		reload_certs(srv, stamp);
	}
}

/* Signals as file descriptor events, blocked in every thread (created after this). */
static int signals_setup(void)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	return pthread_sigmask(SIG_BLOCK, &set, NULL) ? -EINVAL : 0;
}

static int open_signalfd(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	return signalfd(-1, &set, SFD_CLOEXEC);
}

static int open_ticker(void)
{
	struct itimerspec one_s = {.it_interval = {1, 0}, .it_value = {1, 0}};
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);

	if (fd >= 0 && timerfd_settime(fd, 0, &one_s, NULL) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Waits for a signal or the next one-second tick. Returns the signal number, or 0 for a
 * tick, or -errno. */
static int wait_event(int sfd, int tfd)
{
	struct signalfd_siginfo si;
	fd_set rd;
	uint64_t ticks;

	FD_ZERO(&rd);
	FD_SET(sfd, &rd);
	FD_SET(tfd, &rd);
	if (select((sfd > tfd ? sfd : tfd) + 1, &rd, NULL, NULL, NULL) < 0)
		return errno == EINTR ? 0 : -errno;
	if (FD_ISSET(sfd, &rd) && read(sfd, &si, sizeof(si)) == sizeof(si))
		return (int)si.ssi_signo;
	if (FD_ISSET(tfd, &rd) && read(tfd, &ticks, sizeof(ticks)) < 0)
		return -errno;
	return 0;
}

/* The main thread's loop: signals, key rotation, certificate file changes. */
static int control_loop(struct ke_server *srv, struct keyring *kr)
{
	struct cert_stamp stamp;
	int sfd = open_signalfd(), tfd = open_ticker(), ev, ticks = 0;

	if (sfd < 0 || tfd < 0) {
		log_err("cannot create signal/timer descriptors: %s", strerror(errno));
		ev = -errno;
		goto out;
	}
	cert_stamp(srv->conf, &stamp);
	while (!atomic_load(&srv->stop)) {
		ev = wait_event(sfd, tfd);
		if (ev == SIGTERM || ev == SIGINT) {
			log_notice("signal %d: exiting", ev);
			break;
		}
		if (ev == SIGHUP) {
			log_notice("SIGHUP: reloading certificates");
			reload_certs(srv, &stamp);
			continue;
		}
		ke_keys_tick(srv, kr);
		if (++ticks % CERT_CHECK_TICKS == 0)
			check_cert_files(srv, &stamp);
	}
	ev = 0;
out:
	if (sfd >= 0)
		close(sfd);
	if (tfd >= 0)
		close(tfd);
	return ev;
}

static int start_workers(struct ke_server *srv, pthread_t *tids, struct ke_worker_arg *args)
{
	int i, err;

	for (i = 0; i < srv->n_threads; i++) {
		args[i] = (struct ke_worker_arg){.srv = srv, .index = i};
		err = pthread_create(&tids[i], NULL, ke_worker_main, &args[i]);
		if (err) {
			log_err("cannot start KE thread %d: %s", i, strerror(err));
			atomic_store(&srv->stop, 1);
			while (i-- > 0)
				pthread_join(tids[i], NULL);
			return -err;
		}
	}
	return 0;
}

static void stop_workers(struct ke_server *srv, pthread_t *tids)
{
	int i;

	atomic_store(&srv->stop, 1);
	for (i = 0; i < srv->n_threads; i++)
		pthread_join(tids[i], NULL);
}

/* The CPUs this process may run on: more threads than that only take turns on them
 * (taskset, cgroup cpusets, systemd's CPUAffinity=). */
static long usable_cpus(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
		return CPU_COUNT(&set);
	return sysconf(_SC_NPROCESSORS_ONLN);
}

static int thread_count(const struct tock_conf *c)
{
	long n = c->ntsthreads ? c->ntsthreads : usable_cpus();

	return n < 1 ? 1 : n > KE_MAX_THREADS ? KE_MAX_THREADS : (int)n;
}

/* Everything done while privileged: certificates, directories, files, sockets. */
static int setup_privileged(struct ke_server *srv, struct keyring *kr, int debug)
{
	char err[512];
	int ret;

	if (ke_tls_server_new(srv->conf->certs, srv->conf->n_certs, &srv->tls, err, sizeof(err))) {
		log_err("%s", err);
		return -EINVAL;
	}
	ret = ke_priv_prepare_dirs(srv->conf, debug);
	if (!ret)
		ret = ke_stats_open(srv);
	if (!ret)
		ret = ke_keys_init(srv, kr);
	if (!ret)
		ret = ke_listen_open(srv);
	return ret;
}

static void teardown(struct ke_server *srv)
{
	ke_listen_close(srv);
	/* The key map stays: tockd keeps serving with the keys it holds. */
	if (srv->km.shm)
		keymap_close(&srv->km);
	ke_stats_close(srv);
	ke_ratelimit_free(srv->rl);
	ke_tls_server_put(srv->tls);
	pthread_mutex_destroy(&srv->tls_lock);
}

/*
 * Detaches once set-up has succeeded, so that start-up errors still give an exit code.
 * Under systemd (Type=notify) the main process must stay the same one: no fork there. The
 * directory is kept: certificate paths may be relative and are read again on reload.
 */
static int detach(struct ke_server *srv)
{
	if (getenv("NOTIFY_SOCKET"))
		return 0;
	if (daemon(1, 0) < 0) {
		log_err("cannot daemonize: %s", strerror(errno));
		return -errno;
	}
	srv->stats_hdr->pid = (uint32_t)getpid();
	return 0;
}

static int run(const struct tock_conf *conf, int debug)
{
	struct ke_server srv = {.conf = conf};
	struct ke_worker_arg args[KE_MAX_THREADS];
	pthread_t tids[KE_MAX_THREADS];
	static struct keyring kr;
	int err;

	pthread_mutex_init(&srv.tls_lock, NULL);
	srv.n_threads = thread_count(conf);
	srv.timeout_ms = (int64_t)(conf->ntstimeout * 1000);
	err = signals_setup();
	if (!err)
		err = pick_aeads(&srv);
	if (!err && conf->ntsratelimit_rate &&
	    !(srv.rl = ke_ratelimit_new(conf->ntsratelimit_rate, conf->ntsratelimit_burst)))
		err = -ENOMEM;
	if (!err)
		err = setup_privileged(&srv, &kr, debug);
	if (!err)
		err = ke_priv_drop(conf, debug);
	if (!err && !debug)
		err = detach(&srv);
	if (!err)
		err = start_workers(&srv, tids, args);
	if (!err) {
		sdnotify_ready();
		log_notice("serving NTS-KE: %d threads, max %d connections, timeout %.1f s",
		           srv.n_threads, conf->maxntsconnections, conf->ntstimeout);
		err = control_loop(&srv, &kr);
		stop_workers(&srv, tids);
	}
	teardown(&srv);
	explicit_bzero(&kr, sizeof(kr));
	return err ? 1 : 0;
}

/* -n: the configuration parses, some configured AEAD can be served, and every
 * certificate/key pair loads. */
static int check_only(const struct tock_conf *conf, const char *path)
{
	struct ke_server srv = {.conf = conf};
	struct ke_tls_server *s;
	char err[512];

	if (pick_aeads(&srv))
		return 1;
	if (ke_tls_server_new(conf->certs, conf->n_certs, &s, err, sizeof(err))) {
		fprintf(stderr, "tock-ke: %s: %s\n", path, err);
		return 1;
	}
	ke_tls_server_put(s);
	printf("tock-ke: %s: configuration OK (%d certificate pair%s)\n", path, conf->n_certs,
	       conf->n_certs == 1 ? "" : "s");
	return 0;
}

int main(int argc, char **argv)
{
	struct daemon_args o;
	static struct tock_conf conf;
	char err[512];

	if (daemon_parse_args(argc, argv, 0, &o)) {
		usage(stderr);
		return 2;
	}
	if (o.help) {
		usage(stdout);
		return 0;
	}
	log_init("tock-ke", o.foreground || o.check_only, o.foreground ? LOG_DEBUG : LOG_INFO);
	if (conf_load(&conf, o.config, err, sizeof(err))) {
		fprintf(stderr, "tock-ke: %s\n", err);
		return 1;
	}
	if (o.check_only)
		return check_only(&conf, o.config);
	return run(&conf, o.foreground);
}
