// SPDX-License-Identifier: MIT
/*
 * The cookie master key ring (keyring.h).
 *
 * Slot arithmetic follows chrony so a key file moves between chronyd and tock unchanged:
 * the slot of a key is the low two bits of its id, and relative to the current slot c the
 * ring holds c-2 and c-1 (previous keys, still accepted), c (seals new cookies) and c+1
 * (the next key, generated one period early). A rotation makes c+1 current and puts a new
 * key in the oldest slot, which becomes the new "next".
 *
 * chrony's `ntskeys` file (checked against chronyd 4.3 and chrony's sources):
 *   NKS0 (≤ 4.3)  "NKS0" / "<aead> <age>"  then four "<ID> <KEY>" lines
 *   NKS1 (≥ 4.4)  "NKS1" / "<age>"         then four "<ID> <KEY> <aead>" lines
 * ID is 8 upper-case hex digits, KEY upper-case hex, age (%.1f) the seconds since the last
 * rotation. Lines run from slot c-2 to c+1: the third key line is the current key and the
 * last one the next key; consecutive ids differ by 1 modulo 4.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "hex.h"
#include "keyring.h"
#include "log.h"
#include "siv.h"
#include "wire.h"

#define KEYRING_AEAD     SIV_AEAD_CMAC_256
#define KEYRING_KEY_LEN  32
#define KEYRING_FILE_MAX 4096 /* a chrony key file is ~ 300 bytes; NKS1 with 64-byte keys ~ 600 */
#define SEED_FILE_MAX    4096
#define KEYRING_AGE_MAX  1e10 /* seconds (~317 years) */
#define SEED_MIN         32
#define FLEET_INFO       "tock cookie key"
#define FILE_KEY_LINES   KEYMAP_SLOTS
#define FILE_LINES       (2 + FILE_KEY_LINES)

static int ring_complete(const struct keymap_snapshot *r)
{
	for (unsigned i = 0; i < KEYMAP_SLOTS; i++)
		if (!r->slots[i].valid || KEYMAP_SLOT_OF(r->slots[i].id) != i)
			return 0;
	return r->current_slot < KEYMAP_SLOTS;
}

/* Replaces the ring, wiping the old keys. */
static void ring_commit(struct keyring *kr, struct keymap_snapshot *r)
{
	struct keymap_snapshot *dst = &kr->ring;

	r->seq = dst->seq + 1;
	explicit_bzero(dst, sizeof(*dst));
	memcpy(dst, r, sizeof(*dst));
	explicit_bzero(r, sizeof(*r));
}

void keyring_init(struct keyring *kr, uint32_t rotate)
{
	memset(kr, 0, sizeof(*kr));
	kr->rotate = rotate ? rotate : 1;
}

/* ---- random keys ----------------------------------------------------------------------- */

/* A fresh random key for `slot`, current from `current_from`: 30 random id bits above the slot
 * index. */
static int random_key(struct keymap_slot *s, unsigned slot, time_t current_from)
{
	uint8_t id[4];

	memset(s, 0, sizeof(*s));
	if (RAND_bytes(id, sizeof(id)) != 1 || RAND_bytes(s->key, KEYRING_KEY_LEN) != 1) {
		explicit_bzero(s, sizeof(*s));
		return -EIO;
	}
	s->id = wire_get32(id);
	s->id = (s->id & ~(uint32_t)(KEYMAP_SLOTS - 1)) | slot;
	s->aead = KEYRING_AEAD;
	s->valid = 1;
	s->current_from = current_from;
	return 0;
}

int keyring_generate(struct keyring *kr, time_t now)
{
	struct keymap_snapshot r = {0};
	int err = 0;

	r.current_slot = KEYMAP_SLOTS - 1; /* as chronyd starts; any slot would do */
	for (unsigned i = 0; i < KEYMAP_SLOTS && !err; i++) {
		/* slot i sits rel places after the current one: -2, -1 (previous), 0, 1 (next) */
		int rel = (int)((i + KEYMAP_SLOTS + 2 - r.current_slot) % KEYMAP_SLOTS) - 2;

		err = random_key(&r.slots[i], i, now + (time_t)rel * kr->rotate);
	}
	if (err) {
		explicit_bzero(&r, sizeof(r));
		return err;
	}
	ring_commit(kr, &r);
	kr->last_rotation = now;
	return 0;
}

