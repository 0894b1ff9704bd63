/*
 * static.c: what the server answers outside the JSON API: the thank-you page
 * that a no-script feedback form returns to, and robots.txt.
 */
#include "router.h"

#include <stdlib.h>
#include <string.h>

static void th__html_escape(th__sbuf *b, const char *s) {
  for (; *s; s++) {
    switch (*s) {
    case '<': th__sbuf_puts(b, "&lt;"); break;
    case '>': th__sbuf_puts(b, "&gt;"); break;
    case '&': th__sbuf_puts(b, "&amp;"); break;
    case '"': th__sbuf_puts(b, "&quot;"); break;
    case '\'': th__sbuf_puts(b, "&#39;"); break;
    default: th__sbuf_put(b, s, 1);
    }
  }
}

static void th__thanks(th__ctx *x) {
  const char *site_slug = json_string_value(json_object_get(x->query, "site"));
  const char *ret = json_string_value(json_object_get(x->query, "return"));
  char *norm = NULL;
  bool back = false;
  th__site_row site;
  if (site_slug && th__site_lookup(x->req->lp->reader, site_slug, &site) == 0 &&
      ret && th_url_normalize(ret, NULL, &norm) == TH_OK)
    /* Only ever link to one of the site's own pages. */
    back = th__origin_listed(site.origins, norm, th__url_origin_len(norm));
  th__sbuf b = {0};
  th__sbuf_puts(&b, "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                    "<title>Thank you for your feedback</title></head><body><main>"
                    "<h1>Thank you for your feedback</h1>"
                    "<p>Your answer has been sent. We read every answer to improve our pages.</p>");
  if (back) {
    th__sbuf_puts(&b, "<p><a href=\"");
    th__html_escape(&b, norm);
    th__sbuf_puts(&b, "\">Go back to the page you were on</a></p>");
  }
  th__sbuf_puts(&b, "</main></body></html>\n");
  free(norm);
  th__respond(x->req, 200, "text/html; charset=utf-8",
              "Content-Security-Policy: default-src 'none'; base-uri 'none'; "
              "form-action 'none'; frame-ancestors 'none'\r\n",
              b.p ? b.p : "", b.len);
  th__sbuf_free(&b);
}

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

/* Serves a file of web/ by exact name: the table is the whole namespace, so
 * no path can reach outside it ("../" matches no entry). */
static bool th__asset(th__ctx *x) {
  const char *name = x->path + 1;
  size_t n = x->path_len - 1;
  for (const th__blob *b = th__assets; b->name; b++) {
    if (strlen(b->name) == n && memcmp(b->name, name, n) == 0) {
      th__respond(x->req, 200, th__content_type(b->name),
                  "Cache-Control: public, max-age=300\r\n",
                  (const char *)b->data, b->len);
      return true;
    }
  }
  return false;
}

void th__static(th__ctx *x) {
  th__req *req = x->req;
  bool get = req->method == HTTP_GET || req->method == HTTP_HEAD;
  size_t n = x->path_len;
  if (n == 7 && memcmp(x->path, "/thanks", 7) == 0 && get) {
    th__thanks(x);
    return;
  }
  if (get && th__asset(x))
    return;
  th__respond_error(req, TH_ENOTFOUND, "No such resource.");
}

void th__open_data(th__ctx *x, const th__site_row *site) {
  (void)site;
  th__respond_error(x->req, TH_ENOTFOUND, "No such open data file.");
}
