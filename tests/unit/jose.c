/*
 * jose.c: ID tokens as a provider signs them (core/auth/jose.c). The
 * tokens are made here, at test time, with libcrypto directly (this
 * file's own signing code, not the library's), for RSA, RSA-PSS and P-256
 * keys generated per run: the good ones pass, and each refusal of issue
 * 17 that lives at this layer fails with its own message. Then the key
 * set's parsing, the re-fetch rate limit, PKCE, and client assertions for
 * private_key_jwt from a 0600 PEM file.
 */
#include "helpers.h"
#include "internal.h"

#include "auth/jose.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define NOW 1772445600 /* 2026-03-02T10:00:00Z, the helpers' clock */
#define ISS "https://id.camden.example"
#define CLIENT "townhall-camden"
#define NONCE "n-0S6_WzA2Mj"

static EVP_PKEY *rsa_key, *rsa_small, *ec_key, *ec384_key;

/* ---- test-side JOSE: encode, sign, make key sets ---------------------------- */

static char *b64(const void *p, size_t n) {
  size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  char *s = malloc(cap);
  sodium_bin2base64(s, cap, p, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  return s;
}

static char *bn_b64(EVP_PKEY *k, const char *name, int pad) {
  BIGNUM *bn = NULL;
  if (!EVP_PKEY_get_bn_param(k, name, &bn))
    return NULL;
  int n = pad ? pad : BN_num_bytes(bn);
  unsigned char buf[1024];
  BN_bn2binpad(bn, buf, n);
  BN_free(bn);
  return b64(buf, (size_t)n);
}

/* A public JWK of k; `extra` is more members ("" for none). */
static char *jwk(EVP_PKEY *k, const char *kid, const char *extra) {
  char *out = malloc(4096);
  if (EVP_PKEY_is_a(k, "RSA")) {
    char *n = bn_b64(k, OSSL_PKEY_PARAM_RSA_N, 0);
    char *e = bn_b64(k, OSSL_PKEY_PARAM_RSA_E, 0);
    snprintf(out, 4096, "{\"kty\":\"RSA\",\"kid\":\"%s\",\"n\":\"%s\",\"e\":\"%s\"%s}",
             kid, n, e, extra);
    free(n);
    free(e);
  } else {
    char group[32] = "";
    size_t gl = 0;
    EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                   sizeof group, &gl);
    int w = strcmp(group, "secp384r1") == 0 ? 48 : 32;
    char *x = bn_b64(k, OSSL_PKEY_PARAM_EC_PUB_X, w);
    char *y = bn_b64(k, OSSL_PKEY_PARAM_EC_PUB_Y, w);
    snprintf(out, 4096, "{\"kty\":\"EC\",\"kid\":\"%s\",\"crv\":\"%s\",\"x\":\"%s\",\"y\":\"%s\"%s}",
             kid, w == 48 ? "P-384" : "P-256", x, y, extra);
    free(x);
    free(y);
  }
  return out;
}

/* Signs "h64.p64" as alg says (RS256, PS256, ES256, HS256 with `hmac`
 * as the key, or none) with key k. */
static char *sign(const char *alg, EVP_PKEY *k, const char *header,
                  const char *payload, const void *hmac, size_t hmac_len) {
  char *h = b64(header, strlen(header));
  char *p = b64(payload, strlen(payload));
  size_t cap = strlen(h) + strlen(p) + 2048;
  char *tok = malloc(cap);
  snprintf(tok, cap, "%s.%s", h, p);
  free(h);
  free(p);
  size_t n = strlen(tok);
  unsigned char sig[1024];
  size_t sl = 0;
  if (strcmp(alg, "none") == 0) {
    sl = 0;
  } else if (strcmp(alg, "HS256") == 0) {
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, hmac, hmac_len);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)tok, n);
    crypto_auth_hmacsha256_final(&st, sig);
    sl = 32;
  } else {
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pc = NULL;
    EVP_DigestSignInit_ex(md, &pc, "SHA256", NULL, NULL, k, NULL);
    if (strcmp(alg, "PS256") == 0) {
      EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING);
      EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, 32);
    }
    unsigned char der[1024];
    size_t dl = sizeof der;
    if (EVP_DigestSign(md, der, &dl, (const unsigned char *)tok, n) != 1)
      printf("# test-side signing failed\n");
    EVP_MD_CTX_free(md);
    if (EVP_PKEY_is_a(k, "EC")) {
      const unsigned char *q = der;
      ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &q, (long)dl);
      int w = EVP_PKEY_get_bits(k) > 256 ? 48 : 32;
      BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, w);
      BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + w, w);
      ECDSA_SIG_free(es);
      sl = (size_t)(2 * w);
    } else {
      memcpy(sig, der, dl);
      sl = dl;
    }
  }
  char *s = b64(sig, sl);
  snprintf(tok + n, cap - n, ".%s", s);
  free(s);
  return tok;
}

static th__jwks *keys; /* rsa "r1", ec "e1", an ignored P-384 "e384" */

/* Claims with the default values, overridden by `more` members. */
static char *claims(const char *more) {
  char *out = malloc(4096);
  snprintf(out, 4096,
           "{\"iss\":\"" ISS "\",\"sub\":\"248289761001\",\"aud\":\"" CLIENT
           "\",\"nonce\":\"" NONCE "\",\"iat\":%d,\"exp\":%d%s%s}",
           NOW - 5, NOW + 300, more[0] ? "," : "", more);
  return out;
}

static th__id_expect expect(void) {
  th__id_expect e = {.issuer = ISS, .client_id = CLIENT, .nonce = NONCE,
                     .now_s = NOW};
  return e;
}

