// SPDX-License-Identifier: MIT
/*
 * Loader for tock's XDP program: skeleton open/load, config map and LPM tries from
 * struct tock_conf, one bpf_link per interface (native → generic fallback), the clock map,
 * and readers for the per-CPU counters and the limiter (tockctl serverstats / clients).
 * Interfaces are resolved with if_nametoindex when attached; following interfaces that
 * appear, vanish or are re-created later is the caller's job (tockd: kmod-free/linkwatch.h,
 * xdp_loader_attached and xdp_loader_detach).
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <limits.h>
#include <linux/if_link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "log.h"
#include "tock.skel.h"
#include "xdp_loader.h"

#ifndef BPF_F_XDP_DEV_BOUND_ONLY
#define BPF_F_XDP_DEV_BOUND_ONLY (1U << 6) /* uapi 6.3; Debian 12's headers are 6.1 */
#endif

#define XDP_PIN_NAMES 3

struct xdp_attachment {
	char ifname[IF_NAMESIZE];
	int ifindex;
	int link_fd;
	int mode; /* enum conf_xdp_mode actually in use */
};

struct xdp_loader {
	struct tock_bpf *skel;
	struct bpf_program *prog; /* tock_xdp or, device-bound, tock_xdp_hwts */
	int hwts_ifindex;         /* > 0 when the device-bound variant is loaded */
	struct xdp_attachment att[CONF_MAX_IFACES];
	int n_att;
	int xsk_ifindex[TOCK_XSK_MAX_IFACES]; /* slot -> ifindex in tock_xsk_ifaces (0: free) */
	uint32_t clock_seq;
	uint32_t clock_cur;      /* tock_clock entry the program reads (tock_clock_cur) */
	struct hwts_phc_est phc; /* the NIC clock's estimate (valid 0: none) */
	char pin_dir[PATH_MAX];
};

static const char *const xdp_pin_names[XDP_PIN_NAMES] = {"stats", "limiter", "config"};

/* Returns -errno for a libbpf call that failed with a negative value (libbpf 1.x sets both). */
static int neg_errno(int ret)
{
	if (ret >= 0)
		return ret;
	return errno ? -errno : ret;
}

/* Whether ifname is listed under `hwtimestamp` in conf. */
static int conf_has_hwts(const struct tock_conf *conf, const char *ifname)
{
	for (int i = 0; i < conf->n_hwtimestamp; i++)
		if (!strcmp(conf->hwtimestamp[i], ifname))
			return 1;
	return 0;
}

/* The interface to bind the NIC-timestamp variant to, or 0 (see xdp_loader_opts). */
static int pick_hwts_ifindex(const struct tock_conf *conf, const struct xdp_loader_opts *opts)
{
	const char *name = opts ? opts->hwts_ifname : NULL;

	if (!name) {
		if (!conf || conf->n_xdp != 1 || conf->xdp[0].mode != CONF_XDP_NATIVE ||
		    !conf_has_hwts(conf, conf->xdp[0].ifname))
			return 0;
		name = conf->xdp[0].ifname;
	}
	return name[0] ? (int)if_nametoindex(name) : 0;
}

/* Opens the skeleton and loads it, device-bound to hwts_ifindex when that is > 0. */
static int load_skel(struct xdp_loader *l, const struct xdp_loader_opts *opts, int hwts_ifindex)
{
	struct tock_bpf *skel = tock_bpf__open();
	int err;

	if (!skel)
		return neg_errno(-ENOMEM);
	skel->rodata->tock_port = opts && opts->port ? opts->port : TOCK_XDP_NTP_PORT;
	if (opts && opts->limiter_entries) {
		err = bpf_map__set_max_entries(skel->maps.tock_limiter, opts->limiter_entries);
		if (err)
			goto fail;
	}
	bpf_program__set_autoload(skel->progs.tock_xdp, hwts_ifindex <= 0);
	bpf_program__set_autoload(skel->progs.tock_xdp_hwts, hwts_ifindex > 0);
	if (hwts_ifindex > 0) {
		bpf_program__set_ifindex(skel->progs.tock_xdp_hwts, hwts_ifindex);
		bpf_program__set_flags(skel->progs.tock_xdp_hwts, BPF_F_XDP_DEV_BOUND_ONLY);
	}
	err = tock_bpf__load(skel);
	if (err)
		goto fail;
	l->skel = skel;
	l->prog = hwts_ifindex > 0 ? skel->progs.tock_xdp_hwts : skel->progs.tock_xdp;
	l->hwts_ifindex = hwts_ifindex > 0 ? hwts_ifindex : 0;
	return 0;
fail:
	err = neg_errno(err);
	tock_bpf__destroy(skel);
	return err;
}

