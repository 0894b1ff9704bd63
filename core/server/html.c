/*
 * html.c: what HTML pages need: the files of web/ compiled into the
 * library (th__assets), escaping, and the strings of web/i18n/LANG.json,
 * which the widget reads too, so that the no-script pages and the widget
 * speak alike. Any thread.
 */
#include "router.h"

#include <stdio.h>
#include <string.h>

const th__blob *th__asset_get(const char *name, size_t n) {
  for (const th__blob *b = th__assets; b->name; b++)
    if (strlen(b->name) == n && memcmp(b->name, name, n) == 0)
      return b;
  return NULL;
}

void th__html_escape(th__sbuf *b, const char *s) {
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

/* The strings for a language tag ("cy", "ar-EG", "EN_gb"): English, with
 * the language's own strings over it where townhall has the language.
 * lang_out gets the language used. A new reference, or NULL without
 * memory. */
json_t *th__strings(const char *tag, char lang_out[8]) {
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
void th__t(th__sbuf *b, json_t *strings, const char *key) {
  const char *s = json_string_value(json_object_get(strings, key));
  th__html_escape(b, s ? s : key);
}

const char *th__dir(json_t *strings) {
  const char *d = json_string_value(json_object_get(strings, "dir"));
  return d && strcmp(d, "rtl") == 0 ? "rtl" : "ltr";
}

/* The request's Host if it looks like one (it is written into pages). */
bool th__host(const th__req *req, char *out, size_t cap) {
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
