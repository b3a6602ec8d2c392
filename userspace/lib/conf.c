// SPDX-License-Identifier: MIT
/*
 * The configuration parser (see conf.h): a declarative table of directives, each with its
 * owner, argument shape, bounds and the field it fills. Both daemons load the whole file;
 * each simply uses its own fields, so a directive of the other daemon is never an error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

#define CONF_MAX_ARGS     16
#define CONF_MAX_INCLUDE  8
#define CONF_MAX_LINE     1024
#define CONF_MAX_FILESIZE (1 << 20)

/* Parsing state beyond the result itself. */
struct conf_ctx {
	struct tock_conf *c;
	const char *file;
	int line;
	int depth;
	int listen_set; /* first `listen` replaces the defaults, later ones add */
	int ntslisten_set;
	int n_cert_files; /* ntsservercert / ntsserverkey pair up by order */
	int n_key_files;
	int clock_set; /* an explicit `clock` line beats the static mode `stratum` implies */
	int stratum_set;
	char *err;
	size_t errlen;
};

static int conf_error(struct conf_ctx *x, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int conf_error(struct conf_ctx *x, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(x->err, x->errlen, "%s:%d: ", x->file, x->line);

	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < x->errlen)
		vsnprintf(x->err + n, x->errlen - n, fmt, ap);
	va_end(ap);
	return -1;
}

/* ---- value parsers ------------------------------------------------------------------------ */

static int parse_ulong(struct conf_ctx *x, const char *s, unsigned long min, unsigned long max,
                       unsigned long *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < min || v > max)
		return conf_error(x, "'%s' is not a number in %lu..%lu", s, min, max);
	*out = v;
	return 0;
}

static int parse_int(struct conf_ctx *x, const char *s, int min, int max, int *out)
{
	unsigned long v;

	if (parse_ulong(x, s, (unsigned long)min, (unsigned long)max, &v))
		return -1;
	*out = (int)v;
	return 0;
}

static int parse_u32(struct conf_ctx *x, const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	unsigned long v;

	if (parse_ulong(x, s, min, max, &v))
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int parse_onoff(struct conf_ctx *x, const char *s, int *out)
{
	if (!strcmp(s, "on") || !strcmp(s, "yes"))
		*out = 1;
	else if (!strcmp(s, "off") || !strcmp(s, "no"))
		*out = 0;
	else
		return conf_error(x, "expected on or off, not '%s'", s);
	return 0;
}

static int copy_str(struct conf_ctx *x, char *dst, size_t cap, const char *s)
{
	if (strlen(s) >= cap)
		return conf_error(x, "'%.40s...' is too long (max %zu)", s, cap - 1);
	strcpy(dst, s);
	return 0;
}

/* "1/N" → N (the sampling fraction of `kod` and `leak`). */
static int parse_fraction(struct conf_ctx *x, const char *s, uint32_t *out)
{
	if (strncmp(s, "1/", 2) != 0)
		return conf_error(x, "expected a fraction 1/N, not '%s'", s);
	return parse_u32(x, s + 2, 1, 1u << 30, out);
}

/* An IPv4 or IPv6 literal (IPv6 may be bracketed) plus port into a sockaddr. */
static int make_addr(struct conf_ctx *x, const char *host, unsigned port, struct conf_addr *a)
{
	char buf[INET6_ADDRSTRLEN + 2];
	size_t n = strlen(host);
	struct sockaddr_in *s4 = (struct sockaddr_in *)&a->ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&a->ss;

	memset(a, 0, sizeof(*a));
	if (n >= 2 && host[0] == '[' && host[n - 1] == ']' && n - 2 < sizeof(buf)) {
		memcpy(buf, host + 1, n - 2);
		buf[n - 2] = '\0';
		host = buf;
	}
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		a->len = sizeof(*s4);
	} else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		a->len = sizeof(*s6);
	} else {
		return conf_error(x, "'%s' is not an IPv4 or IPv6 address", host);
	}
	return 0;
}