int xdp_config_from_conf(const struct tock_conf *conf, struct tock_xdp_config *out)
{
	const struct conf_ratelimit *rl = &conf->ratelimit;

	memset(out, 0, sizeof(*out));
	out->prefix4 = rl->prefix4 ? rl->prefix4 : 32;
	out->prefix6 = rl->prefix6 ? rl->prefix6 : 64;
	out->rate = rl->rate;
	out->burst = rl->burst;
	out->kod_every = rl->kod_every;
	out->leak_every = rl->leak_every;
	if (conf->xdp_fastpath)
		out->flags |= TOCK_XDP_F_FASTPATH;
	if (conf->xdp_afxdp)
		out->flags |= TOCK_XDP_F_AFXDP;
	if (out->prefix4 > 32 || out->prefix6 > 128)
		return -EINVAL;
	if (!rl->enabled)
		return 0;
	if (rl->rate < 1 || rl->rate > TOCK_XDP_MAX_RATE || rl->burst < 1 ||
	    rl->burst > TOCK_XDP_MAX_BURST)
		return -EINVAL;
	out->flags |= TOCK_XDP_F_RATELIMIT;
	xdp_config_set_rate(out, rl->rate, rl->burst);
	return 0;
}

void xdp_config_set_rate(struct tock_xdp_config *c, uint32_t rate, uint32_t burst)
{
	c->rate = rate;
	c->burst = burst;
	c->interval_ns = rate ? (TOCK_XDP_NSEC + rate / 2) / rate : 0;
	if (rate && !c->interval_ns)
		c->interval_ns = 1;
	c->tau_ns = burst ? (uint64_t)(burst - 1) * c->interval_ns : 0;
}

int xdp_loader_set_config(struct xdp_loader *l, const struct tock_xdp_config *cfg)
{
	uint32_t zero = 0;

	return neg_errno(bpf_map__update_elem(l->skel->maps.tock_config, &zero, sizeof(zero), cfg,
	                                      sizeof(*cfg), BPF_ANY));
}

/* Deletes every key of an LPM trie (a reload replaces the lists wholesale). */
static int trie_clear(struct bpf_map *map)
{
	uint8_t key[sizeof(struct tock_lpm6_key)];
	int fd = bpf_map__fd(map), guard = TOCK_XDP_LPM_ENTRIES * 2;

	/* Always restart from the first key: deleting invalidates the iteration. */
	while (guard-- > 0 && bpf_map_get_next_key(fd, NULL, key) == 0)
		if (bpf_map_delete_elem(fd, key))
			return neg_errno(-1);
	return 0;
}

/* Inserts conf's prefixes into the IPv4 and IPv6 tries of one list. */
static int trie_fill(struct bpf_map *m4, struct bpf_map *m6, const struct conf_prefix *p, int n)
{
	uint32_t one = 1;
	int err;

	for (int i = 0; i < n; i++) {
		if (p[i].family == AF_INET && p[i].len <= 32) {
			struct tock_lpm4_key k = {.prefixlen = p[i].len};

			memcpy(k.addr, p[i].addr, 4);
			err = bpf_map__update_elem(m4, &k, sizeof(k), &one, sizeof(one), BPF_ANY);
		} else if (p[i].family == AF_INET6 && p[i].len <= 128) {
			struct tock_lpm6_key k = {.prefixlen = p[i].len};

			memcpy(k.addr, p[i].addr, 16);
			err = bpf_map__update_elem(m6, &k, sizeof(k), &one, sizeof(one), BPF_ANY);
		} else {
			err = -EINVAL;
		}
		if (err)
			return neg_errno(err);
	}
	return 0;
}

