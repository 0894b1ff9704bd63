/*
 * handlers/form.c: the feedback form for pages without JavaScript, and the
 * pages a form post leads to.
 *
 *   GET /form     the form rendered here: a whole page, or (fragment=1)
 *                 the form alone for a council's server-side include
 *   GET /thanks   the localised thank-you page a no-script form returns
 *                 to, linking back only to one of the site's origins
 *
 * and the answers to a form post (handlers/feedback.c): the thank-you page
 * with its follow-up form, or a failure's page. Loop thread.
 */
#include "router.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
void th__form_html(th__sbuf *b, th__ctx *x, json_t *s, const char *lang,
                   const char *base, const char *site, const char *page) {
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
  const char *slug = th__qs(x, "site");
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
void th__handle_form_get(th__ctx *x) {
  th__site_row site;
  char *norm = NULL;
  const char *frag = th__qs(x, "fragment");
  if (frag && strcmp(frag, "1") != 0) {
    th__respond_problem(x->req, 422, "inval", "Invalid query",
                        "fragment, if given, is 1 (the form alone, to include "
                        "in a page).",
                        NULL);
    return;
  }
  const char *page = th__qs(x, "page");
  if (page == NULL || !th__site_page(x, &site, page, &norm)) {
    free(norm);
    th__respond_problem(x->req, 404, "notfound", "No such form",
                        "Give ?site= a site and ?page= the absolute URL of a "
                        "page on one of its origins.",
                        NULL);
    return;
  }
  char lang[8];
  json_t *s = th__strings(th__qs(x, "lang"), lang);
  const char *slug = th__qs(x, "site");
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
void th__handle_thanks_get(th__ctx *x) {
  th__site_row site;
  char *norm = NULL;
  const char *ret = th__qs(x, "return");
  /* Only ever link to one of the site's own pages. */
  bool back = ret && th__site_page(x, &site, ret, &norm);
  const char *slug = th__qs(x, "site");
  bool known = back || (slug && strlen(slug) < 64 &&
                        th__site_cached(x, slug, &site) == 0);
  th__message_page(x->req, 200, NULL, known ? &site : NULL,
                   th__qs(x, "lang"), "thanks", "thanks_text",
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
