/*
 * handlers/static.c: the files of web/, and the demo.
 *
 *   /v/VERSION/NAME   a file of web/ under a versioned URL: cached for a
 *                     year (immutable) with an ETag, readable cross-origin
 *                     (the widgets are embedded in councils' pages, with
 *                     Subresource Integrity, which needs CORS)
 *   /NAME             the same file, cached for five minutes
 *   /dashboard/       the councillors' dashboard (web/dashboard/index.html)
 *   /                 the demo council page (townhall serve --demo only)
 *   /demo/sign-in     a demo resident's JWT (townhall serve --demo only)
 *
 * /v/{version}/{file} and /demo/sign-in are operations of the route table
 * (routes.h); the rest is what no operation matches outside /v1/sites/,
 * whose names are the files of web/ (th__assets: the whole namespace, so
 * no path reaches outside it). Loop thread.
 */
#include "router.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

static const char *th__content_type(const char *name) {
  static const struct {
    const char *ext, *type;
  } types[] = {{".js", "text/javascript; charset=utf-8"},
               {".css", "text/css; charset=utf-8"},
               {".html", "text/html; charset=utf-8"},
               {".json", "application/json"},
               {".svg", "image/svg+xml"},
               {".txt", "text/plain; charset=utf-8"}};
  size_t n = strlen(name);
  for (size_t i = 0; i < TH__ARRAY_SIZE(types); i++) {
    size_t e = strlen(types[i].ext);
    if (n > e && strcmp(name + n - e, types[i].ext) == 0)
      return types[i].type;
  }
  return "application/octet-stream";
}

static bool th__ends_with(const char *s, const char *end) {
  size_t n = strlen(s), e = strlen(end);
  return n >= e && strcmp(s + n - e, end) == 0;
}

/* A strong validator for each file of th__assets: the first 8 bytes of its
 * BLAKE2b, in hex and quotes. The files are compiled in, so the table is
 * made once, by whichever loop asks first (hashing widget.js for every
 * request cost a quarter of its serving time). */
#define TH__MAX_ASSETS 256
static char th__etags[TH__MAX_ASSETS][20];
static pthread_once_t th__etags_once = PTHREAD_ONCE_INIT;

static void th__etags_make(void) {
  for (size_t i = 0; i < TH__MAX_ASSETS && th__assets[i].name; i++) {
    unsigned char h[crypto_generichash_BYTES_MIN];
    crypto_generichash(h, sizeof h, th__assets[i].data, th__assets[i].len,
                       NULL, 0);
    char *out = th__etags[i];
    out[0] = '"';
    sodium_bin2hex(out + 1, 17, h, 8);
    out[17] = '"';
    out[18] = '\0';
  }
}

/* b is an entry of th__assets; NULL past the table's first TH__MAX_ASSETS
 * (then the file is served without a validator). */
static const char *th__etag(const th__blob *b) {
  pthread_once(&th__etags_once, th__etags_make);
  size_t i = (size_t)(b - th__assets);
  return i < TH__MAX_ASSETS ? th__etags[i] : NULL;
}

static bool th__not_modified(const th__req *req, const char *etag) {
  size_t n = 0;
  const char *inm = th__req_header(req, "if-none-match", &n);
  if (inm == NULL)
    return false;
  if (n == 1 && inm[0] == '*')
    return true;
  size_t el = strlen(etag);
  for (size_t i = 0; i + el <= n; i++)
    if (memcmp(inm + i, etag, el) == 0)
      return true;
  return false;
}

/* Serves one file of web/: `versioned` under /v/VERSION/ (a year,
 * immutable), otherwise for five minutes. Scripts, styles and strings may
 * be read cross-origin (they are public and carry no credentials); HTML
 * pages get townhall's own strict CSP instead. */
