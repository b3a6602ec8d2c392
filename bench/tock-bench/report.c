// SPDX-License-Identifier: MIT
/*
 * tock-bench's output for ntp/nts runs (load.h): a table for people, or CSV (--csv) for
 * bench/compare.sh. Lines starting with '#' are comments in both, so a script can take
 * every other line as data.
 */
#include <stdio.h>

#include "load.h"

#define LOSS_OK 0.01 /* "highest rate with < 1% loss" */

static double per(uint64_t num, uint64_t den)
{
	return den ? (double)num / (double)den : 0.0;
}

/* Responses of any kind: what the server spent CPU on. */
static uint64_t responses(const struct load_counts *c)
{
	return c->answered + c->nak + c->kod + c->invalid + c->late;
}

/* Requests without a valid answer (lost, invalid, NAK, KoD), as a fraction of those sent. */
static double loss(const struct load_counts *c)
{
	return c->answered >= c->sent ? 0.0 : per(c->sent - c->answered, c->sent);
}

void report_header(const struct load_cfg *cfg)
{
	printf("# tock-bench %s %s: %d clients, %d sockets, %d thread(s), sources %s%s\n",
	       cfg->nts ? "nts" : "ntp", cfg->server_str, cfg->clients, cfg->sockets, cfg->threads,
	       cfg->n_src ? cfg->src_str : "(kernel's choice)",
	       cfg->self_test ? ", self-test into a discard sink" : "");
	if (cfg->csv) {
		printf("mode,step,offered_per_s,seconds,sent,answered,lost,invalid,late,nak,kod,"
		       "unsync,skipped,send_err,p50_us,p99_us,max_us,server_us_per_resp,"
		       "gen_us_per_req,machine_cpu_pct,answered_per_s\n");
		return;
	}
	printf("%4s %9s %9s %9s %8s %6s %7s %6s %6s %8s %8s %8s %8s %8s %5s\n", "step", "offered/s",
	       "sent", "answered", "lost", "loss%", "invalid", "nak", "kod", "p50 us", "p99 us",
	       "max us", "srv us/r", "gen us/q", "cpu%");
}

void report_step(const struct load_cfg *cfg, const struct load_result *r)
{
	const struct load_counts *c = &r->c;
	double p50 = (double)hist_quantile(&c->lat, 0.5) / 1e3;
	double p99 = (double)hist_quantile(&c->lat, 0.99) / 1e3, mx = (double)c->lat.max / 1e3;
	double srv = per(r->server_ns, responses(c)) / 1e3, gen = per(c->gen_cpu_ns, c->sent) / 1e3;

	if (cfg->csv) {
		printf(
		    "%s,%d,%.0f,%.3f,%lu,%lu,%lu,%lu,%lu,%lu,%lu,%lu,%lu,%lu,%.1f,%.1f,%.1f,%.3f,"
		    "%.3f,%.1f,%.0f\n",
		    cfg->nts ? "nts" : "ntp", r->step, r->offered, r->seconds, c->sent, c->answered,
		    c->lost, c->invalid, c->late, c->nak, c->kod, c->unsync, c->skipped,
		    c->send_err, p50, p99, mx, srv, gen, r->machine_busy * 100,
		    c->answered / r->seconds);
	} else {
		printf(
		    "%4d %9.0f %9lu %9lu %8lu %6.2f %7lu %6lu %6lu %8.1f %8.1f %8.1f %8.2f %8.2f "
		    "%5.1f\n",
		    r->step, r->offered, c->sent, c->answered, c->lost, loss(c) * 100, c->invalid,
		    c->nak, c->kod, p50, p99, mx, srv, gen, r->machine_busy * 100);
	}
	fflush(stdout);
}

/* Notes that change how the numbers read. */
static void report_notes(const struct load_cfg *cfg, const struct load_result *r, int n)
{
	uint64_t skipped = 0, unsync = 0, send_err = 0, late = 0;

	for (int i = 0; i < n; i++) {
		skipped += r[i].c.skipped;
		unsync += r[i].c.unsync;
		send_err += r[i].c.send_err;
		late += r[i].c.late;
	}
	if (skipped && !cfg->self_test)
		printf("# note: the generator fell behind and skipped %lu requests (sent/s < "
		       "offered/s):"
		       " those steps measure tock-bench, not the server\n",
		       skipped);
	if (unsync)
		printf("# note: %lu answers said the server is unsynchronised (leap 3)\n", unsync);
	if (send_err)
		printf("# note: %lu send errors\n", send_err);
	if (late)
		printf("# note: %lu answers arrived after their step's drain time\n", late);
}

/* Self-test: what the generator managed into the sink, i.e. its ceiling on this machine. */
static void report_ceiling(const struct load_result *r, int n)
{
	double best = 0, cpu = 0;

	for (int i = 0; i < n; i++) {
		if (r[i].c.sent / r[i].seconds > best) {
			best = r[i].c.sent / r[i].seconds;
			cpu = per(r[i].c.gen_cpu_ns, r[i].c.sent) / 1e3;
		}
	}
	printf("# self-test: up to %.0f requests/s sent, %.2f us of generator CPU each (building, "
	       "sending; verifying answers costs more)\n",
	       best, cpu);
}

void report_summary(const struct load_cfg *cfg, const struct load_result *r, int n)
{
	int best = -1;

	for (int i = 0; i < n; i++) {
		if (r[i].c.sent && loss(&r[i].c) < LOSS_OK &&
		    (best < 0 ||
		     r[i].c.answered / r[i].seconds > r[best].c.answered / r[best].seconds))
			best = i;
	}
	if (best >= 0)
		printf("# best: %.0f answered/s at step %d (offered %.0f/s) with %.2f%% loss, p99 "
		       "%.1f us\n",
		       r[best].c.answered / r[best].seconds, r[best].step, r[best].offered,
		       loss(&r[best].c) * 100, (double)hist_quantile(&r[best].c.lat, 0.99) / 1e3);
	else if (!cfg->self_test)
		printf("# best: no step had less than 1%% loss\n");
	if (cfg->self_test)
		report_ceiling(r, n);
	report_notes(cfg, r, n);
}
