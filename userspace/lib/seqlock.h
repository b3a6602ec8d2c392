/* SPDX-License-Identifier: MIT */
/*
 * A sequence lock for one writer and many readers that must never block the writer or each
 * other: the clock status (main thread → workers), the PHC estimates (main thread →
 * workers) and the key map (tock-ke → tockd, across processes through a shared file).
 *
 * The writer makes the sequence odd, writes the data, and makes it even again. A reader
 * notes the sequence, copies the data, and keeps the copy only if the sequence was even and
 * has not moved; otherwise a write overlapped the copy and it tries again.
 *
 * Memory ordering, argued once for every user:
 *  - write_begin stores the odd value, then a release fence: the fence orders that store
 *    before every data store that follows it, so a reader that sees any new data also sees
 *    the odd (or a later) sequence when it loads the sequence again.
 *  - write_end stores the even value with release: every data store happens before it, so
 *    a reader whose acquire load in read_begin sees it also sees the whole write.
 *  - read_begin loads with acquire, so the data loads cannot move above it.
 *  - read_retry issues an acquire fence before reloading the sequence, so the data loads
 *    cannot move below the reload: if it still equals the even value read_begin saw, no
 *    write touched the data in between and the copy is consistent.
 * The data itself is copied with plain loads and stores (a torn copy is thrown away).
 */
#ifndef TOCK_SEQLOCK_H
#define TOCK_SEQLOCK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/*
 * Writer: starts a write and returns the even value it started from, to pass to
 * seqlock_write_end(). An odd sequence here means a writer died mid-write (possible only
 * when the sequence lives in a file another process wrote); the write then starts again from
 * the next even value, so readers see one completed write rather than an endless one.
 */
static inline uint64_t seqlock_write_begin(_Atomic uint64_t *seq)
{
	uint64_t start = atomic_load_explicit(seq, memory_order_relaxed);

	start += start & 1;
	atomic_store_explicit(seq, start + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	return start;
}

/* Writer: ends the write begun at `start`, publishing the data to readers. */
static inline void seqlock_write_end(_Atomic uint64_t *seq, uint64_t start)
{
	atomic_store_explicit(seq, start + 2, memory_order_release);
}

/* Reader: the sequence to copy under; odd means a write is in progress (copy is wasted). */
static inline uint64_t seqlock_read_begin(const _Atomic uint64_t *seq)
{
	return atomic_load_explicit(seq, memory_order_acquire);
}

/* Reader: true when the copy made since seqlock_read_begin() returned `begin` must be
 * thrown away and retried (a write was in progress or happened meanwhile). */
static inline bool seqlock_read_retry(const _Atomic uint64_t *seq, uint64_t begin)
{
	atomic_thread_fence(memory_order_acquire);
	return (begin & 1) || atomic_load_explicit(seq, memory_order_relaxed) != begin;
}

#endif
