/*
 * static.c: what the server answers outside the JSON API.
 *
 *   /v/VERSION/NAME   a file of web/ under a versioned URL: cached for a
 *                     year (immutable) with an ETag, readable cross-origin
 *                     (the widgets are embedded in councils' pages, with
 *                     Subresource Integrity, which needs CORS)
 *   /NAME             the same file, cached for five minutes
 *   /dashboard/       the councillors' dashboard (web/dashboard/index.html)
 *   /form             the feedback form rendered here, for pages without
 *                     JavaScript: a whole page, or (fragment=1) the form
 *                     alone for a council's server-side include
 *   /thanks           the localised thank-you page a no-script form returns
 *                     to, linking back only to one of the site's origins
 *   /                 the demo council page (townhall serve --demo only)
 *   /demo/sign-in     a demo resident's JWT (townhall serve --demo only)
 *
 * The strings of the form and the thank-you page come from the same
 * web/i18n/LANG.json files the widget reads, so both speak alike.
 */
#include "router.h"

#include <inttypes.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Every HTML page of townhall's own: nothing inline, nothing from
 * elsewhere (the dashboard, the demo page, any page of web/). */
#define TH__PAGE_CSP                                                         \
  "default-src 'none'; script-src 'self'; style-src 'self'; "                \
  "connect-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'"
/* The no-script form, whole or as a fragment, and the pages it leads to:
 * no script at all. */
#define TH__FORM_CSP                                                         \
  "default-src 'none'; style-src 'self'; form-action 'self'; base-uri 'none'"
/* A page that only says something. */
#define TH__MESSAGE_CSP                                                      \
  "default-src 'none'; style-src 'self'; base-uri 'none'; form-action 'none'"

/* Every HTML answer goes out through here (docs/SECURITY.md, "HTML
 * answers"), with a Content-Security-Policy that ends in frame-ancestors:
 * the origins of the site the page belongs to (`site`, whose pages may
 * frame it, as a council embeds its form), or 'none' for a page of no
 * site's or a site without origins. Origins are validated when a site is
 * saved; anything here that could end the directive or the header makes
 * it 'none' all the same. X-Content-Type-Options: nosniff comes with every
 * answer (th__respond). */
static void th__respond_html(th__req *req, int status, const char *csp,
                             const th__site_row *site, const char *extra,
                             const char *body, size_t len) {
  const char *ancestors = "'none'";
  if (site && site->origins[0] &&
      strspn(site->origins, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV"
                            "WXYZ0123456789.-:/[] ") == strlen(site->origins))
    ancestors = site->origins;
  th__sbuf h = {0};
  th__sbuf_printf(&h, "Content-Security-Policy: %s; frame-ancestors %s\r\n",
                  csp, ancestors);
  if (extra)
    th__sbuf_puts(&h, extra);
  if (h.oom)
    th__respond_error(req, TH_ENOMEM, NULL);
  else
    th__respond(req, status, "text/html; charset=utf-8", h.p, body, len);
  th__sbuf_free(&h);
}

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

static const char *th__qstr(th__ctx *x, const char *name) {
  return json_string_value(json_object_get(x->query, name));
}

/* ---- the files of web/ --------------------------------------------------- */