int xdp_loader_configure(struct xdp_loader *l, const struct tock_conf *conf)
{
	struct tock_xdp_config cfg;
	struct tock_bpf *s = l->skel;
	int err;

	err = xdp_config_from_conf(conf, &cfg);
	if (err) {
		log_err("xdp: ratelimit/prefix values out of range");
		return err;
	}
	err = trie_clear(s->maps.tock_deny4) ?: trie_clear(s->maps.tock_deny6) ?:
	      trie_clear(s->maps.tock_allow4) ?: trie_clear(s->maps.tock_allow6);
	if (!err)
		err = trie_fill(s->maps.tock_deny4, s->maps.tock_deny6, conf->deny, conf->n_deny);
	if (!err)
		err =
		    trie_fill(s->maps.tock_allow4, s->maps.tock_allow6, conf->allow, conf->n_allow);
	if (!err)
		err = xdp_loader_set_config(l, &cfg);
	if (err)
		log_err("xdp: cannot fill the config maps: %s", strerror(-err));
	return err;
}

int xdp_loader_open(struct xdp_loader **out, const struct tock_conf *conf,
                    const struct xdp_loader_opts *opts)
{
	struct xdp_loader *l = calloc(1, sizeof(*l));
	int hwts = pick_hwts_ifindex(conf, opts), err;

	*out = NULL;
	if (!l)
		return -ENOMEM;
	for (int i = 0; i < CONF_MAX_IFACES; i++)
		l->att[i].link_fd = -1;
	err = hwts > 0 ? load_skel(l, opts, hwts) : -ENOENT;
	if (err && hwts > 0)
		log_warn("xdp: NIC receive timestamps unavailable (%s); using the TAI clock",
		         strerror(-err));
	if (err)
		err = load_skel(l, opts, 0);
	if (err) {
		log_err("xdp: cannot load the XDP program: %s", strerror(-err));
		goto fail;
	}
	if (conf) {
		err = xdp_loader_configure(l, conf);
		if (err)
			goto fail;
	}
	*out = l;
	return 0;
fail:
	xdp_loader_destroy(l);
	return err;
}

/* Creates an XDP bpf_link in one mode; the link fd or a negative errno. */
static int link_xdp(int prog_fd, int ifindex, int mode)
{
	struct bpf_link_create_opts o = {.sz = sizeof(o),
	                                 .flags = mode == CONF_XDP_GENERIC ? XDP_FLAGS_SKB_MODE
	                                                                   : XDP_FLAGS_DRV_MODE};

	return neg_errno(bpf_link_create(prog_fd, ifindex, BPF_XDP, &o));
}

/* The attachment slot for ifname, or NULL. */
static struct xdp_attachment *find_att(struct xdp_loader *l, const char *ifname)
{
	for (int i = 0; i < l->n_att; i++)
		if (!strcmp(l->att[i].ifname, ifname))
			return &l->att[i];
	return NULL;
}

int xdp_loader_attach(struct xdp_loader *l, const char *ifname, int mode, int *mode_used)
{
	int ifindex = (int)if_nametoindex(ifname), fd;
	struct xdp_attachment *a;

	if (!ifindex)
		return -ENODEV;
	if (find_att(l, ifname))
		return -EEXIST;
	if (l->n_att >= CONF_MAX_IFACES || strlen(ifname) >= IF_NAMESIZE)
		return -ENOSPC;
	fd = link_xdp(bpf_program__fd(l->prog), ifindex, mode);
	if (fd < 0 && mode == CONF_XDP_NATIVE) {
		log_warn("xdp: native mode on %s failed (%s); falling back to generic", ifname,
		         strerror(-fd));
		mode = CONF_XDP_GENERIC;
		fd = link_xdp(bpf_program__fd(l->prog), ifindex, mode);
	}
	if (fd < 0) {
		log_err("xdp: cannot attach to %s: %s", ifname, strerror(-fd));
		return fd;
	}
	a = &l->att[l->n_att++];
	snprintf(a->ifname, sizeof(a->ifname), "%s", ifname);
	a->ifindex = ifindex;
	a->link_fd = fd;
	a->mode = mode;
	if (mode_used)
		*mode_used = mode;
	log_info("xdp: attached to %s in %s mode%s", ifname,
	         mode == CONF_XDP_NATIVE ? "native" : "generic",
	         ifindex == l->hwts_ifindex ? " with NIC receive timestamps" : "");
	return 0;
}