/* One rotation at time `at`: next becomes current, the oldest slot gets a new next key. */
static int rotate_once(struct keyring *kr, time_t at)
{
	struct keymap_slot fresh;
	unsigned oldest = keymap_slot_rel(&kr->ring, -2);
	int err = random_key(&fresh, oldest, at + (time_t)kr->rotate);

	if (err)
		return err;
	explicit_bzero(&kr->ring.slots[oldest], sizeof(fresh));
	kr->ring.slots[oldest] = fresh;
	explicit_bzero(&fresh, sizeof(fresh));
	kr->ring.current_slot = keymap_slot_rel(&kr->ring, 1);
	kr->ring.slots[kr->ring.current_slot].current_from = at; /* a forced rotation is early */
	kr->ring.seq++;
	return 0;
}

/* ---- fleet keys ------------------------------------------------------------------------ */

/* HKDF-SHA256(seed, salt = none, info = FLEET_INFO ‖ epoch as 8 bytes BE) → key. */
static int fleet_key(const struct keyring *kr, uint64_t epoch, uint8_t *key, size_t len)
{
	uint8_t info[sizeof(FLEET_INFO) - 1 + 8];
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	OSSL_PARAM params[4];
	int err = -EIO;

	if (!ctx)
		goto out;
	memcpy(info, FLEET_INFO, sizeof(FLEET_INFO) - 1);
	for (int i = 0; i < 8; i++)
		info[sizeof(FLEET_INFO) - 1 + i] = (uint8_t)(epoch >> (56 - 8 * i));
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, "SHA256", 0);
	params[1] =
	    OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)kr->seed, kr->seed_len);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, sizeof(info));
	params[3] = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(ctx, key, len, params) == 1)
		err = 0;
out:
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	return err;
}

static uint64_t fleet_epoch(const struct keyring *kr, time_t now)
{
	return now > 0 ? (uint64_t)now / kr->rotate : 0;
}

/* The ring for the epoch of `now`: keys of epochs e-2 .. e+1 in slots (epoch & 3). */
static int fleet_derive(struct keyring *kr, time_t now)
{
	uint64_t e = fleet_epoch(kr, now);
	struct keymap_snapshot r = {0};
	int err = 0;

	for (int rel = -2; rel <= 1 && !err; rel++) {
		uint64_t ep = e + (uint64_t)(int64_t)rel;
		struct keymap_slot *s = &r.slots[ep & (KEYMAP_SLOTS - 1)];

		s->id = (uint32_t)(ep << 2) | (uint32_t)(ep & (KEYMAP_SLOTS - 1));
		s->aead = KEYRING_AEAD;
		s->valid = 1;
		s->current_from = (int64_t)(ep * kr->rotate);
		err = fleet_key(kr, ep, s->key, KEYRING_KEY_LEN);
	}
	if (err) {
		explicit_bzero(&r, sizeof(r));
		return err;
	}
	r.current_slot = (uint32_t)(e & (KEYMAP_SLOTS - 1));
	ring_commit(kr, &r);
	kr->last_rotation = (time_t)(e * kr->rotate);
	return 0;
}

/* Reads at most `cap` bytes of a file; -EFBIG when it is longer. Length or -errno. */
static ssize_t read_small_file(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t len = 0;
	ssize_t n = 0;

	if (fd < 0)
		return -errno;
	while (len <= cap && (n = read(fd, buf + len, cap + 1 - len)) > 0)
		len += (size_t)n;
	if (n < 0)
		n = -errno;
	close(fd);
	if (n < 0)
		return n;
	return len > cap ? -EFBIG : (ssize_t)len;
}

static int all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (hex_digit_value((unsigned char)s[i]) < 0)
			return 0;
	return n > 0;
}

/* The seed is hex when the whole file (less trailing whitespace) is hex digits, else the
 * raw bytes as they are. Either way 32..64 bytes of secret. */
static int parse_seed(const char *buf, size_t len, uint8_t *seed, size_t *seed_len)
{
	size_t n = len, cap = sizeof(((struct keyring *)0)->seed);

	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' ||
	             buf[n - 1] == '\t'))
		n--;
	if (all_hex(buf, n)) {
		if (n % 2 || n < 2 * SEED_MIN || n > 2 * cap)
			return -EINVAL;
		*seed_len = n / 2;
		return hex_decode(buf, n, seed, cap) < 0 ? -EINVAL : 0;
	}
	if (len < SEED_MIN || len > cap)
		return -EINVAL;
	memcpy(seed, buf, len);
	*seed_len = len;
	return 0;
}