/* Verifies tok as an ID token; returns the code and leaves why. */
static int check(const char *tok, const th__id_expect *e, const char **why) {
  *why = NULL;
  int rc = th__id_token_verify(keys, tok, strlen(tok), 0, e, NULL, why);
  /* A refusal's message never carries the token or a piece of it. */
  if (rc != TH_OK && *why) {
    const char *dot = strchr(tok, '.');
    char piece[17] = "";
    if (dot && strlen(dot + 1) > 16)
      memcpy(piece, dot + 1, 16);
    if (piece[0] && strstr(*why, piece))
      TAP_OK(0, "message quotes the token: %s", *why);
  }
  return rc;
}

/* Signs `body` (claims) with alg/key/kid and expects rc with `want` in
 * why (NULL: success). */
static void expect_token(const char *name, const char *alg, EVP_PKEY *k,
                         const char *kid, const char *body,
                         const th__id_expect *e, int rc_want,
                         const char *want) {
  char header[256];
  snprintf(header, sizeof header, "{\"alg\":\"%s\",\"kid\":\"%s\",\"typ\":\"JWT\"}",
           alg, kid);
  char *tok = sign(alg, k, header, body, NULL, 0);
  const char *why = NULL;
  int rc = check(tok, e, &why);
  TAP_INT(rc, rc_want, "%s: code", name);
  if (want)
    TAP_OK(why && strstr(why, want), "%s: \"%s\" (got \"%s\")", name, want,
           why ? why : "(none)");
  else
    TAP_OK(why == NULL, "%s: no message (got \"%s\")", name, why ? why : "");
  free(tok);
}

static void test_good(void) {
  th__id_expect e = expect();
  char *c = claims("");
  expect_token("RS256 passes", "RS256", rsa_key, "r1", c, &e, TH_OK, NULL);
  expect_token("PS256 passes", "PS256", rsa_key, "r1", c, &e, TH_OK, NULL);
  expect_token("ES256 passes", "ES256", ec_key, "e1", c, &e, TH_OK, NULL);

  /* The claims come back, as signed. */
  char *tok = sign("ES256", ec_key, "{\"alg\":\"ES256\",\"kid\":\"e1\"}", c, NULL, 0);
  json_t *out = NULL;
  const char *why = NULL;
  TAP_INT(th__id_token_verify(keys, tok, strlen(tok), TH__JWS_ES256, &e, &out,
                              &why),
          TH_OK, "ES256 with the mask ES256 and no typ");
  TAP_STR(json_string_value(json_object_get(out, "sub")), "248289761001",
          "the subject comes back");
  json_decref(out);
  /* A mask without the token's algorithm refuses it. */
  TAP_INT(th__id_token_verify(keys, tok, strlen(tok), TH__JWS_RS256, &e, &out,
                              &why),
          TH_EAUTH, "ES256 refused when only RS256 is configured");
  TAP_OK(why && strstr(why, "not the one configured"), "... %s", why);
  TAP_OK(out == NULL, "... and nothing comes back");
  free(tok);

  /* Several audiences with azp = us, and azp alone: both fine. */
  char *c2 = claims("\"azp\":\"" CLIENT "\"");
  expect_token("azp = client passes", "RS256", rsa_key, "r1", c2, &e, TH_OK, NULL);
  free(c2);
  c2 = malloc(4096);
  snprintf(c2, 4096,
           "{\"iss\":\"" ISS "\",\"sub\":\"u\",\"aud\":[\"" CLIENT
           "\",\"other\"],\"azp\":\"" CLIENT "\",\"nonce\":\"" NONCE
           "\",\"iat\":%d,\"exp\":%d}",
           NOW, NOW + 60);
  expect_token("several audiences with azp passes", "RS256", rsa_key, "r1", c2,
               &e, TH_OK, NULL);
  free(c2);
  /* Within the skew: exp a little in the past, iat a little ahead. */
  char *c3 = malloc(4096);
  snprintf(c3, 4096,
           "{\"iss\":\"" ISS "\",\"sub\":\"u\",\"aud\":\"" CLIENT
           "\",\"nonce\":\"" NONCE "\",\"iat\":%d,\"exp\":%d}",
           NOW + TH__ID_TOKEN_SKEW_S - 1, NOW - TH__ID_TOKEN_SKEW_S + 1);
  expect_token("clocks within the skew pass", "RS256", rsa_key, "r1", c3, &e,
               TH_OK, NULL);
  free(c3);
  free(c);
}

