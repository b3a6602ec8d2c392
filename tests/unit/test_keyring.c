// SPDX-License-Identifier: MIT
/*
 * The cookie master key ring: generation and rotation semantics, the schedule with
 * catch-up, persistence in chrony's NKS0/NKS1 formats (round trips, mode, atomicity,
 * every line broken in turn) and fleet-mode determinism.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "keyring.h"
#include "log.h"

#define T0  1700000000
#define ROT 3600

static char dir[64];

static const char *path_in(const char *name)
{
	static char p[4][128];
	static int n;

	n = (n + 1) % 4;
	snprintf(p[n], sizeof(p[n]), "%s/%s", dir, name);
	return p[n];
}

static void write_file(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "w");

	if (!f) {
		perror(path);
		exit(1);
	}
	fwrite(text, 1, len, f);
	fclose(f);
}

static size_t read_file(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, cap - 1, f) : 0;

	if (f)
		fclose(f);
	buf[n] = '\0';
	return n;
}

static int same_ring(const struct keyring *a, const struct keyring *b)
{
	if (a->ring.current_slot != b->ring.current_slot)
		return 0;
	for (int i = 0; i < KEYMAP_SLOTS; i++) {
		const struct keymap_slot *x = &a->ring.slots[i], *y = &b->ring.slots[i];

		if (x->id != y->id || x->aead != y->aead || x->valid != y->valid ||
		    memcmp(x->key, y->key, sizeof(x->key)))
			return 0;
	}
	return 1;
}

static unsigned rel(const struct keyring *kr, int r)
{
	return (kr->ring.current_slot + 4 + r) & 3;
}

static void test_generate_rotate(void)
{
	struct keyring kr, before;

	keyring_init(&kr, ROT);
	CHECK(keyring_current(&kr) == NULL, "empty ring has no current key");
	CHECK_EQ(keyring_generate(&kr, T0), 0);
	for (unsigned i = 0; i < KEYMAP_SLOTS; i++) {
		CHECK_EQ(KEYMAP_SLOT_OF(kr.ring.slots[i].id), i);
		CHECK_EQ(kr.ring.slots[i].valid, 1);
		CHECK_EQ(kr.ring.slots[i].aead, 15);
		for (unsigned j = 0; j < i; j++)
			CHECK(memcmp(kr.ring.slots[i].key, kr.ring.slots[j].key, 32),
			      "keys differ");
	}
	CHECK(keyring_current(&kr) == &kr.ring.slots[kr.ring.current_slot]);
	for (int round = 0; round < 6; round++) {
		before = kr;
		CHECK_EQ(keyring_rotate(&kr, T0 + 10 + round), 0);
		/* the next key became current; the previous current and its predecessor stay */
		CHECK_EQ(kr.ring.current_slot, rel(&before, 1));
		CHECK_EQ(kr.ring.slots[rel(&kr, 0)].id, before.ring.slots[rel(&before, 1)].id);
		CHECK_EQ(kr.ring.slots[rel(&kr, -1)].id, before.ring.slots[rel(&before, 0)].id);
		CHECK_EQ(kr.ring.slots[rel(&kr, -2)].id, before.ring.slots[rel(&before, -1)].id);
		/* a new next key took the oldest slot */
		CHECK(kr.ring.slots[rel(&kr, 1)].id != before.ring.slots[rel(&before, -2)].id);
		CHECK(memcmp(kr.ring.slots[rel(&kr, 1)].key,
		             before.ring.slots[rel(&before, -2)].key, 32),
		      "oldest key replaced");
		CHECK_EQ(KEYMAP_SLOT_OF(kr.ring.slots[rel(&kr, 1)].id), rel(&kr, 1));
		CHECK_EQ(kr.last_rotation, T0 + 10 + round);
	}
	/* a key is kept for two rotations after it stops being current */
	before = kr;
	uint32_t id = kr.ring.slots[rel(&kr, 0)].id;
	keyring_rotate(&kr, T0 + 100);
	keyring_rotate(&kr, T0 + 101);
	CHECK_EQ(kr.ring.slots[rel(&kr, -2)].id, id);
	keyring_rotate(&kr, T0 + 102);
	for (int i = 0; i < KEYMAP_SLOTS; i++)
		CHECK(kr.ring.slots[i].id != id, "gone after the third rotation");
}

/* Every key's current_from sits `rel` rotations from the current key's `t`. */
static void check_current_from(const struct keyring *kr, time_t t)
{
	for (int r = -2; r <= 1; r++)
		CHECK(kr->ring.slots[rel(kr, r)].current_from == t + (time_t)r * ROT,
		      "key %+d: current from %lld, want %lld", r,
		      (long long)kr->ring.slots[rel(kr, r)].current_from,
		      (long long)(t + (time_t)r * ROT));
}