int xdp_loader_attach_conf(struct xdp_loader *l, const struct tock_conf *conf)
{
	int err;

	for (int i = 0; i < conf->n_xdp; i++) {
		if (conf->xdp[i].mode == CONF_XDP_OFF)
			continue;
		err = xdp_loader_attach(l, conf->xdp[i].ifname, conf->xdp[i].mode, NULL);
		if (err)
			return err;
	}
	return 0;
}

int xdp_loader_detach(struct xdp_loader *l, const char *ifname)
{
	struct xdp_attachment *a = find_att(l, ifname);

	if (!a)
		return -ENOENT;
	close(a->link_fd);
	*a = l->att[--l->n_att];
	l->att[l->n_att].link_fd = -1;
	return 0;
}

int xdp_loader_attached(const struct xdp_loader *l, const char *ifname, int *mode_used)
{
	for (int i = 0; i < l->n_att; i++) {
		if (strcmp(l->att[i].ifname, ifname))
			continue;
		if (mode_used)
			*mode_used = l->att[i].mode;
		return l->att[i].ifindex;
	}
	return -ENOENT;
}

/* Fills the clock map value from the status (multi-byte fields in wire order). */
static void clock_value(struct tock_xdp_clock *c, const struct tock_clock_status *st, int valid,
                        uint32_t seq)
{
	*c = (struct tock_xdp_clock){
	    .valid = valid ? 1 : 0,
	    .leap = st->leap & 3,
	    .stratum = st->stratum,
	    .precision = st->precision,
	    .refid = htonl(st->refid),
	    .root_delay = htonl(st->root_delay),
	    .root_dispersion = htonl(st->root_dispersion),
	    .ref_time = htobe64(st->ref_time),
	    .tai_offset = st->tai_offset,
	    .seq = seq,
	};
}

/*
 * Double buffer (see tock_clock in tock.bpf.c): the entry the program is not reading is
 * rewritten, then the index is switched to it. The kernel copies an array value with a
 * plain memcpy, not guaranteed to be a single store, but indices 0 and 1 differ in one bit
 * of one byte, so a reader sees either the old index or the new one. If the switch fails
 * the program keeps reading the old, whole entry and the next call rewrites the same one.
 */
int xdp_loader_set_clock(struct xdp_loader *l, const struct tock_clock_status *st, int valid)
{
	uint32_t zero = 0, next = (l->clock_cur + 1) % TOCK_XDP_CLOCK_SLOTS;
	struct tock_xdp_clock c;
	int err;

	clock_value(&c, st, valid, ++l->clock_seq);
	xdp_clock_set_phc(&c, &l->phc);
	err = neg_errno(bpf_map__update_elem(l->skel->maps.tock_clock, &next, sizeof(next), &c,
	                                     sizeof(c), BPF_ANY));
	if (err)
		return err;
	err = neg_errno(bpf_map__update_elem(l->skel->maps.tock_clock_cur, &zero, sizeof(zero),
	                                     &next, sizeof(next), BPF_ANY));
	if (err)
		return err;
	l->clock_cur = next;
	return 0;
}

int xdp_stats_read_fd(int stats_fd, uint64_t out[XDP_STAT_COUNT])
{
	int ncpu = libbpf_num_possible_cpus(), err;
	struct tock_xdp_stats *v;
	uint32_t zero = 0;

	if (ncpu <= 0)
		return ncpu < 0 ? ncpu : -EINVAL;
	v = calloc((size_t)ncpu, sizeof(*v));
	if (!v)
		return -ENOMEM;
	memset(out, 0, sizeof(uint64_t) * XDP_STAT_COUNT);
	err = neg_errno(bpf_map_lookup_elem(stats_fd, &zero, v));
	for (int cpu = 0; !err && cpu < ncpu; cpu++)
		for (int i = 0; i < XDP_STAT_COUNT; i++)
			out[i] += v[cpu].c[i];
	free(v);
	return err;
}

int xdp_loader_read_stats(struct xdp_loader *l, uint64_t out[XDP_STAT_COUNT])
{
	return xdp_stats_read_fd(bpf_map__fd(l->skel->maps.tock_stats), out);
}

/* CLOCK_MONOTONIC in ns: the clock bpf_ktime_get_ns() reads. */
static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * TOCK_XDP_NSEC + (uint64_t)ts.tv_nsec;
}

