// SPDX-License-Identifier: MIT
/* Clock status helpers shared by tockd's clock sources and the request handler. */
#include <string.h>

#include "clock.h"

void clock_status_unsync(struct tock_clock_status *st)
{
	memset(st, 0, sizeof(*st));
	st->leap = CLOCK_LEAP_UNSYNC;
	st->stratum = 0;
	st->precision = -20;
}
