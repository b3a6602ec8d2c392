// SPDX-License-Identifier: MIT
/*
 * Writes the seed corpora of fuzz_control, fuzz_tracking, fuzz_cookie, fuzz_keyfile and
 * fuzz_nts_client (tests/fuzz/corpus/NAME/). Not part of the build; regenerate after a
 * format change with:
 *
 *   make build/lib/libtock.a
 *   cc -D_GNU_SOURCE -Iuserspace/lib -Itests/fuzz tests/fuzz/gen_parsers.c build/lib/libtock.a \
 *      -lssl -lcrypto -lm -o /tmp/gen_parsers && /tmp/gen_parsers tests/fuzz/corpus
 *
 * Cookies are sealed with, and NTS responses come from tock_serve() under, the fixed keys of
 * fuzz_serve_keys.h / fuzz_client_keys.h, so the seeds get past the tag checks. The new
 * cookies in the NTS responses carry fresh nonces, so those seeds differ on every run.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../userspace/tockd/candm.c"
#include "../../userspace/tockd/control_proto.c"
#include "fuzz_client_keys.h"
#include "keyring.h"
#include "ntp.h"
#include "serve.h"

static const char *dir;

static void save(const char *sub, const char *name, const void *p, size_t n)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name);
	f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n || fclose(f)) {
		perror(path);
		exit(1);
	}
}

/* ---- control and tracking ------------------------------------------------------------ */

#define CTL_BUF 512 /* gen_control's buffer */

static size_t ctl_request(uint8_t *buf, uint16_t command, uint32_t seq, size_t len)
{
	return candm_request(buf, CTL_BUF, command, seq, len);
}

static void gen_control(void)
{
	uint8_t p[CTL_BUF] = {0};

	save("control", "tracking", p, candm_tracking_request(p, sizeof(p), 42));
	save("control", "serverstats43", p,
	     ctl_request(p, CANDM_REQ_SERVER_STATS, 7, CANDM_STATS3_LEN));
	save("control", "serverstats44", p,
	     ctl_request(p, CANDM_REQ_SERVER_STATS, 8, CANDM_STATS4_LEN));
	save("control", "serverstats_long", p, ctl_request(p, CANDM_REQ_SERVER_STATS, 9, 400));
	save("control", "serverstats_short", p, ctl_request(p, CANDM_REQ_SERVER_STATS, 9, 71));
	save("control", "n_sources", p,
	     ctl_request(p, CANDM_REQ_N_SOURCES, 3, CANDM_N_SOURCES_LEN));
	save("control", "unknown_cmd", p, ctl_request(p, 15, 4, 100));
	save("control", "unknown_cmd_short", p, ctl_request(p, 15, 4, CANDM_REQ_HDR_LEN));
	save("control", "header_19", p, ctl_request(p, CANDM_REQ_TRACKING, 1, 19));
	ctl_request(p, CANDM_REQ_SERVER_STATS, 1, CANDM_STATS4_LEN);
	p[1] = CANDM_PKT_REPLY;
	save("control", "reflected_reply", p, CANDM_STATS4_LEN);
	ctl_request(p, CANDM_REQ_TRACKING, 1, CANDM_TRACKING_LEN);
	p[0] = 5;
	save("control", "version5", p, CANDM_TRACKING_LEN);
}

static size_t tracking_reply(uint8_t *out, uint32_t seq, const struct candm_tracking *t)
{
	struct control_view v = {.tracking = *t};
	uint8_t req[CANDM_TRACKING_LEN];

	return control_reply(req, candm_tracking_request(req, sizeof(req), seq), &v, out, 512);
}

