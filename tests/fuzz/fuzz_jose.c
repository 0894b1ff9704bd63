/*
 * fuzz_jose: the provider's ID tokens and key sets (core/auth/jose.c), in
 * three modes chosen by the first byte:
 *
 *   'S' header JSON, a newline, payload JSON: encoded and signed ES256
 *       with the harness's P-256 key, so the fuzzer reaches the header
 *       checks and the claim checks behind a good signature;
 *   'K' the rest is a key set (JWKS) to parse;
 *   anything else: the bytes are the token as it arrives.
 *
 * Properties of an accepted token: its header is a JSON object whose alg
 * is ES256 (the only key is an EC key) with no crit and a typ that is
 * absent or JWT; it carries the harness's own signature (a verbatim token
 * can only pass if it is what we would have signed); its claims name the
 * issuer, include the client in aud (and azp is the client when present),
 * carry the nonce, and have an exp not past and an iat not ahead beyond
 * the skew. A refusal always has a reason; a key set that parses holds at
 * least one key.
 */
#include "config.h"

#include "fuzz_common.h"

#include "internal.h"

#include "auth/jose.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <strings.h>

#define NOW_S INT64_C(1772445600)
#define ISS "https://id.camden.example"
#define CLIENT "townhall-camden"
#define NONCE "n-0S6_WzA2Mj"

static EVP_PKEY *key;
static th__jwks *keys;

int LLVMFuzzerInitialize(int *argc, char ***argv);

static char *b64(const void *p, size_t n) {
  size_t cap = sodium_base64_encoded_len(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  char *s = malloc(cap);
  sodium_bin2base64(s, cap, p, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  return s;
}

static char *coord(const char *name) {
  BIGNUM *bn = NULL;
  unsigned char raw[32];
  if (!EVP_PKEY_get_bn_param(key, name, &bn) || BN_bn2binpad(bn, raw, 32) != 32)
    abort();
  BN_free(bn);
  return b64(raw, 32);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  if (sodium_init() < 0)
    abort();
  key = EVP_EC_gen("P-256");
  char *x = coord(OSSL_PKEY_PARAM_EC_PUB_X), *y = coord(OSSL_PKEY_PARAM_EC_PUB_Y);
  char doc[512];
  snprintf(doc, sizeof doc,
           "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"e1\","
           "\"x\":\"%s\",\"y\":\"%s\"}]}",
           x, y);
  free(x);
  free(y);
  const char *why = NULL;
  if (key == NULL || th__jwks_parse(doc, strlen(doc), &keys, NULL, &why) != TH_OK)
    abort();
  return 0;
}

/* ES256 over data with the harness's key: the raw r || s. */
static void sign(const char *data, size_t n, unsigned char sig[64]) {
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  unsigned char der[128];
  size_t dl = sizeof der;
  if (EVP_DigestSignInit_ex(md, NULL, "SHA256", NULL, NULL, key, NULL) != 1 ||
      EVP_DigestSign(md, der, &dl, (const unsigned char *)data, n) != 1)
    abort();
  EVP_MD_CTX_free(md);
  const unsigned char *p = der;
  ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)dl);
  BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + 32, 32);
  ECDSA_SIG_free(es);
}

