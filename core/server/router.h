/*
 * router.h: what the router hands a handler.
 */
#ifndef TH_SERVER_ROUTER_H
#define TH_SERVER_ROUTER_H

#include "http.h"

typedef struct th__ctx {
  th__req *req;
  const char *path;
  size_t path_len;
  const char *query_str;
  json_t *query; /* decoded query string: an object of strings */
  char site[64];
  char file[32];
  int64_t id;
  /* Whether the loop's cached answers and sites were found current for
   * this request: 0 not asked yet, 1 yes, -1 the check failed. */
  signed char fresh;
  /* The site the path names, once th__handle has found it (NULL for the
   * routes outside /v1/sites/{site}). */
  const th__site_row *row;
} th__ctx;

/* The handlers (api.c). */
void th__handle(th__ctx *x);
/* Pages and assets outside the API: the widgets, the dashboard, the
 * thank-you page (static.c). */
void th__static(th__ctx *x);
/* A failed no-script form post: a localised HTML page with the status
 * (static.c). `back`: a page on the site's origins, or NULL. */
void th__form_failed(th__req *req, int status, const char *extra,
                     const char *lang_tag, const char *back);
/* A recorded no-script form post's answer: the thank-you page, with a
 * follow-up form carrying `handle` when it is not NULL (static.c). */
void th__thanks_answer(th__req *req, const char *site, const char *lang_tag,
                       const char *back, const char *page,
                       const char *handle);
/* The site `slug`, from the loop's cache when it is current (api.c). On
 * failure the reader's message says why. */
int th__site_cached(th__ctx *x, const char *slug, th__site_row *out);
/* Open data (export.c). */
void th__export_open_data(th__ctx *x);

/* Whether `origin` is the server's own (the request's Host). */
bool th__origin_same(const th__req *req, const char *origin, size_t len);
/* Sets req->cors: Vary: Origin, and Access-Control-Allow-Origin when the
 * request's Origin is one of `origins`. */
void th__cors(th__req *req, const char *origins);

#endif
