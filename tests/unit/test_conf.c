// SPDX-License-Identifier: MIT
/* Tests for the configuration parser: defaults, every directive shape, errors with
 * file:line, duplicates, includes. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "conf.h"

static struct tock_conf c;
static char err[512];

static int load(const char *text)
{
	return conf_load_string(&c, text, "test.conf", err, sizeof(err));
}

static void test_defaults(void)
{
	char buf[64];

	CHECK_EQ(load(""), 0);
	CHECK_EQ(c.n_listen, 2);
	CHECK(!strcmp(conf_addr_str(&c.listen[0], buf, sizeof(buf)), "0.0.0.0:123"), "%s", buf);
	CHECK(!strcmp(conf_addr_str(&c.listen[1], buf, sizeof(buf)), "[::]:123"), "%s", buf);
	CHECK(!strcmp(conf_addr_str(&c.ntslisten[0], buf, sizeof(buf)), "0.0.0.0:4460"), "%s", buf);
	CHECK(!strcmp(c.statedir, "/var/lib/tock"));
	CHECK(!strcmp(c.rundir, "/run/tock"));
	CHECK(!strcmp(c.controlsocket, "/run/tock/tockd.sock"), "%s", c.controlsocket);
	CHECK(!strcmp(c.user, "tock"));
	CHECK_EQ(c.ntsrotate, 86400);
	CHECK_EQ(c.n_ntsaeads, 2);
	CHECK_EQ(c.ntsaeads[0], 15);
	CHECK_EQ(c.ntsaeads[1], 17);
	CHECK_EQ(c.clock_mode, CONF_CLOCK_KERNEL);
	CHECK_EQ(c.maxntsconnections, 1000);
	CHECK(c.ntstimeout == 2.0);
	CHECK_EQ(c.io_uring, 1);
	CHECK_EQ(c.ratelimit.enabled, 0);
}

static void test_directives(void)
{
	char buf[64];
	const char *text = "# a comment\n"
	                   "listen 198.18.0.1\n"
	                   "listen 2001:2::1 1123   ; trailing comment\n"
	                   "ntslisten 127.0.0.1 14460\n"
	                   "ntsservercert /a.crt\nntsserverkey /a.key\n"
	                   "ntsservercert /b.crt\nntsserverkey /b.key\n"
	                   "ntsntpserver time.example.net\nntsntpport 1123\n"
	                   "ntsrotate 3600\nntsaeads 17 15\n"
	                   "statedir /tmp/s\nrundir /tmp/r\nuser nobody\n"
	                   "workers 2\nclock follow chronyd /tmp/chrony.sock\n"
	                   "xdp eth0 native\nxdp eth0 generic\nxdp fastpath on\n"
	                   "ratelimit rate 16 burst 32 prefix4 24 prefix6 56 kod 1/2 leak 1/8\n"
	                   "allow 198.18.0.0/15\ndeny 2001:2::ff/48\n"
	                   "hwtimestamp eth0\nmetrics 127.0.0.1:9123\nio_uring off\n"
	                   "maxntsconnections 50\nntstimeout 0.5\nntsratelimit rate 5 burst 10\n"
	                   "ntsthreads 3\n";

	CHECK_EQ(load(text), 0);
	CHECK(err[0] == '\0', "%s", err);
	CHECK_EQ(c.n_listen, 2);
	CHECK(!strcmp(conf_addr_str(&c.listen[0], buf, sizeof(buf)), "198.18.0.1:123"), "%s", buf);
	CHECK(!strcmp(conf_addr_str(&c.listen[1], buf, sizeof(buf)), "[2001:2::1]:1123"), "%s",
	      buf);
	CHECK_EQ(c.n_ntslisten, 1);
	CHECK_EQ(c.n_certs, 2);
	CHECK(!strcmp(c.certs[1].cert, "/b.crt") && !strcmp(c.certs[1].key, "/b.key"));
	CHECK(!strcmp(c.ntsntpserver, "time.example.net"));
	CHECK_EQ(c.ntsntpport, 1123);
	CHECK_EQ(c.ntsrotate, 3600);
	CHECK_EQ(c.ntsaeads[0], 17);
	CHECK(!strcmp(c.controlsocket, "/tmp/r/tockd.sock"), "%s", c.controlsocket);
	CHECK_EQ(c.workers, 2);
	CHECK_EQ(c.clock_mode, CONF_CLOCK_CHRONYD);
	CHECK(!strcmp(c.chronyd_socket, "/tmp/chrony.sock"));
	CHECK_EQ(c.n_xdp, 1);
	CHECK_EQ(c.xdp[0].mode, CONF_XDP_GENERIC);
	CHECK_EQ(c.xdp_fastpath, 1);
	CHECK_EQ(c.ratelimit.enabled, 1);
	CHECK_EQ(c.ratelimit.rate, 16);
	CHECK_EQ(c.ratelimit.burst, 32);
	CHECK_EQ(c.ratelimit.prefix4, 24);
	CHECK_EQ(c.ratelimit.prefix6, 56);
	CHECK_EQ(c.ratelimit.kod_every, 2);
	CHECK_EQ(c.ratelimit.leak_every, 8);
	CHECK_EQ(c.n_allow, 1);
	CHECK_EQ(c.allow[0].family, AF_INET);
	CHECK_EQ(c.allow[0].len, 15);
	CHECK_EQ(c.deny[0].family, AF_INET6);
	CHECK_EQ(c.deny[0].addr[15], 0); /* host bits cleared */
	CHECK_EQ(c.n_hwtimestamp, 1);
	CHECK_EQ(c.metrics_enabled, 1);
	CHECK(!strcmp(conf_addr_str(&c.metrics, buf, sizeof(buf)), "127.0.0.1:9123"));
	CHECK_EQ(c.io_uring, 0);
	CHECK_EQ(c.maxntsconnections, 50);
	CHECK(c.ntstimeout == 0.5);
	CHECK_EQ(c.ntsratelimit_rate, 5);
	CHECK_EQ(c.ntsthreads, 3);
}

