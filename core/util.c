/*
 * util.c: the small helpers the rest of the library shares, in one place:
 * strings, days and weeks, directory fsync, the opaque cursors that
 * page through ranked lists, and reading the structs that carry their
 * size.
 */
#include "internal.h"

#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- strings -------------------------------------------------------------- */

char *th__strdup(const char *s) {
  if (s == NULL)
    s = "";
  size_t n = strlen(s) + 1;
  char *p = malloc(n);
  if (p)
    memcpy(p, s, n);
  return p;
}

/* ---- days ----------------------------------------------------------------- */

int64_t th__day(th_time ms) {
  return ms >= 0 ? ms / TH__DAY_MS : -((-ms + TH__DAY_MS - 1) / TH__DAY_MS);
}

int64_t th__monday(int64_t day) { return day - ((day + 3) % 7 + 7) % 7; }

bool th__day_text(int64_t day, char *out, size_t cap) {
  /* The civil date from days since the epoch (Howard Hinnant's
   * algorithm): eras of 400 years (146,097 days), years from 1 March. */
  int64_t z = day + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  int64_t d = doy - (153 * mp + 2) / 5 + 1;
  int64_t m = mp < 10 ? mp + 3 : mp - 9;
  int64_t y = yoe + era * 400 + (m <= 2);
  int n = snprintf(out, cap, "%04lld-%02lld-%02lld", (long long)y,
                   (long long)m, (long long)d);
  if (n < 0 || (size_t)n >= cap) {
    if (cap > 0)
      out[0] = '\0';
    return false;
  }
  return true;
}

/* ---- files ---------------------------------------------------------------- */

int th__fsync_dir(const char *path) {
  char dir[PATH_MAX];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash == NULL)
    snprintf(dir, sizeof dir, ".");
  else if (slash == dir)
    dir[1] = '\0';
  else
    *slash = '\0';
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  int rc = fsync(fd);
  close(fd);
  return rc;
}

/* ---- cursors -------------------------------------------------------------- */

/* Layout: version (1), kind (1), seed (8), key as IEEE double (8), key2 (8),
 * id (8), all little-endian; base64url without padding. */
#define TH__CURSOR_BYTES 34

static void th__put64(unsigned char *p, uint64_t v) {
  for (int i = 0; i < 8; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t th__get64(const unsigned char *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--)
    v = (v << 8) | p[i];
  return v;
}

char *th__cursor_encode(const th__cursor *c) {
  unsigned char raw[TH__CURSOR_BYTES];
  uint64_t kbits;
  memcpy(&kbits, &c->key, 8);
  raw[0] = 1;
  raw[1] = c->kind;
  th__put64(raw + 2, c->seed);
  th__put64(raw + 10, kbits);
  th__put64(raw + 18, (uint64_t)c->key2);
  th__put64(raw + 26, (uint64_t)c->id);
  size_t n = sodium_base64_encoded_len(sizeof raw,
                                       sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  char *s = malloc(n);
  if (s)
    sodium_bin2base64(s, n, raw, sizeof raw,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  return s;
}

int th__cursor_decode(const char *s, th__cursor *c) {
  unsigned char raw[TH__CURSOR_BYTES];
  size_t n = 0;
  if (s == NULL || strlen(s) > 64)
    return TH_EINVAL;
  if (sodium_base642bin(raw, sizeof raw, s, strlen(s), NULL, &n, NULL,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
      n != sizeof raw || raw[0] != 1)
    return TH_EINVAL;
  c->kind = raw[1];
  c->seed = th__get64(raw + 2);
  uint64_t kbits = th__get64(raw + 10);
  memcpy(&c->key, &kbits, 8);
  c->key2 = (int64_t)th__get64(raw + 18);
  c->id = (int64_t)th__get64(raw + 26);
  if (isnan(c->key) || isinf(c->key) || c->id <= 0)
    return TH_EINVAL;
  return TH_OK;
}

/* ---- structs that carry their size ---------------------------------------- */

/* The caller's size, or 0 when it is out of range (after a message). */
static size_t th__sized_size(th_db *db, const char *name, const void *p,
                             size_t oldest) {
  size_t size;
  memcpy(&size, p, sizeof size);
  if (size >= oldest && size <= TH__SIZED_MAX)
    return size;
  if (db)
    th__err(db, TH_EINVAL,
            "%s: size %zu is not one townhall.h ever gave the struct: "
            "set it to its sizeof",
            name, size);
  return 0;
}

int th__sized_in(th_db *db, const char *name, const void *in, size_t oldest,
                 size_t known, void *out) {
  memset(out, 0, known);
  size_t size = th__sized_size(db, name, in, oldest);
  if (size == 0)
    return TH_EINVAL;
  const unsigned char *bytes = in;
  for (size_t i = known; i < size; i++)
    if (bytes[i] != 0) {
      if (db)
        th__err(db, TH_EINVAL,
                "%s: a member this version of the library does not know is "
                "set (the caller's struct has %zu bytes; this version knows "
                "%zu)",
                name, size, known);
      return TH_EINVAL;
    }
  memcpy(out, in, size < known ? size : known);
  memcpy(out, &known, sizeof known);
  return TH_OK;
}

int th__sized_out(th_db *db, const char *name, void *out, size_t oldest,
                  size_t known, const void *val) {
  size_t size = th__sized_size(db, name, out, oldest);
  if (size == 0)
    return TH_EINVAL;
  unsigned char *bytes = out;
  size_t n = size < known ? size : known;
  memcpy(bytes + sizeof size, (const unsigned char *)val + sizeof size,
         n - sizeof size);
  if (size > known)
    memset(bytes + known, 0, size - known);
  return TH_OK;
}
