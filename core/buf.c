/*
 * buf.c: the growable byte buffer every part of the library builds text in
 * (URLs, redacted text, HTTP answers, CSV), and growing arrays. Allocation failures are sticky:
 * after one, the buffer ignores further writes and says so in `oom`, so a
 * caller checks once at the end instead of after every append.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void th__sbuf_reserve(th__sbuf *b, size_t n) {
  if (b->oom || (b->p && b->len + n + 1 <= b->cap))
    return;
  size_t cap = b->cap ? b->cap * 2 : 64;
  while (cap < b->len + n + 1)
    cap *= 2;
  char *p = realloc(b->p, cap);
  if (p == NULL) {
    b->oom = true;
    return;
  }
  b->p = p;
  b->cap = cap;
}

void th__sbuf_put(th__sbuf *b, const void *s, size_t n) {
  th__sbuf_reserve(b, n);
  if (b->oom)
    return;
  if (n)
    memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

void *th__grow(void *items, size_t count, size_t *cap, size_t elem) {
  if (count < *cap && items)
    return items;
  size_t n = *cap ? *cap * 2 : 16;
  void *p = realloc(items, n * elem);
  if (p)
    *cap = n;
  return p;
}

void th__sbuf_puts(th__sbuf *b, const char *s) { th__sbuf_put(b, s, strlen(s)); }

void th__sbuf_putc(th__sbuf *b, char c) { th__sbuf_put(b, &c, 1); }

void th__sbuf_printf(th__sbuf *b, const char *fmt, ...) {
  char small[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0)
    return;
  if ((size_t)n < sizeof small) {
    th__sbuf_put(b, small, (size_t)n);
    return;
  }
  char *big = malloc((size_t)n + 1);
  if (big == NULL) {
    b->oom = true;
    return;
  }
  va_start(ap, fmt);
  vsnprintf(big, (size_t)n + 1, fmt, ap);
  va_end(ap);
  th__sbuf_put(b, big, (size_t)n);
  free(big);
}

void th__sbuf_free(th__sbuf *b) {
  free(b->p);
  memset(b, 0, sizeof *b);
}

