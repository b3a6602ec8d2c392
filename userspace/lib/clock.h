/* SPDX-License-Identifier: MIT */
/*
 * Clock status (DESIGN §6): what every response says about the system clock. tock serves
 * time, it does not discipline the clock; a source (chronyd's tracking, the kernel's
 * adjtimex, or a static stratum/refid) is sampled once a second by tockd's main thread and
 * published here for the workers (and, through a BPF map, the XDP fast path).
 */
#ifndef TOCK_CLOCK_H
#define TOCK_CLOCK_H

#include <stdint.h>

#include "seqlock.h"

#define CLOCK_LEAP_NONE   0
#define CLOCK_LEAP_INSERT 1
#define CLOCK_LEAP_DELETE 2
#define CLOCK_LEAP_UNSYNC 3

/* The header fields a server response takes from the clock. Values are in wire format
 * (host byte order here; the codec converts). */
struct tock_clock_status {
	uint8_t leap;     /* CLOCK_LEAP_*; UNSYNC → stratum 0 as well */
	uint8_t stratum;  /* 1..15, 0 when unsynchronised */
	int8_t precision; /* log2 seconds */
	uint8_t reserved;
	uint32_t refid;           /* reference id, as the 4 wire bytes read big-endian */
	uint32_t root_delay;      /* NTP short format (16.16 seconds) */
	uint32_t root_dispersion; /* NTP short format */
	uint64_t ref_time;        /* NTP timestamp format (32.32, era-relative) */
	int32_t tai_offset;       /* TAI - UTC seconds, for the XDP fast path */
	uint32_t reserved2;
};

/* The published status, written by one thread, read by many (a seqlock, one cache line). */
struct tock_clock_cell {
	_Atomic uint64_t seq;
	struct tock_clock_status st;
} __attribute__((aligned(64)));

/* Writer: publish a new status. */
static inline void clock_cell_publish(struct tock_clock_cell *c, const struct tock_clock_status *st)
{
	uint64_t start = seqlock_write_begin(&c->seq);

	c->st = *st;
	seqlock_write_end(&c->seq, start);
}

/* Reader: a consistent copy. The writer updates once a second, so this retries rarely. */
static inline void clock_cell_read(const struct tock_clock_cell *c, struct tock_clock_status *out)
{
	uint64_t begin;

	do {
		begin = seqlock_read_begin(&c->seq);
		*out = c->st;
	} while (seqlock_read_retry(&c->seq, begin));
}

/* The status of an unsynchronised server: leap 3, stratum 0 ("don't use me"). */
void clock_status_unsync(struct tock_clock_status *st);

#endif