static const th__blob *th__asset_get(const char *name, size_t n) {
  for (const th__blob *b = th__assets; b->name; b++)
    if (strlen(b->name) == n && memcmp(b->name, name, n) == 0)
      return b;
  return NULL;
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

/* ---- strings (web/i18n/LANG.json) ---------------------------------------- */

/* The strings for a language tag ("cy", "ar-EG", "EN_gb"): English, with
 * the language's own strings over it where townhall has the language.
 * lang_out gets the language used. A new reference, or NULL without
 * memory. */
static json_t *th__strings(const char *tag, char lang_out[8]) {
  char l[8] = "";
  size_t n = 0;
  if (tag)
    while (n < 3 && ((tag[n] >= 'a' && tag[n] <= 'z') ||
                     (tag[n] >= 'A' && tag[n] <= 'Z'))) {
      l[n] = (char)(tag[n] | 0x20);
      n++;
    }
  l[n] = '\0';
  if (tag && tag[n] != '\0' && tag[n] != '-' && tag[n] != '_')
    n = 0; /* not a language tag */
  json_t *strings = NULL;
  const th__blob *en = th__asset_get("i18n/en.json", 12);
  if (en)
    strings = json_loadb((const char *)en->data, en->len, 0, NULL);
  if (strings == NULL)
    strings = json_object();
  snprintf(lang_out, 8, "en");
  if (n >= 2 && strcmp(l, "en") != 0) {
    char name[24];
    int nl = snprintf(name, sizeof name, "i18n/%s.json", l);
    const th__blob *b = th__asset_get(name, (size_t)nl);
    json_t *own = b ? json_loadb((const char *)b->data, b->len, 0, NULL) : NULL;
    if (json_is_object(own) && strings) {
      json_object_update(strings, own);
      snprintf(lang_out, 8, "%s", l);
    }
    json_decref(own);
  }
  return strings;
}

/* One string, HTML-escaped into b. */
static void th__t(th__sbuf *b, json_t *strings, const char *key) {
  const char *s = json_string_value(json_object_get(strings, key));
  th__html_escape(b, s ? s : key);
}

static const char *th__dir(json_t *strings) {
  const char *d = json_string_value(json_object_get(strings, "dir"));
  return d && strcmp(d, "rtl") == 0 ? "rtl" : "ltr";
}

/* ---- the no-script feedback form ----------------------------------------- */

/* The request's Host if it looks like one (it is written into pages). */
static bool th__host(const th__req *req, char *out, size_t cap) {
  size_t n = 0;
  const char *h = th__req_header(req, "host", &n);
  if (h == NULL || n == 0 || n >= cap)
    return false;
  for (size_t i = 0; i < n; i++) {
    char c = h[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '.' || c == '-' || c == ':' ||
          c == '[' || c == ']'))
      return false;
  }
  memcpy(out, h, n);
  out[n] = '\0';
  return true;
}

/* The optional part of the form: the rating, the comment, the honeypot and
 * the button, then the end of the form and of its box. Shared by the whole
 * form and by the thank-you page's follow-up. */
static void th__form_more(th__sbuf *b, json_t *s) {
  th__sbuf_puts(b, "<fieldset class=\"th-r\"><legend>");
  th__t(b, s, "rating");
  th__sbuf_puts(b, "</legend>\n");
  for (int i = 1; i <= 5; i++) {
    char key[24];
    snprintf(key, sizeof key, "rating_%d", i);
    th__sbuf_printf(b, "<label class=\"th-opt\"><input type=\"radio\" "
                       "name=\"rating\" value=\"%d\"> <span>", i);
    th__t(b, s, key);
    th__sbuf_puts(b, "</span></label>\n");
  }
  th__sbuf_puts(b, "</fieldset>\n<div class=\"th-c\"><label "
                   "for=\"townhall-comment\">");
  th__t(b, s, "comment");
  th__sbuf_puts(b, "</label>\n<p class=\"th-hint\" id=\"townhall-privacy\">");
  th__t(b, s, "privacy");
  th__sbuf_puts(b, "</p>\n<textarea id=\"townhall-comment\" name=\"comment\" "
                   "rows=\"3\" maxlength=\"2000\" "
                   "aria-describedby=\"townhall-privacy\"></textarea></div>\n"
                   "<div hidden><label>");
  th__t(b, s, "honeypot");
  th__sbuf_puts(b, " <input name=\"website\" tabindex=\"-1\" "
                   "autocomplete=\"off\"></label></div>\n<button "
                   "type=\"submit\" class=\"th-btn\">");
  th__t(b, s, "send");
  th__sbuf_puts(b, "</button>\n</form>\n</div>\n");
}