static void test_static_clock_and_duplicates(void)
{
	CHECK_EQ(load("stratum 1\nrefid GPS\nntsrotate 10\nntsrotate 20\n"), 0);
	CHECK_EQ(c.clock_mode, CONF_CLOCK_STATIC);
	CHECK_EQ(c.stratum, 1);
	CHECK(!strcmp(c.refid, "GPS"));
	CHECK_EQ(c.ntsrotate, 20);
	CHECK_EQ(load("clock follow kernel\nstratum 2\n"), 0);
	CHECK_EQ(c.clock_mode, CONF_CLOCK_KERNEL);
	CHECK_EQ(c.stratum, 2);
	CHECK_EQ(load("stratum 2\nclock follow kernel\n"), 0);
	CHECK_EQ(c.clock_mode, CONF_CLOCK_KERNEL);
	CHECK_EQ(load("clock unsynchronised\n"), 0);
	CHECK_EQ(c.clock_mode, CONF_CLOCK_UNSYNC);
}

/* Each bad line must fail and name its line. */
static void test_errors(void)
{
	static const char *const bad[] = {
	    "frobnicate 1",
	    "listen 1.2.3.4.5",
	    "listen 1.2.3.4 70000",
	    "ntsrotate 0",
	    "ntsrotate -5",
	    "ntsrotate 12x",
	    "ntsaeads 16",
	    "workers 0",
	    "clock follow ntpd",
	    "refid TOOLONG",
	    "xdp eth0 fast",
	    "ratelimit rate 1",
	    "ratelimit rate 1 burst 2 kod 2",
	    "allow 198.18.0.0/33",
	    "deny nonsense",
	    "metrics 127.0.0.1",
	    "ntstimeout 0",
	    "ntsratelimit rate 1",
	    "io_uring maybe",
	    "stratum 16",
	    "ntsservercert /a",
	    "listen",
	    "include /nonexistent/tock.conf",
	};
	char text[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "# ok\n%s\n", bad[i]);
		CHECK(load(text) == -1, "accepted: %s", bad[i]);
		CHECK(strstr(err, "test.conf:2:") != NULL || strstr(err, "test.conf:0:") != NULL,
		      "%s -> %s", bad[i], err);
	}
}

static void test_include(void)
{
	char dir[] = "/tmp/tock-conf-XXXXXX", main_path[128], inc_path[128];
	FILE *f;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(main_path, sizeof(main_path), "%s/main.conf", dir);
	snprintf(inc_path, sizeof(inc_path), "%s/inc.conf", dir);
	f = fopen(inc_path, "w");
	fputs("ntsrotate 77\nbogus\n", f);
	fclose(f);
	f = fopen(main_path, "w");
	fputs("ntsrotate 1\ninclude inc.conf\n", f);
	fclose(f);
	CHECK_EQ(conf_load(&c, main_path, err, sizeof(err)), -1);
	CHECK(strstr(err, "inc.conf:2: unknown directive 'bogus'") != NULL, "%s", err);
	f = fopen(inc_path, "w");
	fputs("ntsrotate 77\n", f);
	fclose(f);
	CHECK_EQ(conf_load(&c, main_path, err, sizeof(err)), 0);
	CHECK_EQ(c.ntsrotate, 77);
	/* a file including itself stops at the depth limit instead of looping */
	f = fopen(inc_path, "w");
	fputs("include inc.conf\n", f);
	fclose(f);
	CHECK_EQ(conf_load(&c, main_path, err, sizeof(err)), -1);
	CHECK(strstr(err, "nested deeper") != NULL, "%s", err);
	unlink(inc_path);
	unlink(main_path);
	rmdir(dir);
}

int main(void)
{
	test_defaults();
	test_directives();
	test_static_clock_and_duplicates();
	test_errors();
	test_include();
	return check_done("test_conf");
}