int keyring_fleet_init(struct keyring *kr, const char *seed_path, time_t now)
{
	char buf[SEED_FILE_MAX + 1];
	struct keyring tmp = *kr;
	struct stat st;
	ssize_t len = read_small_file(seed_path, buf, SEED_FILE_MAX);
	int err = len < 0 ? (int)len : parse_seed(buf, (size_t)len, tmp.seed, &tmp.seed_len);

	explicit_bzero(buf, sizeof(buf));
	if (err) {
		log_err("ntskeyseed %s: %s", seed_path,
		        err == -EINVAL ? "need 32..64 bytes, raw or hex" : strerror(-err));
		goto out;
	}
	if (stat(seed_path, &st) == 0 && (st.st_mode & 077))
		log_warn("ntskeyseed %s is readable by group or others", seed_path);
	tmp.fleet = 1;
	err = fleet_derive(&tmp, now);
	if (!err)
		*kr = tmp;
out:
	explicit_bzero(&tmp, sizeof(tmp));
	return err;
}

/* ---- rotation -------------------------------------------------------------------------- */

int keyring_rotate(struct keyring *kr, time_t now)
{
	int err;

	if (kr->fleet)
		return -EOPNOTSUPP; /* the epoch decides; a forced rotation would split the fleet */
	if (!ring_complete(&kr->ring))
		return keyring_generate(kr, now);
	err = rotate_once(kr, now);
	if (!err)
		kr->last_rotation = now;
	return err;
}

static int fleet_rotate_if_due(struct keyring *kr, time_t now)
{
	uint64_t e = fleet_epoch(kr, now), cur = fleet_epoch(kr, kr->last_rotation);
	int err;

	if (e == cur && ring_complete(&kr->ring))
		return 0;
	err = fleet_derive(kr, now);
	if (err)
		return err;
	if (e <= cur)
		return 1; /* the clock went back (or the ring was empty): re-derived once */
	return e - cur > KEYMAP_SLOTS ? KEYMAP_SLOTS : (int)(e - cur);
}

int keyring_rotate_if_due(struct keyring *kr, time_t now)
{
	int64_t periods;
	int n, err;

	if (kr->fleet)
		return fleet_rotate_if_due(kr, now);
	if (!ring_complete(&kr->ring)) {
		err = keyring_generate(kr, now);
		return err ? err : 1;
	}
	if (now < kr->last_rotation) {
		/* The wall clock stepped back: restart the period rather than wait it out. */
		kr->last_rotation = now;
		return 0;
	}
	periods = (int64_t)(now - kr->last_rotation) / kr->rotate;
	/* After KEYMAP_SLOTS rotations every key is new; more would change nothing. */
	n = periods > KEYMAP_SLOTS ? KEYMAP_SLOTS : (int)periods;
	for (int i = 0; i < n; i++) {
		/* the rotations due (the last n of them), each at its scheduled time */
		err =
		    rotate_once(kr, kr->last_rotation + (time_t)(periods - n + 1 + i) * kr->rotate);
		if (err)
			return err;
	}
	/* Keep the schedule's phase: the next rotation is due a whole period after this one. */
	kr->last_rotation += (time_t)(periods * kr->rotate);
	return n;
}

const struct keymap_slot *keyring_current(const struct keyring *kr)
{
	const struct keymap_slot *s = &kr->ring.slots[kr->ring.current_slot & (KEYMAP_SLOTS - 1)];

	return s->valid ? s : NULL;
}

/* ---- chrony's file format -------------------------------------------------------------- */

static size_t aead_key_len(int aead)
{
	return siv_key_len(aead);
}

/* Appends one key line in file order. -ENOSPC or 0. */
static int format_key(const struct keymap_slot *s, int version, char *buf, size_t cap, size_t *pos)
{
	size_t klen = aead_key_len(s->aead);
	int n = snprintf(buf + *pos, cap - *pos, "%08X ", s->id);

	if (n < 0 || (size_t)n >= cap - *pos || klen == 0)
		return klen ? -ENOSPC : -EINVAL;
	*pos += (size_t)n;
	n = hex_encode(s->key, klen, buf + *pos, cap - *pos, HEX_UPPER);
	if (n < 0)
		return n;
	*pos += (size_t)n;
	n = version ? snprintf(buf + *pos, cap - *pos, " %d\n", s->aead)
	            : snprintf(buf + *pos, cap - *pos, "\n");
	if (n < 0 || (size_t)n >= cap - *pos)
		return -ENOSPC;
	*pos += (size_t)n;
	return 0;
}