/* Fills one client record from a limiter entry, refilling the bucket to `now`. */
static void client_fill(struct xdp_client *c, const struct tock_limit_key *k,
                        const struct tock_limit_bucket *b, const struct tock_xdp_config *cfg,
                        uint64_t now)
{
	double idle = now > b->last_ns ? (double)(now - b->last_ns) / 1e9 : 0;
	/* how far the bucket runs ahead of now, in tokens taken out of a full one */
	double ahead = b->tat > now ? (double)(b->tat - now) : 0;
	double tokens = cfg->interval_ns ? cfg->burst - ahead / (double)cfg->interval_ns : 0;

	memset(c, 0, sizeof(*c));
	c->family = k->family == 6 ? AF_INET6 : AF_INET;
	memcpy(c->addr, k->addr, sizeof(c->addr));
	c->prefixlen = k->prefixlen;
	c->tokens = tokens < 0 ? 0 : tokens > cfg->burst ? cfg->burst : tokens;
	c->idle = idle;
	c->last_ns = b->last_ns;
	c->hits = b->hits;
	c->limited = b->limited;
}

/* qsort order: most hits first. */
static int client_cmp(const void *a, const void *b)
{
	const struct xdp_client *x = a, *y = b;

	return x->hits < y->hits ? 1 : x->hits > y->hits ? -1 : 0;
}

/* Keeps the `max` entries with the most hits: replaces the smallest once out is full. */
static void client_keep(struct xdp_client *out, size_t max, size_t *n, const struct xdp_client *c)
{
	size_t min = 0;

	if (*n < max) {
		out[(*n)++] = *c;
		return;
	}
	for (size_t i = 1; i < *n; i++)
		if (out[i].hits < out[min].hits)
			min = i;
	if (*n && c->hits > out[min].hits)
		out[min] = *c;
}

int xdp_clients_read_fd(int limiter_fd, int config_fd, struct xdp_client *out, size_t max,
                        size_t *n)
{
	struct tock_limit_key key, prev;
	struct tock_limit_bucket b;
	struct tock_xdp_config cfg;
	struct xdp_client c;
	uint64_t now = mono_ns();
	uint32_t zero = 0;
	int have_prev = 0;

	*n = 0;
	if (bpf_map_lookup_elem(config_fd, &zero, &cfg))
		return neg_errno(-1);
	while (bpf_map_get_next_key(limiter_fd, have_prev ? &prev : NULL, &key) == 0) {
		/* An entry the LRU evicted between the two calls is simply skipped. */
		if (bpf_map_lookup_elem(limiter_fd, &key, &b) == 0) {
			client_fill(&c, &key, &b, &cfg, now);
			client_keep(out, max, n, &c);
		}
		prev = key;
		have_prev = 1;
	}
	qsort(out, *n, sizeof(*out), client_cmp);
	return 0;
}

int xdp_loader_clients(struct xdp_loader *l, struct xdp_client *out, size_t max, size_t *n)
{
	return xdp_clients_read_fd(bpf_map__fd(l->skel->maps.tock_limiter),
	                           bpf_map__fd(l->skel->maps.tock_config), out, max, n);
}

/* The maps xdp_loader_pin_maps pins, in xdp_pin_names order. */
static struct bpf_map *pin_map(struct xdp_loader *l, int i)
{
	struct bpf_map *m[XDP_PIN_NAMES] = {l->skel->maps.tock_stats, l->skel->maps.tock_limiter,
	                                    l->skel->maps.tock_config};

	return m[i];
}

/* Removes the pins made by xdp_loader_pin_maps (missing ones are ignored). */
static void unpin_maps(struct xdp_loader *l)
{
	char path[PATH_MAX + 16];

	if (!l->pin_dir[0])
		return;
	for (int i = 0; i < XDP_PIN_NAMES; i++) {
		snprintf(path, sizeof(path), "%s/%s", l->pin_dir, xdp_pin_names[i]);
		unlink(path);
	}
	l->pin_dir[0] = 0;
}

int xdp_loader_pin_maps(struct xdp_loader *l, const char *dir)
{
	char path[PATH_MAX + 16];
	int err = 0;

	if (strlen(dir) >= sizeof(l->pin_dir))
		return -ENAMETOOLONG;
	snprintf(l->pin_dir, sizeof(l->pin_dir), "%s", dir);
	for (int i = 0; i < XDP_PIN_NAMES && !err; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, xdp_pin_names[i]);
		unlink(path); /* a stale pin from a previous run */
		err = neg_errno(bpf_obj_pin(bpf_map__fd(pin_map(l, i)), path));
	}
	if (err) {
		log_err("xdp: cannot pin maps under %s: %s", dir, strerror(-err));
		unpin_maps(l);
	}
	return err;
}

