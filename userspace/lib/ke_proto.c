// SPDX-License-Identifier: MIT
/* NTS-KE record codec (RFC 8915 §4), see ke_proto.h. */
#include <errno.h>
#include <string.h>

#include "ke_proto.h"
#include "wire.h"

void ke_iter_init(struct ke_iter *it, const uint8_t *buf, size_t len)
{
	it->buf = buf;
	it->len = len;
	it->pos = 0;
}

int ke_iter_next(struct ke_iter *it, struct ke_record *rec)
{
	size_t left = it->len - it->pos;
	const uint8_t *p = it->buf + it->pos;
	uint16_t body_len;

	if (left == 0)
		return 0;
	if (left < KE_RECORD_HDR)
		return -EAGAIN;
	body_len = wire_get16(p + 2);
	if (left - KE_RECORD_HDR < body_len)
		return -EAGAIN;
	rec->critical = !!(p[0] & 0x80);
	rec->type = wire_get16(p) & ~KE_CRITICAL;
	rec->len = body_len;
	rec->body = p + KE_RECORD_HDR;
	it->pos += KE_RECORD_HDR + body_len;
	return 1;
}

int ke_record_put(uint8_t *buf, size_t cap, size_t *pos, uint16_t type, int critical,
                  const void *body, size_t len)
{
	if (len > 0xffff || type & KE_CRITICAL)
		return -EINVAL;
	if (*pos > cap || cap - *pos < KE_RECORD_HDR + len)
		return -ENOSPC;
	wire_put16(buf + *pos, type | (critical ? KE_CRITICAL : 0));
	wire_put16(buf + *pos + 2, (uint16_t)len);
	if (len)
		memcpy(buf + *pos + KE_RECORD_HDR, body, len);
	*pos += KE_RECORD_HDR + len;
	return 0;
}

int ke_record_put_u16s(uint8_t *buf, size_t cap, size_t *pos, uint16_t type, int critical,
                       const uint16_t *v, int n)
{
	uint8_t body[2 * KE_MAX_IDS];
	int i;

	if (n < 0 || n > KE_MAX_IDS)
		return -EINVAL;
	for (i = 0; i < n; i++)
		wire_put16(body + 2 * i, v[i]);
	return ke_record_put(buf, cap, pos, type, critical, body, 2 * (size_t)n);
}

/* Copies a list body of 16-bit ids; -EBADMSG if odd-sized or longer than KE_MAX_IDS. */
static int get_id_list(const struct ke_record *rec, uint16_t *ids, int *n)
{
	int i;

	if (rec->len % 2 || rec->len / 2 > KE_MAX_IDS)
		return -EBADMSG;
	*n = rec->len / 2;
	for (i = 0; i < *n; i++)
		ids[i] = wire_get16(rec->body + 2 * i);
	return 0;
}

/* ---- server side ------------------------------------------------------------------- */

/* Parser state across the records of one request. */
struct req_state {
	int seen_proto, seen_server, seen_port, seen_export;
};

static int req_bad(struct ke_request *req, int code)
{
	req->error = code;
	return -EBADMSG;
}

/* Applies one record of a request; 1 at End of Message, 0 to go on, -EBADMSG. */
static int req_record(struct ke_request *req, struct req_state *st, const struct ke_record *rec)
{
	switch (rec->type) {
	case KE_REC_END:
		return rec->len ? -EBADMSG : 1;
	case KE_REC_NEXT_PROTO:
		if (st->seen_proto++)
			return -EBADMSG;
		return get_id_list(rec, req->protocols, &req->n_protocols);
	case KE_REC_AEAD:
		if (req->has_aead_record++)
			return -EBADMSG;
		return get_id_list(rec, req->aeads, &req->n_aeads);
	case KE_REC_SERVER:
		/* allowed from the client (a hint we do not act on), but checked */
		return st->seen_server++ || rec->len > KE_MAX_NAME ? -EBADMSG : 0;
	case KE_REC_PORT:
		return st->seen_port++ || rec->len != 2 ? -EBADMSG : 0;
	case KE_REC_COMPLIANT_GCM_EXPORT:
		req->compliant_gcm_export = 1;
		return st->seen_export++ || rec->len ? -EBADMSG : 0;
	case KE_REC_ERROR:
	case KE_REC_WARNING:
	case KE_REC_NEW_COOKIE:
		return -EBADMSG; /* server-to-client records, out of place in a request */
	default:
		if (rec->critical) {
			req->error = KE_ERR_UNRECOGNIZED_CRITICAL;
			return -EBADMSG;
		}
		return 0; /* unknown and not critical: ignore (RFC 8915 §4) */
	}
}