static void gen_tracking(void)
{
	struct candm_tracking t = {
	    .ref_id = 0xc612000a,
	    .stratum = 3,
	    .ref_time = {1700000000, 123456789},
	    .correction = -1.5e-6,
	    .last_offset = 2.5e-7,
	    .rms_offset = 1e-6,
	    .freq_ppm = -12.25,
	    .resid_freq_ppm = 0.001,
	    .skew_ppm = 0.05,
	    .root_delay = 0.0123,
	    .root_dispersion = 0.0004,
	    .update_interval = 64.2,
	};
	uint8_t p[512] = {0};
	size_t n = tracking_reply(p, 0x746f636b, &t); /* fuzz_tracking's fixed sequence */

	save("tracking", "synced", p, n);
	save("tracking", "truncated", p, n - 1);
	save("tracking", "header_only", p, CANDM_RPY_HDR_LEN);
	candm_put16(p + 8, 1);
	save("tracking", "error_status", p, n);
	t.leap = 3;
	t.stratum = 0;
	t.ref_id = 0;
	n = tracking_reply(p, 99, &t);
	save("tracking", "unsynced", p, n);
	candm_put32(p + CANDM_RPY_HDR_LEN + 28, 0x7fffffff); /* chrony's 32-bit time marker */
	candm_put32(p + CANDM_RPY_HDR_LEN + 36, 0xffffffff); /* nanoseconds out of range */
	save("tracking", "nohighsec", p, n);
	for (int i = 0; i < 9;
	     i++) /* extreme floats: largest/smallest exponents and coefficients */
		candm_put32(p + CANDM_RPY_HDR_LEN + 40 + 4 * i, i % 3 == 0   ? 0xff000000u
		                                                : i % 3 == 1 ? 0x81000000u
		                                                             : 0x7effffffu);
	save("tracking", "float_edges", p, n);
	candm_put16(p + 6, CANDM_RPY_NULL);
	save("tracking", "wrong_reply_code", p, n);
}

/* ---- cookies ------------------------------------------------------------------------- */

static int seal(int aead, uint8_t *out)
{
	static const uint8_t nonce[COOKIE_NONCE_LEN] = {9, 8, 7, 6, 5, 4, 3, 2, 1};
	struct cookie_keys k;
	uint32_t id;
	struct siv *m = fuzz_master(&id);
	int n;

	fuzz_client_keys(&k, aead);
	n = cookie_seal(m, id, nonce, &k, out, COOKIE_MAX_LEN);
	siv_free(m);
	if (n < 0)
		exit(1);
	return n;
}

static void gen_cookie(void)
{
	uint8_t c[COOKIE_MAX_LEN] = {0};
	int n;

	n = seal(15, c);
	save("cookie", "aead15", c, (size_t)n);
	n = seal(17, c);
	save("cookie", "aead17", c, (size_t)n);
	c[30] ^= 0x40;
	save("cookie", "aead17_bad_tag", c, (size_t)n);
	n = seal(15, c);
	save("cookie", "len99", c, (size_t)n - 1);
	save("cookie", "header_only", c, COOKIE_HEADER_LEN);
	save("cookie", "short", c, 3);
}

/* ---- key files ----------------------------------------------------------------------- */

static void save_text(const char *name, const char *text)
{
	save("keyfile", name, text, strlen(text));
}

static void export_ring(const char *name, struct keyring *kr, int version)
{
	char path[] = "/tmp/tock-gen-keyfile.XXXXXX", buf[4096];
	int fd = mkstemp(path);
	ssize_t n;

	if (fd < 0 || keyring_export_chrony(kr, path, version, 1700000000) < 0)
		exit(1);
	close(fd);
	fd = open(path, O_RDONLY);
	n = fd < 0 ? -1 : read(fd, buf, sizeof(buf));
	if (n <= 0)
		exit(1);
	close(fd);
	unlink(path);
	save("keyfile", name, buf, (size_t)n);
}