/* The form, as the feedback widget's placeholder holds it before (or
 * without) JavaScript: a real form that posts application/x-www-form-
 * urlencoded to the feedback route, which answers 303 to /thanks. The
 * widget script, where it runs, replaces it with the same questions asked
 * one at a time. `base` prefixes the action ("" on townhall's own pages,
 * "//host" in a fragment for a council's page). */
static void th__form_html(th__sbuf *b, th__ctx *x, json_t *s, const char *lang,
                          const char *base, const char *site,
                          const char *page) {
  char ts[96];
  th__form_ts_make(x->req->lp->srv, site, th_now(x->req->lp->reader), ts, sizeof ts);
  th__sbuf_puts(b, "<div class=\"townhall-feedback\" data-townhall-feedback "
                   "data-site=\"");
  th__html_escape(b, site);
  th__sbuf_puts(b, "\" lang=\"");
  th__html_escape(b, lang);
  th__sbuf_printf(b, "\" dir=\"%s\">\n<form class=\"th-fb\" method=\"post\" "
                     "action=\"", th__dir(s));
  th__html_escape(b, base);
  th__sbuf_puts(b, "/v1/sites/");
  th__html_escape(b, site);
  th__sbuf_puts(b, "/feedback\">\n"
                   "<input type=\"hidden\" name=\"page\" value=\"");
  th__html_escape(b, page);
  th__sbuf_puts(b, "\">\n"
                   "<input type=\"hidden\" name=\"next\" value=\"thanks\">\n"
                   "<input type=\"hidden\" name=\"lang\" value=\"");
  th__html_escape(b, lang);
  th__sbuf_puts(b, "\">\n<input type=\"hidden\" name=\"ts\" value=\"");
  th__html_escape(b, ts);
  th__sbuf_puts(b, "\">\n<fieldset class=\"th-q\"><legend class=\"th-h\">");
  th__t(b, s, "question");
  th__sbuf_puts(b, "</legend>\n<label class=\"th-opt\"><input type=\"radio\" "
                   "name=\"useful\" value=\"yes\" required> <span>");
  th__t(b, s, "yes");
  th__sbuf_puts(b, "</span></label>\n<label class=\"th-opt\"><input "
                   "type=\"radio\" name=\"useful\" value=\"no\"> <span>");
  th__t(b, s, "no");
  th__sbuf_puts(b, "</span></label>\n</fieldset>\n");
  th__form_more(b, s);
}

static void th__page_head(th__sbuf *b, json_t *s, const char *lang,
                          const char *title_key) {
  th__sbuf_puts(b, "<!doctype html>\n<html lang=\"");
  th__html_escape(b, lang);
  th__sbuf_printf(b, "\" dir=\"%s\"><head><meta charset=\"utf-8\">\n"
                     "<meta name=\"viewport\" content=\"width=device-width, "
                     "initial-scale=1\">\n<title>", th__dir(s));
  th__t(b, s, title_key);
  th__sbuf_printf(b, "</title>\n<link rel=\"stylesheet\" href=\"/v/%s/"
                     "widget.css\">\n</head>\n<body class=\"th-page\">\n"
                     "<main class=\"th-main\">\n<h1>",
                  th_version_string());
  th__t(b, s, title_key);
  th__sbuf_puts(b, "</h1>\n");
}

/* The end of a page: the link back to `back` (a page already checked to
 * be on one of the site's origins) when there is one. */
static void th__page_end(th__sbuf *b, json_t *s, const char *back) {
  if (back) {
    th__sbuf_puts(b, "<p><a href=\"");
    th__html_escape(b, back);
    th__sbuf_puts(b, "\">");
    th__t(b, s, "back");
    th__sbuf_puts(b, "</a></p>\n");
  }
  th__sbuf_puts(b, "</main>\n</body>\n</html>\n");
}

/* The site named by ?site= and, when `page` is given, the page if it is on
 * one of the site's origins (normalised; freed by the caller). */