static void test_schedule(void)
{
	struct keyring kr, before;

	keyring_init(&kr, ROT);
	CHECK_EQ(keyring_rotate_if_due(&kr, T0), 1); /* empty ring: generated */
	CHECK(keyring_current(&kr) != NULL);
	check_current_from(&kr, T0);
	CHECK_EQ(keyring_rotate_if_due(&kr, T0 + ROT - 1), 0);
	before = kr;
	CHECK_EQ(keyring_rotate_if_due(&kr, T0 + ROT), 1);
	CHECK_EQ(kr.ring.slots[rel(&kr, 0)].id, before.ring.slots[rel(&before, 1)].id);
	CHECK_EQ(kr.last_rotation, T0 + ROT);
	check_current_from(&kr, T0 + ROT);
	/* slept through two periods and a half: two rotations, phase kept */
	before = kr;
	CHECK_EQ(keyring_rotate_if_due(&kr, T0 + 3 * ROT + ROT / 2), 2);
	CHECK_EQ(kr.last_rotation, T0 + 3 * ROT);
	check_current_from(&kr, T0 + 3 * ROT);
	CHECK_EQ(kr.ring.slots[rel(&kr, -1)].id, before.ring.slots[rel(&before, 1)].id);
	CHECK_EQ(keyring_rotate_if_due(&kr, T0 + 4 * ROT - 1), 0);
	/* slept for a week: every key replaced, at most four rotations done */
	before = kr;
	CHECK_EQ(keyring_rotate_if_due(&kr, T0 + 200 * ROT), 4);
	for (int i = 0; i < KEYMAP_SLOTS; i++)
		for (int j = 0; j < KEYMAP_SLOTS; j++)
			CHECK(kr.ring.slots[i].id != before.ring.slots[j].id);
	CHECK_EQ(kr.last_rotation, T0 + 200 * ROT);
	check_current_from(&kr, T0 + 200 * ROT);
	/* a forced rotation: the new current key is current from then on */
	CHECK_EQ(keyring_rotate(&kr, T0 + 200 * ROT + 7), 0);
	CHECK_EQ(kr.ring.slots[rel(&kr, 0)].current_from, T0 + 200 * ROT + 7);
	CHECK_EQ(kr.ring.slots[rel(&kr, 1)].current_from, T0 + 201 * ROT + 7);
	/* clock stepped back: no rotation, the period restarts */
	CHECK_EQ(keyring_rotate_if_due(&kr, T0), 0);
	CHECK_EQ(kr.last_rotation, T0);
	CHECK_EQ(keyring_rotate_if_due(&kr, T0 + ROT), 1);
}

static int count_temp_files(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)))
		n += strstr(e->d_name, ".tmp") != NULL;
	if (d)
		closedir(d);
	return n;
}

static void test_save_load(void)
{
	struct keyring kr, back;
	const char *p = path_in("ntskeys");
	struct stat st;
	char text[1024];

	keyring_init(&kr, ROT);
	keyring_generate(&kr, T0);
	keyring_rotate(&kr, T0 + 5);
	CHECK_EQ(keyring_save(&kr, p, T0 + 47), 0);
	CHECK_EQ(stat(p, &st), 0);
	CHECK_EQ(st.st_mode & 0777, 0600);
	CHECK_EQ(count_temp_files(), 0);
	read_file(p, text, sizeof(text));
	CHECK(strncmp(text, "NKS1\n42.0\n", 10) == 0, "header: %.12s", text);
	/* the third key line is the current key, the last one the next key */
	char cur[16], next[16];
	snprintf(cur, sizeof(cur), "%08X ", kr.ring.slots[rel(&kr, 0)].id);
	snprintf(next, sizeof(next), "%08X ", kr.ring.slots[rel(&kr, 1)].id);
	char *lines[6], *s = text;
	for (int i = 0; i < 6; i++) {
		lines[i] = s;
		s = strchr(s, '\n');
		if (s)
			*s++ = '\0';
	}
	CHECK(strncmp(lines[4], cur, 9) == 0, "current on line 5: %s", lines[4]);
	CHECK(strncmp(lines[5], next, 9) == 0, "next on line 6: %s", lines[5]);
	CHECK(strstr(lines[2], " 15") != NULL, "NKS1 key lines end with the AEAD");

	keyring_init(&back, ROT);
	CHECK_EQ(keyring_load(&back, p, T0 + 100), 0);
	CHECK(same_ring(&kr, &back), "NKS1 round trip");
	CHECK_EQ(back.last_rotation, T0 + 100 - 42);
	check_current_from(&back, T0 + 100 - 42); /* what tockctl keys shows and exports */
	CHECK_EQ(keyring_load(&back, path_in("missing"), T0), -ENOENT);

	/* NKS0 export then import */
	const char *p0 = path_in("ntskeys0");
	CHECK_EQ(keyring_export_chrony(&kr, p0, 0, T0 + 5), 0);
	read_file(p0, text, sizeof(text));
	CHECK(strncmp(text, "NKS0\n15 0.0\n", 12) == 0, "NKS0 header: %.14s", text);
	keyring_init(&back, ROT);
	CHECK_EQ(keyring_load(&back, p0, T0 + 5), 0);
	CHECK(same_ring(&kr, &back), "NKS0 round trip");
	CHECK_EQ(keyring_export_chrony(&kr, p0, 2, T0), -EINVAL);
	CHECK_EQ(count_temp_files(), 0);
	/* an unwritable directory leaves nothing behind and reports the error */
	CHECK(keyring_save(&kr, "/nonexistent-dir/ntskeys", T0) < 0);
}

