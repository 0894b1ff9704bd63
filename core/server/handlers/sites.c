/*
 * handlers/sites.c: what a site tells its widgets.
 *
 *   GET /v1/sites/{site}              its name, settings and vocabularies
 *   GET /v1/sites/{site}/form-token   a signed form timestamp (antispam.c)
 *
 * Loop thread.
 */
#include "router.h"

#include <string.h>

/* A list stored one item per line (th_site's wards, categories) as a JSON
 * array; [] for none. */
static json_t *th__lines_json(const char *lines) {
  json_t *a = json_array();
  for (const char *p = lines; a && p && *p;) {
    const char *e = strchr(p, '\n');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    json_array_append_new(a, json_stringn(p, n));
    p += n + (e != NULL);
  }
  return a;
}

void th__handle_site_get(th__ctx *x) {
  th_site *s = NULL;
  int rc = th_site_get(th__reader(x), x->site, &s);
  if (rc < 0) {
    th__respond_error(x->req, rc, th_errmsg(th__reader(x)));
    return;
  }
  json_t *doc = json_pack("{s:s,s:s,s:b,s:b,s:o,s:o}", "slug", s->slug,
                          "name", s->name, "moderate_ideas", s->moderate_ideas,
                          "allow_anonymous", s->allow_anonymous, "wards",
                          th__lines_json(s->wards), "categories",
                          th__lines_json(s->categories));
  th_site_free(s);
  th__respond_json(x->req, 200, doc, "Cache-Control: public, max-age=60\r\n");
}

void th__handle_form_token_get(th__ctx *x) {
  char ts[96];
  th__form_ts_make(th__srv(x), x->site, th_now(th__reader(x)), ts, sizeof ts);
  th__respond_json(x->req, 200, json_pack("{s:s}", "ts", ts), NULL);
}