static void test_algorithms(void) {
  th__id_expect e = expect();
  char *c = claims("");
  const char *why;
  int rc;

  char *tok = sign("none", NULL, "{\"alg\":\"none\",\"kid\":\"r1\"}", c, NULL, 0);
  rc = check(tok, &e, &why);
  TAP_INT(rc, TH_EAUTH, "alg none refused");
  TAP_OK(why && strstr(why, "alg none"), "... \"%s\"", why ? why : "");
  free(tok);
  tok = sign("none", NULL, "{\"alg\":\"NONE\"}", c, NULL, 0);
  TAP_INT(check(tok, &e, &why), TH_EAUTH, "alg NONE refused");
  free(tok);

  /* HS256 keyed with what the provider publishes: its public key, as PEM
   * and as the JWK's modulus bytes. Neither can pass. */
  BIO *bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, rsa_key);
  char *pem = NULL;
  long pem_len = BIO_get_mem_data(bio, &pem);
  tok = sign("HS256", NULL, "{\"alg\":\"HS256\",\"kid\":\"r1\"}", c, pem,
             (size_t)pem_len);
  rc = check(tok, &e, &why);
  TAP_INT(rc, TH_EAUTH, "HS256 keyed with the provider's public key refused");
  TAP_OK(why && strstr(why, "HMAC"), "... \"%s\"", why ? why : "");
  free(tok);
  BIO_free(bio);
  tok = sign("HS256", NULL, "{\"alg\":\"HS256\"}", c, "r1", 2);
  TAP_INT(check(tok, &e, &why), TH_EAUTH, "HS256 without a kid refused");
  free(tok);
  tok = sign("HS256", NULL, "{\"alg\":\"HS512\",\"kid\":\"r1\"}", c, "x", 1);
  TAP_INT(check(tok, &e, &why), TH_EAUTH, "HS512 refused");
  TAP_OK(why && strstr(why, "HMAC"), "... \"%s\"", why ? why : "");
  free(tok);
  expect_token("RS384 refused", "RS384", rsa_key, "r1", c, &e, TH_EAUTH,
               "not RS256, PS256 or ES256");

  /* The algorithm must fit the key it names. */
  char header[128];
  snprintf(header, sizeof header, "{\"alg\":\"RS256\",\"kid\":\"e1\"}");
  tok = sign("RS256", rsa_key, header, c, NULL, 0);
  TAP_INT(check(tok, &e, &why), TH_EAUTH, "RS256 naming the EC key refused");
  TAP_OK(why && strstr(why, "does not fit"), "... \"%s\"", why ? why : "");
  free(tok);
  /* A key whose JWK says PS256 does not verify RS256. */
  tok = sign("RS256", rsa_key, "{\"alg\":\"RS256\",\"kid\":\"r-ps\"}", c, NULL, 0);
  TAP_INT(check(tok, &e, &why), TH_EAUTH, "RS256 with a PS256-only key refused");
  TAP_OK(why && strstr(why, "does not fit"), "... \"%s\"", why ? why : "");
  free(tok);
  tok = sign("PS256", rsa_key, "{\"alg\":\"PS256\",\"kid\":\"r-ps\"}", c, NULL, 0);
  TAP_INT(check(tok, &e, &why), TH_OK, "PS256 with the PS256-only key passes");
  free(tok);

  /* A PS256 signature with another salt length is not RFC 7518's. */
  {
    const char *hj = "{\"alg\":\"PS256\",\"kid\":\"r1\"}";
    char *h = b64(hj, strlen(hj));
    char *p = b64(c, strlen(c));
    char buf[4096];
    snprintf(buf, sizeof buf, "%s.%s", h, p);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pc = NULL;
    EVP_DigestSignInit_ex(md, &pc, "SHA256", NULL, NULL, rsa_key, NULL);
    EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING);
    EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, 20);
    unsigned char sig[512];
    size_t sl = sizeof sig;
    EVP_DigestSign(md, sig, &sl, (unsigned char *)buf, strlen(buf));
    EVP_MD_CTX_free(md);
    char *s = b64(sig, sl);
    strcat(buf, ".");
    strcat(buf, s);
    TAP_INT(check(buf, &e, &why), TH_EAUTH, "PS256 with a 20-byte salt refused");
    TAP_OK(why && strstr(why, "bad signature"), "... \"%s\"", why ? why : "");
    free(h);
    free(p);
    free(s);
  }

  /* A header with crit, a repeated member, another typ. */
  tok = sign("RS256", rsa_key,
             "{\"alg\":\"RS256\",\"kid\":\"r1\",\"crit\":[\"exp\"],\"exp\":1}", c,
             NULL, 0);
  TAP_INT(check(tok, &e, &why), TH_EAUTH, "crit refused");
  TAP_OK(why && strstr(why, "crit"), "... \"%s\"", why ? why : "");
  free(tok);
  tok = sign("RS256", rsa_key, "{\"alg\":\"RS256\",\"kid\":\"r1\",\"alg\":\"none\"}",
             c, NULL, 0);
  TAP_INT(check(tok, &e, &why), TH_EAUTH, "a header repeating alg refused");
  TAP_OK(why && strstr(why, "repeats a member"), "... \"%s\"", why ? why : "");
  free(tok);
  tok = sign("RS256", rsa_key, "{\"alg\":\"RS256\",\"kid\":\"r1\"}",
             "{\"sub\":\"a\",\"sub\":\"b\"}", NULL, 0);
  TAP_INT(check(tok, &e, &why), TH_EAUTH, "a payload repeating sub refused");
  TAP_OK(why && strstr(why, "payload"), "... \"%s\"", why ? why : "");
  free(tok);
  tok = sign("RS256", rsa_key, "{\"alg\":\"RS256\",\"kid\":\"r1\",\"typ\":\"at+jwt\"}",
             c, NULL, 0);
  TAP_INT(check(tok, &e, &why), TH_EAUTH, "typ at+jwt refused");
  TAP_OK(why && strstr(why, "typ"), "... \"%s\"", why ? why : "");
  free(tok);
  free(c);
}

