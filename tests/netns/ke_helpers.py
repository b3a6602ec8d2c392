#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Helpers for tock-ke's system tests: an NTS-KE client that can send arbitrary records,
a counters-file reader, and bounded connection floods.

  ke_helpers.py stats RUNDIR                      counters as name=value lines
  ke_helpers.py ke HOST PORT CA [HEXREQUEST]      one exchange; prints the records received
  ke_helpers.py tls12 HOST PORT CA                exit 0 if a TLS 1.2 handshake is refused
  ke_helpers.py noalpn HOST PORT CA [PROTO]       exit 0 if a handshake without ALPN (or
                                                  with PROTO) is refused
  ke_helpers.py ticket HOST PORT CA               exit 0 if TLS 1.3 and no session ticket
  ke_helpers.py slow HOST PORT CA                 handshake, send half a request, print the
                                                  seconds until the server hangs up
  ke_helpers.py flood HOST PORT N HOLD [SRC [BYTE]]
                                                  open N connections (sending 1 byte each
                                                  unless BYTE is 0), hold them HOLD s, print
                                                  how many the server closed
"""
import os, re, select, socket, ssl, struct, sys, time

STATS_H = os.path.join(os.path.dirname(__file__), '../../userspace/lib/stats.h')


def ke_stat_names():
    text = open(STATS_H).read()
    block = text[text.index('#define TOCK_KE_STATS(X)'):]
    block = block[:block.index('enum tock_ke_stat')]
    return re.findall(r'X\(\w+, "(\w+)"', block)


def stats(rundir):
    data = open(os.path.join(rundir, 'tock-ke.stats'), 'rb').read()
    magic, version, n_blocks, n_counters, pid = struct.unpack_from('<QIIII', data, 0)
    key_id, = struct.unpack_from('<I', data, 32)
    names = ke_stat_names()
    vals = struct.unpack_from('<%dQ' % n_counters, data, 64)
    out = {'pid': pid, 'key_id': '%08x' % key_id}
    out.update({names[i] if i < len(names) else 'c%d' % i: v for i, v in enumerate(vals)})
    return out


def rec(t, body=b'', crit=True):
    return struct.pack('>HH', t | (0x8000 if crit else 0), len(body)) + body


def default_request():
    return rec(1, b'\0\0') + rec(4, b'\x00\x0f\x00\x11') + rec(0)


def parse(buf):
    out, i = [], 0
    while i + 4 <= len(buf):
        t, l = struct.unpack('>HH', buf[i:i + 4])
        out.append((t & 0x7fff, bool(t & 0x8000), buf[i + 4:i + 4 + l]))
        i += 4 + l
    return out


def context(ca, alpn=('ntske/1',), tls12=False):
    ctx = ssl.create_default_context(cafile=ca)
    if alpn:
        ctx.set_alpn_protocols(list(alpn))
    if tls12:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def connect(host, port, ctx, timeout=5):
    s = socket.create_connection((host, port), timeout=timeout)
    return ctx.wrap_socket(s, server_hostname=host)


def read_all(t):
    data = b''
    while True:
        try:
            d = t.recv(4096)
        except (ssl.SSLZeroReturnError, ConnectionResetError):
            break
        if not d:
            break
        data += d
    return data


def cmd_ke(host, port, ca, hexreq=None):
    req = bytes.fromhex(hexreq) if hexreq else default_request()
    t = connect(host, int(port), context(ca))
    t.sendall(req)
    recs = parse(read_all(t))
    for typ, crit, body in recs:
        print('record type=%d critical=%d len=%d body=%s' % (typ, crit, len(body), body[:8].hex()))
    return 0 if any(r[0] == 5 for r in recs) else 1


def refused(host, port, ctx):
    try:
        t = connect(host, int(port), ctx)
        t.sendall(default_request())
        data = read_all(t)
        print('handshake accepted, %d bytes back' % len(data))
        return 1
    except (ssl.SSLError, ConnectionError, OSError) as e:
        print('refused: %s' % e)
        return 0


def cmd_ticket(host, port, ca):
    """Exit 0 if a full exchange left the client without a session ticket."""
    t = connect(host, int(port), context(ca))
    t.sendall(default_request())
    read_all(t)
    print('version %s, session ticket: %s' % (t.version(), t.session.has_ticket))
    return 0 if t.version() == 'TLSv1.3' and not t.session.has_ticket else 1


def cmd_slow(host, port, ca):
    t = connect(host, int(port), context(ca), timeout=30)
    start = time.monotonic()
    t.sendall(default_request()[:5])
    try:
        while t.recv(4096):
            pass
    except (ssl.SSLError, ConnectionError, socket.timeout):
        pass
    print('%.2f' % (time.monotonic() - start))
    return 0


def cmd_flood(host, port, n, hold, src=None, send_byte='1'):
    """Opens n connections without blocking (bounded by a 5 s connect phase), optionally
    sends one byte on each, holds them, and counts those the server closed."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = int(n) + 64
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(want, soft), max(want, hard)))
    pending, socks, failed = [], [], 0
    for _ in range(int(n)):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        if src:
            s.bind((src, 0))
        s.connect_ex((host, int(port)))
        pending.append(s)
    # poll, not select: there are more than FD_SETSIZE descriptors
    poller, by_fd = select.poll(), {s.fileno(): s for s in pending}
    for fd in by_fd:
        poller.register(fd, select.POLLOUT)
    end = time.monotonic() + 5
    while by_fd and time.monotonic() < end:
        for fd, _ in poller.poll(200):
            s = by_fd.pop(fd)
            poller.unregister(fd)
            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                failed += 1
                s.close()
                continue
            if send_byte == '1':
                try:
                    s.send(b'\x16')  # a TLS record's first byte: past TCP_DEFER_ACCEPT
                except OSError:
                    pass
            socks.append(s)
    failed += len(by_fd)
    for s in by_fd.values():
        s.close()
    print('connected %d failed %d' % (len(socks), failed), flush=True)
    poller, by_fd, closed = select.poll(), {s.fileno(): s for s in socks}, 0
    for fd in by_fd:
        poller.register(fd, select.POLLIN)
    end = time.monotonic() + float(hold)
    while by_fd and time.monotonic() < end:
        for fd, _ in poller.poll(200):
            try:
                gone = not by_fd[fd].recv(1)
            except OSError:
                gone = True
            if gone:
                poller.unregister(fd)
                by_fd.pop(fd).close()
                closed += 1
    print('connected %d failed %d closed_by_server %d' % (len(socks), failed, closed))
    for s in by_fd.values():
        s.close()
    return 0


def main(argv):
    cmd = argv[1] if len(argv) > 1 else ''
    if cmd == 'stats':
        for k, v in stats(argv[2]).items():
            print('%s=%s' % (k, v))
        return 0
    if cmd == 'ke':
        return cmd_ke(*argv[2:])
    if cmd == 'tls12':
        return refused(argv[2], argv[3], context(argv[4], tls12=True))
    if cmd == 'noalpn':
        alpn = (argv[5],) if len(argv) > 5 else ()
        return refused(argv[2], argv[3], context(argv[4], alpn=alpn))
    if cmd == 'ticket':
        return cmd_ticket(*argv[2:])
    if cmd == 'slow':
        return cmd_slow(*argv[2:])
    if cmd == 'flood':
        return cmd_flood(*argv[2:])
    print(__doc__)
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv))