static void gen_keyfile(void)
{
	struct keyring kr;

	keyring_init(&kr, 3600);
	fuzz_serve_keymap(&kr.ring);
	kr.last_rotation = 1700000000 - 1234;
	export_ring("nks1", &kr, 1);
	export_ring("nks0", &kr, 0);
	kr.ring.slots[(FUZZ_EPOCH + 1) & 3].aead = 17; /* the next key with the wider AEAD */
	export_ring("nks1_mixed_aead", &kr, 1);
	save_text("bad_ids",
	          "NKS1\n5.0\n"
	          "00000001 000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F 15\n"
	          "00000003 000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F 15\n"
	          "00000002 000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F 15\n"
	          "00000003 000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F 15\n");
	save_text("huge_age",
	          "NKS0\n15 1e300\n"
	          "00000135 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n"
	          "00000136 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n"
	          "00000137 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n"
	          "00000138 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n");
	save_text("trailing_junk", "NKS1\n0.0\na b 15\nc d 15\ne f 15\ng h 15\nextra\n");
	save_text("header_only", "NKS1\n");
	save_text("crlf", "NKS1\r\n-3\r\n");
}

/* ---- NTS client responses ------------------------------------------------------------- */

static void fixed_now(struct timespec *ts)
{
	ts->tv_sec = 1700000000;
	ts->tv_nsec = 5;
}

static struct tock_worker_ctx *worker(void)
{
	static struct tock_worker_stats stats;
	static struct tock_clock_cell cell;
	struct tock_serve_opts opts = {.now = fixed_now};
	struct tock_clock_status st = {.stratum = 1, .precision = -20, .refid = 0x47505300};
	struct keymap_snapshot snap;
	struct tock_worker_ctx *w;

	clock_cell_publish(&cell, &st);
	w = tock_worker_new(&opts, &stats, &cell);
	fuzz_serve_keymap(&snap);
	if (!w || tock_worker_set_keys(w, &snap) < 0)
		exit(1);
	return w;
}

/* tock_serve()'s answer to the fixed request with `ph` placeholders; a foreign key id
 * (bad_id) gets a NAK. */
static size_t response(struct tock_worker_ctx *w, unsigned ph, int bad_id, uint8_t *out)
{
	struct tock_rx_meta rx = {.rx_time = {.tv_sec = 1700000000, .tv_nsec = 1}};
	struct nts_client_request r;
	struct cookie_keys k;
	uint8_t cookie[COOKIE_MAX_LEN], req[2048];
	struct siv *c2s;
	int n;

	fuzz_client_request(&r);
	fuzz_client_keys(&k, 15);
	r.cookie = cookie;
	r.cookie_len = (size_t)seal(15, cookie);
	cookie[0] ^= (uint8_t)(bad_id ? 0x10 : 0);
	r.placeholders = ph;
	c2s = fuzz_client_siv(&k, 0);
	n = nts_client_build(&r, c2s, req, sizeof(req));
	siv_free(c2s);
	if (n < 0)
		exit(1);
	return tock_serve(w, req, (size_t)n, &rx, out, 2048);
}

static void gen_nts_client(void)
{
	struct tock_worker_ctx *w = worker();
	uint8_t p[2048], pt[256];
	size_t n, pos = 0;

	n = response(w, 0, 0, p);
	save("nts_client", "one_cookie", p, n);
	p[n - 1] ^= 1;
	save("nts_client", "bad_tag", p, n);
	save("nts_client", "truncated", p, n - 8);
	save("nts_client", "three_cookies", p, response(w, 2, 0, p));
	save("nts_client", "nak", p, response(w, 0, 1, p));
	/* plaintexts for the sealed half of the target (whole responses are too short to
	 * count as one) */
	seal(15, p);
	ntp_ef_put(pt, sizeof(pt), &pos, NTP_EF_NTS_COOKIE, p, 100);
	ntp_ef_put(pt, sizeof(pt), &pos, 0x2005, NULL, 0);
	save("nts_client", "pt_cookie_and_unknown", pt, pos);
	pt[2] = 0, pt[3] = 200; /* cookie field longer than what is left */
	save("nts_client", "pt_overrun", pt, pos);
	tock_worker_free(w);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
		return 2;
	}
	dir = argv[1];
	gen_control();
	gen_tracking();
	gen_cookie();
	gen_keyfile();
	gen_nts_client();
	return 0;
}