/* "ADDR:PORT" or "[V6]:PORT". */
static int parse_hostport(struct conf_ctx *x, const char *s, struct conf_addr *a)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon = strrchr(s, ':');
	unsigned long port;

	if (!colon || (size_t)(colon - s) >= sizeof(host) ||
	    (strchr(s, ':') != colon && s[0] != '['))
		return conf_error(x, "expected ADDR:PORT or [ADDR]:PORT, not '%s'", s);
	memcpy(host, s, colon - s);
	host[colon - s] = '\0';
	if (parse_ulong(x, colon + 1, 1, 65535, &port))
		return -1;
	return make_addr(x, host, (unsigned)port, a);
}

static int parse_prefix(struct conf_ctx *x, const char *s, struct conf_prefix *p)
{
	char host[INET6_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	size_t hlen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned long len, max;

	if (hlen >= sizeof(host))
		return conf_error(x, "'%s' is not a prefix", s);
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	memset(p, 0, sizeof(*p));
	if (inet_pton(AF_INET, host, p->addr) == 1)
		p->family = AF_INET, max = 32;
	else if (inet_pton(AF_INET6, host, p->addr) == 1)
		p->family = AF_INET6, max = 128;
	else
		return conf_error(x, "'%s' is not an IPv4 or IPv6 prefix", s);
	len = max;
	if (slash && parse_ulong(x, slash + 1, 0, max, &len))
		return -1;
	p->len = (uint8_t)len;
	/* clear host bits so equal prefixes compare equal */
	for (unsigned bit = len; bit < max; bit++)
		p->addr[bit / 8] &= (uint8_t) ~(0x80 >> (bit % 8));
	return 0;
}

/* ---- directive handlers ------------------------------------------------------------------ */

typedef int (*conf_handler)(struct conf_ctx *x, char **argv, int argc);

static int add_listen(struct conf_ctx *x, char **argv, int argc, struct conf_addr *list, int *n,
                      int *set, unsigned default_port)
{
	unsigned long port = default_port;

	if (!*set) {
		*n = 0;
		*set = 1;
	}
	if (*n >= CONF_MAX_ADDRS)
		return conf_error(x, "more than %d addresses", CONF_MAX_ADDRS);
	if (argc > 1 && parse_ulong(x, argv[1], 1, 65535, &port))
		return -1;
	return make_addr(x, argv[0], (unsigned)port, &list[(*n)++]);
}

static int h_listen(struct conf_ctx *x, char **argv, int argc)
{
	return add_listen(x, argv, argc, x->c->listen, &x->c->n_listen, &x->listen_set, 123);
}

static int h_ntslisten(struct conf_ctx *x, char **argv, int argc)
{
	return add_listen(x, argv, argc, x->c->ntslisten, &x->c->n_ntslisten, &x->ntslisten_set,
	                  4460);
}

static int h_cert(struct conf_ctx *x, char **argv, int argc)
{
	if (x->n_cert_files >= CONF_MAX_CERTS)
		return conf_error(x, "more than %d certificates", CONF_MAX_CERTS);
	if (copy_str(x, x->c->certs[x->n_cert_files++].cert, CONF_PATH_MAX, argv[0]))
		return -1;
	if (x->n_cert_files > x->c->n_certs)
		x->c->n_certs = x->n_cert_files;
	return 0;
}

static int h_key(struct conf_ctx *x, char **argv, int argc)
{
	if (x->n_key_files >= CONF_MAX_CERTS)
		return conf_error(x, "more than %d keys", CONF_MAX_CERTS);
	if (copy_str(x, x->c->certs[x->n_key_files++].key, CONF_PATH_MAX, argv[0]))
		return -1;
	if (x->n_key_files > x->c->n_certs)
		x->c->n_certs = x->n_key_files;
	return 0;
}

static int h_aeads(struct conf_ctx *x, char **argv, int argc)
{
	if (argc > CONF_MAX_AEADS)
		return conf_error(x, "at most %d AEADs", CONF_MAX_AEADS);
	for (int i = 0; i < argc; i++) {
		int id;

		if (parse_int(x, argv[i], 1, 65535, &id))
			return -1;
		if (id != 15 && id != 17 && id != 30)
			return conf_error(x, "AEAD %d is not supported (15, 17, 30)", id);
		x->c->ntsaeads[i] = id;
	}
	x->c->n_ntsaeads = argc;
	return 0;
}

static int h_workers(struct conf_ctx *x, char **argv, int argc)
{
	if (!strcmp(argv[0], "auto")) {
		x->c->workers = 0;
		return 0;
	}
	return parse_int(x, argv[0], 1, 256, &x->c->workers);
}

static int h_clock(struct conf_ctx *x, char **argv, int argc)
{
	struct tock_conf *c = x->c;

	x->clock_set = 1;
	if (argc >= 2 && !strcmp(argv[0], "follow") && !strcmp(argv[1], "kernel") && argc == 2) {
		c->clock_mode = CONF_CLOCK_KERNEL;
	} else if (argc >= 2 && !strcmp(argv[0], "follow") && !strcmp(argv[1], "chronyd") &&
	           argc <= 3) {
		c->clock_mode = CONF_CLOCK_CHRONYD;
		if (argc == 3)
			return copy_str(x, c->chronyd_socket, CONF_PATH_MAX, argv[2]);
	} else if (argc == 1 && !strcmp(argv[0], "static")) {
		c->clock_mode = CONF_CLOCK_STATIC;
	} else if (argc == 1 && !strcmp(argv[0], "unsynchronised")) {
		c->clock_mode = CONF_CLOCK_UNSYNC;
	} else {
		return conf_error(x, "expected 'clock follow chronyd [SOCKET]', 'clock follow "
		                     "kernel', 'clock static' or 'clock unsynchronised'");
	}
	return 0;
}

static int h_stratum(struct conf_ctx *x, char **argv, int argc)
{
	x->stratum_set = 1;
	return parse_int(x, argv[0], 1, 15, &x->c->stratum);
}

static int h_refid(struct conf_ctx *x, char **argv, int argc)
{
	if (strlen(argv[0]) > 4)
		return conf_error(x, "refid '%s' is longer than 4 characters", argv[0]);
	strcpy(x->c->refid, argv[0]);
	return 0;
}

static int h_xdp(struct conf_ctx *x, char **argv, int argc)
{
	struct conf_xdp_iface *xi;
	static const char *const modes[] = {"off", "native", "generic"};
	int mode = -1;

	if (!strcmp(argv[0], "fastpath"))
		return parse_onoff(x, argv[1], &x->c->xdp_fastpath);
	if (!strcmp(argv[0], "afxdp"))
		return parse_onoff(x, argv[1], &x->c->xdp_afxdp);
	for (int i = 0; i < 3; i++)
		if (!strcmp(argv[1], modes[i]))
			mode = i;
	if (mode < 0)
		return conf_error(
		    x, "expected 'xdp IFACE native|generic|off', 'xdp fastpath on|off' or "
		       "'xdp afxdp on|off'");
	for (int i = 0; i < x->c->n_xdp; i++)
		if (!strcmp(x->c->xdp[i].ifname, argv[0])) {
			x->c->xdp[i].mode = mode; /* later duplicates win */
			return 0;
		}
	if (x->c->n_xdp >= CONF_MAX_IFACES)
		return conf_error(x, "more than %d XDP interfaces", CONF_MAX_IFACES);
	xi = &x->c->xdp[x->c->n_xdp];
	if (copy_str(x, xi->ifname, sizeof(xi->ifname), argv[0]))
		return -1;
	xi->mode = mode;
	x->c->n_xdp++;
	return 0;
}

/* `ratelimit rate R burst B [prefix4 N] [prefix6 N] [kod 1/N] [leak 1/N]` */
static int h_ratelimit(struct conf_ctx *x, char **argv, int argc)
{
	struct conf_ratelimit rl = x->c->ratelimit;
	int have_rate = 0, have_burst = 0, err = 0;

	if (argc % 2)
		return conf_error(x, "ratelimit takes KEY VALUE pairs");
	for (int i = 0; i < argc && !err; i += 2) {
		const char *k = argv[i], *v = argv[i + 1];
		unsigned long n;

		if (!strcmp(k, "rate"))
			err = parse_u32(x, v, 1, 100000000, &rl.rate), have_rate = 1;
		else if (!strcmp(k, "burst"))
			err = parse_u32(x, v, 1, 100000000, &rl.burst), have_burst = 1;
		else if (!strcmp(k, "prefix4"))
			err = parse_ulong(x, v, 1, 32, &n), rl.prefix4 = (uint8_t)n;
		else if (!strcmp(k, "prefix6"))
			err = parse_ulong(x, v, 1, 128, &n), rl.prefix6 = (uint8_t)n;
		else if (!strcmp(k, "kod"))
			err = parse_fraction(x, v, &rl.kod_every);
		else if (!strcmp(k, "leak"))
			err = parse_fraction(x, v, &rl.leak_every);
		else
			return conf_error(x, "unknown ratelimit option '%s'", k);
	}
	if (err)
		return -1;
	if (!have_rate || !have_burst)
		return conf_error(x, "ratelimit needs 'rate R burst B'");
	rl.enabled = 1;
	x->c->ratelimit = rl;
	return 0;
}

static int add_prefix(struct conf_ctx *x, const char *s, struct conf_prefix *list, int *n)
{
	if (*n >= CONF_MAX_PREFIX)
		return conf_error(x, "more than %d prefixes", CONF_MAX_PREFIX);
	return parse_prefix(x, s, &list[(*n)++]);
}

static int h_allow(struct conf_ctx *x, char **argv, int argc)
{
	return add_prefix(x, argv[0], x->c->allow, &x->c->n_allow);
}

static int h_deny(struct conf_ctx *x, char **argv, int argc)
{
	return add_prefix(x, argv[0], x->c->deny, &x->c->n_deny);
}

static int h_hwtimestamp(struct conf_ctx *x, char **argv, int argc)
{
	if (x->c->n_hwtimestamp >= CONF_MAX_IFACES)
		return conf_error(x, "more than %d hwtimestamp interfaces", CONF_MAX_IFACES);
	return copy_str(x, x->c->hwtimestamp[x->c->n_hwtimestamp++], IF_NAMESIZE, argv[0]);
}

static int h_metrics(struct conf_ctx *x, char **argv, int argc)
{
	if (!strcmp(argv[0], "off")) {
		x->c->metrics_enabled = 0;
		return 0;
	}
	x->c->metrics_enabled = 1;
	return parse_hostport(x, argv[0], &x->c->metrics);
}

static int h_ntstimeout(struct conf_ctx *x, char **argv, int argc)
{
	char *end;
	double v = strtod(argv[0], &end);

	if (end == argv[0] || *end || !(v >= 0.1 && v <= 60))
		return conf_error(x, "ntstimeout must be 0.1..60 seconds, not '%s'", argv[0]);
	x->c->ntstimeout = v;
	return 0;
}

/* `ntsratelimit rate R burst B` or `ntsratelimit off` */
static int h_ntsratelimit(struct conf_ctx *x, char **argv, int argc)
{
	if (argc == 1 && !strcmp(argv[0], "off")) {
		x->c->ntsratelimit_rate = 0;
		return 0;
	}
	if (argc != 4 || strcmp(argv[0], "rate") || strcmp(argv[2], "burst"))
		return conf_error(x,
		                  "expected 'ntsratelimit rate R burst B' or 'ntsratelimit off'");
	if (parse_u32(x, argv[1], 1, 1000000, &x->c->ntsratelimit_rate) ||
	    parse_u32(x, argv[3], 1, 1000000, &x->c->ntsratelimit_burst))
		return -1;
	return 0;
}

static int conf_parse_file(struct conf_ctx *x, const char *path);

static int h_include(struct conf_ctx *x, char **argv, int argc)
{
	char path[CONF_PATH_MAX * 2];
	const char *slash = strrchr(x->file, '/');

	/* relative paths are relative to the including file, as an operator would expect */
	if (argv[0][0] != '/' && slash)
		snprintf(path, sizeof(path), "%.*s/%s", (int)(slash - x->file), x->file, argv[0]);
	else
		snprintf(path, sizeof(path), "%s", argv[0]);
	if (x->depth >= CONF_MAX_INCLUDE)
		return conf_error(x, "includes nested deeper than %d", CONF_MAX_INCLUDE);
	return conf_parse_file(x, path);
}

/* ---- the table ---------------------------------------------------------------------------- */

enum conf_kind { K_HANDLER, K_STR, K_INT, K_U32, K_ONOFF };
enum conf_owner { OWNER_BOTH, OWNER_TOCKD, OWNER_KE };

struct conf_directive {
	const char *name;
	enum conf_owner owner;
	int min_args, max_args;
	enum conf_kind kind;
	size_t offset; /* K_STR/K_INT/K_U32/K_ONOFF: the field */
	size_t size;   /* K_STR: capacity */
	long min, max; /* K_INT/K_U32 bounds */
	conf_handler handler;
};

#define F(field) offsetof(struct tock_conf, field), sizeof(((struct tock_conf *)0)->field)
#define STR(n, o, field)                                                                           \
	{                                                                                          \
		n, o, 1, 1, K_STR, F(field), 0, 0, NULL                                            \
	}
#define NUM(n, o, k, field, lo, hi)                                                                \
	{                                                                                          \
		n, o, 1, 1, k, F(field), lo, hi, NULL                                              \
	}
#define FN(n, o, lo, hi, fn)                                                                       \
	{                                                                                          \
		n, o, lo, hi, K_HANDLER, 0, 0, 0, 0, fn                                            \
	}

static const struct conf_directive directives[] = {
    STR("statedir", OWNER_BOTH, statedir),
    STR("rundir", OWNER_BOTH, rundir),
    STR("user", OWNER_BOTH, user),
    STR("ntskeyseed", OWNER_BOTH, ntskeyseed),
    FN("include", OWNER_BOTH, 1, 1, h_include),
    FN("listen", OWNER_TOCKD, 1, 2, h_listen),
    FN("workers", OWNER_TOCKD, 1, 1, h_workers),
    FN("clock", OWNER_TOCKD, 1, 3, h_clock),
    FN("stratum", OWNER_TOCKD, 1, 1, h_stratum),
    FN("refid", OWNER_TOCKD, 1, 1, h_refid),
    FN("xdp", OWNER_TOCKD, 2, 2, h_xdp),
    FN("ratelimit", OWNER_TOCKD, 4, 12, h_ratelimit),
    FN("allow", OWNER_TOCKD, 1, 1, h_allow),
    FN("deny", OWNER_TOCKD, 1, 1, h_deny),
    FN("hwtimestamp", OWNER_TOCKD, 1, 1, h_hwtimestamp),
    STR("controlsocket", OWNER_TOCKD, controlsocket),
    FN("metrics", OWNER_TOCKD, 1, 1, h_metrics),
    NUM("io_uring", OWNER_TOCKD, K_ONOFF, io_uring, 0, 1),
    FN("ntslisten", OWNER_KE, 1, 2, h_ntslisten),
    FN("ntsservercert", OWNER_KE, 1, 1, h_cert),
    FN("ntsserverkey", OWNER_KE, 1, 1, h_key),
    STR("ntsntpserver", OWNER_KE, ntsntpserver),
    NUM("ntsntpport", OWNER_KE, K_INT, ntsntpport, 1, 65535),
    NUM("ntsrotate", OWNER_KE, K_U32, ntsrotate, 1, 365L * 86400),
    FN("ntsaeads", OWNER_KE, 1, CONF_MAX_AEADS, h_aeads),
    NUM("maxntsconnections", OWNER_KE, K_INT, maxntsconnections, 1, 1000000),
    FN("ntstimeout", OWNER_KE, 1, 1, h_ntstimeout),
    FN("ntsratelimit", OWNER_KE, 1, 4, h_ntsratelimit),
    NUM("ntsthreads", OWNER_KE, K_INT, ntsthreads, 0, 256),
};

static int apply_simple(struct conf_ctx *x, const struct conf_directive *d, const char *arg)
{
	void *field = (char *)x->c + d->offset;

	switch (d->kind) {
	case K_STR:
		return copy_str(x, field, d->size, arg);
	case K_INT:
		return parse_int(x, arg, (int)d->min, (int)d->max, field);
	case K_U32:
		return parse_u32(x, arg, (uint32_t)d->min, (uint32_t)d->max, field);
	case K_ONOFF:
		return parse_onoff(x, arg, field);
	default:
		return conf_error(x, "internal: bad directive kind");
	}
}

static int apply_directive(struct conf_ctx *x, char **argv, int argc)
{
	for (size_t i = 0; i < sizeof(directives) / sizeof(directives[0]); i++) {
		const struct conf_directive *d = &directives[i];

		if (strcmp(d->name, argv[0]) != 0)
			continue;
		if (argc - 1 < d->min_args || argc - 1 > d->max_args)
			return conf_error(x, "'%s' takes %d to %d arguments, not %d", d->name,
			                  d->min_args, d->max_args, argc - 1);
		if (d->kind == K_HANDLER)
			return d->handler(x, argv + 1, argc - 1);
		return apply_simple(x, d, argv[1]);
	}
	return conf_error(x, "unknown directive '%s'", argv[0]);
}

/* Splits a line into words in place; drops comments ('#', ';', '!' as in chrony). */
static int split_words(char *line, char **argv)
{
	int argc = 0;

	for (char *p = line; *p;) {
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		if (!*p || *p == '#' || *p == ';' || *p == '!')
			break;
		if (argc == CONF_MAX_ARGS)
			return -1;
		argv[argc++] = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
			p++;
		if (*p)
			*p++ = '\0';
	}
	return argc;
}

static int conf_parse_text(struct conf_ctx *x, const char *text)
{
	char line[CONF_MAX_LINE], *argv[CONF_MAX_ARGS];

	x->line = 0;
	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		int argc;

		x->line++;
		if (n >= sizeof(line))
			return conf_error(x, "line longer than %d characters", CONF_MAX_LINE - 1);
		memcpy(line, p, n);
		line[n] = '\0';
		p += n + (nl ? 1 : 0);
		argc = split_words(line, argv);
		if (argc < 0)
			return conf_error(x, "more than %d words", CONF_MAX_ARGS);
		if (argc > 0 && apply_directive(x, argv, argc))
			return -1;
	}
	return 0;
}

