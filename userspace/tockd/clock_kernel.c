// SPDX-License-Identifier: MIT
/* `clock follow kernel`: the kernel's view of the system clock through adjtimex (see
 * clock_source.h for what maps to what). */
#include <string.h>
#include <sys/timex.h>

#include "clock_source.h"

void clock_kernel_status(const struct tock_conf *conf, struct candm_tracking *trk, int32_t *tai)
{
	struct timex tx = {0};
	int state = adjtimex(&tx);

	memset(trk, 0, sizeof(*trk));
	*tai = tx.tai;
	if (state < 0 || state == TIME_ERROR || (tx.status & STA_UNSYNC)) {
		trk->leap = CLOCK_LEAP_UNSYNC;
		return;
	}
	trk->leap = (tx.status & STA_INS)   ? CLOCK_LEAP_INSERT
	            : (tx.status & STA_DEL) ? CLOCK_LEAP_DELETE
	                                    : CLOCK_LEAP_NONE;
	trk->stratum = (uint16_t)conf->stratum;
	trk->ref_id = clock_refid_from_string(conf->refid);
	/* maxerror (µs) is the kernel's bound on the clock's error, grown by 500 ppm since the
	 * discipline last set it: exactly what root dispersion means to a client */
	trk->root_dispersion = (double)tx.maxerror * 1e-6;
	trk->root_delay = 0.0;
	/* the kernel keeps no time of last update; "now" with the grown maxerror is honest */
	clock_gettime(CLOCK_REALTIME, &trk->ref_time);
	trk->ref_time.tv_nsec = 0;
	trk->freq_ppm = (double)tx.freq / 65536.0;
	trk->rms_offset = (double)tx.esterror * 1e-6;
}
