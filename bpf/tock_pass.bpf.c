// SPDX-License-Identifier: MIT
/*
 * A do-nothing XDP program. On a veth, frames another program sends with XDP_TX reach the
 * peer only when the peer runs an XDP program too (DESIGN §11), so tests attach this one
 * to the client side.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int tock_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