static void test_shape(void) {
  th__id_expect e = expect();
  char *c = claims("");
  const char *why;
  char *tok = sign("RS256", rsa_key, "{\"alg\":\"RS256\",\"kid\":\"r1\"}", c, NULL, 0);
  size_t n = strlen(tok);
  char *bad = malloc(n + 8);

  /* Unknown kid: the caller may re-fetch the key set. */
  char *t2 = sign("RS256", rsa_key, "{\"alg\":\"RS256\",\"kid\":\"rotated\"}", c,
                  NULL, 0);
  TAP_INT(check(t2, &e, &why), TH_ENOTFOUND, "unknown kid: TH_ENOTFOUND");
  TAP_OK(why && strstr(why, "unknown key"), "... \"%s\"", why ? why : "");
  free(t2);

  /* Tampered payload: one claim changed, the signature kept. */
  char *c2 = claims("");
  c2[strlen(c2) - 2] = (char)(c2[strlen(c2) - 2] == '0' ? '1' : '0');
  char *t3 = sign("RS256", rsa_key, "{\"alg\":\"RS256\",\"kid\":\"r1\"}", c2, NULL, 0);
  const char *d1 = strchr(t3, '.'), *d2 = strrchr(tok, '.');
  snprintf(bad, n + 8, "%.*s%s", (int)(strrchr(t3, '.') - t3), t3, d2);
  (void)d1;
  TAP_INT(check(bad, &e, &why), TH_EAUTH, "tampered payload refused");
  TAP_OK(why && strcmp(why, "bad signature") == 0, "... \"%s\"", why ? why : "");
  free(t3);
  free(c2);

  /* Truncated: the last character of the signature gone. */
  memcpy(bad, tok, n - 1);
  bad[n - 1] = '\0';
  TAP_INT(check(bad, &e, &why), TH_EAUTH, "truncated signature refused");
  TAP_OK(why && (strstr(why, "base64url") || strstr(why, "bad signature")),
         "... \"%s\"", why ? why : "");
  /* Padded: base64 '=' after the signature, and after the header. */
  snprintf(bad, n + 8, "%s==", tok);
  TAP_INT(check(bad, &e, &why), TH_EAUTH, "padded signature refused");
  TAP_OK(why && strstr(why, "signature is not base64url"), "... \"%s\"",
         why ? why : "");
  snprintf(bad, n + 8, "%.*s=%s", (int)(strchr(tok, '.') - tok), tok, strchr(tok, '.'));
  TAP_INT(check(bad, &e, &why), TH_EAUTH, "padded header refused");
  TAP_OK(why && strstr(why, "header is not base64url"), "... \"%s\"",
         why ? why : "");
  /* The other alphabet ('+' for '-'), and white space. */
  memcpy(bad, tok, n + 1);
  char *dash = strpbrk(strrchr(bad, '.'), "-_");
  if (dash) {
    *dash = *dash == '-' ? '+' : '/';
    TAP_INT(check(bad, &e, &why), TH_EAUTH, "base64 (not url) alphabet refused");
  }
  snprintf(bad, n + 8, "%s ", tok);
  TAP_INT(check(bad, &e, &why), TH_EAUTH, "trailing space refused");
  /* Four parts, two parts. */
  snprintf(bad, n + 8, "%s.", tok);
  TAP_INT(check(bad, &e, &why), TH_EAUTH, "four parts refused");
  TAP_OK(why && strstr(why, "compact JWS"), "... \"%s\"", why ? why : "");
  TAP_INT(check("abc.def", &e, &why), TH_EAUTH, "two parts refused");

  /* 5 MB: refused by its size, before any parsing. */
  size_t big = 5 * 1024 * 1024;
  char *huge = malloc(big + 1);
  memset(huge, 'A', big);
  memcpy(huge, tok, n);
  huge[big] = '\0';
  TAP_INT(check(huge, &e, &why), TH_EAUTH, "5 MB token refused");
  TAP_OK(why && strstr(why, "larger than"), "... \"%s\"", why ? why : "");
  free(huge);

  /* Wrong curve: a P-384 signature under the P-256 key's kid, and the
   * P-384 key itself, which the key set left out. */
  char *t4 = sign("ES256", ec384_key, "{\"alg\":\"ES256\",\"kid\":\"e1\"}", c, NULL, 0);
  TAP_INT(check(t4, &e, &why), TH_EAUTH, "P-384 signature for ES256 refused");
  TAP_OK(why && strstr(why, "bad signature"), "... \"%s\"", why ? why : "");
  free(t4);
  t4 = sign("ES256", ec384_key, "{\"alg\":\"ES256\",\"kid\":\"e384\"}", c, NULL, 0);
  TAP_INT(check(t4, &e, &why), TH_ENOTFOUND, "the P-384 key is not in the set");
  free(t4);
  /* An ES256 token signed by another P-256 key. */
  EVP_PKEY *other = EVP_EC_gen("P-256");
  t4 = sign("ES256", other, "{\"alg\":\"ES256\",\"kid\":\"e1\"}", c, NULL, 0);
  TAP_INT(check(t4, &e, &why), TH_EAUTH, "ES256 by another key refused");
  free(t4);
  EVP_PKEY_free(other);

  free(bad);
  free(tok);
  free(c);
}

