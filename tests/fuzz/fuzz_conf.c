// SPDX-License-Identifier: MIT
/* Fuzz target for the configuration parser: any text must load or fail with a message,
 * never crash or overrun. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tock_conf c;
	char err[256], *text = malloc(size + 1);

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	/* `include` would read real files; keep the fuzzer hermetic */
	for (char *p = strstr(text, "include"); p; p = strstr(p + 1, "include"))
		p[0] = 'X';
	if (conf_load_string(&c, text, "fuzz.conf", err, sizeof(err)) != 0 && err[0] == '\0')
		abort(); /* every failure must say why */
	free(text);
	return 0;
}
