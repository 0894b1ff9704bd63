/*
 * jwt.c: the resident tokens a council's own app signs (RFC 7519, JWS
 * compact form, RFC 7515): th_resident_token signs them, for hosts that
 * link townhall and for the demo, and the server verifies them with
 * th__jwt_verify, both with the one HS256 here (th__hs256), parsing with
 * the strict base64url and JSON helpers the provider's ID tokens use too
 * (core/auth/jws.c). Only HS256
 * is accepted: "none", RS256 and everything else are refused before any
 * signature work, which closes the classic algorithm-confusion attacks.
 * The signature is checked (in constant time) before any claim is
 * believed. In the core, not the server, so that signing a token does not
 * need the server.
 */
#include "internal.h"

#include "auth/jose.h"

#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define TH__JWT_MAX 4096
#define TH__LEEWAY_S 60

/* HMAC-SHA-256 of data under secret: the JWS signature of "header.payload". */
static void th__hs256(const unsigned char *secret, size_t secret_len,
                      const void *data, size_t len,
                      unsigned char mac[crypto_auth_hmacsha256_BYTES]) {
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, secret, secret_len);
  crypto_auth_hmacsha256_update(&st, data, len);
  crypto_auth_hmacsha256_final(&st, mac);
  sodium_memzero(&st, sizeof st);
}

int th__jwt_verify(const char *jwt, size_t len, const char *site,
                   const unsigned char *secret, size_t secret_len,
                   int64_t now_s, char *sub_out, size_t sub_cap,
                   const char **why) {
  *why = "malformed token";
  if (jwt == NULL || len == 0 || len > TH__JWT_MAX)
    return TH_EAUTH;
  size_t dot1, dot2;
  if (!th__jws_split(jwt, len, &dot1, &dot2))
    return TH_EAUTH;
  const char *d1 = jwt + dot1, *d2 = jwt + dot2;

  json_t *header = th__b64url_json(jwt, (size_t)(d1 - jwt));
  if (header == NULL)
    return TH_EAUTH;
  json_t *alg = json_object_get(header, "alg");
  json_t *typ = json_object_get(header, "typ");
  bool alg_ok = json_is_string(alg) && strcmp(json_string_value(alg), "HS256") == 0;
  bool typ_ok = typ == NULL || (json_is_string(typ) &&
                                strcmp(json_string_value(typ), "JWT") == 0);
  bool crit = json_object_get(header, "crit") != NULL;
  json_decref(header);
  if (!alg_ok) {
    *why = "only HS256 tokens are accepted";
    return TH_EAUTH;
  }
  if (!typ_ok || crit)
    return TH_EAUTH;

  size_t sig_len = 0;
  unsigned char *sig =
      th__b64url_decode(d2 + 1, len - (size_t)(d2 + 1 - jwt), &sig_len);
  if (sig == NULL)
    return TH_EAUTH;
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  th__hs256(secret, secret_len, jwt, (size_t)(d2 - jwt), mac);
  bool sig_ok = sig_len == sizeof mac && crypto_verify_32(sig, mac) == 0;
  free(sig);
  if (!sig_ok) {
    *why = "bad signature";
    return TH_EAUTH;
  }

  json_t *payload = th__b64url_json(d1 + 1, (size_t)(d2 - d1 - 1));
  if (payload == NULL)
    return TH_EAUTH;
  int rc = TH_EAUTH;
  int64_t exp = 0, nbf = 0, iat = 0;
  json_t *sub = json_object_get(payload, "sub");
  if (!th__jwt_aud_contains(json_object_get(payload, "aud"), site)) {
    *why = "token is for another audience";
  } else if (!th__jwt_time_claim(payload, "exp", true, &exp)) {
    *why = "token has no expiry";
  } else if (exp + TH__LEEWAY_S <= now_s) {
    *why = "token has expired";
  } else if (exp > now_s + 3600 + TH__LEEWAY_S) {
    *why = "token lives longer than an hour";
  } else if (!th__jwt_time_claim(payload, "nbf", false, &nbf) ||
             nbf > now_s + TH__LEEWAY_S) {
    *why = "token is not valid yet";
  } else if (!th__jwt_time_claim(payload, "iat", false, &iat) ||
             iat > now_s + TH__LEEWAY_S) {
    *why = "token was issued in the future";
  } else if (!json_is_string(sub) || json_string_length(sub) == 0 ||
             json_string_length(sub) >= sub_cap ||
             memchr(json_string_value(sub), '\0', json_string_length(sub))) {
    *why = "token has no usable subject";
  } else if (th__resident_id_problem(json_string_value(sub),
                                     json_string_length(sub)) != NULL) {
    /* Taken exactly as given, never trimmed (th__resident_id_problem): " alice"
     * must not become "alice". */
    *why = "token's subject (sub) has white space around it or a control "
           "character in it";
  } else {
    memcpy(sub_out, json_string_value(sub), json_string_length(sub) + 1);
    *why = NULL;
    rc = TH_OK;
  }
  json_decref(payload);
  return rc;
}

int th_resident_token(th_db *db, const char *slug, const char *resident,
                      int ttl_seconds, char **out) {
  if (db == NULL)
    return TH_EINVAL;
  th__clear_err(db);
  if (out == NULL || slug == NULL || resident == NULL || resident[0] == '\0')
    return th__err(db, TH_EINVAL, "site, resident and out are required");
  *out = NULL;
  if (ttl_seconds < 1 || ttl_seconds > 3600)
    return th__err(db, TH_EINVAL, "a resident token lives 1 to 3600 seconds");
  if (th__resident_id_check(db, resident) < 0)
    return db->errcode;
  unsigned char secret[256];
  size_t slen = 0;
  int rc = th_site_get_secret(db, slug, secret, sizeof secret, &slen);
  if (rc < 0) {
    sodium_memzero(secret, sizeof secret);
    return rc;
  }
  json_int_t now = (json_int_t)(th_now(db) / 1000);
  /* jansson escapes whatever the resident id holds. */
  json_t *claims = json_pack("{s:s,s:s,s:I,s:I}", "sub", resident, "aud", slug,
                             "iat", now, "exp", now + ttl_seconds);
  char *payload = claims ? json_dumps(claims, JSON_COMPACT) : NULL;
  json_decref(claims);
  static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
  char *h = th__b64url_encode(header, sizeof header - 1);
  char *p = payload ? th__b64url_encode(payload, strlen(payload)) : NULL;
  th__sbuf jwt = {0};
  char *sig = NULL;
  if (h && p) {
    th__sbuf_printf(&jwt, "%s.%s", h, p);
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    th__hs256(secret, slen, jwt.p ? jwt.p : "", jwt.len, mac);
    sig = th__b64url_encode(mac, sizeof mac);
    if (sig)
      th__sbuf_printf(&jwt, ".%s", sig);
  }
  sodium_memzero(secret, sizeof secret);
  free(payload);
  free(h);
  free(p);
  if (sig == NULL || jwt.oom || jwt.p == NULL) {
    free(sig);
    th__sbuf_free(&jwt);
    return th__err(db, TH_ENOMEM, "out of memory");
  }
  free(sig);
  *out = jwt.p; /* th_free is free */
  return TH_OK;
}