int xdp_pinned_open(const char *dir, int *stats_fd, int *limiter_fd, int *config_fd)
{
	int *fds[XDP_PIN_NAMES] = {stats_fd, limiter_fd, config_fd};
	char path[PATH_MAX + 16];
	int err = 0, i;

	for (i = 0; i < XDP_PIN_NAMES && !err; i++) {
		if (!fds[i])
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, xdp_pin_names[i]);
		*fds[i] = bpf_obj_get(path);
		if (*fds[i] < 0)
			err = neg_errno(*fds[i]);
	}
	/* On error, i is one past the slot that failed: close the ones before it. */
	for (int j = 0; err && j < i - 1; j++)
		if (fds[j])
			close(*fds[j]);
	return err;
}

/* The interface's slot in tock_xsks, assigned (and published to the program) on first use;
 * -ENOSPC when every slot is taken. */
static int xsk_slot(struct xdp_loader *l, int ifindex)
{
	uint32_t key = (uint32_t)ifindex, val;
	int err;

	for (int i = 0; i < TOCK_XSK_MAX_IFACES; i++)
		if (l->xsk_ifindex[i] == ifindex)
			return i;
	for (int i = 0; i < TOCK_XSK_MAX_IFACES; i++) {
		if (l->xsk_ifindex[i])
			continue;
		val = (uint32_t)i;
		err = neg_errno(bpf_map__update_elem(l->skel->maps.tock_xsk_ifaces, &key,
		                                     sizeof(key), &val, sizeof(val), BPF_ANY));
		if (err)
			return err;
		l->xsk_ifindex[i] = ifindex;
		return i;
	}
	return -ENOSPC;
}

int xdp_loader_xsk_register(struct xdp_loader *l, int ifindex, uint32_t queue, int xsk_fd)
{
	int slot = queue < TOCK_XSK_MAX_QUEUES ? xsk_slot(l, ifindex) : -EINVAL;
	uint32_t key;

	if (slot < 0)
		return slot;
	key = (uint32_t)slot * TOCK_XSK_MAX_QUEUES + queue;
	return neg_errno(bpf_map__update_elem(l->skel->maps.tock_xsks, &key, sizeof(key), &xsk_fd,
	                                      sizeof(xsk_fd), BPF_ANY));
}

int xdp_loader_prog_fd(const struct xdp_loader *l)
{
	return bpf_program__fd(l->prog);
}

struct tock_bpf *xdp_loader_skel(struct xdp_loader *l)
{
	return l->skel;
}

int xdp_loader_hwts_ifindex(const struct xdp_loader *l)
{
	return l->hwts_ifindex > 0 ? l->hwts_ifindex : 0;
}

void xdp_clock_set_phc(struct tock_xdp_clock *c, const struct hwts_phc_est *e)
{
	double q = e && e->valid ? e->drift * 4294967296.0 : 0;

	c->hw_ref_phc = c->hw_offset = c->hw_drift_q32 = 0;
	c->hw_valid = 0;
	/* a drift past 1000 ppm is no PHC worth trusting (and would overflow the program's
	 * product): such an estimate is not published */
	if (!e || !e->valid || q > TOCK_XDP_HW_MAX_DRIFT_Q32 || q < -TOCK_XDP_HW_MAX_DRIFT_Q32)
		return;
	c->hw_ref_phc = e->ref_phc;
	c->hw_offset = e->ref_offset;
	c->hw_drift_q32 = (int64_t)(q < 0 ? q - 0.5 : q + 0.5);
	c->hw_valid = 1;
}

void xdp_loader_set_phc(struct xdp_loader *l, const struct hwts_phc_est *e)
{
	if (e)
		l->phc = *e;
	else
		l->phc.valid = 0;
}

void xdp_loader_destroy(struct xdp_loader *l)
{
	if (!l)
		return;
	while (l->n_att > 0)
		xdp_loader_detach(l, l->att[l->n_att - 1].ifname);
	if (l->skel)
		unpin_maps(l);
	tock_bpf__destroy(l->skel);
	free(l);
}