static void th__serve_blob(th__ctx *x, const th__blob *b, bool versioned) {
  const char *etag = th__etag(b);
  bool html = th__ends_with(b->name, ".html");
  char extra[640];
  snprintf(extra, sizeof extra, "Cache-Control: %s\r\n%s%s%s%s",
           versioned ? "public, max-age=31536000, immutable"
                     : "public, max-age=300",
           etag ? "ETag: " : "", etag ? etag : "", etag ? "\r\n" : "",
           html ? ""
                : "Access-Control-Allow-Origin: *\r\n"
                  "Cross-Origin-Resource-Policy: cross-origin\r\n");
  if (html) {
    /* A 304 carries the headers of the 200 it stands for. */
    if (etag && th__not_modified(x->req, etag)) {
      th__sbuf h = {0};
      th__sbuf_printf(&h,
                      "%sContent-Security-Policy: " TH__PAGE_CSP
                      "; frame-ancestors 'none'\r\n",
                      extra);
      if (h.oom)
        th__respond_error(x->req, TH_ENOMEM, NULL);
      else
        th__respond(x->req, 304, NULL, h.p, NULL, 0);
      th__sbuf_free(&h);
      return;
    }
    th__respond_html(x->req, 200, TH__PAGE_CSP, NULL, extra,
                     (const char *)b->data, b->len);
    return;
  }
  if (etag && th__not_modified(x->req, etag)) {
    th__respond(x->req, 304, NULL, extra, NULL, 0);
    return;
  }
  th__respond(x->req, 200, th__content_type(b->name), extra,
              (const char *)b->data, b->len);
}


/* The template of the demo page is rendered, never served as it is. */
static bool th__servable(const th__blob *b) {
  return strcmp(b->name, "demo.html") != 0;
}

/* ---- the demo council page (townhall serve --demo) ----------------------- */

/* "/": web/demo.html with {{V}} as the versioned asset prefix and
 * {{FEEDBACK}} as the server-rendered form, as a council's own templates
 * would include it. */
static void th__demo_page(th__ctx *x) {
  const th__blob *t = th__asset_get("demo.html", 9);
  th__site_row site;
  if (t == NULL || th__site_cached(x, "demo", &site) != 0) {
    th__respond_error(x->req, TH_ENOTFOUND, "The demo site is missing.");
    return;
  }
  char host[256], page[300], v[64];
  if (!th__host(x->req, host, sizeof host))
    snprintf(host, sizeof host, "127.0.0.1:%d", x->req->lp->srv->port);
  snprintf(page, sizeof page, "http://%s/", host);
  snprintf(v, sizeof v, "/v/%s", th_version_string());
  char lang[8];
  json_t *s = th__strings("en", lang);
  th__sbuf b = {0};
  const char *p = (const char *)t->data, *end = p + t->len;
  while (p < end) {
    const char *m = strstr(p, "{{");
    if (m == NULL || m >= end) {
      th__sbuf_put(&b, p, (size_t)(end - p));
      break;
    }
    th__sbuf_put(&b, p, (size_t)(m - p));
    if (strncmp(m, "{{V}}", 5) == 0) {
      th__sbuf_puts(&b, v);
      p = m + 5;
    } else if (strncmp(m, "{{SRI ", 6) == 0 && strstr(m, "}}") &&
               (size_t)(strstr(m, "}}") - m) < 40) {
      /* The Subresource Integrity of one of the files: what a council
       * computes once per release (libsodium has SHA-512, which SRI
       * accepts as well as SHA-384). */
      const char *e = strstr(m, "}}");
      const th__blob *f = th__asset_get(m + 6, (size_t)(e - m - 6));
      if (f) {
        unsigned char h[crypto_hash_sha512_BYTES];
        char b64[sodium_base64_ENCODED_LEN(crypto_hash_sha512_BYTES,
                                           sodium_base64_VARIANT_ORIGINAL)];
        crypto_hash_sha512(h, f->data, f->len);
        sodium_bin2base64(b64, sizeof b64, h, sizeof h,
                          sodium_base64_VARIANT_ORIGINAL);
        th__sbuf_printf(&b, "sha512-%s", b64);
      }
      p = e + 2;
    } else if (strncmp(m, "{{FEEDBACK}}", 12) == 0) {
      th__form_html(&b, x, s, lang, "", "demo", page);
      p = m + 12;
    } else {
      th__sbuf_put(&b, m, 2);
      p = m + 2;
    }
  }
  json_decref(s);
  th__respond_html(x->req, 200, TH__PAGE_CSP, NULL, NULL, b.p ? b.p : "",
                   b.len);
  th__sbuf_free(&b);
}

