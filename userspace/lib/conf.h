/* SPDX-License-Identifier: MIT */
/*
 * Configuration (DESIGN §12): one chrony.conf-style file read by both daemons. One
 * directive per line, '#' or ';' starts a comment, later duplicates win (repeatable
 * directives accumulate), `include FILE` nests (depth-limited). A declarative table in
 * conf.c gives each directive its owner, type, bounds and default; each daemon ignores
 * the other's directives; unknown directives and bad values are errors with file:line.
 */
#ifndef TOCK_CONF_H
#define TOCK_CONF_H

#include <net/if.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define CONF_PATH_MAX   256
#define CONF_MAX_ADDRS  16
#define CONF_MAX_IFACES 8
#define CONF_MAX_PREFIX 256
#define CONF_MAX_CERTS  8
#define CONF_MAX_AEADS  4

/* `clock follow kernel` | `clock follow chronyd [SOCKET]` | static (`stratum N`, `refid ID`)
 * | `clock unsynchronised` (answer leap 3 / stratum 0: for draining a server or tests). */
enum conf_clock_mode {
	CONF_CLOCK_KERNEL = 0,
	CONF_CLOCK_CHRONYD,
	CONF_CLOCK_STATIC,
	CONF_CLOCK_UNSYNC
};
enum conf_xdp_mode { CONF_XDP_OFF = 0, CONF_XDP_NATIVE, CONF_XDP_GENERIC };

/* An address with port, ready for bind(). */
struct conf_addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

/* An IPv4 or IPv6 prefix (addr in network order). */
struct conf_prefix {
	int family; /* AF_INET or AF_INET6 */
	uint8_t addr[16];
	uint8_t len;
};

struct conf_xdp_iface {
	char ifname[IF_NAMESIZE];
	int mode; /* enum conf_xdp_mode */
};

struct conf_ratelimit {
	int enabled;
	uint32_t rate;       /* requests per second per prefix */
	uint32_t burst;      /* bucket depth */
	uint8_t prefix4;     /* 32 */
	uint8_t prefix6;     /* 64 */
	uint32_t kod_every;  /* answer 1 in N over-limit requests with KoD RATE (0 = never) */
	uint32_t leak_every; /* pass 1 in N over-limit requests (0 = never) */
};

struct conf_cert {
	char cert[CONF_PATH_MAX];
	char key[CONF_PATH_MAX];
};

struct tock_conf {
	/* shared */
	char statedir[CONF_PATH_MAX];
	char rundir[CONF_PATH_MAX];
	char user[64];
	char ntskeyseed[CONF_PATH_MAX];

	/* tockd */
	struct conf_addr listen[CONF_MAX_ADDRS];
	int n_listen;
	int workers;    /* 0 = auto (one per online CPU) */
	int clock_mode; /* enum conf_clock_mode */
	char chronyd_socket[CONF_PATH_MAX];
	int stratum;   /* static clock */
	char refid[5]; /* static clock, up to 4 characters */
	struct conf_xdp_iface xdp[CONF_MAX_IFACES];
	int n_xdp;
	int xdp_fastpath;
	int xdp_afxdp; /* requests reach tockd through AF_XDP sockets, not UDP ones */
	struct conf_ratelimit ratelimit;
	struct conf_prefix allow[CONF_MAX_PREFIX];
	int n_allow;
	struct conf_prefix deny[CONF_MAX_PREFIX];
	int n_deny;
	char hwtimestamp[CONF_MAX_IFACES][IF_NAMESIZE];
	int n_hwtimestamp;
	char controlsocket[CONF_PATH_MAX];
	struct conf_addr metrics;
	int metrics_enabled;
	int io_uring; /* 1 (default) or 0: force the recvmmsg fallback */

	/* tock-ke */
	struct conf_addr ntslisten[CONF_MAX_ADDRS];
	int n_ntslisten;
	struct conf_cert certs[CONF_MAX_CERTS];
	int n_certs;
	char ntsntpserver[256];
	int ntsntpport;     /* 0 = no Port Negotiation record */
	uint32_t ntsrotate; /* seconds */
	int ntsaeads[CONF_MAX_AEADS];
	int n_ntsaeads;
	int maxntsconnections;
	double ntstimeout;          /* seconds, whole session */
	uint32_t ntsratelimit_rate; /* new connections per second per source (0 = off) */
	uint32_t ntsratelimit_burst;
	int ntsthreads; /* KE worker threads (0 = auto) */
};

/* Fills every field with its default (listen 0.0.0.0 and :: port 123, etc.). */
void conf_defaults(struct tock_conf *c);

/* Defaults, then the file. 0, or -1 with "file:line: what" in err. */
int conf_load(struct tock_conf *c, const char *path, char *err, size_t errlen);

/* Defaults, then the given text (for embedded configs, tests and the fuzzer); `name` is
 * used in error messages. 0 or -1 with err filled. */
int conf_load_string(struct tock_conf *c, const char *text, const char *name, char *err,
                     size_t errlen);

/* Formats an address with port ("198.18.0.1:123", "[2001:2::1]:123"). */
const char *conf_addr_str(const struct conf_addr *a, char *buf, size_t len);

#endif