static void test_claims(void) {
  th__id_expect e = expect();
  char buf[4096];
#define BODY(...) (snprintf(buf, sizeof buf, __VA_ARGS__), buf)
  expect_token("wrong iss", "RS256", rsa_key, "r1",
               BODY("{\"iss\":\"https://evil.example\",\"sub\":\"u\",\"aud\":\"" CLIENT
                    "\",\"nonce\":\"" NONCE "\",\"iat\":%d,\"exp\":%d}",
                    NOW, NOW + 60),
               &e, TH_EAUTH, "issuer (iss)");
  expect_token("iss with a trailing slash", "RS256", rsa_key, "r1",
               BODY("{\"iss\":\"" ISS "/\",\"sub\":\"u\",\"aud\":\"" CLIENT
                    "\",\"nonce\":\"" NONCE "\",\"iat\":%d,\"exp\":%d}",
                    NOW, NOW + 60),
               &e, TH_EAUTH, "issuer (iss)");
  expect_token("another client's token (aud)", "RS256", rsa_key, "r1",
               BODY("{\"iss\":\"" ISS "\",\"sub\":\"u\",\"aud\":\"other-client\","
                    "\"nonce\":\"" NONCE "\",\"iat\":%d,\"exp\":%d}",
                    NOW, NOW + 60),
               &e, TH_EAUTH, "audience (aud)");
  expect_token("no aud", "RS256", rsa_key, "r1",
               BODY("{\"iss\":\"" ISS "\",\"sub\":\"u\","
                    "\"nonce\":\"" NONCE "\",\"iat\":%d,\"exp\":%d}",
                    NOW, NOW + 60),
               &e, TH_EAUTH, "audience (aud)");
  expect_token("wrong azp", "RS256", rsa_key, "r1",
               BODY("{\"iss\":\"" ISS "\",\"sub\":\"u\",\"aud\":\"" CLIENT
                    "\",\"azp\":\"other-client\",\"nonce\":\"" NONCE
                    "\",\"iat\":%d,\"exp\":%d}",
                    NOW, NOW + 60),
               &e, TH_EAUTH, "authorized party (azp) is not");
  expect_token("several audiences without azp", "RS256", rsa_key, "r1",
               BODY("{\"iss\":\"" ISS "\",\"sub\":\"u\",\"aud\":[\"" CLIENT
                    "\",\"other\"],\"nonce\":\"" NONCE "\",\"iat\":%d,\"exp\":%d}",
                    NOW, NOW + 60),
               &e, TH_EAUTH, "no authorized party (azp)");
  expect_token("expired", "RS256", rsa_key, "r1",
               BODY("{\"iss\":\"" ISS "\",\"sub\":\"u\",\"aud\":\"" CLIENT
                    "\",\"nonce\":\"" NONCE "\",\"iat\":%d,\"exp\":%d}",
                    NOW - 600, NOW - TH__ID_TOKEN_SKEW_S),
               &e, TH_EAUTH, "expired (exp)");
  expect_token("no exp", "RS256", rsa_key, "r1",
               BODY("{\"iss\":\"" ISS "\",\"sub\":\"u\",\"aud\":\"" CLIENT
                    "\",\"nonce\":\"" NONCE "\",\"iat\":%d}", NOW),
               &e, TH_EAUTH, "no usable expiry (exp)");
  expect_token("exp as a string", "RS256", rsa_key, "r1",
               BODY("{\"iss\":\"" ISS "\",\"sub\":\"u\",\"aud\":\"" CLIENT
                    "\",\"nonce\":\"" NONCE "\",\"iat\":%d,\"exp\":\"%d\"}",
                    NOW, NOW + 60),
               &e, TH_EAUTH, "no usable expiry (exp)");
  expect_token("issued in the future", "RS256", rsa_key, "r1",
               BODY("{\"iss\":\"" ISS "\",\"sub\":\"u\",\"aud\":\"" CLIENT
                    "\",\"nonce\":\"" NONCE "\",\"iat\":%d,\"exp\":%d}",
                    NOW + TH__ID_TOKEN_SKEW_S + 1, NOW + 600),
               &e, TH_EAUTH, "issued in the future (iat)");
  expect_token("no iat", "RS256", rsa_key, "r1",
               BODY("{\"iss\":\"" ISS "\",\"sub\":\"u\",\"aud\":\"" CLIENT
                    "\",\"nonce\":\"" NONCE "\",\"exp\":%d}", NOW + 60),
               &e, TH_EAUTH, "issue time (iat)");
  expect_token("not valid yet", "RS256", rsa_key, "r1",
               BODY("{\"iss\":\"" ISS "\",\"sub\":\"u\",\"aud\":\"" CLIENT
                    "\",\"nonce\":\"" NONCE "\",\"iat\":%d,\"nbf\":%d,\"exp\":%d}",
                    NOW, NOW + 3600, NOW + 7200),
               &e, TH_EAUTH, "not valid yet (nbf)");
  expect_token("wrong nonce", "RS256", rsa_key, "r1",
               BODY("{\"iss\":\"" ISS "\",\"sub\":\"u\",\"aud\":\"" CLIENT
                    "\",\"nonce\":\"" NONCE "x\",\"iat\":%d,\"exp\":%d}",
                    NOW, NOW + 60),
               &e, TH_EAUTH, "nonce does not match");
  expect_token("no nonce", "RS256", rsa_key, "r1",
               BODY("{\"iss\":\"" ISS "\",\"sub\":\"u\",\"aud\":\"" CLIENT
                    "\",\"iat\":%d,\"exp\":%d}",
                    NOW, NOW + 60),
               &e, TH_EAUTH, "no nonce");
  expect_token("no sub", "RS256", rsa_key, "r1",
               BODY("{\"iss\":\"" ISS "\",\"aud\":\"" CLIENT
                    "\",\"nonce\":\"" NONCE "\",\"iat\":%d,\"exp\":%d}",
                    NOW, NOW + 60),
               &e, TH_EAUTH, "subject (sub)");

  /* Tenant pins. */
  th__id_expect g = expect();
  g.hd = "camden.gov.uk";
  expect_token("hd matches", "RS256", rsa_key, "r1",
               BODY("{\"iss\":\"" ISS "\",\"sub\":\"u\",\"aud\":\"" CLIENT
                    "\",\"nonce\":\"" NONCE "\",\"hd\":\"camden.gov.uk\",\"iat\":%d,\"exp\":%d}",
                    NOW, NOW + 60),
               &g, TH_OK, NULL);
  expect_token("wrong hd", "RS256", rsa_key, "r1",
               BODY("{\"iss\":\"" ISS "\",\"sub\":\"u\",\"aud\":\"" CLIENT
                    "\",\"nonce\":\"" NONCE "\",\"hd\":\"gmail.com\",\"iat\":%d,\"exp\":%d}",
                    NOW, NOW + 60),
               &g, TH_EAUTH, "hosted domain (hd)");
  expect_token("no hd (a consumer account)", "RS256", rsa_key, "r1",
               BODY("{\"iss\":\"" ISS "\",\"sub\":\"u\",\"aud\":\"" CLIENT
                    "\",\"nonce\":\"" NONCE "\",\"iat\":%d,\"exp\":%d}",
                    NOW, NOW + 60),
               &g, TH_EAUTH, "hosted domain (hd)");
  th__id_expect m = expect();
  m.issuer = "https://login.example/{tenantid}/v2.0";
  m.tid = "9188040d-6c67-4c5b-b112-36a304b66dad";
  expect_token("Entra: the pinned tenant passes", "RS256", rsa_key, "r1",
               BODY("{\"iss\":\"https://login.example/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0\","
                    "\"tid\":\"9188040d-6c67-4c5b-b112-36a304b66dad\",\"sub\":\"u\",\"aud\":\"" CLIENT
                    "\",\"nonce\":\"" NONCE "\",\"iat\":%d,\"exp\":%d}",
                    NOW, NOW + 60),
               &m, TH_OK, NULL);
  expect_token("Entra: another tenant's iss", "RS256", rsa_key, "r1",
               BODY("{\"iss\":\"https://login.example/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0\","
                    "\"tid\":\"9188040d-6c67-4c5b-b112-36a304b66dad\",\"sub\":\"u\",\"aud\":\"" CLIENT
                    "\",\"nonce\":\"" NONCE "\",\"iat\":%d,\"exp\":%d}",
                    NOW, NOW + 60),
               &m, TH_EAUTH, "issuer (iss)");
  expect_token("Entra: another tenant's tid", "RS256", rsa_key, "r1",
               BODY("{\"iss\":\"https://login.example/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0\","
                    "\"tid\":\"72f988bf-86f1-41af-91ab-2d7cd011db47\",\"sub\":\"u\",\"aud\":\"" CLIENT
                    "\",\"nonce\":\"" NONCE "\",\"iat\":%d,\"exp\":%d}",
                    NOW, NOW + 60),
               &m, TH_EAUTH, "tenant (tid)");
  th__id_expect u = m;
  u.tid = NULL;
  expect_token("Entra: a multi-tenant issuer without a pin", "RS256", rsa_key,
               "r1",
               BODY("{\"iss\":\"https://login.example/x/v2.0\",\"sub\":\"u\",\"aud\":\"" CLIENT
                    "\",\"nonce\":\"" NONCE "\",\"iat\":%d,\"exp\":%d}",
                    NOW, NOW + 60),
               &u, TH_EINVAL, "needs the council's tenant");
  th__id_expect none = expect();
  none.nonce = NULL;
  const char *why = NULL;
  json_t *j = json_object();
  TAP_INT(th__id_claims_check(j, &none, &why), TH_EINVAL, "no nonce expected: EINVAL");
  json_decref(j);
#undef BODY
}

