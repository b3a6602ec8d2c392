// SPDX-License-Identifier: MIT
/* Counter names, generated from the list in stats.h. */
#include "stats.h"

const char *const tock_stat_names[STAT_COUNT] = {
#define TOCK_STAT_NAME(id, name, help) [STAT_##id] = name,
    TOCK_NTP_STATS(TOCK_STAT_NAME)
#undef TOCK_STAT_NAME
};

const char *const tock_stat_help[STAT_COUNT] = {
#define TOCK_STAT_HELP(id, name, help) [STAT_##id] = help,
    TOCK_NTP_STATS(TOCK_STAT_HELP)
#undef TOCK_STAT_HELP
};

const char *const tock_ke_stat_names[KE_STAT_COUNT] = {
#define TOCK_KE_STAT_NAME(id, name, help) [KE_STAT_##id] = name,
    TOCK_KE_STATS(TOCK_KE_STAT_NAME)
#undef TOCK_KE_STAT_NAME
};

const char *const tock_ke_stat_help[KE_STAT_COUNT] = {
#define TOCK_KE_STAT_HELP(id, name, help) [KE_STAT_##id] = help,
    TOCK_KE_STATS(TOCK_KE_STAT_HELP)
#undef TOCK_KE_STAT_HELP
};