/* A file as chronyd 4.3 wrote it (a throwaway server in a scratch directory). */
static const char chrony43[] =
    "NKS0\n"
    "15 1.8\n"
    "F92E8509 7E146A8B1FE115A2CF56D372264E303EA6754DF90328654C8CE27182CE38A4F5\n"
    "F208569A D2A32D198F95867300229E043FF93BFA27285649AD528B9172DD22B3A226D5E6\n"
    "B8A0650B AEE6C884D64AAF89BF079219CDB07F593DE3DAAE3B56B33194A2CC9C06F8AA45\n"
    "098664F4 6E39014F1C3C2430B937EE0A9C3B468E6E57CACA6C56E72425E113A57C3A4FAA\n";

static const char chrony44[] =
    "NKS1\n"
    "12.5\n"
    "F92E8509 7E146A8B1FE115A2CF56D372264E303EA6754DF90328654C8CE27182CE38A4F5 15\n"
    "F208569A D2A32D198F95867300229E043FF93BFA27285649AD528B9172DD22B3A226D5E6 15\n"
    "B8A0650B AEE6C884D64AAF89BF079219CDB07F593DE3DAAE3B56B33194A2CC9C06F8AA45 15\n"
    "098664F4 6E39014F1C3C2430B937EE0A9C3B468E6E57CACA6C56E72425E113A57C3A4FAA 15\n";

static void test_chrony_import(void)
{
	struct keyring kr, kr1;
	const char *p = path_in("chrony");

	write_file(p, chrony43, sizeof(chrony43) - 1);
	keyring_init(&kr, ROT);
	CHECK_EQ(keyring_load(&kr, p, T0), 0);
	CHECK_EQ(keyring_current(&kr)->id, 0xB8A0650B); /* third line */
	CHECK_EQ(kr.ring.slots[rel(&kr, 1)].id, 0x098664F4);
	CHECK_EQ(kr.ring.slots[rel(&kr, -2)].id, 0xF92E8509);
	CHECK_EQ(keyring_current(&kr)->key[0], 0xAE);
	CHECK_EQ(keyring_current(&kr)->key[31], 0x45);
	CHECK_EQ(kr.last_rotation, T0 - 1);

	write_file(p, chrony44, sizeof(chrony44) - 1);
	keyring_init(&kr1, ROT);
	CHECK_EQ(keyring_load(&kr1, p, T0), 0);
	CHECK(same_ring(&kr, &kr1), "NKS0 and NKS1 of the same keys agree");
	CHECK_EQ(kr1.last_rotation, T0 - 12);

	/* exporting what was imported gives chronyd's text back */
	char text[1024];
	CHECK_EQ(keyring_export_chrony(&kr, p, 0, T0 + 1), 0);
	read_file(p, text, sizeof(text));
	CHECK(strcmp(text + 12, chrony43 + 12) == 0, "NKS0 key lines identical");
	CHECK_EQ(keyring_export_chrony(&kr, p, 1, T0 + 12), 0);
	read_file(p, text, sizeof(text));
	CHECK(strcmp(text + 10, chrony44 + 10) == 0, "NKS1 key lines identical");
	/* no trailing newline on the last line is fine too */
	write_file(p, chrony43, sizeof(chrony43) - 2);
	CHECK_EQ(keyring_load(&kr1, p, T0), 0);
}