static void test_jwks(void) {
  const char *why = NULL;
  th__jwks *s = NULL;
  size_t ignored = 0;
  TAP_INT(th__jwks_parse("{}", 2, &s, &ignored, &why), TH_EAUTH, "no keys array");
  TAP_INT(th__jwks_parse("[", 1, &s, &ignored, &why), TH_EAUTH, "not JSON");
  const char *dup = "{\"keys\":[],\"keys\":[]}";
  TAP_INT(th__jwks_parse(dup, strlen(dup), &s, &ignored, &why), TH_EAUTH,
          "a repeated member");
  char *big = calloc(1, TH__JWKS_MAX_BYTES + 2);
  memset(big, ' ', TH__JWKS_MAX_BYTES + 1);
  TAP_INT(th__jwks_parse(big, TH__JWKS_MAX_BYTES + 1, &s, &ignored, &why),
          TH_EAUTH, "a key set over the cap");
  TAP_OK(why && strstr(why, "larger"), "... \"%s\"", why ? why : "");
  free(big);

  /* Keys left out: oct (an HMAC key), enc use, an unknown alg, a 1024-bit
   * RSA key, an off-curve point, P-384. */
  char *r = jwk(rsa_key, "r1", "");
  char *renc = jwk(rsa_key, "r-enc", ",\"use\":\"enc\"");
  char *r384 = jwk(rsa_key, "r-384", ",\"alg\":\"RS384\"");
  char *rops = jwk(rsa_key, "r-ops", ",\"key_ops\":[\"encrypt\"]");
  char *rsmall = jwk(rsa_small, "r-small", "");
  char *e384 = jwk(ec384_key, "e384", "");
  char *e1 = jwk(ec_key, "e1", "");
  /* Off the curve: y + 1. */
  char *eoff = jwk(ec_key, "e-off", "");
  char *y = strstr(eoff, "\"y\":\"") + 5;
  *y = (char)(*y == 'A' ? 'B' : 'A');
  char doc[16384];
  snprintf(doc, sizeof doc,
           "{\"keys\":[{\"kty\":\"oct\",\"kid\":\"h\",\"k\":\"c2VjcmV0\"},%s,%s,%s,%s,%s,%s,%s,%s]}",
           r, renc, r384, rops, rsmall, e384, eoff, e1);
  TAP_INT(th__jwks_parse(doc, strlen(doc), &s, &ignored, &why), TH_OK,
          "a mixed key set parses");
  TAP_INT(th__jwks_count(s), 2, "... keeping the RSA and the P-256 key");
  TAP_INT(ignored, 7, "... leaving out seven");
  th__jwks_free(s);
  snprintf(doc, sizeof doc, "{\"keys\":[%s,%s]}", rsmall, e384);
  TAP_INT(th__jwks_parse(doc, strlen(doc), &s, &ignored, &why), TH_EAUTH,
          "a key set with no usable key");
  TAP_OK(why && strstr(why, "no RSA or P-256"), "... \"%s\"", why ? why : "");
  free(r);
  free(renc);
  free(r384);
  free(rops);
  free(rsmall);
  free(e384);
  free(e1);
  free(eoff);

  /* No kid in the token: the one key that fits is used; with two RSA
   * keys, refused. */
  char *c = claims("");
  th__id_expect ex = expect();
  char *only = jwk(rsa_key, "solo", "");
  snprintf(doc, sizeof doc, "{\"keys\":[%s]}", only);
  th__jwks_parse(doc, strlen(doc), &s, NULL, &why);
  char *tok = sign("RS256", rsa_key, "{\"alg\":\"RS256\"}", c, NULL, 0);
  TAP_INT(th__id_token_verify(s, tok, strlen(tok), 0, &ex, NULL, &why), TH_OK,
          "no kid, one key: passes");
  th__jwks_free(s);
  char *two = jwk(rsa_small, "x", "");
  EVP_PKEY *rsa2 = EVP_RSA_gen(2048);
  char *second = jwk(rsa2, "two", "");
  snprintf(doc, sizeof doc, "{\"keys\":[%s,%s]}", only, second);
  th__jwks_parse(doc, strlen(doc), &s, NULL, &why);
  TAP_INT(th__id_token_verify(s, tok, strlen(tok), 0, &ex, NULL, &why), TH_EAUTH,
          "no kid, two keys: refused");
  TAP_OK(why && strstr(why, "several keys"), "... \"%s\"", why ? why : "");
  th__jwks_free(s);
  EVP_PKEY_free(rsa2);
  free(two);
  free(second);
  free(only);
  free(tok);
  free(c);
}

