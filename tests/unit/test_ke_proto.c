// SPDX-License-Identifier: MIT
/* NTS-KE record codec: building, iterating, and the server's and client's parsers. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ke_proto.h"

/* A request built record by record for the edge cases. */
struct msg {
	uint8_t buf[KE_MAX_REQUEST + 64];
	size_t len;
};

static void put(struct msg *m, uint16_t type, int crit, const void *body, size_t len)
{
	CHECK_EQ(ke_record_put(m->buf, sizeof(m->buf), &m->len, type, crit, body, len), 0);
}

static void put_ids(struct msg *m, uint16_t type, uint16_t a, uint16_t b, int n)
{
	uint16_t v[2] = {a, b};

	CHECK_EQ(ke_record_put_u16s(m->buf, sizeof(m->buf), &m->len, type, 1, v, n), 0);
}

/* NTPv4 + AEAD list 15, 17, ready for an End of Message. */
static void good_start(struct msg *m)
{
	m->len = 0;
	put_ids(m, KE_REC_NEXT_PROTO, 0, 0, 1);
	put_ids(m, KE_REC_AEAD, 15, 17, 2);
}

static int parse(struct msg *m, struct ke_request *req)
{
	return ke_parse_request(m->buf, m->len, req);
}

static void test_iter(void)
{
	static const uint8_t rec[] = {0x80, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00};
	struct ke_record r;
	struct ke_iter it;

	ke_iter_init(&it, rec, sizeof(rec));
	CHECK_EQ(ke_iter_next(&it, &r), 1);
	CHECK_EQ(r.type, KE_REC_NEXT_PROTO);
	CHECK_EQ(r.critical, 1);
	CHECK_EQ(r.len, 2);
	CHECK_EQ(ke_iter_next(&it, &r), 1);
	CHECK_EQ(r.type, KE_REC_NEW_COOKIE);
	CHECK_EQ(r.critical, 0);
	CHECK_EQ(r.len, 0);
	CHECK_EQ(ke_iter_next(&it, &r), 0);
	/* every truncation point asks for more */
	for (size_t n = 1; n < 6; n++) {
		ke_iter_init(&it, rec, n);
		CHECK_EQ(ke_iter_next(&it, &r), -EAGAIN);
	}
}

static void test_put_limits(void)
{
	uint8_t small[5];
	size_t pos = 0;

	CHECK_EQ(ke_record_put(small, sizeof(small), &pos, 5, 0, "ab", 2), -ENOSPC);
	CHECK_EQ(pos, 0);
	CHECK_EQ(ke_record_put(small, sizeof(small), &pos, 5, 0, "a", 1), 0);
	CHECK_EQ(pos, 5);
	CHECK_EQ(ke_record_put(small, sizeof(small), &pos, 0, 1, NULL, 0), -ENOSPC);
	CHECK_EQ(ke_record_put(small, sizeof(small), &pos, 0x8001, 1, NULL, 0), -EINVAL);
}

static void test_good_request(void)
{
	struct ke_request req;
	struct msg m;
	int proto, aead;
	uint16_t offered[] = {17, 15};

	good_start(&m);
	put(&m, KE_REC_SERVER, 0, "ntp.example", 11);
	put_ids(&m, KE_REC_PORT, 123, 0, 1);
	put(&m, 0x4242, 0, "ignored", 7); /* unknown, not critical */
	put(&m, KE_REC_END, 1, NULL, 0);
	CHECK_EQ(parse(&m, &req), 0);
	CHECK_EQ(req.len, m.len);
	CHECK_EQ(req.n_protocols, 1);
	CHECK_EQ(req.n_aeads, 2);
	CHECK_EQ(req.aeads[0], 15);
	/* the client's preference wins among what the server offers */
	ke_choose(&req, offered, 2, &proto, &aead);
	CHECK_EQ(proto, 0);
	CHECK_EQ(aead, 15);
	ke_choose(&req, offered, 1, &proto, &aead);
	CHECK_EQ(aead, 17);
	offered[0] = 30;
	ke_choose(&req, offered, 1, &proto, &aead);
	CHECK_EQ(aead, -1);
}

static void test_need_more(void)
{
	struct ke_request req;
	struct msg m;
	size_t full;

	good_start(&m);
	CHECK_EQ(parse(&m, &req), -EAGAIN); /* no End of Message yet */
	put(&m, KE_REC_END, 1, NULL, 0);
	full = m.len;
	for (m.len = 0; m.len < full; m.len++)
		CHECK(parse(&m, &req) == -EAGAIN, "prefix %zu", m.len);
	m.len = full;
	CHECK_EQ(parse(&m, &req), 0);
}

static void expect_error(struct msg *m, int code, const char *what)
{
	struct ke_request req;
	int ret = parse(m, &req);

	CHECK(ret == -EBADMSG && req.error == code, "%s: ret %d error %d", what, ret, req.error);
}

