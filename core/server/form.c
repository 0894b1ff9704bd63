/*
 * form.c: percent-decoding of query strings and HTML form bodies
 * (application/x-www-form-urlencoded, as the WHATWG URL standard defines
 * it). Values must decode to valid UTF-8.
 */
#include "http.h"

#include <stdlib.h>
#include <string.h>

bool th__pct_decode(char *s, size_t *len, bool plus) {
  size_t o = 0, n = *len;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= n)
        return false;
      int h = th__hex_digit(s[i + 1]), l = th__hex_digit(s[i + 2]);
      if (h < 0 || l < 0)
        return false;
      c = (char)(h * 16 + l);
      i += 2;
    } else if (c == '+' && plus) {
      c = ' ';
    }
    s[o++] = c;
  }
  s[o] = '\0';
  *len = o;
  if (memchr(s, '\0', o) != NULL)
    return false; /* an encoded NUL would cut the string short */
  return th_utf8_check(s, o) == TH_OK;
}

json_t *th__form_decode(const char *s, size_t len) {
  json_t *obj = json_object();
  if (obj == NULL)
    return NULL;
  size_t i = 0;
  while (i < len) {
    size_t e = i;
    while (e < len && s[e] != '&')
      e++;
    if (e > i) {
      size_t eq = i;
      while (eq < e && s[eq] != '=')
        eq++;
      char key[128];
      size_t kl = eq - i;
      size_t vl = eq < e ? e - eq - 1 : 0;
      char *val = malloc(vl + 1);
      if (kl >= sizeof key || val == NULL) {
        free(val);
        json_decref(obj);
        return NULL;
      }
      memcpy(key, s + i, kl);
      key[kl] = '\0';
      if (vl)
        memcpy(val, s + eq + 1, vl);
      val[vl] = '\0';
      bool ok = th__pct_decode(key, &kl, true) && th__pct_decode(val, &vl, true);
      if (!ok) {
        free(val);
        json_decref(obj);
        return NULL;
      }
      if (json_object_get(obj, key) == NULL)
        json_object_set_new(obj, key, json_stringn(val, vl));
      free(val);
    }
    i = e + 1;
  }
  return obj;
}