/* POST /demo/sign-in: what a council's own login would hand its pages, a
 * resident JWT (HS256 with the site's secret, an hour), here for a demo
 * resident. Only for the server's own page: a cross-site Origin is
 * refused. */
void th__handle_demo_sign_in(th__ctx *x) {
  size_t ol = 0;
  const char *origin = th__req_header(x->req, "origin", &ol);
  if (origin && !th__origin_same(x->req, origin, ol)) {
    th__respond_problem(x->req, 403, "cross-site", "Cross-site request refused",
                        "Only the demo page signs demo residents in.", NULL);
    return;
  }
  th_db *db = x->req->lp->reader;
  char *jwt = NULL;
  int rc = th_resident_token(db, "demo", "demo-resident-you", 3600, &jwt);
  if (rc != TH_OK) {
    th__respond_error(x->req, rc, th_errmsg(db));
    return;
  }
  th__respond_json(x->req, 200,
                   json_pack("{s:s,s:s,s:i}", "token", jwt, "sub",
                             "demo-resident-you", "expires_in", 3600),
                   NULL);
  sodium_memzero(jwt, strlen(jwt));
  th_free(jwt);
}

/* ---- dispatch ------------------------------------------------------------ */

static bool th__path_is(th__ctx *x, const char *lit) {
  size_t n = strlen(lit);
  return x->path_len == n && memcmp(x->path, lit, n) == 0;
}

/* Serves the file the path names: /v/VERSION/NAME under this library's
 * version (the files of web/), or a released one it still serves, byte for
 * byte (web/v/VERSION/); otherwise /NAME. */
static void th__serve_path(th__ctx *x) {
  th__req *req = x->req;
  const char *name = x->path + 1;
  size_t n = x->path_len - 1;
  bool versioned = false;
  if (x->path_len > 3 && memcmp(x->path, "/v/", 3) == 0) {
    const char *ver = th_version_string();
    size_t vl = strlen(ver);
    const char *slash = memchr(x->path + 3, '/', x->path_len - 3);
    if (slash && (size_t)(slash - x->path - 3) == vl &&
        memcmp(x->path + 3, ver, vl) == 0) {
      name = x->path + 4 + vl;
      n = x->path_len - 4 - vl;
      if (n >= 2 && memcmp(name, "v/", 2) == 0)
        n = 0; /* a released file only under its own version */
    } else {
      /* "v/0.1.0/widget.js" in the table, or nothing. */
      name = x->path + 1;
      n = x->path_len - 1;
      if (slash == NULL || th__asset_get(name, n) == NULL) {
        th__respond_error(req, TH_ENOTFOUND,
                          "This server does not carry that version of the "
                          "widgets.");
        return;
      }
    }
    versioned = true;
  }
  /* The table is the whole namespace, so no path can reach outside it
   * ("../" matches no entry). */
  const th__blob *b = th__asset_get(name, n);
  if (b && th__servable(b)) {
    th__serve_blob(x, b, versioned);
    return;
  }
  th__respond_error(req, TH_ENOTFOUND, "No such resource.");
}

void th__handle_asset_get(th__ctx *x) { th__serve_path(x); }

void th__handle_static(th__ctx *x) {
  th__req *req = x->req;
  bool get = req->method == HTTP_GET || req->method == HTTP_HEAD;
  if (!get) {
    th__respond_error(req, TH_ENOTFOUND, "No such resource.");
    return;
  }
  if (req->lp->srv->cfg.demo && th__path_is(x, "/")) {
    th__demo_page(x);
    return;
  }
  if (th__path_is(x, "/dashboard")) {
    th__respond(req, 301, "text/plain; charset=utf-8",
                "Location: /dashboard/\r\n", "Moved\n", 6);
    return;
  }
  if (th__path_is(x, "/dashboard/")) {
    const th__blob *b = th__asset_get("dashboard/index.html", 20);
    if (b) {
      th__serve_blob(x, b, false);
      return;
    }
  }
  th__serve_path(x);
}