static void test_errors(void)
{
	static uint8_t junk[KE_MAX_REQUEST];
	struct msg m;

	good_start(&m);
	put(&m, 0x4242, 1, NULL, 0);
	put(&m, KE_REC_END, 1, NULL, 0);
	expect_error(&m, KE_ERR_UNRECOGNIZED_CRITICAL, "unknown critical");

	/* an unknown critical record is refused before the request is even complete */
	m.len = 0;
	put(&m, 0x7fff, 1, "x", 1);
	expect_error(&m, KE_ERR_UNRECOGNIZED_CRITICAL, "unknown critical first");

	good_start(&m);
	put_ids(&m, KE_REC_AEAD, 15, 0, 1);
	put(&m, KE_REC_END, 1, NULL, 0);
	expect_error(&m, KE_ERR_BAD_REQUEST, "duplicate AEAD");

	good_start(&m);
	put_ids(&m, KE_REC_NEXT_PROTO, 0, 0, 1);
	put(&m, KE_REC_END, 1, NULL, 0);
	expect_error(&m, KE_ERR_BAD_REQUEST, "duplicate next protocol");

	m.len = 0;
	put_ids(&m, KE_REC_AEAD, 15, 0, 1);
	put(&m, KE_REC_END, 1, NULL, 0);
	expect_error(&m, KE_ERR_BAD_REQUEST, "missing next protocol");

	m.len = 0;
	put_ids(&m, KE_REC_NEXT_PROTO, 0, 0, 1);
	put(&m, KE_REC_END, 1, NULL, 0);
	expect_error(&m, KE_ERR_BAD_REQUEST, "NTPv4 without AEAD record");

	m.len = 0;
	put(&m, KE_REC_NEXT_PROTO, 1, "\0\0\0", 3);
	put(&m, KE_REC_END, 1, NULL, 0);
	expect_error(&m, KE_ERR_BAD_REQUEST, "odd list length");

	good_start(&m);
	put(&m, KE_REC_NEW_COOKIE, 0, "c", 1);
	put(&m, KE_REC_END, 1, NULL, 0);
	expect_error(&m, KE_ERR_BAD_REQUEST, "cookie from client");

	good_start(&m);
	put_ids(&m, KE_REC_ERROR, 1, 0, 1);
	expect_error(&m, KE_ERR_BAD_REQUEST, "error from client");

	good_start(&m);
	put(&m, KE_REC_PORT, 1, "\1", 1);
	expect_error(&m, KE_ERR_BAD_REQUEST, "short port");

	good_start(&m);
	put(&m, KE_REC_END, 1, "x", 1);
	expect_error(&m, KE_ERR_BAD_REQUEST, "End with a body");

	good_start(&m);
	put(&m, KE_REC_END, 1, NULL, 0);
	put(&m, KE_REC_END, 1, NULL, 0);
	expect_error(&m, KE_ERR_BAD_REQUEST, "bytes after End");

	/* oversize: 16 KiB of non-critical padding and still no End of Message */
	good_start(&m);
	while (m.len + 4 + 1000 < KE_MAX_REQUEST)
		put(&m, 0x1234, 0, junk, 1000);
	put(&m, 0x1234, 0, junk, KE_MAX_REQUEST - m.len - 4);
	CHECK_EQ(m.len, KE_MAX_REQUEST);
	expect_error(&m, KE_ERR_BAD_REQUEST, "oversize");
	m.len = KE_MAX_REQUEST - 1; /* one byte short of the limit: still waiting */
	{
		struct ke_request req;
		CHECK_EQ(parse(&m, &req), -EAGAIN);
	}

	/* a record that could never end within the limit is refused as soon as its header is in */
	good_start(&m);
	put(&m, 0x1234, 0, junk, 100);
	m.buf[m.len - 100 - 2] = 0xff; /* claim 0xff64 bytes */
	m.len -= 90;
	expect_error(&m, KE_ERR_BAD_REQUEST, "record longer than the limit");
}

static void test_lists(void)
{
	uint16_t many[KE_MAX_IDS + 1] = {0};
	struct ke_request req;
	struct msg m;
	int proto, aead;

	m.len = 0;
	put(&m, KE_REC_NEXT_PROTO, 1, NULL, 0); /* empty: no protocol in common */
	put(&m, KE_REC_END, 1, NULL, 0);
	CHECK_EQ(parse(&m, &req), 0);
	ke_choose(&req, (uint16_t[]){15}, 1, &proto, &aead);
	CHECK_EQ(proto, -1);
	CHECK_EQ(aead, -1);

	m.len = 0;
	put_ids(&m, KE_REC_NEXT_PROTO, 0, 0, 1);
	CHECK_EQ(
	    ke_record_put_u16s(m.buf, sizeof(m.buf), &m.len, KE_REC_AEAD, 1, many, KE_MAX_IDS + 1),
	    -EINVAL);
	put(&m, KE_REC_AEAD, 1, many, sizeof(many));
	put(&m, KE_REC_END, 1, NULL, 0);
	expect_error(&m, KE_ERR_BAD_REQUEST, "AEAD list too long");

	good_start(&m);
	put(&m, KE_REC_COMPLIANT_GCM_EXPORT, 0, NULL, 0);
	put(&m, KE_REC_END, 1, NULL, 0);
	CHECK_EQ(parse(&m, &req), 0);
	CHECK_EQ(req.compliant_gcm_export, 1);
}

