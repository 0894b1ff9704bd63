/*
 * jws.c: the parts of a compact JWS and of a JWT that need no signature
 * code (jose.h, "shared with the resident tokens"): strict base64url, the
 * JSON of a header or payload, the split at the dots, time claims and
 * audiences. The HS256 resident tokens (core/jwt.c) and the provider's
 * RS256/PS256/ES256 ID tokens (jose.c) parse with this one code; it needs
 * libsodium and jansson only, so linking the resident tokens does not pull
 * libcrypto in.
 */
#include "internal.h"

#include "auth/jose.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

unsigned char *th__b64url_decode(const char *s, size_t n, size_t *out_len) {
  /* libsodium's decoder, without an ignore set, refuses '=', white space,
   * characters of the other alphabet, a length of 1 mod 4 and non-zero
   * leftover bits: each byte string has exactly one spelling. */
  unsigned char *out = malloc(n + 1);
  if (out == NULL)
    return NULL;
  const char *end = NULL;
  if (sodium_base642bin(out, n + 1, s, n, NULL, out_len, &end,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
      end != s + n) {
    free(out);
    return NULL;
  }
  out[*out_len] = '\0';
  return out;
}

char *th__b64url_encode(const void *data, size_t len) {
  size_t cap = sodium_base64_ENCODED_LEN(len,
                                         sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  char *out = malloc(cap);
  if (out)
    sodium_bin2base64(out, cap, data, len,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  return out;
}

json_t *th__b64url_json(const char *s, size_t n) {
  size_t len = 0;
  unsigned char *raw = th__b64url_decode(s, n, &len);
  if (raw == NULL)
    return NULL;
  json_error_t err;
  json_t *j = json_loadb((const char *)raw, len, JSON_REJECT_DUPLICATES, &err);
  free(raw);
  if (j && !json_is_object(j)) {
    json_decref(j);
    return NULL;
  }
  return j;
}

bool th__jws_split(const char *tok, size_t len, size_t *dot1, size_t *dot2) {
  const char *d1 = memchr(tok, '.', len);
  const char *d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - tok)) : NULL;
  if (d1 == NULL || d2 == NULL ||
      memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - tok)) != NULL)
    return false;
  *dot1 = (size_t)(d1 - tok);
  *dot2 = (size_t)(d2 - tok);
  return true;
}

bool th__jwt_time_claim(json_t *payload, const char *name, bool required,
                        int64_t *out) {
  json_t *v = json_object_get(payload, name);
  if (v == NULL)
    return !required;
  /* Times outside 0 .. 1e12 s (year 33658) are refused, integers as well
   * as reals: exp + leeway on a huge exp would overflow (found by
   * tests/fuzz/fuzz_jwt, regressions/jwt-exp-int64-max). */
  if (json_is_integer(v)) {
    json_int_t i = json_integer_value(v);
    if (i < 0 || i > (json_int_t)1000000000000)
      return false;
    *out = (int64_t)i;
    return true;
  }
  if (json_is_real(v)) {
    double d = json_real_value(v);
    if (!(d >= 0 && d <= 1e12))
      return false;
    *out = (int64_t)d;
    return true;
  }
  return false;
}

bool th__jwt_aud_contains(json_t *aud, const char *who) {
  if (json_is_string(aud))
    return strcmp(json_string_value(aud), who) == 0;
  if (json_is_array(aud)) {
    size_t i;
    json_t *v;
    json_array_foreach(aud, i, v) {
      if (json_is_string(v) && strcmp(json_string_value(v), who) == 0)
        return true;
    }
  }
  return false;
}

