// SPDX-License-Identifier: MIT
/*
 * `tockctl serverstats` and `tockctl metrics`. serverstats builds one list of rows — chrony's
 * fields in chronyc's order and labels, then tock's — and prints it as chronyc does
 * ("%-27s: %u"), as one CSV line of values (chronyc -c), or as JSON.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "counters.h"
#include "tockctl.h"

#define MAX_ROWS (MCF_COUNT + STAT_COUNT + KE_STAT_COUNT + 64 + 16)

struct row {
	const char *section; /* JSON object the row belongs to */
	const char *key;     /* JSON key */
	const char *label;   /* text label */
	uint64_t value;
};

struct rows {
	struct row r[MAX_ROWS];
	unsigned n;
};

enum out_format { OUT_TEXT, OUT_CSV, OUT_JSON };

static void add(struct rows *rs, const char *section, const char *key, const char *label,
                uint64_t value)
{
	if (rs->n < MAX_ROWS)
		rs->r[rs->n++] = (struct row){section, key, label, value};
}

static uint64_t age(int64_t now, int64_t then)
{
	return then > 0 && now > then ? (uint64_t)(now - then) : 0;
}

static void chrony_rows(struct rows *rs, const struct metrics_input *in, uint64_t *v)
{
	metrics_chrony_values(in, v);
	for (unsigned i = 0; i < MCF_COUNT; i++)
		add(rs, "serverstats", metrics_chrony_fields[i].name,
		    metrics_chrony_fields[i].label, v[i]);
}

static void tockd_rows(struct rows *rs, const struct ctl_counters *c)
{
	const struct metrics_input *in = &c->in;

	add(rs, "tockd", "pid", "tockd pid", c->ntp_hdr.pid);
	add(rs, "tockd", "workers", "tockd workers", in->n_workers - in->n_afxdp);
	add(rs, "tockd", "afxdp_workers", "tockd AF_XDP workers", in->n_afxdp);
	add(rs, "tockd", "uptime_seconds", "tockd uptime (seconds)", age(in->now, in->start_time));
	for (unsigned id = 0; id < STAT_COUNT; id++)
		add(rs, "tockd", tock_stat_names[id], tock_stat_names[id], metrics_ntp_sum(in, id));
}

/* Always the same rows, zero when tock-ke is down, so CSV columns never shift. */
static void ke_rows(struct rows *rs, const struct ctl_counters *c)
{
	const struct metrics_input *in = &c->in;
	int up = in->ke != NULL;

	add(rs, "tock_ke", "pid", "tock-ke pid", up ? c->ke_hdr.pid : 0);
	add(rs, "tock_ke", "uptime_seconds", "tock-ke uptime (seconds)",
	    up ? age(in->now, in->ke_start_time) : 0);
	add(rs, "tock_ke", "key_id", "Current key id", in->key_id);
	add(rs, "tock_ke", "key_age_seconds", "Current key age (seconds)",
	    up ? age(in->now, in->key_created) : 0);
	for (unsigned id = 0; id < KE_STAT_COUNT; id++)
		add(rs, "tock_ke", tock_ke_stat_names[id], tock_ke_stat_names[id],
		    up ? in->ke->c[id] : 0);
}

static void xdp_rows(struct rows *rs, const struct metrics_input *in)
{
	for (unsigned i = 0; i < in->n_xdp; i++)
		add(rs, "xdp", in->xdp[i].name, in->xdp[i].name, in->xdp[i].value);
}

static void print_text(const struct rows *rs)
{
	for (unsigned i = 0; i < rs->n; i++) {
		/* A blank line between chrony's block and each of tock's. */
		if (i && strcmp(rs->r[i].section, rs->r[i - 1].section) != 0)
			putchar('\n');
		printf("%-27s: %" PRIu64 "\n", rs->r[i].label, rs->r[i].value);
	}
}

static void print_csv(const struct rows *rs)
{
	for (unsigned i = 0; i < rs->n; i++)
		printf("%s%" PRIu64, i ? "," : "", rs->r[i].value);
	putchar('\n');
}

/* Keys are ours ([a-z0-9_]), so no JSON escaping is needed. */
static void print_json(const struct rows *rs)
{
	const char *section = NULL;

	putchar('{');
	for (unsigned i = 0; i < rs->n; i++) {
		const struct row *r = &rs->r[i];

		if (!section || strcmp(section, r->section) != 0) {
			printf("%s\"%s\":{", section ? "}," : "", r->section);
			section = r->section;
		} else {
			putchar(',');
		}
		printf("\"%s\":%" PRIu64, r->key, r->value);
	}
	printf("%s}\n", section ? "}" : "");
}

static int parse_format(int argc, char **argv, int *fmt)
{
	static const struct option opts[] = {
	    {"csv", no_argument, NULL, 'c'},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	int opt;

	*fmt = OUT_TEXT;
	while ((opt = getopt_long(argc, argv, "cjh", opts, NULL)) != -1) {
		if (opt == 'c')
			*fmt = OUT_CSV;
		else if (opt == 'j')
			*fmt = OUT_JSON;
		else
			return -1;
	}
	return optind < argc ? -1 : 0;
}

int cmd_serverstats(int argc, char **argv)
{
	struct ctl_counters c;
	uint64_t chrony[MCF_COUNT];
	struct rows *rs;
	int fmt, rc;

	if (parse_format(argc, argv, &fmt) < 0) {
		fprintf(stderr, "usage: tockctl serverstats [-c|--csv|--json]\n");
		return 2;
	}
	rc = ctl_counters_load(&c, tockctl_rundir);
	if (rc)
		return rc;
	rs = calloc(1, sizeof(*rs));
	if (!rs) {
		ctl_counters_free(&c);
		return 1;
	}
	chrony_rows(rs, &c.in, chrony);
	tockd_rows(rs, &c);
	ke_rows(rs, &c);
	xdp_rows(rs, &c.in);
	if (fmt == OUT_CSV)
		print_csv(rs);
	else if (fmt == OUT_JSON)
		print_json(rs);
	else
		print_text(rs);
	free(rs);
	ctl_counters_free(&c);
	return 0;
}

int cmd_metrics(int argc, char **argv)
{
	struct ctl_counters c;
	size_t cap, len;
	char *buf;
	int rc;

	if (argc > 1) {
		fprintf(stderr, "usage: tockctl metrics\n");
		return 2;
	}
	rc = ctl_counters_load(&c, tockctl_rundir);
	if (rc)
		return rc;
	cap = metrics_size_hint(&c.in);
	buf = malloc(cap);
	rc = 1;
	if (buf) {
		len = metrics_format(&c.in, buf, cap);
		if (len < cap && fwrite(buf, 1, len, stdout) == len)
			rc = 0;
	}
	if (rc)
		fprintf(stderr, "tockctl: could not format the metrics\n");
	free(buf);
	ctl_counters_free(&c);
	return rc;
}
