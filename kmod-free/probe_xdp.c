// SPDX-License-Identifier: MIT
/*
 * XDP/BTF feature probes. libbpf's probe functions load a tiny program or create a tiny
 * map; BTF lookups answer questions (bpf_link for XDP, kfuncs) that no load can without
 * attaching to an interface, which a probe must never do.
 */
#include <errno.h>
#include <linux/bpf.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "probe_xdp.h"

/* libbpf's probes return 1/0 or a negative errno; normalise "not supported" errnos to 0. */
static int norm(int r)
{
	return (r == -EOPNOTSUPP || r == -EINVAL || r == -ENOENT) ? 0 : r;
}

/* Whether kernel BTF has a type of this name and kind (1/0), or a negative errno. */
static int btf_has(struct btf *vmlinux, const char *name, int kind)
{
	if (!vmlinux)
		return -ENOENT;
	return btf__find_by_name_kind(vmlinux, name, kind) > 0;
}

int xdp_probe_run(struct xdp_probe *p)
{
	struct btf *vmlinux = btf__load_vmlinux_btf();

	p->btf_vmlinux = vmlinux ? 1 : 0;
	p->prog_xdp = norm(libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_XDP, NULL));
	p->map_lpm_trie = norm(libbpf_probe_bpf_map_type(BPF_MAP_TYPE_LPM_TRIE, NULL));
	p->map_lru_hash = norm(libbpf_probe_bpf_map_type(BPF_MAP_TYPE_LRU_HASH, NULL));
	p->map_percpu = norm(libbpf_probe_bpf_map_type(BPF_MAP_TYPE_PERCPU_ARRAY, NULL));
	p->helper_tai =
	    norm(libbpf_probe_bpf_helper(BPF_PROG_TYPE_XDP, BPF_FUNC_ktime_get_tai_ns, NULL));
	p->helper_tail =
	    norm(libbpf_probe_bpf_helper(BPF_PROG_TYPE_XDP, BPF_FUNC_xdp_get_buff_len, NULL));
	p->link_xdp = btf_has(vmlinux, "bpf_xdp_link", BTF_KIND_STRUCT);
	p->kfunc_rx_ts = btf_has(vmlinux, "bpf_xdp_metadata_rx_timestamp", BTF_KIND_FUNC);
	btf__free(vmlinux);
	return p->prog_xdp == 1 && p->map_lpm_trie == 1 && p->map_lru_hash == 1 &&
	       p->map_percpu == 1 && p->helper_tai == 1 && p->helper_tail == 1;
}

/* "yes", "no" or "error (N)" for one probe result. */
static void print_one(FILE *f, const char *name, int v)
{
	if (v >= 0)
		fprintf(f, "%-28s %s\n", name, v ? "yes" : "no");
	else
		fprintf(f, "%-28s error (%d)\n", name, v);
}

void xdp_probe_print(FILE *f, const struct xdp_probe *p)
{
	print_one(f, "xdp_btf_vmlinux", p->btf_vmlinux);
	print_one(f, "xdp_prog_type", p->prog_xdp);
	print_one(f, "xdp_map_lpm_trie", p->map_lpm_trie);
	print_one(f, "xdp_map_lru_hash", p->map_lru_hash);
	print_one(f, "xdp_map_percpu_array", p->map_percpu);
	print_one(f, "xdp_helper_ktime_get_tai_ns", p->helper_tai);
	print_one(f, "xdp_helper_get_buff_len", p->helper_tail);
	print_one(f, "xdp_bpf_link", p->link_xdp);
	print_one(f, "xdp_kfunc_rx_timestamp", p->kfunc_rx_ts);
}