static bool th__site_page(th__ctx *x, th__site_row *site, const char *page,
                          char **norm) {
  const char *slug = th__qstr(x, "site");
  *norm = NULL;
  if (slug == NULL || strlen(slug) >= 64 ||
      th__site_cached(x, slug, site) != 0)
    return false;
  if (page == NULL)
    return true;
  if (th_url_normalize(page, NULL, norm) != TH_OK)
    return false;
  return th__origin_listed(site->origins, *norm, th__url_origin_len(*norm));
}

/* GET /form?site=&page=&lang=[&fragment=1] */
static void th__form_page(th__ctx *x) {
  th__site_row site;
  char *norm = NULL;
  const char *frag = th__qstr(x, "fragment");
  if (frag && strcmp(frag, "1") != 0) {
    th__respond_problem(x->req, 422, "inval", "Invalid query",
                        "fragment, if given, is 1 (the form alone, to include "
                        "in a page).",
                        NULL);
    return;
  }
  const char *page = th__qstr(x, "page");
  if (page == NULL || !th__site_page(x, &site, page, &norm)) {
    free(norm);
    th__respond_problem(x->req, 404, "notfound", "No such form",
                        "Give ?site= a site and ?page= the absolute URL of a "
                        "page on one of its origins.",
                        NULL);
    return;
  }
  char lang[8];
  json_t *s = th__strings(th__qstr(x, "lang"), lang);
  const char *slug = th__qstr(x, "site");
  th__sbuf b = {0};
  if (frag && strcmp(frag, "1") == 0) {
    char host[256], base[260];
    if (!th__host(x->req, host, sizeof host))
      snprintf(host, sizeof host, "127.0.0.1");
    snprintf(base, sizeof base, "//%s", host);
    th__form_html(&b, x, s, lang, base, slug, norm);
    /* A form carries a fresh timestamp: never cache it for long (the
     * default no-store). Included by a council's server, it takes that
     * page's headers; fetched or framed on its own, these. */
    th__respond_html(x->req, 200, TH__FORM_CSP, &site, NULL, b.p ? b.p : "",
                     b.len);
  } else {
    th__page_head(&b, s, lang, "form_title");
    th__form_html(&b, x, s, lang, "", slug, norm);
    th__sbuf_puts(&b, "</main>\n</body>\n</html>\n");
    th__respond_html(x->req, 200, TH__FORM_CSP, &site, NULL, b.p ? b.p : "",
                     b.len);
  }
  th__sbuf_free(&b);
  json_decref(s);
  free(norm);
}

/* A page of one message in the reader's language: the title, the text (an
 * alert when it reports a failure), and a link back to `back` (a page
 * already checked to be on one of the site's origins, or NULL). */
static void th__message_page(th__req *req, int status, const char *extra,
                             const th__site_row *site, const char *lang_tag,
                             const char *title_key, const char *text_key,
                             const char *back) {
  char lang[8];
  json_t *s = th__strings(lang_tag, lang);
  th__sbuf b = {0};
  th__page_head(&b, s, lang, title_key);
  th__sbuf_puts(&b, status >= 400 ? "<p role=\"alert\">" : "<p>");
  th__t(&b, s, text_key);
  th__sbuf_puts(&b, "</p>\n");
  th__page_end(&b, s, back);
  json_decref(s);
  th__respond_html(req, status, TH__MESSAGE_CSP, site, extra, b.p ? b.p : "",
                   b.len);
  th__sbuf_free(&b);
}

/* GET /thanks?site=&lang=&return= */
static void th__thanks(th__ctx *x) {
  th__site_row site;
  char *norm = NULL;
  const char *ret = th__qstr(x, "return");
  /* Only ever link to one of the site's own pages. */
  bool back = ret && th__site_page(x, &site, ret, &norm);
  const char *slug = th__qstr(x, "site");
  bool known = back || (slug && strlen(slug) < 64 &&
                        th__site_cached(x, slug, &site) == 0);
  th__message_page(x->req, 200, NULL, known ? &site : NULL,
                   th__qstr(x, "lang"), "thanks", "thanks_text",
                   back ? norm : NULL);
  free(norm);
}

