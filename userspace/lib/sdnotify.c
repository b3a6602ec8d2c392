// SPDX-License-Identifier: MIT
/* sd_notify(3)'s wire protocol in a few lines, so the daemons need no libsystemd. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sdnotify.h"

/* Fills sun from $NOTIFY_SOCKET; returns the address length or -EINVAL. */
static int notify_addr(const char *path, struct sockaddr_un *sun)
{
	size_t len = strlen(path);

	if ((path[0] != '/' && path[0] != '@') || len < 2 || len >= sizeof(sun->sun_path))
		return -EINVAL;
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, path, len);
	/* '@' names the abstract namespace, whose addresses start with a NUL byte and are
	 * exactly as long as given (no terminating NUL counted). */
	if (path[0] == '@')
		sun->sun_path[0] = '\0';
	return (int)(offsetof(struct sockaddr_un, sun_path) + len + (path[0] == '/'));
}

int sdnotify_send(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun;
	int fd, alen, err = 0;

	if (!path || !*path)
		return 0;
	alen = notify_addr(path, &sun);
	if (alen < 0)
		return alen;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sun,
	           (socklen_t)alen) < 0)
		err = -errno;
	close(fd);
	return err;
}

int sdnotify_ready(void)
{
	return sdnotify_send("READY=1");
}
