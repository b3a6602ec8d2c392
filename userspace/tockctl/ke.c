// SPDX-License-Identifier: MIT
/*
 * `tockctl ke HOST[:PORT] [--ca FILE] [--name SNI] [--aead ID[,ID...]] [--timeout MS]
 *  [--insecure] [--ntpperf|--json]`: one NTS-KE session, printed for people, as JSON, or
 * as the `C2S,COOKIE` pair that ntpperf's -S option takes.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "ke_client.h"
#include "tockctl.h"

enum ke_format { KE_OUT_TEXT, KE_OUT_JSON, KE_OUT_NTPPERF };

struct ke_args {
	struct ke_client_opts opts;
	char host[256];
	uint16_t aeads[KE_MAX_IDS];
	enum ke_format format;
};

static void ke_usage(void)
{
	fprintf(stderr,
	        "usage: tockctl ke HOST[:PORT] [--ca FILE] [--name SNI] "
	        "[--aead ID[,ID...]] [--timeout MS] [--insecure] [--ntpperf|--json]\n"
	        "  IPv6 literals as [ADDR]:PORT; default port %d, AEADs 15,17\n",
	        KE_DEFAULT_PORT);
}

static const char *aead_name(int aead)
{
	switch (aead) {
	case 15:
		return "AEAD_AES_SIV_CMAC_256";
	case 16:
		return "AEAD_AES_SIV_CMAC_384";
	case 17:
		return "AEAD_AES_SIV_CMAC_512";
	case 30:
		return "AEAD_AES_128_GCM_SIV";
	default:
		return "unknown";
	}
}

/* "15,17" → list. Count, or -EINVAL. */
static int parse_aeads(const char *s, uint16_t *out, int max)
{
	int n = 0;

	while (*s) {
		char *end;
		unsigned long v = strtoul(s, &end, 10);

		if (end == s || v == 0 || v > 65535 || n == max || (*end && *end != ','))
			return -EINVAL;
		out[n++] = (uint16_t)v;
		s = *end ? end + 1 : end;
	}
	return n ? n : -EINVAL;
}

static int parse_args(int argc, char **argv, struct ke_args *a)
{
	static const struct option longopts[] = {{"ca", required_argument, NULL, 'c'},
	                                         {"name", required_argument, NULL, 'n'},
	                                         {"aead", required_argument, NULL, 'a'},
	                                         {"timeout", required_argument, NULL, 't'},
	                                         {"insecure", no_argument, NULL, 'k'},
	                                         {"json", no_argument, NULL, 'j'},
	                                         {"ntpperf", no_argument, NULL, 'p'},
	                                         {"help", no_argument, NULL, 'h'},
	                                         {NULL, 0, NULL, 0}};
	int c, n;

	optind = 0; /* GNU getopt: re-initialise fully (main used "+"); argv[0] is "ke" */
	while ((c = getopt_long(argc, argv, "c:n:a:t:kjph", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			a->opts.ca_file = optarg;
			break;
		case 'n':
			a->opts.name = optarg;
			break;
		case 'k':
			a->opts.insecure = 1;
			break;
		case 'j':
			a->format = KE_OUT_JSON;
			break;
		case 'p':
			a->format = KE_OUT_NTPPERF;
			break;
		case 't':
			a->opts.timeout_ms = atoi(optarg);
			break;
		case 'a':
			n = parse_aeads(optarg, a->aeads, KE_MAX_IDS);
			if (n < 0)
				return -EINVAL;
			a->opts.aeads = a->aeads;
			a->opts.n_aeads = n;
			break;
		default:
			return -EINVAL;
		}
	}
	if (optind != argc - 1 ||
	    ke_client_split_hostport(argv[optind], a->host, sizeof(a->host), &a->opts.port))
		return -EINVAL;
	a->opts.host = a->host;
	return 0;
}

static void print_text(const struct ke_client_result *r)
{
	const struct ke_client_response *rec = &r->rec;

	printf("server:        %s\n", r->peer);
	printf("next protocol: NTPv4 (%d)\n", rec->protocol);
	printf("aead:          %d (%s)\n", r->aead, aead_name(r->aead));
	if (rec->server[0])
		printf("ntp server:    %s\n", rec->server);
	if (rec->port)
		printf("ntp port:      %d\n", rec->port);
	if (rec->warning >= 0)
		printf("warning:       %d\n", rec->warning);
	printf("c2s:           ");
	hex_fprint(stdout, r->c2s, r->key_len, 0);
	printf("\ns2c:           ");
	hex_fprint(stdout, r->s2c, r->key_len, 0);
	printf("\ncookies:       %d (%d received)\n", rec->n_cookies, rec->n_cookies_seen);
	for (int i = 0; i < rec->n_cookies; i++) {
		printf("  %d (%zu bytes): ", i + 1, rec->cookie_len[i]);
		hex_fprint(stdout, rec->cookies[i], rec->cookie_len[i], 0);
		putchar('\n');
	}
}

/* A JSON string; the server name comes from the network, so escape everything odd. */
static void print_json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void print_json(const struct ke_args *a, const struct ke_client_result *r, int err)
{
	const struct ke_client_response *rec = &r->rec;

	printf("{\"host\": ");
	print_json_string(a->host);
	printf(", \"peer\": ");
	print_json_string(r->peer);
	if (err) {
		printf(", \"error\": ");
		print_json_string(r->errmsg);
		printf(", \"errno\": %d, \"error_code\": %d}\n", -err, rec->error);
		return;
	}
	printf(", \"next_protocol\": %d, \"aead\": %d, \"ntp_server\": ", rec->protocol, r->aead);
	print_json_string(rec->server);
	printf(", \"ntp_port\": %d, \"warning\": %d, \"c2s\": \"", rec->port, rec->warning);
	hex_fprint(stdout, r->c2s, r->key_len, 0);
	printf("\", \"s2c\": \"");
	hex_fprint(stdout, r->s2c, r->key_len, 0);
	printf("\", \"cookies\": [");
	for (int i = 0; i < rec->n_cookies; i++) {
		printf("%s\"", i ? ", " : "");
		hex_fprint(stdout, rec->cookies[i], rec->cookie_len[i], 0);
		putchar('"');
	}
	printf("]}\n");
}

int cmd_ke(int argc, char **argv)
{
	struct ke_args a = {0};
	struct ke_client_result r;
	int err;

	if (parse_args(argc, argv, &a)) {
		ke_usage();
		return 2;
	}
	err = ke_client_run(&a.opts, &r);
	if (a.format == KE_OUT_JSON)
		print_json(&a, &r, err);
	else if (err)
		fprintf(stderr, "tockctl ke: %s\n", r.errmsg);
	else if (a.format == KE_OUT_NTPPERF) {
		hex_fprint(stdout, r.c2s, r.key_len, 0);
		putchar(',');
		hex_fprint(stdout, r.rec.cookies[0], r.rec.cookie_len[0], 0);
		putchar('\n');
	} else {
		print_text(&r);
	}
	explicit_bzero(&r, sizeof(r));
	return err ? 1 : 0;
}