/* Checks a request whose End of Message has been reached. */
static int req_complete(struct ke_request *req, const struct req_state *st, size_t used, size_t len)
{
	int i, ntp = 0;

	if (used != len || !st->seen_proto)
		return req_bad(req, KE_ERR_BAD_REQUEST);
	for (i = 0; i < req->n_protocols; i++)
		ntp |= req->protocols[i] == KE_PROTO_NTPV4;
	/* with NTPv4 offered the AEAD record must be there exactly once (RFC 8915 §4.1.5) */
	if (ntp && !req->has_aead_record)
		return req_bad(req, KE_ERR_BAD_REQUEST);
	req->len = used;
	return 0;
}

/* Whether the record starting at pos, if its header is there, can end within limit: no
 * point waiting for bytes that could never be accepted. */
static int fits(const uint8_t *buf, size_t len, size_t pos, size_t limit)
{
	if (len - pos < KE_RECORD_HDR)
		return 1;
	return pos + KE_RECORD_HDR + wire_get16(buf + pos + 2) <= limit;
}

int ke_parse_request(const uint8_t *buf, size_t len, struct ke_request *req)
{
	struct req_state st = {0};
	struct ke_record rec;
	struct ke_iter it;
	int ret;

	memset(req, 0, sizeof(*req));
	ke_iter_init(&it, buf, len);
	while ((ret = ke_iter_next(&it, &rec)) == 1) {
		req->error = KE_ERR_BAD_REQUEST;
		ret = req_record(req, &st, &rec);
		if (ret < 0)
			return ret;
		req->error = 0;
		if (ret == 1)
			return req_complete(req, &st, it.pos, len);
	}
	if (len >= KE_MAX_REQUEST || !fits(buf, len, it.pos, KE_MAX_REQUEST))
		return req_bad(req, KE_ERR_BAD_REQUEST);
	return -EAGAIN;
}

static int id_in(uint16_t id, const uint16_t *list, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (list[i] == id)
			return 1;
	return 0;
}

void ke_choose(const struct ke_request *req, const uint16_t *offered, int n_offered, int *protocol,
               int *aead)
{
	int i;

	*protocol = id_in(KE_PROTO_NTPV4, req->protocols, req->n_protocols) ? KE_PROTO_NTPV4 : -1;
	*aead = -1;
	if (*protocol < 0)
		return;
	for (i = 0; i < req->n_aeads && *aead < 0; i++)
		if (id_in(req->aeads[i], offered, n_offered))
			*aead = req->aeads[i];
}

static int put_optional_id(uint8_t *buf, size_t cap, size_t *pos, uint16_t type, int critical,
                           int id)
{
	uint16_t v = (uint16_t)id;

	return ke_record_put_u16s(buf, cap, pos, type, critical, &v, id >= 0 ? 1 : 0);
}

/* Cookies, then the Server and Port records: everything after the AEAD record. */
static int put_response_tail(uint8_t *buf, size_t cap, size_t *pos, const struct ke_response *r)
{
	uint16_t port = (uint16_t)r->port;
	int i, ret = 0;

	if (r->n_cookies < 0 || r->n_cookies > KE_MAX_COOKIES || r->port < 0 || r->port > 65535)
		return -EINVAL;
	for (i = 0; i < r->n_cookies && !ret; i++)
		ret = ke_record_put(buf, cap, pos, KE_REC_NEW_COOKIE, 0, r->cookies[i],
		                    r->cookie_len[i]);
	if (!ret && r->server)
		ret = ke_record_put(buf, cap, pos, KE_REC_SERVER, 1, r->server, strlen(r->server));
	if (!ret && r->port)
		ret = ke_record_put_u16s(buf, cap, pos, KE_REC_PORT, 1, &port, 1);
	return ret;
}

int ke_build_response(uint8_t *buf, size_t cap, const struct ke_response *r)
{
	size_t pos = 0;
	int ret;

	ret = put_optional_id(buf, cap, &pos, KE_REC_NEXT_PROTO, 1, r->protocol);
	if (!ret && r->protocol >= 0)
		ret = put_optional_id(buf, cap, &pos, KE_REC_AEAD, 1, r->aead);
	if (!ret && r->protocol >= 0 && r->aead >= 0 && r->compliant_gcm_export)
		ret = ke_record_put(buf, cap, &pos, KE_REC_COMPLIANT_GCM_EXPORT, 0, NULL, 0);
	if (!ret && r->protocol >= 0 && r->aead >= 0)
		ret = put_response_tail(buf, cap, &pos, r);
	if (!ret)
		ret = ke_record_put(buf, cap, &pos, KE_REC_END, 1, NULL, 0);
	return ret < 0 ? ret : (int)pos;
}

int ke_build_error(uint8_t *buf, size_t cap, uint16_t code)
{
	size_t pos = 0;
	int ret;

	ret = ke_record_put_u16s(buf, cap, &pos, KE_REC_ERROR, 1, &code, 1);
	if (!ret)
		ret = ke_record_put(buf, cap, &pos, KE_REC_END, 1, NULL, 0);
	return ret < 0 ? ret : (int)pos;
}

/* ---- client side ------------------------------------------------------------------- */