/* Independent checks of what an accepted token must be. */
static void check_accepted(const char *tok, size_t len, json_t *claims) {
  const char *d1 = memchr(tok, '.', len);
  FUZZ_ASSERT(d1, "accepted without a dot");
  const char *d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - tok));
  FUZZ_ASSERT(d2, "accepted with one dot");
  unsigned char raw[TH__JWS_MAX_BYTES];
  size_t n = 0;
  FUZZ_ASSERT(sodium_base642bin(raw, sizeof raw, d2 + 1, len - (size_t)(d2 + 1 - tok),
                                NULL, &n, NULL,
                                sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0 &&
                  n == 64,
              "signature is not 64 bytes of base64url");
  FUZZ_ASSERT(sodium_base642bin(raw, sizeof raw, tok, (size_t)(d1 - tok), NULL,
                                &n, NULL,
                                sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0,
              "header is not base64url");
  json_t *h = json_loadb((const char *)raw, n, JSON_REJECT_DUPLICATES, NULL);
  FUZZ_ASSERT(json_is_object(h), "header is not an object");
  const char *alg = json_string_value(json_object_get(h, "alg"));
  FUZZ_ASSERT(alg && strcmp(alg, "ES256") == 0, "alg %s accepted",
              alg ? alg : "(none)");
  FUZZ_ASSERT(json_object_get(h, "crit") == NULL, "crit accepted");
  json_t *typ = json_object_get(h, "typ");
  FUZZ_ASSERT(typ == NULL || (json_is_string(typ) &&
                              strcasecmp(json_string_value(typ), "jwt") == 0),
              "typ accepted");
  json_decref(h);
  FUZZ_ASSERT(json_is_object(claims), "claims are not an object");
  const char *iss = json_string_value(json_object_get(claims, "iss"));
  FUZZ_ASSERT(iss && strcmp(iss, ISS) == 0, "accepted another issuer");
  json_t *aud = json_object_get(claims, "aud");
  bool aud_ok = json_is_string(aud) && strcmp(json_string_value(aud), CLIENT) == 0;
  size_t i;
  json_t *v;
  if (json_is_array(aud))
    json_array_foreach(aud, i, v) aud_ok |=
        json_is_string(v) && strcmp(json_string_value(v), CLIENT) == 0;
  FUZZ_ASSERT(aud_ok, "accepted for another audience");
  json_t *azp = json_object_get(claims, "azp");
  FUZZ_ASSERT(azp == NULL || (json_is_string(azp) &&
                              strcmp(json_string_value(azp), CLIENT) == 0),
              "accepted for another party");
  FUZZ_ASSERT(azp != NULL || !json_is_array(aud) || json_array_size(aud) == 1,
              "several audiences without azp");
  const char *nonce = json_string_value(json_object_get(claims, "nonce"));
  FUZZ_ASSERT(nonce && strcmp(nonce, NONCE) == 0, "accepted another nonce");
  json_t *exp = json_object_get(claims, "exp"), *iat = json_object_get(claims, "iat");
  FUZZ_ASSERT(json_is_number(exp) && json_is_number(iat), "times not numbers");
  FUZZ_ASSERT(json_number_value(exp) + TH__ID_TOKEN_SKEW_S > (double)NOW_S - 1,
              "accepted an expired token");
  FUZZ_ASSERT(json_number_value(iat) <= (double)(NOW_S + TH__ID_TOKEN_SKEW_S) + 1,
              "accepted a token from the future");
  const char *sub = json_string_value(json_object_get(claims, "sub"));
  FUZZ_ASSERT(sub && sub[0] && strlen(sub) <= TH__SUB_MAX, "bad subject accepted");
}

static void verify(const char *tok, size_t len) {
  th__id_expect e = {.issuer = ISS, .client_id = CLIENT, .nonce = NONCE,
                     .now_s = NOW_S};
  json_t *claims = NULL;
  const char *why = NULL;
  int rc = th__id_token_verify(keys, tok, len, 0, &e, &claims, &why);
  if (rc == TH_OK) {
    check_accepted(tok, len, claims);
  } else {
    FUZZ_ASSERT((rc == TH_EAUTH || rc == TH_ENOTFOUND) && why != NULL,
                "refused (%d) without a reason", rc);
    FUZZ_ASSERT(claims == NULL, "claims given back for a refusal");
  }
  json_decref(claims);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 0 && data[0] == 'K') {
    th__jwks *set = NULL;
    size_t ignored = 0;
    const char *why = NULL;
    int rc = th__jwks_parse((const char *)data + 1, size - 1, &set, &ignored, &why);
    if (rc == TH_OK)
      FUZZ_ASSERT(th__jwks_count(set) > 0, "an empty key set parsed");
    else
      FUZZ_ASSERT(set == NULL && why != NULL, "refused without a reason");
    th__jwks_free(set);
    return 0;
  }
  if (size > 0 && data[0] == 'S') {
    const uint8_t *nl = memchr(data + 1, '\n', size - 1);
    if (nl == NULL)
      return 0;
    char *h = b64(data + 1, (size_t)(nl - data - 1));
    char *p = b64(nl + 1, size - (size_t)(nl + 1 - data));
    size_t n = strlen(h) + strlen(p) + 1;
    char *tok = malloc(n + 128);
    snprintf(tok, n + 128, "%s.%s", h, p);
    unsigned char sig[64];
    sign(tok, n, sig);
    char *s = b64(sig, sizeof sig);
    snprintf(tok + n, 128, ".%s", s);
    verify(tok, strlen(tok));
    free(s);
    free(tok);
    free(h);
    free(p);
    return 0;
  }
  /* Exactly the bytes, not NUL-terminated. */
  char *tok = malloc(size ? size : 1);
  if (size)
    memcpy(tok, data, size);
  verify(tok, size);
  free(tok);
  return 0;
}
