// SPDX-License-Identifier: MIT
/*
 * Can this host run the io_uring transport? io_uring may be switched off
 * (kernel.io_uring_disabled), filtered by a container's seccomp profile (ENOSYS/EPERM), or too
 * old for provided-buffer rings (5.19) and multishot recvmsg (6.0).
 */
#include <errno.h>
#include <liburing.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "transport.h"

/* Registering a one-entry buffer ring proves the kernel has provided-buffer rings. */
static int probe_buf_ring(struct io_uring *ring)
{
	struct io_uring_buf_reg reg = {0};
	void *br = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
	int err;

	if (br == MAP_FAILED)
		return -errno;
	reg.ring_addr = (unsigned long)br;
	reg.ring_entries = 1;
	reg.bgid = 0;
	err = io_uring_register_buf_ring(ring, &reg, 0);
	if (!err)
		io_uring_unregister_buf_ring(ring, 0);
	munmap(br, 4096);
	return err;
}

int probe_io_uring(void)
{
	struct io_uring ring;
	struct io_uring_probe *p;
	int err = io_uring_queue_init(4, &ring, 0);

	if (err)
		return err;
	p = io_uring_get_probe_ring(&ring);
	if (!p || !io_uring_opcode_supported(p, IORING_OP_RECVMSG) ||
	    !io_uring_opcode_supported(p, IORING_OP_SENDMSG))
		err = -EOPNOTSUPP;
	io_uring_free_probe(p);
	if (!err)
		err = probe_buf_ring(&ring);
	io_uring_queue_exit(&ring);
	return err;
}