/* The whole file; NKS0 needs one AEAD for all keys. Length or -errno. */
static int format_ring(const struct keyring *kr, int version, time_t now, char *buf, size_t cap)
{
	const struct keymap_snapshot *r = &kr->ring;
	double age = now > kr->last_rotation ? (double)(now - kr->last_rotation) : 0.0;
	int aead = r->slots[keymap_slot_rel(r, 0)].aead;
	size_t pos;
	int n, err = 0;

	if (!ring_complete(r) || (version != 0 && version != 1))
		return -EINVAL;
	for (unsigned i = 0; i < KEYMAP_SLOTS; i++)
		if (version == 0 && r->slots[i].aead != aead)
			return -EINVAL;
	n = version ? snprintf(buf, cap, "NKS1\n%.1f\n", age)
	            : snprintf(buf, cap, "NKS0\n%d %.1f\n", aead, age);
	if (n < 0 || (size_t)n >= cap)
		return -ENOSPC;
	pos = (size_t)n;
	for (int rel = -2; rel <= 1 && !err; rel++)
		err = format_key(&r->slots[keymap_slot_rel(r, rel)], version, buf, cap, &pos);
	return err ? err : (int)pos;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* fsync()s the directory holding `path` so the rename survives a crash. */
static int sync_dir(const char *path)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	int fd, err = 0;

	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else if ((size_t)(slash - path) < sizeof(dir))
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	else
		return -ENAMETOOLONG;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		err = -errno;
	close(fd);
	return err;
}

