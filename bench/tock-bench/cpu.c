// SPDX-License-Identifier: MIT
/* CPU accounting from /proc (cpu.h). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "cpu.h"

int cpu_parse_pids(const char *list, pid_t *pids, int max)
{
	const char *p = list;
	int n = 0;

	while (*p) {
		char *end;
		long v = strtol(p, &end, 10);

		if (end == p || v <= 0 || n >= max || (*end && *end != ','))
			return -EINVAL;
		pids[n++] = (pid_t)v;
		p = *end ? end + 1 : end;
	}
	return n ? n : -EINVAL;
}

/* First number of a /proc file (schedstat: run time in ns). */
static int read_first_u64(const char *path, uint64_t *v)
{
	FILE *f = fopen(path, "r");
	int ok;

	if (!f)
		return -errno;
	ok = fscanf(f, "%lu", v) == 1;
	fclose(f);
	return ok ? 0 : -EINVAL;
}

/* utime + stime of a whole process from /proc/PID/stat, in ns. */
static uint64_t stat_ns(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut = 0, st = 0;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	/* The command name may hold spaces: fields are counted from its closing ')'. */
	p = strrchr(buf, ')');
	if (!p ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return 0;
	return (uint64_t)(ut + st) * (1000000000ull / (uint64_t)sysconf(_SC_CLK_TCK));
}

/* Sum of schedstat over the tasks of pid; -ENOENT if schedstat is not available. */
static int schedstat_ns(pid_t pid, uint64_t *sum)
{
	char path[300];
	struct dirent *de;
	DIR *d;
	int found = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return -ENOENT;
	*sum = 0;
	while ((de = readdir(d))) {
		uint64_t v;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/schedstat", (int)pid, de->d_name);
		if (read_first_u64(path, &v) == 0) {
			*sum += v;
			found = 1;
		}
	}
	closedir(d);
	return found ? 0 : -ENOENT;
}

uint64_t cpu_pids_ns(const pid_t *pids, int n)
{
	uint64_t total = 0;

	for (int i = 0; i < n; i++) {
		uint64_t v;

		total += schedstat_ns(pids[i], &v) == 0 ? v : stat_ns(pids[i]);
	}
	return total;
}

int cpu_machine(uint64_t *busy, uint64_t *total)
{
	unsigned long long v[10] = {0};
	FILE *f = fopen("/proc/stat", "r");
	int n;

	if (!f)
		return -errno;
	n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
	           &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]);
	fclose(f);
	if (n < 4)
		return -EINVAL;
	/* guest time (8, 9) is already inside user time. */
	*total = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
	*busy = *total - v[3] - v[4];
	return 0;
}

uint64_t cpu_thread_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* "model name" from /proc/cpuinfo. */
static void cpu_model(char *buf, size_t cap)
{
	char line[256];
	FILE *f = fopen("/proc/cpuinfo", "r");

	snprintf(buf, cap, "unknown CPU");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *c = strchr(line, ':');

		if (!strncmp(line, "model name", 10) && c) {
			c[strcspn(c, "\n")] = 0;
			snprintf(buf, cap, "%s", c + 2);
			break;
		}
	}
	fclose(f);
}

void cpu_describe(char *buf, size_t cap)
{
	char model[160];
	struct utsname u;

	cpu_model(model, sizeof(model));
	uname(&u);
	snprintf(buf, cap, "%s, %ld cores, Linux %s", model, sysconf(_SC_NPROCESSORS_ONLN),
	         u.release);
}
