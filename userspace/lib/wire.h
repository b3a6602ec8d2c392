/* SPDX-License-Identifier: MIT */
/*
 * Big-endian (network order) integers in wire formats, read and written at any alignment:
 * NTP headers and extension fields, NTS-KE records, cookies, chrony's command protocol.
 * memcpy plus a byte swap compiles to one load or store; no struct overlays, so no packing
 * or alignment question arises.
 */
#ifndef TOCK_WIRE_H
#define TOCK_WIRE_H

#include <endian.h>
#include <stdint.h>
#include <string.h>

/* Readers: the big-endian integer at p, in host order. */
static inline uint16_t wire_get16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return be16toh(v);
}

static inline uint32_t wire_get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return be32toh(v);
}

static inline uint64_t wire_get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return be64toh(v);
}

/* Writers: v stored big-endian at p. */
static inline void wire_put16(uint8_t *p, uint16_t v)
{
	v = htobe16(v);
	memcpy(p, &v, sizeof(v));
}

static inline void wire_put32(uint8_t *p, uint32_t v)
{
	v = htobe32(v);
	memcpy(p, &v, sizeof(v));
}

static inline void wire_put64(uint8_t *p, uint64_t v)
{
	v = htobe64(v);
	memcpy(p, &v, sizeof(v));
}

#endif