/* The answer to a no-script form post that was recorded: the thank-you
 * page, and, for a new answer still without a rating or a comment, a
 * follow-up form that amends that answer through its handle (a hidden
 * field: a handle is never put in a URL). Served "no-store", so the page
 * and its handle stay out of every cache. `back`: the page, when it is on
 * one of the site's origins, or NULL. */
void th__thanks_answer(th__req *req, const char *site, const char *lang_tag,
                       const char *back, const char *page,
                       const char *handle) {
  char lang[8];
  json_t *s = th__strings(lang_tag, lang);
  th__sbuf b = {0};
  th__page_head(&b, s, lang, "thanks");
  th__sbuf_puts(&b, "<p>");
  th__t(&b, s, "thanks_text");
  th__sbuf_puts(&b, "</p>\n");
  if (handle && page) {
    char ts[96];
    th__form_ts_make(req->lp->srv, site, th_now(req->lp->reader), ts,
                     sizeof ts);
    th__sbuf_printf(&b, "<div class=\"townhall-feedback\" lang=\"%s\" "
                        "dir=\"%s\">\n<form class=\"th-fb\" method=\"post\" "
                        "action=\"/v1/sites/",
                    lang, th__dir(s));
    th__html_escape(&b, site);
    th__sbuf_puts(&b, "/feedback\">\n<h2 class=\"th-h\">");
    th__t(&b, s, "more");
    th__sbuf_puts(&b, "</h2>\n<input type=\"hidden\" name=\"answer\" "
                      "value=\"");
    th__html_escape(&b, handle);
    th__sbuf_puts(&b, "\">\n<input type=\"hidden\" name=\"page\" value=\"");
    th__html_escape(&b, page);
    th__sbuf_puts(&b, "\">\n<input type=\"hidden\" name=\"next\" "
                      "value=\"thanks\">\n<input type=\"hidden\" "
                      "name=\"lang\" value=\"");
    th__html_escape(&b, lang);
    th__sbuf_puts(&b, "\">\n<input type=\"hidden\" name=\"ts\" value=\"");
    th__html_escape(&b, ts);
    th__sbuf_puts(&b, "\">\n");
    th__form_more(&b, s);
  }
  th__page_end(&b, s, back);
  json_decref(s);
  /* It may hold an answer's handle: framed by no page, not even the
   * site's own. */
  th__respond_html(req, 200, TH__FORM_CSP, NULL, NULL, b.p ? b.p : "",
                   b.len);
  th__sbuf_free(&b);
}

/* A no-script form post that failed: instead of problem+json, which a
 * browser shows as raw text, a page in the resident's language with the
 * error's own status, what to do, and the way back to the page. */
void th__form_failed(th__req *req, int status, const char *extra,
                     const char *lang_tag, const char *back) {
  th__message_page(req, status, extra, NULL, lang_tag, "error_title",
                   status == 400 || status == 422 ? "error_invalid"
                   : status == 429                ? "error_limited"
                                                  : "error",
                   back);
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
static void th__demo_sign_in(th__ctx *x) {
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

void th__static(th__ctx *x) {
  th__req *req = x->req;
  bool get = req->method == HTTP_GET || req->method == HTTP_HEAD;
  bool demo = req->lp->srv->cfg.demo != 0;
  if (demo && th__path_is(x, "/demo/sign-in")) {
    if (req->method == HTTP_POST)
      th__demo_sign_in(x);
    else
      th__respond_problem(req, 405, "method-not-allowed", "Method not allowed",
                          NULL, "Allow: POST\r\n");
    return;
  }
  if (!get) {
    th__respond_error(req, TH_ENOTFOUND, "No such resource.");
    return;
  }
  if (th__path_is(x, "/thanks")) {
    th__thanks(x);
    return;
  }
  if (th__path_is(x, "/form")) {
    th__form_page(x);
    return;
  }
  if (demo && th__path_is(x, "/")) {
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
  /* /v/VERSION/NAME: this library's version (the files of web/), or a
   * released one it still serves, byte for byte (web/v/VERSION/). */
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