static void test_refetch(void) {
  static th__refetch r = TH__REFETCH_INIT;
  TAP_OK(th__jwks_refetch_may(&r, ISS, 1000), "first re-fetch allowed");
  TAP_OK(!th__jwks_refetch_may(&r, ISS, 1001), "a second at once refused");
  TAP_OK(!th__jwks_refetch_may(&r, ISS, 1000 + TH__JWKS_REFETCH_S - 1),
         "... and just before the interval");
  TAP_OK(th__jwks_refetch_may(&r, "https://other.example", 1001),
         "another issuer has its own");
  TAP_OK(th__jwks_refetch_may(&r, ISS, 1000 + TH__JWKS_REFETCH_S),
         "allowed again after the interval");
  TAP_OK(!th__jwks_refetch_may(&r, ISS, 500), "a clock gone back: refused");
  /* More issuers than slots: the oldest gives its slot up. */
  char name[64];
  for (int i = 0; i < TH__JWKS_REFETCH_ISSUERS + 4; i++) {
    snprintf(name, sizeof name, "https://i%d.example", i);
    th__jwks_refetch_may(&r, name, 2000 + i);
  }
  TAP_OK(!th__jwks_refetch_may(&r, name, 2001 + TH__JWKS_REFETCH_ISSUERS),
         "the newest issuer is still limited");
  TAP_OK(!th__jwks_refetch_may(&r, NULL, 5000), "NULL issuer refused");
  th__refetch_clear(&r);
}

static void test_pkce(void) {
  char c[TH__PKCE_CHALLENGE_LEN + 1];
  /* RFC 7636 appendix B. */
  TAP_INT(th__pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", c),
          TH_OK, "RFC 7636's example verifier");
  TAP_STR(c, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
          "... gives RFC 7636's challenge");
  char v[TH__PKCE_VERIFIER_MAX + 1], v2[TH__PKCE_VERIFIER_MAX + 1];
  TAP_INT(th__pkce_verifier(v, 43), TH_OK, "a 43-character verifier");
  TAP_INT(strlen(v), 43, "... is 43 characters");
  TAP_INT(th__pkce_challenge(v, c), TH_OK, "... and has a challenge");
  TAP_INT(strlen(c), 43, "... of 43 characters");
  TAP_INT(th__pkce_verifier(v2, 43), TH_OK, "another");
  TAP_OK(strcmp(v, v2) != 0, "... differs");
  TAP_INT(th__pkce_verifier(v, 128), TH_OK, "a 128-character verifier");
  TAP_INT(strlen(v), 128, "... is 128 characters");
  TAP_INT(th__pkce_challenge(v, c), TH_OK, "... and has a challenge");
  TAP_INT(th__pkce_verifier(v, 42), TH_EINVAL, "42 characters: EINVAL");
  TAP_INT(th__pkce_verifier(v, 129), TH_EINVAL, "129 characters: EINVAL");
  TAP_INT(th__pkce_challenge("short", c), TH_EINVAL, "a short verifier: EINVAL");
  TAP_INT(th__pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjX+", c),
          TH_EINVAL, "a '+' in a verifier: EINVAL");
  char s1[TH__PKCE_CHALLENGE_LEN + 1], s2[TH__PKCE_CHALLENGE_LEN + 1];
  th__oidc_random(s1);
  th__oidc_random(s2);
  TAP_OK(strlen(s1) == 43 && strcmp(s1, s2) != 0, "state/nonce: 43 random characters");
}

