#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Writes the seed corpus of fuzz_frame (tests/fuzz/corpus/frame/): request frames as the XDP
# program redirects them to tockd's AF_XDP sockets (IPv4/IPv6, VLAN and QinQ, plain and
# NTS-sized payloads) and a few it must refuse. Not part of the build; regenerate with
#   python3 tests/fuzz/gen_frames.py tests/fuzz/corpus/frame
import os
import struct
import sys

MAC_S = bytes([2, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE])
MAC_C = bytes([2, 0x11, 0x22, 0x33, 0x44, 0x55])
V6_C = bytes.fromhex("20010002000000000000000000000002")
V6_S = bytes.fromhex("20010002000000000000000000000001")


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def frame(v6=False, vlans=0, ntp=None, ihl=5, frag=0, pad=0):
    ntp = bytes([0x23]) + bytes(47) if ntp is None else ntp
    udp = struct.pack("!HHHH", 40000, 123, 8 + len(ntp), 0) + ntp
    e = MAC_S + MAC_C
    for i in range(vlans):
        e += struct.pack("!HH", 0x88A8 if i == 0 else 0x8100, 10 + i)
    if v6:
        return e + b"\x86\xdd" + struct.pack("!IHBB", 0x60000000, len(udp), 17, 64) + V6_C + V6_S + udp + bytes(pad)
    ip = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, 4 * ihl + len(udp), 1, frag, 64, 17, 0,
                     bytes([198, 18, 0, 2]), bytes([198, 18, 0, 1])) + bytes(4 * (ihl - 5))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return e + b"\x08\x00" + ip + udp + bytes(pad)


def ef(typ, body_len):
    return struct.pack("!HH", typ, 4 + body_len) + bytes(body_len)


NTS = bytes([0x23]) + bytes(47) + ef(0x0104, 32) + ef(0x0204, 100) + \
    struct.pack("!HHHH", 0x0404, 40, 16, 16) + bytes(32)

SEEDS = {
    "v4_plain": frame(),
    "v6_plain": frame(v6=True),
    "v4_vlan": frame(vlans=1),
    "v6_qinq": frame(v6=True, vlans=2),
    "v4_nts": frame(ntp=NTS),
    "v6_nts_vlan": frame(v6=True, vlans=1, ntp=NTS),
    "v4_padded": frame(ntp=bytes(1), pad=20),
    "v4_options": frame(ihl=6),
    "v4_fragment": frame(frag=0x2000),
    "v4_truncated": frame()[:40],
    "v6_truncated": frame(v6=True)[:60],
    "v4_odd": frame(ntp=bytes(49)),
    "empty": b"",
}

if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/fuzz/corpus/frame"
    os.makedirs(out, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