static char *read_file(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *buf;
	size_t n;

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	buf = malloc(CONF_MAX_FILESIZE + 1);
	n = buf ? fread(buf, 1, CONF_MAX_FILESIZE + 1, f) : 0;
	fclose(f);
	if (!buf || n > CONF_MAX_FILESIZE) {
		snprintf(err, errlen, "%s: %s", path, buf ? "file larger than 1 MiB" : "no memory");
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

static int conf_parse_file(struct conf_ctx *x, const char *path)
{
	struct conf_ctx inner = *x;
	char *text = read_file(path, x->err, x->errlen);
	int ret;

	if (!text) {
		if (x->depth > 0) { /* say where the include was */
			char why[CONF_PATH_MAX + 64];

			snprintf(why, sizeof(why), "%s", x->err);
			return conf_error(x, "include: %s", why);
		}
		return -1;
	}
	inner.file = path;
	inner.depth = x->depth + 1;
	ret = conf_parse_text(&inner, text);
	free(text);
	/* the included file's flags and pair counters carry on in the includer */
	inner.file = x->file;
	inner.line = x->line;
	inner.depth = x->depth;
	*x = inner;
	return ret;
}

/* ---- defaults and consistency -------------------------------------------------------------- */

void conf_defaults(struct tock_conf *c)
{
	struct conf_ctx x = {.c = c, .file = "defaults", .err = (char[64]){0}, .errlen = 64};

	memset(c, 0, sizeof(*c));
	strcpy(c->statedir, "/var/lib/tock");
	strcpy(c->rundir, "/run/tock");
	strcpy(c->user, "tock");
	make_addr(&x, "0.0.0.0", 123, &c->listen[0]);
	make_addr(&x, "::", 123, &c->listen[1]);
	c->n_listen = 2;
	make_addr(&x, "0.0.0.0", 4460, &c->ntslisten[0]);
	make_addr(&x, "::", 4460, &c->ntslisten[1]);
	c->n_ntslisten = 2;
	c->clock_mode = CONF_CLOCK_KERNEL;
	strcpy(c->chronyd_socket, "/run/chrony/chronyd.sock");
	c->stratum = 1;
	strcpy(c->refid, "LOCL");
	c->ratelimit =
	    (struct conf_ratelimit){.prefix4 = 32, .prefix6 = 64, .kod_every = 4, .leak_every = 16};
	c->io_uring = 1;
	c->ntsrotate = 86400;
	c->ntsaeads[0] = 15;
	c->ntsaeads[1] = 17;
	c->n_ntsaeads = 2;
	c->maxntsconnections = 1000;
	c->ntstimeout = 2.0;
	c->ntsratelimit_rate = 100;
	c->ntsratelimit_burst = 200;
}

static int conf_finish(struct conf_ctx *x)
{
	struct tock_conf *c = x->c;

	x->line = 0;
	/* `stratum N` alone means a static source; with `clock follow kernel` it is the
	 * stratum that source reports (the kernel does not know one) */
	if (x->stratum_set && !x->clock_set)
		c->clock_mode = CONF_CLOCK_STATIC;
	if (x->n_cert_files != x->n_key_files)
		return conf_error(x, "%d ntsservercert but %d ntsserverkey directives",
		                  x->n_cert_files, x->n_key_files);
	if (!c->controlsocket[0] &&
	    snprintf(c->controlsocket, sizeof(c->controlsocket), "%s/tockd.sock", c->rundir) >=
	        (int)sizeof(c->controlsocket))
		return conf_error(x, "rundir too long");
	return 0;
}

static int conf_run(struct tock_conf *c, const char *name, const char *text, char *err,
                    size_t errlen)
{
	/* text given directly counts as an already-open file (depth 1) */
	struct conf_ctx x = {
	    .c = c, .file = name, .depth = text ? 1 : 0, .err = err, .errlen = errlen};

	conf_defaults(c);
	if (err && errlen)
		err[0] = '\0';
	if (text ? conf_parse_text(&x, text) : conf_parse_file(&x, name))
		return -1;
	return conf_finish(&x);
}

int conf_load(struct tock_conf *c, const char *path, char *err, size_t errlen)
{
	return conf_run(c, path, NULL, err, errlen);
}

int conf_load_string(struct tock_conf *c, const char *text, const char *name, char *err,
                     size_t errlen)
{
	return conf_run(c, name, text, err, errlen);
}

const char *conf_addr_str(const struct conf_addr *a, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN] = "?";
	const struct sockaddr_in *s4 = (const void *)&a->ss;
	const struct sockaddr_in6 *s6 = (const void *)&a->ss;

	if (a->ss.ss_family == AF_INET) {
		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(s4->sin_port));
	} else {
		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, ntohs(s6->sin6_port));
	}
	return buf;
}