static void signer_case(th_db *db, EVP_PKEY *k, const char *file,
                        unsigned alg) {
  const char *path = t_path(file);
  FILE *f = fopen(path, "w");
  PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
  fclose(f);
  chmod(path, 0644);
  th__jose_signer *s = NULL;
  TAP_INT(th__jose_signer_load(db, path, &s), TH_EKEY,
          "%s: a world-readable key file refused", file);
  TAP_OK(strstr(th_errmsg(db), "may be read or written by others") != NULL,
         "... \"%s\"", th_errmsg(db));
  TAP_OK(strstr(th_errmsg(db), "PRIVATE") == NULL, "... without its contents");
  chmod(path, 0640);
  TAP_INT(th__jose_signer_load(db, path, &s), TH_EKEY,
          "%s: a group-readable key file refused", file);
  chmod(path, 0600);
  TAP_INT(th__jose_signer_load(db, path, &s), TH_OK, "%s: a 0600 key file loads",
          file);
  if (s == NULL)
    return;
  TAP_INT(th__jose_signer_alg(s), alg, "%s: its algorithm", file);
  char *pub = NULL;
  TAP_INT(th__jose_signer_jwk(s, &pub), TH_OK, "%s: its public JWK", file);
  TAP_OK(pub && strstr(pub, "\"d\"") == NULL, "... without the private part");
  char doc[8192];
  snprintf(doc, sizeof doc, "{\"keys\":[%s]}", pub ? pub : "");
  th__jwks *set = NULL;
  const char *why = NULL;
  TAP_INT(th__jwks_parse(doc, strlen(doc), &set, NULL, &why), TH_OK,
          "... parses as a key set");
  char *a = NULL;
  TAP_INT(th__client_assertion(s, "townhall-camden",
                               "https://id.camden.example/token", NOW, &a),
          TH_OK, "%s: a client assertion", file);
  json_t *p = NULL;
  TAP_INT(th__jws_verify(set, a, a ? strlen(a) : 0, alg, &p, &why), TH_OK,
          "... verifies with the public JWK (%s)", why ? why : "");
  TAP_STR(json_string_value(json_object_get(p, "iss")), "townhall-camden", "... iss");
  TAP_STR(json_string_value(json_object_get(p, "sub")), "townhall-camden", "... sub");
  TAP_STR(json_string_value(json_object_get(p, "aud")),
          "https://id.camden.example/token", "... aud");
  TAP_INT(json_integer_value(json_object_get(p, "exp")), NOW + 60, "... exp");
  TAP_OK(json_string_length(json_object_get(p, "jti")) == 43, "... a jti");
  json_decref(p);
  char *b = NULL;
  th__client_assertion(s, "townhall-camden", "https://id.camden.example/token",
                       NOW, &b);
  TAP_OK(a && b && strcmp(a, b) != 0, "... a new jti each time");
  free(a);
  free(b);
  free(pub);
  th__jwks_free(set);
  th__jose_signer_free(s);
}

static void test_signer(void) {
  th_db *db = t_open("jose.db");
  signer_case(db, rsa_key, "client-rsa.pem", TH__JWS_RS256);
  signer_case(db, ec_key, "client-ec.pem", TH__JWS_ES256);
  th__jose_signer *s = NULL;
  const char *weak = t_path("client-weak.pem");
  FILE *f = fopen(weak, "w");
  PEM_write_PrivateKey(f, rsa_small, NULL, NULL, 0, NULL, NULL);
  fclose(f);
  chmod(weak, 0600);
  TAP_INT(th__jose_signer_load(db, weak, &s), TH_EKEY, "a 1024-bit RSA key refused");
  TAP_INT(th__jose_signer_load(db, t_path("absent.pem"), &s), TH_EKEY,
          "a missing file refused");
  const char *junk = t_path("junk.pem");
  f = fopen(junk, "w");
  fputs("not a key\n", f);
  fclose(f);
  chmod(junk, 0600);
  TAP_INT(th__jose_signer_load(db, junk, &s), TH_EKEY, "a file without a key refused");
  th_close(db);
}

int main(void) {
  if (sodium_init() < 0)
    return 1;
  rsa_key = EVP_RSA_gen(2048);
  rsa_small = EVP_RSA_gen(1024);
  ec_key = EVP_EC_gen("P-256");
  ec384_key = EVP_EC_gen("P-384");
  char *r1 = jwk(rsa_key, "r1", "");
  char *rps = jwk(rsa_key, "r-ps", ",\"alg\":\"PS256\",\"use\":\"sig\"");
  char *e1 = jwk(ec_key, "e1", ",\"alg\":\"ES256\"");
  char *e384 = jwk(ec384_key, "e384", "");
  char doc[16384];
  snprintf(doc, sizeof doc, "{\"keys\":[%s,%s,%s,%s]}", r1, rps, e1, e384);
  const char *why = NULL;
  size_t ignored = 0;
  TAP_INT(th__jwks_parse(doc, strlen(doc), &keys, &ignored, &why), TH_OK,
          "the provider's key set parses");
  TAP_INT(th__jwks_count(keys), 3, "... three keys");
  TAP_INT(ignored, 1, "... the P-384 key left out");
  free(r1);
  free(rps);
  free(e1);
  free(e384);

  test_good();
  test_algorithms();
  test_shape();
  test_claims();
  test_jwks();
  test_refetch();
  test_pkce();
  test_signer();

  th__jwks_free(keys);
  EVP_PKEY_free(rsa_key);
  EVP_PKEY_free(rsa_small);
  EVP_PKEY_free(ec_key);
  EVP_PKEY_free(ec384_key);
  return tap_done();
}