/* Every line broken in turn, several ways: rejected and the ring left alone. */
static void test_malformed(void)
{
	static const char *const bad[] = {
	    "NKS2\n15 1.8\n%s%s%s%s",
	    "nks0\n15 1.8\n%s%s%s%s",
	    "NKS0\n15\n%s%s%s%s",
	    "NKS0\n15 x\n%s%s%s%s",
	    "NKS0\n15 1.8 3\n%s%s%s%s",
	    "NKS0\n99 1.8\n%s%s%s%s",
	    "NKS0\n17 1.8\n%s%s%s%s",
	    "NKS0\n15 nan\n%s%s%s%s",
	    "NKS1\n15 1.8\n%s%s%s%s",
	    "NKS0\n15 1.8\n%s%s%s",
	    "NKS0\n15 1.8\n%s%s%s%s%s",
	    "NKS0\n15 1.8\n%s%s%s%sjunk\n",
	    "",
	    "NKS0\n",
	};
	static const char *const keyl[4] = {
	    "F92E8509 7E146A8B1FE115A2CF56D372264E303EA6754DF90328654C8CE27182CE38A4F5\n",
	    "F208569A D2A32D198F95867300229E043FF93BFA27285649AD528B9172DD22B3A226D5E6\n",
	    "B8A0650B AEE6C884D64AAF89BF079219CDB07F593DE3DAAE3B56B33194A2CC9C06F8AA45\n",
	    "098664F4 6E39014F1C3C2430B937EE0A9C3B468E6E57CACA6C56E72425E113A57C3A4FAA\n",
	};
	static const char *const badkey[] = {
	    "F92E850 7E146A8B1FE115A2CF56D372264E303EA6754DF90328654C8CE27182CE38A4F5\n",
	    "F92E8509Z 7E146A8B1FE115A2CF56D372264E303EA6754DF90328654C8CE27182CE38A4F5\n",
	    "F92E8509 7E146A8B1FE115A2CF56D372264E303EA6754DF90328654C8CE27182CE38A4F\n",
	    "F92E8509 7E146A8B1FE115A2CF56D372264E303EA6754DF90328654C8CE27182CE38A4F500\n",
	    "F92E8509 7E146A8B1FE115A2CF56D372264E303EA6754DF90328654C8CE27182CE38A4FG\n",
	    "F92E8509\n",
	    "F92E8509 7E146A8B1FE115A2CF56D372264E303EA6754DF90328654C8CE27182CE38A4F5 15\n",
	    "\n",
	};
	const char *p = path_in("bad");
	struct keyring kr, orig;
	char text[2048];

	keyring_init(&kr, ROT);
	keyring_generate(&kr, T0);
	orig = kr;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int n = snprintf(text, sizeof(text), bad[i], keyl[0], keyl[1], keyl[2], keyl[3],
		                 keyl[3]);
		write_file(p, text, (size_t)n);
		CHECK_EQ(keyring_load(&kr, p, T0), -EINVAL);
		CHECK(same_ring(&kr, &orig) && kr.last_rotation == T0, "ring unchanged (%zu)", i);
	}
	/* each key line broken in each way */
	for (int line = 0; line < 4; line++) {
		for (size_t b = 0; b < sizeof(badkey) / sizeof(badkey[0]); b++) {
			const char *k[4] = {keyl[0], keyl[1], keyl[2], keyl[3]};
			int n;

			k[line] = badkey[b];
			n = snprintf(text, sizeof(text), "NKS0\n15 1.8\n%s%s%s%s", k[0], k[1], k[2],
			             k[3]);
			write_file(p, text, (size_t)n);
			CHECK_EQ(keyring_load(&kr, p, T0), -EINVAL);
		}
	}
	/* ids not consecutive modulo 4 (two lines swapped) */
	snprintf(text, sizeof(text), "NKS0\n15 1.8\n%s%s%s%s", keyl[0], keyl[2], keyl[1], keyl[3]);
	write_file(p, text, strlen(text));
	CHECK_EQ(keyring_load(&kr, p, T0), -EINVAL);
	/* a NUL byte inside */
	write_file(p, "NKS0\n15 1.8\0\n", 13);
	CHECK_EQ(keyring_load(&kr, p, T0), -EINVAL);
	/* an oversized file */
	memset(text, ' ', sizeof(text));
	memcpy(text, chrony43, sizeof(chrony43) - 1);
	FILE *f = fopen(p, "w");
	for (int i = 0; f && i < 4; i++)
		fwrite(text, 1, sizeof(text), f);
	if (f)
		fclose(f);
	CHECK_EQ(keyring_load(&kr, p, T0), -EINVAL);
	CHECK(same_ring(&kr, &orig), "ring unchanged after all of it");
}

