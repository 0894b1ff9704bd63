/*
 * scan.c: finds many byte strings in many files at once, for the privacy
 * scan (tests/privacy/scan.py writes the needles; this reads them).
 *
 *   scan NEEDLES FILE...
 *
 * NEEDLES holds records of a 4-byte little-endian id, a 4-byte
 * little-endian length and that many bytes. For every needle found in a
 * file, one line "ID<TAB>OFFSET<TAB>PATH" is printed (the first occurrence
 * per file). Needles of 8 bytes or more are found through a hash table of
 * their first 8 bytes, looked up at every offset of every file, so the cost
 * hardly depends on how many needles there are; shorter ones (an IPv4
 * address such as 1.2.3.4) are searched one by one.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct needle {
  uint32_t id, len;
  const unsigned char *bytes;
  int32_t next;     /* next needle with the same 8-byte prefix, or -1 */
  uint32_t seen_in; /* index+1 of the last file it was reported in */
} needle;

static needle *needles;
static size_t nneedles;
static int32_t *slots; /* needle index + 1 per hash slot, 0 = empty */
static uint64_t *slot_keys;
static uint64_t mask;

static uint64_t load8(const unsigned char *p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
}

static uint64_t hash(uint64_t v) { return (v * 0x9E3779B97F4A7C15ull) >> 17; }

static void add(size_t i) {
  uint64_t k = load8(needles[i].bytes);
  for (uint64_t h = hash(k) & mask;; h = (h + 1) & mask) {
    if (slots[h] == 0) {
      slots[h] = (int32_t)i + 1;
      slot_keys[h] = k;
      needles[i].next = -1;
      return;
    }
    if (slot_keys[h] == k) {
      needles[i].next = slots[h] - 1;
      slots[h] = (int32_t)i + 1;
      return;
    }
  }
}

static void report(size_t i, size_t off, const char *path, uint32_t file) {
  if (needles[i].seen_in == file)
    return;
  needles[i].seen_in = file;
  printf("%u\t%zu\t%s\n", needles[i].id, off, path);
}

static void scan(const unsigned char *d, size_t n, const char *path,
                 uint32_t file) {
  for (size_t i = 0; i + 8 <= n; i++) {
    uint64_t k = load8(d + i);
    for (uint64_t h = hash(k) & mask; slots[h]; h = (h + 1) & mask) {
      if (slot_keys[h] != k)
        continue;
      for (int32_t j = slots[h] - 1; j >= 0; j = needles[j].next)
        if (needles[j].len <= n - i &&
            memcmp(d + i, needles[j].bytes, needles[j].len) == 0)
          report((size_t)j, i, path, file);
      break;
    }
  }
  for (size_t j = 0; j < nneedles; j++)
    if (needles[j].len < 8) {
      const unsigned char *p = memmem(d, n, needles[j].bytes, needles[j].len);
      if (p)
        report(j, (size_t)(p - d), path, file);
    }
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: scan NEEDLES FILE...\n");
    return 2;
  }
  FILE *f = fopen(argv[1], "rb");
  if (f == NULL) {
    perror(argv[1]);
    return 2;
  }
  size_t cap = 0;
  unsigned char head[8];
  while (fread(head, 1, 8, f) == 8) {
    uint32_t id = (uint32_t)head[0] | (uint32_t)head[1] << 8 |
                  (uint32_t)head[2] << 16 | (uint32_t)head[3] << 24;
    uint32_t len = (uint32_t)head[4] | (uint32_t)head[5] << 8 |
                   (uint32_t)head[6] << 16 | (uint32_t)head[7] << 24;
    unsigned char *b = malloc(len ? len : 1);
    if (b == NULL || fread(b, 1, len, f) != len || len == 0) {
      free(b);
      break;
    }
    if (nneedles == cap) {
      cap = cap ? cap * 2 : 4096;
      needles = realloc(needles, cap * sizeof *needles);
    }
    needles[nneedles++] = (needle){id, len, b, -1, 0};
  }
  fclose(f);
  uint64_t size = 1;
  while (size < 2 * (uint64_t)nneedles + 16)
    size <<= 1;
  mask = size - 1;
  slots = calloc(size, sizeof *slots);
  slot_keys = calloc(size, sizeof *slot_keys);
  for (size_t i = 0; i < nneedles; i++)
    if (needles[i].len >= 8)
      add(i);
  for (int a = 2; a < argc; a++) {
    int fd = open(argv[a], O_RDONLY);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
      if (fd >= 0)
        close(fd);
      continue;
    }
    if (sb.st_size > 0) {
      void *m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
      if (m != MAP_FAILED) {
        scan(m, (size_t)sb.st_size, argv[a], (uint32_t)a);
        munmap(m, (size_t)sb.st_size);
      }
    }
    close(fd);
  }
  return 0;
}
