// SPDX-License-Identifier: MIT
/*
 * The XDP program's AF_XDP redirect (`xdp afxdp on`), with bpf_prog_test_run_opts on a
 * hand-built request in a private network namespace:
 *  - flag off, or no AF_XDP socket for the interface/queue: XDP_PASS, counted as passed to
 *    the stack, frame untouched and no metadata (nothing changes without a socket);
 *  - with a socket (kmod-free/xsk.c, copy mode on lo) registered through the loader:
 *    XDP_REDIRECT, counted as redirected, and the metadata area in front of the frame holds
 *    the receive time (the kernel TAI clock less the published offset) and the magic;
 *  - a request the fast path answers is not redirected; closing the socket ends redirects.
 */
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "check.h"
#include "frame.h"
#include "log.h"
#include "probe_xdp.h"
#include "tock.skel.h"
#include "xdp_loader.h"
#include "xsk.h"

#define T_NAME "bpf_test_xdp_afxdp"
#define MAXF   512

static struct xdp_loader *xl;
static int lo_index;

/* A plain mode-3 request over IPv4 (what tockd answers when the fast path is off). */
static size_t build(uint8_t *f)
{
	static const uint8_t hdr[] = {0x02, 0,    0,    0,    0, 1,  0x02, 0,  0,  0,
	                              0,    2,    0x08, 0x00, /* Ethernet */
	                              0x45, 0,    0,    76,   0, 1,  0,    0,  64, 17,
	                              0,    0,    198,  18,   0, 2,  198,  18, 0,  1, /* IPv4 */
	                              0x9c, 0x40, 0,    123,  0, 56, 0,    0};        /* UDP */

	memset(f, 0, MAXF);
	memcpy(f, hdr, sizeof(hdr));
	f[sizeof(hdr)] = (4 << 3) | 3;
	return sizeof(hdr) + 48;
}

struct result {
	int verdict;
	uint32_t out_len;
	uint8_t out[MAXF + 64];
};

/* Runs the program as if the frame arrived on lo's rx queue `queue`. */
static void run(uint32_t queue, struct result *r)
{
	uint8_t in[MAXF];
	size_t len = build(in);
	struct xdp_md ctx = {.data_end = (uint32_t)len,
	                     .ingress_ifindex = (uint32_t)lo_index,
	                     .rx_queue_index = queue};
	struct bpf_test_run_opts o = {.sz = sizeof(o),
	                              .data_in = in,
	                              .data_size_in = (uint32_t)len,
	                              .data_out = r->out,
	                              .data_size_out = sizeof(r->out),
	                              .ctx_in = &ctx,
	                              .ctx_size_in = sizeof(ctx),
	                              .repeat = 1};
	int err = bpf_prog_test_run_opts(xdp_loader_prog_fd(xl), &o);

	CHECK(err == 0, "test_run: %s", strerror(errno));
	r->verdict = err ? -1 : (int)o.retval;
	r->out_len = o.data_size_out;
}

static uint64_t stat_now(int id)
{
	uint64_t v[XDP_STAT_COUNT];

	return xdp_loader_read_stats(xl, v) ? 0 : v[id];
}

static void set_flags(uint32_t flags)
{
	struct tock_xdp_config cfg = {.flags = flags, .prefix4 = 32, .prefix6 = 64};

	CHECK_EQ(xdp_loader_set_config(xl, &cfg), 0);
}

/* Passed to the stack, untouched, no metadata in front. */
static void expect_pass(const char *what, uint32_t queue)
{
	uint8_t in[MAXF];
	size_t len = build(in);
	uint64_t before = stat_now(XDP_STAT_PASSED_TO_STACK);
	struct result r = {0};

	run(queue, &r);
	CHECK(r.verdict == XDP_PASS, "%s: verdict %d", what, r.verdict);
	CHECK(stat_now(XDP_STAT_PASSED_TO_STACK) == before + 1, "%s: not counted", what);
	CHECK(r.out_len == len && !memcmp(r.out, in, len), "%s: frame changed (%u bytes)", what,
	      r.out_len);
}

static void test_no_socket(void)
{
	uint32_t key = (uint32_t)lo_index, slot = 3;

	set_flags(0);
	expect_pass("afxdp off", 0);
	set_flags(TOCK_XDP_F_AFXDP);
	expect_pass("afxdp on, interface unknown", 0);
	/* the interface has a slot, but no socket sits at its queue's key */
	CHECK_EQ(bpf_map__update_elem(xdp_loader_skel(xl)->maps.tock_xsk_ifaces, &key, sizeof(key),
	                              &slot, sizeof(slot), BPF_ANY),
	         0);
	expect_pass("afxdp on, no socket at the key", 0);
	CHECK_EQ(
	    bpf_map__delete_elem(xdp_loader_skel(xl)->maps.tock_xsk_ifaces, &key, sizeof(key), 0),
	    0);
}

