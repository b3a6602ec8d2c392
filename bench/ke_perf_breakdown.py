#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Where tock-ke's CPU per NTS-KE session goes, from a perf profile taken under load.

    perf record --call-graph dwarf,32768 -F 4000 -p $(pidof tock-ke) -- sleep 8
    perf script -F tid,ip,sym,dso > ke.txt
    python3 bench/ke_perf_breakdown.py ke.txt US_PER_SESSION

US_PER_SESSION (tock-bench's "srv us/sess" of the same run) turns shares into microseconds.
Debian's libcrypto has no symbols for its internals, so the crypto math shows up as bare
addresses; run tock-ke with LD_LIBRARY_PATH pointing at the same OpenSSL version built with
symbols (./Configure shared -g; make build_libs) for the full picture.

Two views: by kind of work (the innermost frame that names one: crypto math, OpenSSL's
fetches and property lookups, malloc, locks, kernel), and by step of the session (the
innermost TLS or tock-ke step on the stack; the exports and cookie sealing win wherever
they are, since they are tock-ke's own calls).
"""
import collections
import re
import sys

KINDS = [
    ("math: X25519 (ref10/fe51/fe64)", r"^(fe_|x25519_|ge_|cmov|table_select|ossl_x25519|ossl_ed25519)"),
    ("math: P-256 (ECDSA sign, ECDH)", r"(nistz256|^bn_|^BN_|ecp_|ossl_ec_|ec_GFp|ossl_ecdsa|ECDSA_)"),
    ("math: SHA-2/HMAC", r"^(sha256_|SHA256_|sha512_|SHA512_)"),
    ("math: AES/GCM (records, cookies)", r"(aesni|gcm_|ghash|_gcm|aes_|AES_|cmac|CMAC_|siv_|cookie_)"),
    ("lock: pthread_rwlock/CRYPTO_THREAD", r"(pthread_rwlock|CRYPTO_THREAD|pthread_mutex|__lll_lock|CRYPTO_atomic)"),
    ("fetch: method store/namemap/params",
     r"(ossl_method_store|ossl_namemap|evp_generic_fetch|inner_evp_generic_fetch|ossl_property|"
     r"ossl_lh_strcasehash|ossl_tolower|OPENSSL_strcasecmp|OPENSSL_LH_|getrn|do_name|sa_doall|"
     r"ossl_sa_|ossl_decoder|ossl_provider|construct_evp_method|ossl_method_construct|"
     r"EVP_[A-Z_]*fetch|ossl_lib_ctx|OSSL_PARAM|ossl_param|evp_keymgmt_util|EVP_[A-Z]+_up_ref|"
     r"EVP_[A-Z]+_free$|EVP_[A-Z_]*_is_a|evp_is_a|EVP_KEYMGMT|evp_pkey_ctx|EVP_PKEY_CTX_new|"
     r"int_ctx_new|evp_keymgmt)"),
    ("alloc: malloc/free/cleanse",
     r"^(malloc|_int_malloc|_int_free|cfree|free|calloc|realloc|_int_realloc|malloc_consolidate|"
     r"unlink_chunk|CRYPTO_malloc|CRYPTO_zalloc|CRYPTO_free|CRYPTO_clear_free|OPENSSL_cleanse|"
     r"__memset|tcache|__libc_malloc|__libc_free|__libc_calloc)"),
    ("kernel", r"^\[k\]"),
]
OWN = [  # tock-ke's own calls: anywhere on the stack
    ("tock-ke: 2 exports (SSL_export_keying_material)",
     r"^(ke_tls_export|tls13_export_keying_material|SSL_export_keying_material)$"),
    ("tock-ke: 8 cookies sealed", r"^(seal_cookies|cookie_seal)$"),
]
STEPS = [  # the innermost of these on the stack
    ("tock-ke: rest of the answer", r"^ke_session_answer$"),
    ("SSL_new", r"^SSL_new$"), ("SSL_free", r"^SSL_free$"),
    ("TLS: key share (X25519 keygen + ECDH)", r"^(tls_construct_stoc_key_share|tls_parse_ctos_key_share)$"),
    ("TLS: CertificateVerify (ECDSA sign)", r"^tls_construct_cert_verify$"),
    ("TLS: Certificate message", r"^tls_construct_server_certificate$"),
    ("TLS: key schedule (HKDF)",
     r"^(tls13_change_cipher_state|tls13_generate_handshake_secret|tls13_generate_master_secret|"
     r"tls13_final_finish_mac|tls13_hkdf_expand|tls13_generate_secret|tls13_setup_key_block)$"),
    ("TLS: ClientHello", r"^(tls_process_client_hello|tls_early_post_process_client_hello|"
     r"tls_post_process_client_hello|tls_parse_all_extensions|tls_collect_extensions)$"),
    ("TLS: signature algorithm choice", r"^(tls_choose_sigalg|tls1_set_server_sigalgs|"
     r"ssl_setup_sig_algs|tls1_process_sigalgs|find_sig_alg)$"),
    ("TLS: Finished, transcript", r"^(tls_construct_finished|tls_process_finished|"
     r"ssl3_digest_cached_records|ssl3_finish_mac|ssl_handshake_hash)$"),
    ("TLS: response write + close_notify", r"^(SSL_write|ssl3_shutdown|SSL_shutdown|ke_tls_write|ke_tls_shutdown)$"),
    ("TLS: request read", r"^(SSL_read|ke_tls_read)$"),
    ("kernel: send (TCP, and the peer's receive on a veth)", r"^conn_bio_write$"),
    ("kernel: recv", r"^conn_bio_read$"),
    ("TLS: rest of the handshake", r"^(SSL_do_handshake|ke_tls_handshake)$"),
    ("kernel: accept4", r"^(accept4|__libc_accept4|on_listener)$"),
    ("kernel: close, shutdown, epoll_ctl, drain", r"^(conn_close|close|__close|epoll_ctl|shutdown|"
     r"conn_want|conn_drain|recv|__libc_recv)$"),
    ("kernel: epoll_wait", r"^(epoll_wait|__epoll_wait)$"),
]


def samples(path):
    """Stacks (innermost frame first) of (symbol, dso) from perf script output."""
    cur = None
    for line in open(path, errors="replace"):
        if not line.startswith("\t"):
            if line.strip():
                if cur is not None:
                    yield cur
                cur = []
            continue
        parts = line.strip().split(None, 1)
        if len(parts) < 2 or cur is None:
            continue
        m = re.match(r"(.*) \((.*)\)$", parts[1])
        sym, dso = (m.group(1), m.group(2)) if m else (parts[1], "")
        sym = re.sub(r"\+0x[0-9a-f]+$", "", sym)
        cur.append(("[k] " + sym if "kernel" in dso else sym, dso))
    if cur is not None:
        yield cur


def first_match(stack, table):
    for sym, _ in stack:
        for name, rx in table:
            if re.search(rx, sym):
                return name
    return None


def kind(stack):
    k = first_match(stack, KINDS)
    if k:
        return k
    dso = stack[0][1] if stack else "?"
    for lib in ("libssl", "libcrypto", "libc", "tock-ke"):
        if lib in dso:
            return "other: " + lib
    return "other: " + dso


def step(stack):
    for name, rx in OWN:
        if any(re.search(rx, sym) for sym, _ in stack):
            return name
    return first_match(stack, STEPS) or "other"


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    per = float(sys.argv[2]) if len(sys.argv) > 2 else None
    kinds, steps, n = collections.Counter(), collections.Counter(), 0
    for st in samples(sys.argv[1]):
        kinds[kind(st)] += 1
        steps[step(st)] += 1
        n += 1
    if not n:
        sys.exit("no samples")
    for title, cnt in (("by kind of work", kinds), ("by step of the session", steps)):
        print(f"\n{title} ({n} samples)")
        for k, v in cnt.most_common():
            us = f" {per * v / n:7.1f} us" if per else ""
            print(f"  {k:52s} {100 * v / n:5.1f}%{us}")


if __name__ == "__main__":
    main()
