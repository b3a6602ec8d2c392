/* SPDX-License-Identifier: MIT */
/*
 * What the running kernel offers tock's XDP program, found without loading a module or
 * touching any interface: kernel BTF, the XDP program type, the map types and helpers the
 * program uses, bpf_link for XDP, and the NIC receive-timestamp kfunc. `tockctl probe`
 * prints these; tockd uses them to choose its rung of the fallback ladder (DESIGN §2).
 */
#ifndef TOCK_PROBE_XDP_H
#define TOCK_PROBE_XDP_H

#include <stdio.h>

/* 1 = supported, 0 = not, negative = the probe itself failed (errno value). */
struct xdp_probe {
	int btf_vmlinux;  /* /sys/kernel/btf/vmlinux loads */
	int prog_xdp;     /* BPF_PROG_TYPE_XDP */
	int map_lpm_trie; /* BPF_MAP_TYPE_LPM_TRIE */
	int map_lru_hash; /* BPF_MAP_TYPE_LRU_HASH */
	int map_percpu;   /* BPF_MAP_TYPE_PERCPU_ARRAY */
	int helper_tai;   /* bpf_ktime_get_tai_ns from XDP (fast path clock) */
	int helper_tail;  /* bpf_xdp_adjust_tail + bpf_xdp_get_buff_len (KoD trimming) */
	int link_xdp;     /* XDP through bpf_link (kernel BTF has struct bpf_xdp_link) */
	int kfunc_rx_ts;  /* bpf_xdp_metadata_rx_timestamp in kernel BTF (device-bound only) */
};

/* Runs every probe (needs CAP_BPF or root for the program/map probes). Returns 1 when the
 * XDP program can be loaded at all (prog, maps and helpers present), else 0. */
int xdp_probe_run(struct xdp_probe *p);

/* One "name: yes/no" line per probe. */
void xdp_probe_print(FILE *f, const struct xdp_probe *p);

#endif