int ke_build_request(uint8_t *buf, size_t cap, const uint16_t *aeads, int n_aeads,
                     const char *server, int port)
{
	uint16_t proto = KE_PROTO_NTPV4, p16 = (uint16_t)port;
	size_t pos = 0;
	int ret;

	if (port < 0 || port > 65535 || (server && strlen(server) > KE_MAX_NAME))
		return -EINVAL;
	ret = ke_record_put_u16s(buf, cap, &pos, KE_REC_NEXT_PROTO, 1, &proto, 1);
	if (!ret)
		ret = ke_record_put_u16s(buf, cap, &pos, KE_REC_AEAD, 1, aeads, n_aeads);
	if (!ret && server)
		ret = ke_record_put(buf, cap, &pos, KE_REC_SERVER, 0, server, strlen(server));
	if (!ret && port)
		ret = ke_record_put_u16s(buf, cap, &pos, KE_REC_PORT, 0, &p16, 1);
	if (!ret)
		ret = ke_record_put(buf, cap, &pos, KE_REC_END, 1, NULL, 0);
	return ret < 0 ? ret : (int)pos;
}

/* Parser state across the records of one response. */
struct resp_state {
	int seen_proto, seen_aead, seen_server, seen_port, seen_error, seen_warning;
};

/* A response list record holds zero or one id; anything else is malformed. */
static int resp_one_id(const struct ke_record *rec, int *seen, int *out)
{
	if ((*seen)++ || (rec->len != 0 && rec->len != 2))
		return -EBADMSG;
	*out = rec->len ? wire_get16(rec->body) : -1;
	return 0;
}

static int resp_cookie(struct ke_client_response *r, const struct ke_record *rec)
{
	if (rec->len == 0 || rec->len > KE_MAX_COOKIE_LEN)
		return -EBADMSG;
	r->n_cookies_seen++;
	if (r->n_cookies >= KE_MAX_COOKIES)
		return 0; /* more than we asked for: keep the first ones */
	memcpy(r->cookies[r->n_cookies], rec->body, rec->len);
	r->cookie_len[r->n_cookies++] = rec->len;
	return 0;
}

static int resp_server(struct ke_client_response *r, struct resp_state *st,
                       const struct ke_record *rec)
{
	if (st->seen_server++ || rec->len == 0 || rec->len > KE_MAX_NAME ||
	    memchr(rec->body, 0, rec->len))
		return -EBADMSG;
	memcpy(r->server, rec->body, rec->len);
	r->server[rec->len] = '\0';
	return 0;
}

/* Applies one record of a response; 1 at End of Message, 0 to go on, -EBADMSG. */
static int resp_record(struct ke_client_response *r, struct resp_state *st,
                       const struct ke_record *rec)
{
	switch (rec->type) {
	case KE_REC_END:
		return rec->len ? -EBADMSG : 1;
	case KE_REC_NEXT_PROTO:
		return resp_one_id(rec, &st->seen_proto, &r->protocol);
	case KE_REC_AEAD:
		return resp_one_id(rec, &st->seen_aead, &r->aead);
	case KE_REC_ERROR:
		return rec->len == 2 ? resp_one_id(rec, &st->seen_error, &r->error) : -EBADMSG;
	case KE_REC_WARNING:
		return rec->len == 2 ? resp_one_id(rec, &st->seen_warning, &r->warning) : -EBADMSG;
	case KE_REC_NEW_COOKIE:
		return resp_cookie(r, rec);
	case KE_REC_SERVER:
		return resp_server(r, st, rec);
	case KE_REC_PORT:
		if (st->seen_port++ || rec->len != 2)
			return -EBADMSG;
		r->port = wire_get16(rec->body);
		return 0;
	case KE_REC_COMPLIANT_GCM_EXPORT:
		r->compliant_gcm_export = 1;
		return 0;
	default:
		return rec->critical ? -EBADMSG : 0;
	}
}

int ke_parse_response(const uint8_t *buf, size_t len, struct ke_client_response *r)
{
	struct resp_state st = {0};
	struct ke_record rec;
	struct ke_iter it;
	int ret;

	memset(r, 0, sizeof(*r));
	r->protocol = r->aead = r->error = r->warning = -1;
	ke_iter_init(&it, buf, len);
	while ((ret = ke_iter_next(&it, &rec)) == 1) {
		ret = resp_record(r, &st, &rec);
		if (ret < 0)
			return ret;
		if (ret == 1) {
			r->len = it.pos;
			return it.pos == len ? 0 : -EBADMSG;
		}
	}
	return len >= KE_MAX_RESPONSE || !fits(buf, len, it.pos, KE_MAX_RESPONSE) ? -EBADMSG
	                                                                          : -EAGAIN;
}

void ke_exporter_context(uint8_t ctx[KE_EXPORTER_CONTEXT_LEN], uint16_t protocol, uint16_t aead,
                         int s2c)
{
	wire_put16(ctx, protocol);
	wire_put16(ctx + 2, aead);
	ctx[4] = s2c ? 1 : 0;
}
