// SPDX-License-Identifier: MIT
/* metrics.c (chrony's fields, Prometheus text) and sdnotify.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "check.h"
#include "metrics.h"
#include "sdnotify.h"

static struct tock_worker_stats workers[3];
static struct tock_ke_stats ke;

static void fill(struct metrics_input *in, unsigned seed)
{
	srand(seed);
	for (unsigned w = 0; w < 3; w++)
		for (unsigned i = 0; i < STAT_COUNT; i++)
			workers[w].c[i] = (uint64_t)rand() % 1000000;
	for (unsigned i = 0; i < KE_STAT_COUNT; i++)
		ke.c[i] = (uint64_t)rand() % 1000;
	*in = (struct metrics_input){.workers = workers,
	                             .n_workers = 3,
	                             .ke = &ke,
	                             .key_id = 7,
	                             .key_created = 1000,
	                             .now = 4600,
	                             .start_time = 900,
	                             .ke_start_time = 950};
}

static void test_chrony_values(void)
{
	struct metrics_input in;
	uint64_t v[MCF_COUNT], drops = 0;

	fill(&in, 1);
	metrics_chrony_values(&in, v);
	CHECK_EQ(v[MCF_NTP_HITS],
	         workers[0].c[STAT_RX] + workers[1].c[STAT_RX] + workers[2].c[STAT_RX]);
	for (unsigned id = 0; id < STAT_COUNT; id++)
		if (!strncmp(tock_stat_names[id], "drop_", 5))
			drops += metrics_ntp_sum(&in, id);
	CHECK(drops >=
	      metrics_ntp_sum(&in, STAT_DROP_RATELIMIT) + metrics_ntp_sum(&in, STAT_DROP_SHORT));
	CHECK_EQ(v[MCF_NTP_DROPS], drops);
	CHECK_EQ(v[MCF_NKE_HITS], ke.c[KE_STAT_ACCEPTED]);
	CHECK_EQ(v[MCF_NKE_DROPS], ke.c[KE_STAT_REFUSED_LIMIT] + ke.c[KE_STAT_REFUSED_RATE]);
	CHECK_EQ(v[MCF_AUTH_HITS], metrics_ntp_sum(&in, STAT_NTS_ANSWERED));
	CHECK_EQ(v[MCF_CMD_HITS], 0);
	/* XDP-handled requests count as received, and the dropped ones as dropped */
	in.xdp_dropped = 5;
	in.xdp_answered = 7;
	metrics_chrony_values(&in, v);
	CHECK_EQ(v[MCF_NTP_HITS], metrics_ntp_sum(&in, STAT_RX) + 12);
	CHECK_EQ(v[MCF_NTP_DROPS], drops + 5);
	/* no tockd, no tock-ke: all zero, no crash */
	in = (struct metrics_input){0};
	metrics_chrony_values(&in, v);
	for (unsigned i = 0; i < MCF_COUNT; i++)
		CHECK_EQ(v[i], 0);
	CHECK(!strcmp(metrics_chrony_fields[0].label, "NTP packets received"));
	CHECK(!strcmp(metrics_chrony_fields[MCF_COUNT_43 - 1].label, "NTP timestamp span"));
}

