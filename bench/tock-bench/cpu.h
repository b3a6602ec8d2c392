/* SPDX-License-Identifier: MIT */
/*
 * CPU accounting for tock-bench from /proc: the servers' CPU time (every thread of every
 * given process, so chronyd's helper and tockd's workers all count), the machine's busy
 * share, and the generator's own time.
 */
#ifndef TOCK_BENCH_CPU_H
#define TOCK_BENCH_CPU_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CPU_MAX_PIDS 16

/* Parses "PID[,PID...]" into pids (at most max). Count, or -EINVAL. */
int cpu_parse_pids(const char *list, pid_t *pids, int max);

/* CPU time (ns) used so far by all threads of the given processes: the sum of each task's
 * schedstat run time (ns resolution), or utime+stime from /proc/PID/stat where schedstat
 * is missing. A process that is gone adds nothing. */
uint64_t cpu_pids_ns(const pid_t *pids, int n);

/* Machine-wide jiffies from /proc/stat: busy (everything but idle and iowait) and total. */
int cpu_machine(uint64_t *busy, uint64_t *total);

/* CPU time (ns) of the calling thread. */
uint64_t cpu_thread_ns(void);

/* Short description of this machine ("CPU model, N cores, kernel"). */
void cpu_describe(char *buf, size_t cap);

#endif
