/*
 * cache.h: the loop's cached answers and sites' rows (cache.c). Included
 * by http.h, whose th__loop holds them. Loop thread: each loop has its
 * own, and only its thread touches them.
 */
#ifndef TH_SERVER_CACHE_H
#define TH_SERVER_CACHE_H

#include "internal.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct th__loop th__loop;
typedef struct th__ctx th__ctx;

/* A serialised answer kept for the next identical request. */
#define TH__CACHE_SLOTS 16
#define TH__CACHE_MAX_BODY ((size_t)256 * 1024)
typedef struct th__cached {
  char *key; /* "site\nquery string", NULL when the slot is free */
  size_t key_len;
  char *body;
  size_t len;
  uint64_t used; /* the loop's cache tick at its last use */
} th__cached;
/* A site's row, read for an earlier request. */
#define TH__SITE_SLOTS 8
typedef struct th__cached_site {
  char slug[64]; /* "" when the slot is free */
  th__site_row row;
} th__cached_site;

/* Whether the loop's cache may serve this request (emptied first if the
 * database changed since it was filled). */
bool th__cache_check(th__ctx *x);
/* The site `slug`, from the loop's cache when it is current. On failure
 * the reader's message says why. */
int th__site_cached(th__ctx *x, const char *slug, th__site_row *out);
/* A cached answer under `key`, or NULL. */
const th__cached *th__cache_find(th__loop *lp, const char *key, size_t len);
/* Keeps `body` (taking it) under `key`. */
void th__cache_put(th__loop *lp, const char *key, size_t key_len, char *body,
                   size_t len);
/* Drops every cached answer of the loop. */
void th__cache_clear(th__loop *lp);

#endif