static void test_format(void)
{
	struct metrics_extra xdp[2] = {{"xdp_a", "a", 3}, {"xdp_b", "b", 4}};
	struct metrics_input in;
	size_t hint, need, small;
	char *buf, line[128];

	fill(&in, 2);
	in.xdp = xdp;
	in.n_xdp = 2;
	hint = metrics_size_hint(&in);
	buf = malloc(hint);
	need = metrics_format(&in, buf, hint);
	CHECK(need > 0 && need < hint, "need %zu hint %zu", need, hint);
	CHECK_EQ(strlen(buf), need);
	snprintf(line, sizeof(line), "tock_rx_packets_total{worker=\"2\"} %llu\n",
	         (unsigned long long)workers[2].c[STAT_RX]);
	CHECK(strstr(buf, line), "%s", line);
	CHECK(strstr(buf, "# TYPE chrony_serverstats_ntp_packets_received_total counter\n"));
	CHECK(strstr(buf, "# TYPE chrony_serverstats_ntp_timestamps_held gauge\n"));
	CHECK(strstr(buf, "\ntock_xdp_b_total 4\n"));
	CHECK(strstr(buf, "\ntock_ke_key_age_seconds 3600\n"));
	CHECK(buf[need - 1] == '\n');
	CHECK(strstr(buf, "\ntock_workers 3\n"));
	CHECK(strstr(buf, "\ntock_afxdp_workers 0\n"));
	/* the last block is an AF_XDP worker's: labelled apart, not counted as a socket worker */
	in.n_afxdp = 1;
	CHECK(metrics_format(&in, buf, hint) < hint);
	snprintf(line, sizeof(line), "tock_rx_packets_total{worker=\"afxdp0\"} %llu\n",
	         (unsigned long long)workers[2].c[STAT_RX]);
	CHECK(strstr(buf, line), "%s", line);
	CHECK(strstr(buf, "tock_rx_packets_total{worker=\"1\"}"));
	CHECK(!strstr(buf, "tock_rx_packets_total{worker=\"2\"}"));
	CHECK(strstr(buf, "\ntock_workers 2\n"));
	CHECK(strstr(buf, "\ntock_afxdp_workers 1\n"));
	in.n_afxdp = 0;
	need = metrics_format(&in, buf, hint);
	/* snprintf semantics: a short buffer is filled, terminated, and the need reported */
	small = need / 2;
	memset(buf, 'x', hint);
	CHECK_EQ(metrics_format(&in, buf, small), need);
	CHECK_EQ(strlen(buf), small - 1);
	CHECK_EQ(metrics_format(&in, NULL, 0), need);
	free(buf);
}

/* Binds a datagram socket at `name` ('@' = abstract) and returns it. */
static int listener(const char *name)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	size_t len = strlen(name);
	socklen_t alen = offsetof(struct sockaddr_un, sun_path) + len + (name[0] == '/');

	memcpy(sun.sun_path, name, len);
	if (name[0] == '@')
		sun.sun_path[0] = '\0';
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, alen) < 0)
		return -1;
	return fd;
}

static void expect_ready(const char *name)
{
	char got[64] = {0};
	int fd = listener(name);

	CHECK(fd >= 0, "bind %s: %s", name, strerror(errno));
	if (fd < 0)
		return;
	setenv("NOTIFY_SOCKET", name, 1);
	CHECK_EQ(sdnotify_ready(), 0);
	CHECK(recv(fd, got, sizeof(got) - 1, MSG_DONTWAIT) == 7 && !strcmp(got, "READY=1"),
	      "%s: got '%s'", name, got);
	close(fd);
}

static void test_sdnotify(void)
{
	char path[64], abstract[64];

	unsetenv("NOTIFY_SOCKET");
	CHECK_EQ(sdnotify_ready(), 0); /* outside systemd: a no-op */
	snprintf(path, sizeof(path), "/tmp/tock-test-notify.%d", (int)getpid());
	unlink(path);
	expect_ready(path);
	unlink(path);
	snprintf(abstract, sizeof(abstract), "@tock-test-notify.%d", (int)getpid());
	expect_ready(abstract);
	setenv("NOTIFY_SOCKET", "relative/path", 1);
	CHECK_EQ(sdnotify_ready(), -EINVAL);
	setenv("NOTIFY_SOCKET", "/nonexistent/tock/notify", 1);
	CHECK(sdnotify_ready() < 0);
	unsetenv("NOTIFY_SOCKET");
}

int main(void)
{
	test_chrony_values();
	test_format();
	test_sdnotify();
	return check_done("test_tockctl_metrics");
}
