/*
 * cache.c: the loop's cached answers (cache.h). Loop thread: each loop has
 * its own.
 *
 * The public ideas list is what every resident's widget and the top-20 ask
 * for, and it is the same bytes for all of them until a write commits. Each
 * loop keeps the serialised answers of its last TH__CACHE_SLOTS distinct
 * (site, query string) requests, and the rows of the last TH__SITE_SLOTS
 * sites it served, valid while its reader connection's PRAGMA data_version
 * is unchanged. That version moves with every commit by any other
 * connection (this server's writer, the CLI, a host application, another
 * process), and is read once per request, so nothing used is older than
 * the last commit before the request. It is read before anything is
 * cached: a commit that lands in between marks the new entry stale at
 * once, never the reverse.
 */
#include "router.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void th__cache_clear(th__loop *lp) {
  for (size_t i = 0; i < TH__CACHE_SLOTS; i++) {
    free(lp->cache[i].key);
    free(lp->cache[i].body);
    lp->cache[i] = (th__cached){0};
  }
  for (size_t i = 0; i < TH__SITE_SLOTS; i++)
    lp->sites[i].slug[0] = '\0';
}

/* Whether the loop's cache may serve this request: emptied first if the
 * database changed since it was filled. false when the version cannot be
 * read: then nothing is cached or used. */
bool th__cache_check(th__ctx *x) {
  if (x->fresh != 0)
    return x->fresh > 0;
  th__loop *lp = x->req->lp;
  int64_t v = 0;
  x->fresh = -1;
  if (th__data_version(lp->reader, &v) < 0)
    return false;
  if (v != lp->cache_version) {
    th__cache_clear(lp);
    lp->cache_version = v;
  }
  x->fresh = 1;
  return true;
}

int th__site_cached(th__ctx *x, const char *slug, th__site_row *out) {
  th__loop *lp = x->req->lp;
  bool fresh = th__cache_check(x);
  for (size_t i = 0; fresh && i < TH__SITE_SLOTS; i++)
    if (lp->sites[i].slug[0] && strcmp(lp->sites[i].slug, slug) == 0) {
      *out = lp->sites[i].row;
      th__metrics_site_cache(true);
      return TH_OK;
    }
  th__metrics_site_cache(false);
  int rc = th__site_lookup(lp->reader, slug, out);
  if (rc == TH_OK && fresh && strlen(slug) < sizeof lp->sites[0].slug) {
    th__cached_site *slot = &lp->sites[lp->next_site++ % TH__SITE_SLOTS];
    snprintf(slot->slug, sizeof slot->slug, "%s", slug);
    slot->row = *out;
  }
  return rc;
}

const th__cached *th__cache_find(th__loop *lp, const char *key,
                                size_t len) {
  for (size_t i = 0; i < TH__CACHE_SLOTS; i++) {
    th__cached *c = &lp->cache[i];
    if (c->key && c->key_len == len && memcmp(c->key, key, len) == 0) {
      c->used = ++lp->cache_tick;
      return c;
    }
  }
  return NULL;
}

/* Keeps `body` (taking it) under `key` in the least recently used slot. */
void th__cache_put(th__loop *lp, const char *key, size_t key_len,
                          char *body, size_t len) {
  th__cached *slot = &lp->cache[0];
  for (size_t i = 1; i < TH__CACHE_SLOTS && slot->key; i++)
    if (lp->cache[i].key == NULL || lp->cache[i].used < slot->used)
      slot = &lp->cache[i];
  char *k = len <= TH__CACHE_MAX_BODY ? malloc(key_len) : NULL;
  if (k == NULL) {
    free(body);
    return;
  }
  memcpy(k, key, key_len);
  free(slot->key);
  free(slot->body);
  *slot = (th__cached){.key = k, .key_len = key_len, .body = body,
                       .len = len, .used = ++lp->cache_tick};
}