static void test_response_roundtrip(void)
{
	static struct ke_client_response cr;
	uint8_t cookies[KE_MAX_COOKIES][100], buf[2048];
	struct ke_response r = {.protocol = 0, .aead = 15, .server = "198.18.0.1", .port = 123};
	int i, n;

	for (i = 0; i < KE_MAX_COOKIES; i++) {
		memset(cookies[i], i, sizeof(cookies[i]));
		r.cookies[i] = cookies[i];
		r.cookie_len[i] = sizeof(cookies[i]);
	}
	r.n_cookies = KE_MAX_COOKIES;
	n = ke_build_response(buf, sizeof(buf), &r);
	CHECK_EQ(n, 4 + 2 + 4 + 2 + 8 * 104 + 4 + 10 + 4 + 2 + 4);
	CHECK_EQ(ke_parse_response(buf, (size_t)n, &cr), 0);
	CHECK_EQ(cr.protocol, 0);
	CHECK_EQ(cr.aead, 15);
	CHECK_EQ(cr.n_cookies, KE_MAX_COOKIES);
	CHECK_EQ(cr.cookie_len[7], 100);
	CHECK_MEM(cr.cookies[7], cookies[7], 100);
	CHECK(strcmp(cr.server, "198.18.0.1") == 0, "server %s", cr.server);
	CHECK_EQ(cr.port, 123);
	CHECK_EQ(cr.error, -1);
	CHECK_EQ(ke_parse_response(buf, (size_t)n - 1, &cr), -EAGAIN);
	CHECK_EQ(ke_build_response(buf, 200, &r), -ENOSPC);

	/* nothing in common: empty AEAD record, no cookies */
	r.aead = -1;
	n = ke_build_response(buf, sizeof(buf), &r);
	CHECK_EQ(n, 6 + 4 + 4);
	CHECK_EQ(ke_parse_response(buf, (size_t)n, &cr), 0);
	CHECK_EQ(cr.protocol, 0);
	CHECK_EQ(cr.aead, -1);
	CHECK_EQ(cr.n_cookies, 0);

	n = ke_build_error(buf, sizeof(buf), KE_ERR_UNRECOGNIZED_CRITICAL);
	CHECK_EQ(n, 10);
	CHECK_EQ(ke_parse_response(buf, (size_t)n, &cr), 0);
	CHECK_EQ(cr.error, 0);
}

static void test_request_builder(void)
{
	uint16_t aeads[] = {17, 15};
	struct ke_request req;
	uint8_t buf[512];
	int n;

	n = ke_build_request(buf, sizeof(buf), aeads, 2, "example.org", 4123);
	CHECK(n > 0, "n %d", n);
	CHECK_EQ(ke_parse_request(buf, (size_t)n, &req), 0);
	CHECK_EQ(req.n_aeads, 2);
	CHECK_EQ(req.aeads[0], 17);
	n = ke_build_request(buf, sizeof(buf), aeads, 2, NULL, 0);
	CHECK_EQ(n, 6 + 8 + 4);
}

static void test_exporter_context(void)
{
	static const uint8_t want[5] = {0, 0, 0, 15, 1};
	uint8_t ctx[KE_EXPORTER_CONTEXT_LEN];

	ke_exporter_context(ctx, 0, 15, 1);
	CHECK_MEM(ctx, want, 5);
	ke_exporter_context(ctx, 0, 17, 0);
	CHECK_EQ(ctx[3], 17);
	CHECK_EQ(ctx[4], 0);
}

/* Random byte strings and random record sequences: the parsers must answer, not crash. */
static void test_random(unsigned seed)
{
	static struct ke_client_response cr;
	struct ke_request req;
	struct msg m;
	int i, ret;

	srand(seed);
	for (i = 0; i < 50000; i++) {
		m.len = (size_t)(rand() % 64);
		for (size_t j = 0; j < m.len; j++)
			m.buf[j] = (uint8_t)(rand() % 4 ? rand() % 9 : rand());
		ret = parse(&m, &req);
		CHECK(ret == 0 || ret == -EAGAIN || ret == -EBADMSG, "ret %d", ret);
		if (ret == -EBADMSG)
			CHECK(req.error == 0 || req.error == 1, "error %d", req.error);
		ret = ke_parse_response(m.buf, m.len, &cr);
		CHECK(ret == 0 || ret == -EAGAIN || ret == -EBADMSG, "ret %d", ret);
	}
}

int main(void)
{
	unsigned seed = check_seed("test_ke_proto");

	test_iter();
	test_put_limits();
	test_good_request();
	test_need_more();
	test_errors();
	test_lists();
	test_response_roundtrip();
	test_request_builder();
	test_exporter_context();
	test_random(seed);
	return check_done("test_ke_proto");
}