/* Temp file in the same directory, mode 0600, fsync, rename, fsync the directory. */
static int write_atomic(const char *path, const char *buf, size_t len)
{
	char tmp[4096];
	int fd, err;

	if (snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = fchmod(fd, 0600) < 0 ? -errno : 0;
	if (!err)
		err = write_all(fd, buf, len);
	if (!err && fsync(fd) < 0)
		err = -errno;
	if (close(fd) < 0 && !err)
		err = -errno;
	if (!err && rename(tmp, path) < 0)
		err = -errno;
	if (err) {
		unlink(tmp);
		return err;
	}
	return sync_dir(path);
}

int keyring_export_chrony(const struct keyring *kr, const char *path, int nks_version, time_t now)
{
	char buf[KEYRING_FILE_MAX];
	int len = format_ring(kr, nks_version, now, buf, sizeof(buf));
	int err = len < 0 ? len : write_atomic(path, buf, (size_t)len);

	explicit_bzero(buf, sizeof(buf));
	if (err)
		log_err("cannot write keys to %s: %s", path, strerror(-err));
	return err;
}

int keyring_save(const struct keyring *kr, const char *path, time_t now)
{
	return keyring_export_chrony(kr, path, 1, now);
}

/* ---- loading --------------------------------------------------------------------------- */

/* Splits a line (NUL-terminated, no '\n') into at most `max` space/tab separated words;
 * returns the word count, or max + 1 when there are more. */
static int split_words(char *line, char **words, int max)
{
	int n = 0;

	for (char *p = line; *p;) {
		while (*p == ' ' || *p == '\t')
			*p++ = '\0';
		if (!*p)
			break;
		if (n == max)
			return max + 1;
		words[n++] = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
	}
	return n;
}

static int parse_int(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_age(const char *s, double *age)
{
	char *end;

	errno = 0;
	*age = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(*age))
		return -EINVAL;
	if (*age < 0)
		*age = 0; /* as chronyd does */
	/* Any age past a few rotation periods means the same (every key is due); capping it
	 * keeps `now - age` within time_t, which "1e300" would not be. */
	if (*age > KEYRING_AGE_MAX)
		*age = KEYRING_AGE_MAX;
	return 0;
}

/* Line 2: "<aead> <age>" (NKS0) or "<age>" (NKS1). */
static int parse_info(char *line, int version, long *aead, double *age)
{
	char *w[3];
	int n = split_words(line, w, 2);

	if (n != (version ? 1 : 2))
		return -EINVAL;
	if (!version && parse_int(w[0], 1, 65535, aead))
		return -EINVAL;
	return parse_age(w[version ? 0 : 1], age);
}

/* A key line: "<id> <key>" (NKS0, AEAD from line 2) or "<id> <key> <aead>" (NKS1). */
static int parse_key(char *line, int version, long aead, struct keymap_slot *s)
{
	char *w[4];
	int n = split_words(line, w, 3);
	size_t idlen, klen;
	uint8_t id[4] = {0};

	if (n != (version ? 3 : 2) || (version && parse_int(w[2], 1, 65535, &aead)))
		return -EINVAL;
	idlen = strlen(w[0]);
	klen = aead_key_len((int)aead);
	if (klen == 0 || idlen != 8 || hex_decode(w[0], 8, id, sizeof(id)) < 0 ||
	    strlen(w[1]) != 2 * klen || hex_decode(w[1], 2 * klen, s->key, sizeof(s->key)) < 0)
		return -EINVAL;
	s->id = wire_get32(id);
	s->aead = (uint16_t)aead;
	s->valid = 1;
	return 0;
}

/* Cuts buf into lines; returns the count of lines, -EINVAL past `max` non-empty ones. */
static int split_lines(char *buf, char **lines, int max)
{
	int n = 0;
	char *p = buf;

	while (*p) {
		char *nl = strchr(p, '\n');

		if (nl)
			*nl = '\0';
		if (n == max) {
			if (strspn(p, " \t") != strlen(p))
				return -EINVAL; /* trailing content after the four keys */
		} else {
			lines[n++] = p;
		}
		if (!nl)
			break;
		p = nl + 1;
	}
	return n;
}

static int parse_file(char *buf, const struct keyring *kr, time_t now, struct keymap_snapshot *r,
                      time_t *last_rotation)
{
	char *lines[FILE_LINES];
	int version, n = split_lines(buf, lines, FILE_LINES);
	long aead = 0;
	double age;

	if (n != FILE_LINES)
		return -EINVAL;
	if (strcmp(lines[0], "NKS0") && strcmp(lines[0], "NKS1"))
		return -EINVAL;
	version = lines[0][3] - '0';
	if (parse_info(lines[1], version, &aead, &age))
		return -EINVAL;
	*last_rotation = now - (time_t)age;
	for (int i = 0; i < FILE_KEY_LINES; i++) {
		struct keymap_slot s = {0};
		uint32_t prev = r->slots[r->current_slot].id; /* the line before */

		if (parse_key(lines[2 + i], version, aead, &s))
			return -EINVAL;
		/* Each id is one slot after the line before it (chronyd checks the same). */
		if (i > 0 && KEYMAP_SLOT_OF(s.id - prev) != 1)
			return -EINVAL;
		/* The file runs c-2 .. c+1: key line i is `i - 2` slots after the current one. */
		s.current_from = *last_rotation + (time_t)(i - 2) * kr->rotate;
		r->current_slot = KEYMAP_SLOT_OF(s.id);
		r->slots[r->current_slot] = s;
	}
	/* The last line was the next key: the current one sits just before it. */
	r->current_slot = KEYMAP_SLOT_OF(r->current_slot + KEYMAP_SLOTS - 1);
	return 0;
}

int keyring_parse(struct keyring *kr, const char *text, size_t len, time_t now)
{
	char buf[KEYRING_FILE_MAX + 1];
	struct keymap_snapshot r = {0};
	time_t last = 0;
	int err;

	/* A copy: the line splitter writes NULs, and the caller's bytes need no terminator. */
	if (len > KEYRING_FILE_MAX || memchr(text, '\0', len))
		return -EINVAL;
	memcpy(buf, text, len);
	buf[len] = '\0';
	err = parse_file(buf, kr, now, &r, &last);
	if (!err && !aead_key_len(r.slots[r.current_slot].aead))
		err = -EINVAL;
	if (!err) {
		ring_commit(kr, &r);
		kr->last_rotation = last;
	}
	explicit_bzero(buf, sizeof(buf));
	explicit_bzero(&r, sizeof(r));
	return err;
}

int keyring_load(struct keyring *kr, const char *path, time_t now)
{
	char buf[KEYRING_FILE_MAX + 1];
	ssize_t len = read_small_file(path, buf, KEYRING_FILE_MAX);
	int err;

	if (len < 0)
		err = len == -EFBIG ? -EINVAL : (int)len;
	else
		err = keyring_parse(kr, buf, (size_t)len, now);
	if (err == -EINVAL)
		log_err("%s: not a valid NKS0/NKS1 key file", path);
	explicit_bzero(buf, sizeof(buf));
	return err;
}