static void write_seed(const char *p, const char *text)
{
	write_file(p, text, strlen(text));
	chmod(p, 0600);
}

static void test_fleet(void)
{
	const char *sa = path_in("seed-a"), *sb = path_in("seed-b"), *sr = path_in("seed-raw");
	struct keyring a, b, c;
	char raw[40];

	write_seed(sa, "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n");
	write_seed(sb, "00112233445566778899aabbccddeeff00112233445566778899aabbccddeefe\n");
	keyring_init(&a, ROT);
	keyring_init(&b, ROT);
	keyring_init(&c, ROT);
	CHECK_EQ(keyring_fleet_init(&a, sa, T0), 0);
	CHECK_EQ(keyring_fleet_init(&b, sa, T0 + 7), 0);
	CHECK(same_ring(&a, &b), "same seed, same epoch: same keys");
	uint64_t e = T0 / ROT;
	CHECK_EQ(keyring_current(&a)->id, (uint32_t)(e << 2) | (e & 3));
	CHECK_EQ(a.ring.current_slot, e & 3);
	CHECK_EQ(a.last_rotation, (time_t)(e * ROT));
	for (unsigned i = 0; i < KEYMAP_SLOTS; i++)
		CHECK_EQ(KEYMAP_SLOT_OF(a.ring.slots[i].id), i);
	CHECK_EQ(keyring_fleet_init(&c, sb, T0), 0);
	CHECK_EQ(keyring_current(&c)->id, keyring_current(&a)->id);
	CHECK(memcmp(keyring_current(&c)->key, keyring_current(&a)->key, 32), "seeds differ");

	/* epoch boundary: the last second of e and the first of e+1 */
	time_t edge = (time_t)((e + 1) * ROT);
	CHECK_EQ(keyring_rotate_if_due(&a, edge - 1), 0);
	CHECK_EQ(keyring_rotate_if_due(&a, edge), 1);
	keyring_init(&b, ROT);
	CHECK_EQ(keyring_fleet_init(&b, sa, edge), 0);
	CHECK(same_ring(&a, &b), "rotated ring equals one derived fresh at the boundary");
	CHECK_EQ(keyring_current(&a)->id, (uint32_t)((e + 1) << 2) | ((e + 1) & 3));
	/* the old current key is now the previous one, with the same bytes */
	keyring_init(&c, ROT);
	keyring_fleet_init(&c, sa, edge - 1);
	CHECK_EQ(a.ring.slots[rel(&a, -1)].id, keyring_current(&c)->id);
	CHECK_MEM(a.ring.slots[rel(&a, -1)].key, keyring_current(&c)->key, 32);
	CHECK_EQ(c.ring.slots[rel(&c, 1)].id, keyring_current(&a)->id);
	CHECK_MEM(c.ring.slots[rel(&c, 1)].key, keyring_current(&a)->key, 32);
	CHECK_EQ(keyring_rotate_if_due(&a, edge + 10 * ROT), 4);
	CHECK_EQ(keyring_rotate(&a, edge), -EOPNOTSUPP);
	/* a fleet ring saves and loads like any other */
	CHECK_EQ(keyring_save(&a, path_in("fleetkeys"), edge + 10 * ROT), 0);
	keyring_init(&c, ROT);
	CHECK_EQ(keyring_load(&c, path_in("fleetkeys"), edge), 0);
	CHECK(same_ring(&a, &c), "fleet ring round trip");

	/* raw binary seed; short and bad seeds refused with the ring untouched */
	for (size_t i = 0; i < sizeof(raw); i++)
		raw[i] = (char)(0x80 + i);
	write_file(sr, raw, sizeof(raw));
	keyring_init(&c, ROT);
	CHECK_EQ(keyring_fleet_init(&c, sr, T0), 0);
	CHECK_EQ(c.seed_len, sizeof(raw));
	b = c;
	write_file(sr, raw, 31);
	CHECK_EQ(keyring_fleet_init(&c, sr, T0 + 5 * ROT), -EINVAL);
	CHECK(same_ring(&b, &c), "unchanged after a short seed");
	write_seed(sr, "00112233445566778899aabbccddeeff0011223344556677");
	CHECK_EQ(keyring_fleet_init(&c, sr, T0), -EINVAL);
	CHECK_EQ(keyring_fleet_init(&c, path_in("no-seed"), T0), -ENOENT);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_keyring.XXXXXX");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	log_init("test_keyring", 1, LOG_CRIT); /* the rejections log on purpose */
	test_generate_rotate();
	test_schedule();
	test_save_load();
	test_chrony_import();
	test_malformed();
	test_fleet();
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return check_done("test_keyring");
}