static int64_t tai_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_TAI, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void test_redirect(void)
{
	struct tock_clock_status st = {.stratum = 1, .tai_offset = 0};
	struct tock_xsk_meta meta;
	struct xsk_socket *x = NULL;
	uint8_t in[MAXF];
	size_t len = build(in);
	uint64_t before = stat_now(XDP_STAT_REDIRECTED_AFXDP);
	struct result r = {0};
	int64_t t0, t1;
	int err = xsk_open(&x, lo_index, 0);

	CHECK(err == 0, "xsk_open on lo: %s", strerror(-err));
	if (err)
		return;
	CHECK(!x->zerocopy, "zero-copy on lo?");
	CHECK_EQ(xdp_loader_xsk_register(xl, lo_index, 0, x->fd), 0);
	CHECK_EQ(xdp_loader_xsk_register(xl, lo_index, TOCK_XSK_MAX_QUEUES, x->fd), -EINVAL);
	CHECK_EQ(xdp_loader_set_clock(xl, &st, 1), 0);
	set_flags(TOCK_XDP_F_AFXDP);
	t0 = tai_ns();
	run(0, &r);
	t1 = tai_ns();
	CHECK(r.verdict == XDP_REDIRECT, "verdict %d, want XDP_REDIRECT", r.verdict);
	CHECK(stat_now(XDP_STAT_REDIRECTED_AFXDP) == before + 1, "redirect not counted");
	/* the output starts at data_meta: the metadata, then the frame unchanged */
	CHECK_EQ(r.out_len, len + sizeof(meta));
	memcpy(&meta, r.out, sizeof(meta));
	CHECK_EQ(meta.magic, TOCK_XSK_META_MAGIC);
	CHECK_EQ(meta.source, TOCK_XSK_TS_KERNEL);
	CHECK((int64_t)meta.rx_ns >= t0 && (int64_t)meta.rx_ns <= t1,
	      "rx_ns %llu not in [%lld, %lld]", (unsigned long long)meta.rx_ns, (long long)t0,
	      (long long)t1);
	CHECK(!memcmp(r.out + sizeof(meta), in, len), "frame changed");
	/* the published TAI offset is taken off */
	st.tai_offset = 37;
	CHECK_EQ(xdp_loader_set_clock(xl, &st, 1), 0);
	t0 = tai_ns();
	run(0, &r);
	memcpy(&meta, r.out, sizeof(meta));
	CHECK(t0 - (int64_t)meta.rx_ns > 36900000000LL && t0 - (int64_t)meta.rx_ns < 37100000000LL,
	      "TAI offset not applied: %lld ns", (long long)(t0 - (int64_t)meta.rx_ns));
	/* a request the fast path answers stays with the fast path (a queue past the map's
	 * range cannot be tried here: test_run wants a queue the device has) */
	set_flags(TOCK_XDP_F_AFXDP | TOCK_XDP_F_FASTPATH);
	run(0, &r);
	CHECK(r.verdict == XDP_TX, "fast path on: verdict %d, want XDP_TX", r.verdict);
	xsk_close(x);
	/* closing the socket took it out of the map: back to the stack */
	set_flags(TOCK_XDP_F_AFXDP);
	expect_pass("socket closed", 0);
}

/* A network namespace of our own, with lo up, so the socket binds to nobody's interface. */
static int private_netns(void)
{
	struct ifreq ifr = {0};
	int fd;

	if (unshare(CLONE_NEWNET) < 0)
		return -errno;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	ifr.ifr_flags = IFF_UP | IFF_LOOPBACK | IFF_RUNNING;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0) {
		close(fd);
		return -errno;
	}
	close(fd);
	lo_index = (int)if_nametoindex("lo");
	return lo_index > 0 ? 0 : -ENODEV;
}

int main(void)
{
	struct xdp_loader_opts opts = {.hwts_ifname = ""};
	struct xdp_probe probe;
	int err;

	log_init(T_NAME, 1, LOG_WARNING);
	if (geteuid() != 0)
		return check_skip(T_NAME, "needs root (BPF, AF_XDP)");
	if (!xdp_probe_run(&probe))
		return check_skip(T_NAME, "the kernel lacks what the XDP program needs");
	err = private_netns();
	if (err)
		return check_skip(T_NAME, "cannot make a network namespace");
	err = xdp_loader_open(&xl, NULL, &opts);
	CHECK(err == 0, "xdp_loader_open: %s", strerror(-err));
	if (err)
		return check_done(T_NAME);
	test_no_socket();
	test_redirect();
	xdp_loader_destroy(xl);
	return check_done(T_NAME);
}
