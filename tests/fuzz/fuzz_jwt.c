/*
 * fuzz_jwt: resident tokens (th__jwt_verify), in two modes chosen by the
 * first byte:
 *
 *   'S' header JSON, a newline, payload JSON: encoded and correctly signed
 *       with the site's secret, so the fuzzer reaches the claim checks;
 *   anything else: the bytes are the token as it arrives.
 *
 * Properties of an accepted token: its header says alg HS256 (and nothing
 * unknown is critical), it was signed with the secret (a verbatim token
 * can only pass if it is exactly what we would have signed), its audience
 * names the site, it has an expiry that has not passed and lies within
 * the hour, and the subject copied out is a non-empty string that fits.
 */
#include "config.h"

#include "fuzz_common.h"
#include "fuzz_server.h"
#include "http.h"

#include <sodium.h>

#define NOW_S (FUZZ_T0 / 1000)

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  if (sodium_init() < 0)
    abort();
  return 0;
}

static char *b64(const uint8_t *p, size_t n) {
  size_t cap = sodium_base64_encoded_len(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  char *s = malloc(cap);
  sodium_bin2base64(s, cap, p, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  return s;
}

static void sign(const char *signing, size_t n, unsigned char mac[32]) {
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, (const unsigned char *)FUZZ_SECRET,
                              strlen(FUZZ_SECRET));
  crypto_auth_hmacsha256_update(&st, (const unsigned char *)signing, n);
  crypto_auth_hmacsha256_final(&st, mac);
}

/* Independent checks of what an accepted token must be. */
static void check_accepted(const char *tok, size_t len, const char *sub) {
  const char *d1 = memchr(tok, '.', len);
  FUZZ_ASSERT(d1, "accepted without a dot");
  const char *d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - tok));
  FUZZ_ASSERT(d2, "accepted with one dot");
  unsigned char mac[32];
  sign(tok, (size_t)(d2 - tok), mac);
  char *want = b64(mac, sizeof mac);
  FUZZ_ASSERT(strlen(want) == len - (size_t)(d2 + 1 - tok) &&
                  memcmp(want, d2 + 1, strlen(want)) == 0,
              "accepted a signature we did not make");
  free(want);
  unsigned char raw[4096];
  size_t n = 0;
  FUZZ_ASSERT(sodium_base642bin(raw, sizeof raw, tok, (size_t)(d1 - tok), NULL,
                                &n, NULL,
                                sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0,
              "header is not base64url");
  json_t *h = json_loadb((const char *)raw, n, 0, NULL);
  FUZZ_ASSERT(json_is_object(h), "header is not an object");
  const char *alg = json_string_value(json_object_get(h, "alg"));
  FUZZ_ASSERT(alg && strcmp(alg, "HS256") == 0, "alg %s accepted",
              alg ? alg : "(none)");
  FUZZ_ASSERT(json_object_get(h, "crit") == NULL, "crit accepted");
  json_decref(h);
  FUZZ_ASSERT(sodium_base642bin(raw, sizeof raw, d1 + 1, (size_t)(d2 - d1 - 1),
                                NULL, &n, NULL,
                                sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0,
              "payload is not base64url");
  json_t *p = json_loadb((const char *)raw, n, 0, NULL);
  FUZZ_ASSERT(json_is_object(p), "payload is not an object");
  json_t *exp = json_object_get(p, "exp");
  FUZZ_ASSERT(json_is_number(exp), "accepted without a numeric exp");
  double e = json_number_value(exp);
  FUZZ_ASSERT(e + 60 > (double)NOW_S, "accepted an expired token (exp %f)", e);
  FUZZ_ASSERT(e <= (double)NOW_S + 3600 + 60 + 1, "accepted a long-lived token");
  json_t *aud = json_object_get(p, "aud");
  bool aud_ok = json_is_string(aud) && strcmp(json_string_value(aud), "camden") == 0;
  size_t i;
  json_t *v;
  if (json_is_array(aud))
    json_array_foreach(aud, i, v) aud_ok |=
        json_is_string(v) && strcmp(json_string_value(v), "camden") == 0;
  FUZZ_ASSERT(aud_ok, "accepted for another audience");
  const char *s = json_string_value(json_object_get(p, "sub"));
  FUZZ_ASSERT(s && strcmp(s, sub) == 0 && sub[0], "subject differs");
  json_decref(p);
}

static void verify(const char *tok, size_t len) {
  char sub[256];
  memset(sub, 'X', sizeof sub);
  const char *why = NULL;
  int rc = th__jwt_verify(tok, len, "camden", (const unsigned char *)FUZZ_SECRET,
                          strlen(FUZZ_SECRET), NOW_S, sub, sizeof sub, &why);
  if (rc == TH_OK) {
    FUZZ_ASSERT(memchr(sub, '\0', sizeof sub) != NULL, "subject not terminated");
    check_accepted(tok, len, sub);
  } else {
    FUZZ_ASSERT(rc == TH_EAUTH && why != NULL, "refused without a reason");
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 0 && data[0] == 'S') {
    const uint8_t *nl = memchr(data + 1, '\n', size - 1);
    if (nl == NULL)
      return 0;
    char *h = b64(data + 1, (size_t)(nl - data - 1));
    char *p = b64(nl + 1, size - (size_t)(nl + 1 - data));
    size_t n = strlen(h) + strlen(p) + 1;
    char *tok = malloc(n + 64);
    snprintf(tok, n + 64, "%s.%s", h, p);
    unsigned char mac[32];
    sign(tok, n, mac);
    char *sig = b64(mac, sizeof mac);
    snprintf(tok + n, 64, ".%s", sig);
    verify(tok, strlen(tok));
    free(sig);
    free(tok);
    free(h);
    free(p);
    return 0;
  }
  /* Exactly the bytes, not NUL-terminated: the server passes a length. */
  char *tok = malloc(size ? size : 1);
  if (size)
    memcpy(tok, data, size);
  verify(tok, size);
  free(tok);
  return 0;
}
