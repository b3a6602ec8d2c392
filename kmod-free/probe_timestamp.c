// SPDX-License-Identifier: MIT
/* Which receive timestamps a UDP socket gets here (SO_TIMESTAMPING, else SO_TIMESTAMPNS). */
#include <errno.h>
#include <unistd.h>

#include "transport.h"

int probe_timestamping(int family)
{
	int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0), mode;

	if (fd < 0)
		return -errno;
	mode = transport_sockopts(fd, family);
	close(fd);
	return mode;
}
