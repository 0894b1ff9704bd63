/*
 * jose.c: JWKS, JWS verification (RS256, PS256, ES256 only), the ID-token
 * claim checks, PKCE, and private_key_jwt client assertions (jose.h).
 *
 * The order of the checks matters (RFC 8725): the header is read first and
 * the token refused before any signature work unless its algorithm is one
 * of three asymmetric ones and fits the key it names; no claim of the
 * payload is believed, or even parsed, before the signature is good. The
 * algorithm never chooses the key type: an RSA key verifies RS256 or
 * PS256, an EC key ES256, so a token "signed" with HMAC keyed by the
 * provider's public key has nothing to be checked against. Keys come from
 * the configured provider's key set only; jku, jwk, x5u and x5c in a
 * header are ignored.
 */
#include "internal.h"

#include "auth/jose.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- key sets --------------------------------------------------------------- */

enum { TH__KTY_RSA = 1, TH__KTY_EC = 2 };

typedef struct th__jwk {
  char *kid;      /* NULL when the key has none */
  int kty;        /* TH__KTY_* */
  unsigned algs;  /* what it may verify: its "alg", or every one its kty allows */
  EVP_PKEY *pkey;
} th__jwk;

struct th__jwks {
  size_t n;
  th__jwk keys[];
};

static unsigned th__alg_bit(const char *alg) {
  if (strcmp(alg, "RS256") == 0)
    return TH__JWS_RS256;
  if (strcmp(alg, "PS256") == 0)
    return TH__JWS_PS256;
  if (strcmp(alg, "ES256") == 0)
    return TH__JWS_ES256;
  return 0;
}

static const char *th__alg_name(unsigned bit) {
  return bit == TH__JWS_RS256   ? "RS256"
         : bit == TH__JWS_PS256 ? "PS256"
         : bit == TH__JWS_ES256 ? "ES256"
                                : "?";
}

/* A base64url member of a JWK, decoded, with its length; NULL if absent
 * or not strict base64url. */
static unsigned char *th__jwk_bytes(json_t *jwk, const char *name,
                                    size_t *len) {
  json_t *v = json_object_get(jwk, name);
  if (!json_is_string(v) || json_string_length(v) == 0)
    return NULL;
  return th__b64url_decode(json_string_value(v), json_string_length(v), len);
}

static EVP_PKEY *th__pkey_from(const char *type, OSSL_PARAM_BLD *bld) {
  EVP_PKEY *pkey = NULL;
  OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
  EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
  if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) <= 0 ||
      EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
    pkey = NULL;
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  return pkey;
}

static EVP_PKEY *th__rsa_from_jwk(json_t *jwk) {
  size_t nlen = 0, elen = 0;
  unsigned char *n = th__jwk_bytes(jwk, "n", &nlen);
  unsigned char *e = th__jwk_bytes(jwk, "e", &elen);
  EVP_PKEY *pkey = NULL;
  BIGNUM *bn = NULL, *be = NULL;
  OSSL_PARAM_BLD *bld = NULL;
  /* A modulus with a leading zero byte is not the shortest spelling
   * (RFC 7518 section 6.3.1.1); a key under 2048 bits is too weak; an
   * exponent must be odd and more than 1, in at most 4 bytes. */
  if (n == NULL || e == NULL || n[0] == 0 || nlen * 8 < TH__RSA_MIN_BITS ||
      nlen > 1024 || elen > 4 || e[0] == 0 || (e[elen - 1] & 1) == 0 ||
      (elen == 1 && e[0] == 1))
    goto done;
  bn = BN_bin2bn(n, (int)nlen, NULL);
  be = BN_bin2bn(e, (int)elen, NULL);
  bld = OSSL_PARAM_BLD_new();
  if (bn == NULL || be == NULL || bld == NULL ||
      !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) ||
      !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be))
    goto done;
  pkey = th__pkey_from("RSA", bld);
done:
  OSSL_PARAM_BLD_free(bld);
  BN_free(bn);
  BN_free(be);
  free(n);
  free(e);
  return pkey;
}

static EVP_PKEY *th__ec_from_jwk(json_t *jwk) {
  json_t *crv = json_object_get(jwk, "crv");
  if (!json_is_string(crv) || strcmp(json_string_value(crv), "P-256") != 0)
    return NULL;
  size_t xlen = 0, ylen = 0;
  unsigned char *x = th__jwk_bytes(jwk, "x", &xlen);
  unsigned char *y = th__jwk_bytes(jwk, "y", &ylen);
  EVP_PKEY *pkey = NULL;
  OSSL_PARAM_BLD *bld = NULL;
  /* P-256 coordinates are exactly 32 bytes each (RFC 7518 6.2.1.2). */
  if (x == NULL || y == NULL || xlen != 32 || ylen != 32)
    goto done;
  unsigned char point[65];
  point[0] = 0x04; /* uncompressed */
  memcpy(point + 1, x, 32);
  memcpy(point + 33, y, 32);
  bld = OSSL_PARAM_BLD_new();
  if (bld == NULL ||
      !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
                                       "prime256v1", 0) ||
      !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point,
                                        sizeof point))
    goto done;
  pkey = th__pkey_from("EC", bld);
  if (pkey) {
    /* A point off the curve (an invalid-curve attack's key) is refused
     * here, not trusted to fail later. */
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
    if (ctx == NULL || EVP_PKEY_public_check(ctx) != 1) {
      EVP_PKEY_free(pkey);
      pkey = NULL;
    }
    EVP_PKEY_CTX_free(ctx);
  }
done:
  OSSL_PARAM_BLD_free(bld);
  free(x);
  free(y);
  return pkey;
}

/* Reads one JWK into k: true if it is a usable verification key. */
static bool th__jwk_read(json_t *jwk, th__jwk *k) {
  memset(k, 0, sizeof *k);
  if (!json_is_object(jwk))
    return false;
  json_t *kty = json_object_get(jwk, "kty");
  json_t *use = json_object_get(jwk, "use");
  json_t *ops = json_object_get(jwk, "key_ops");
  json_t *alg = json_object_get(jwk, "alg");
  json_t *kid = json_object_get(jwk, "kid");
  if (!json_is_string(kty))
    return false;
  if (use != NULL &&
      !(json_is_string(use) && strcmp(json_string_value(use), "sig") == 0))
    return false;
  if (ops != NULL) {
    bool verify = false;
    size_t i;
    json_t *v;
    if (!json_is_array(ops))
      return false;
    json_array_foreach(ops, i, v) {
      if (json_is_string(v) && strcmp(json_string_value(v), "verify") == 0)
        verify = true;
    }
    if (!verify)
      return false;
  }
  if (kid != NULL && (!json_is_string(kid) || json_string_length(kid) == 0 ||
                      json_string_length(kid) > 256))
    return false;
  const char *t = json_string_value(kty);
  if (strcmp(t, "RSA") == 0) {
    k->kty = TH__KTY_RSA;
    k->algs = TH__JWS_RS256 | TH__JWS_PS256;
  } else if (strcmp(t, "EC") == 0) {
    k->kty = TH__KTY_EC;
    k->algs = TH__JWS_ES256;
  } else {
    return false; /* "oct" among them: never an HMAC key */
  }
  if (alg != NULL) {
    unsigned bit = json_is_string(alg) ? th__alg_bit(json_string_value(alg)) : 0;
    if ((bit & k->algs) == 0)
      return false;
    k->algs = bit;
  }
  k->pkey = k->kty == TH__KTY_RSA ? th__rsa_from_jwk(jwk) : th__ec_from_jwk(jwk);
  if (k->pkey == NULL)
    return false;
  if (kid != NULL) {
    k->kid = th__strdup(json_string_value(kid));
    if (k->kid == NULL) {
      EVP_PKEY_free(k->pkey);
      k->pkey = NULL;
      return false;
    }
  }
  return true;
}

int th__jwks_parse(const char *json, size_t len, th__jwks **out,
                   size_t *ignored, const char **why) {
  *out = NULL;
  if (ignored)
    *ignored = 0;
  if (json == NULL || len > TH__JWKS_MAX_BYTES) {
    *why = "key set (JWKS) is larger than townhall accepts";
    return TH_EAUTH;
  }
  json_error_t err;
  json_t *doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, &err);
  json_t *keys = json_is_object(doc) ? json_object_get(doc, "keys") : NULL;
  if (!json_is_array(keys)) {
    json_decref(doc);
    *why = "key set (JWKS) is not a JSON object with a \"keys\" array";
    return TH_EAUTH;
  }
  size_t count = json_array_size(keys);
  if (count > TH__JWKS_MAX_KEYS) {
    json_decref(doc);
    *why = "key set (JWKS) holds more keys than townhall accepts";
    return TH_EAUTH;
  }
  th__jwks *set = calloc(1, sizeof *set + count * sizeof(th__jwk));
  if (set == NULL) {
    json_decref(doc);
    *why = "out of memory";
    return TH_ENOMEM;
  }
  size_t i;
  json_t *v;
  json_array_foreach(keys, i, v) {
    if (th__jwk_read(v, &set->keys[set->n]))
      set->n++;
    else if (ignored)
      (*ignored)++;
  }
  json_decref(doc);
  if (set->n == 0) {
    th__jwks_free(set);
    *why = "key set (JWKS) holds no RSA or P-256 signing key";
    return TH_EAUTH;
  }
  *out = set;
  return TH_OK;
}

void th__jwks_free(th__jwks *set) {
  if (set == NULL)
    return;
  for (size_t i = 0; i < set->n; i++) {
    EVP_PKEY_free(set->keys[i].pkey);
    free(set->keys[i].kid);
  }
  free(set);
}

size_t th__jwks_count(const th__jwks *set) { return set ? set->n : 0; }

/* ---- signatures ------------------------------------------------------------- */

/* The DER form libcrypto verifies of a JWS ECDSA signature, which is the
 * raw r || s, 32 bytes each (RFC 7518 section 3.4). *der OPENSSL_free'd. */
static int th__es256_der(const unsigned char *sig, unsigned char **der) {
  ECDSA_SIG *es = ECDSA_SIG_new();
  BIGNUM *r = BN_bin2bn(sig, 32, NULL);
  BIGNUM *s = BN_bin2bn(sig + 32, 32, NULL);
  int len = -1;
  if (es && r && s && ECDSA_SIG_set0(es, r, s)) {
    r = s = NULL; /* es owns them */
    *der = NULL;
    len = i2d_ECDSA_SIG(es, der);
  }
  BN_free(r);
  BN_free(s);
  ECDSA_SIG_free(es);
  return len;
}

static bool th__sig_ok(EVP_PKEY *pkey, unsigned alg, const void *data,
                       size_t len, const unsigned char *sig, size_t sig_len) {
  unsigned char *der = NULL;
  if (alg == TH__JWS_ES256) {
    if (sig_len != 64)
      return false;
    int n = th__es256_der(sig, &der);
    if (n <= 0)
      return false;
    sig = der;
    sig_len = (size_t)n;
  } else if (sig_len != (size_t)EVP_PKEY_get_size(pkey)) {
    return false;
  }
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  EVP_PKEY_CTX *pctx = NULL;
  bool ok = md != NULL &&
            EVP_DigestVerifyInit_ex(md, &pctx, "SHA256", NULL, NULL, pkey,
                                    NULL) == 1;
  if (ok && alg == TH__JWS_PS256) {
    /* RFC 7518 section 3.5: MGF1 with SHA-256, a salt as long as the
     * hash; any other salt length is refused. */
    ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
         EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, "SHA256", NULL) > 0 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) > 0;
  } else if (ok && alg == TH__JWS_RS256) {
    ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) > 0;
  }
  ok = ok && EVP_DigestVerify(md, sig, sig_len, data, len) == 1;
  EVP_MD_CTX_free(md);
  OPENSSL_free(der);
  return ok;
}

int th__jws_verify(const th__jwks *keys, const char *tok, size_t len,
                   unsigned algs, json_t **payload, const char **why) {
  *payload = NULL;
  if (algs == 0)
    algs = TH__JWS_ANY;
  algs &= TH__JWS_ANY;
  if (tok == NULL || len == 0) {
    *why = "no token";
    return TH_EAUTH;
  }
  if (len > TH__JWS_MAX_BYTES) {
    *why = "token is larger than townhall accepts";
    return TH_EAUTH;
  }
  size_t d1, d2;
  if (!th__jws_split(tok, len, &d1, &d2)) {
    *why = "token is not a compact JWS (three base64url parts)";
    return TH_EAUTH;
  }
  json_t *header = th__b64url_json(tok, d1);
  if (header == NULL) {
    *why = "token header is not base64url JSON (or repeats a member)";
    return TH_EAUTH;
  }
  json_t *jalg = json_object_get(header, "alg");
  json_t *typ = json_object_get(header, "typ");
  json_t *jkid = json_object_get(header, "kid");
  const char *alg = json_is_string(jalg) ? json_string_value(jalg) : "";
  unsigned bit = th__alg_bit(alg);
  int rc = TH_EAUTH;
  const th__jwk *key = NULL;
  if (json_object_get(header, "crit") != NULL) {
    /* Extensions we cannot honour must not be ignored (RFC 7515 4.1.11);
     * we honour none. */
    *why = "token header has critical extensions (crit)";
    goto out;
  }
  if (typ != NULL && !(json_is_string(typ) &&
                       strcasecmp(json_string_value(typ), "JWT") == 0)) {
    *why = "token type (typ) is not JWT";
    goto out;
  }
  if (!json_is_string(jalg)) {
    *why = "token header has no algorithm (alg)";
    goto out;
  }
  if (strcasecmp(alg, "none") == 0) {
    *why = "unsigned token (alg none) refused";
    goto out;
  }
  if (strncmp(alg, "HS", 2) == 0) {
    *why = "HMAC-signed token (alg HS*) refused: only RS256, PS256 and "
           "ES256 are accepted";
    goto out;
  }
  if (bit == 0) {
    *why = "token algorithm (alg) is not RS256, PS256 or ES256";
    goto out;
  }
  if ((bit & algs) == 0) {
    *why = "token algorithm (alg) is not the one configured for this "
           "provider";
    goto out;
  }
  if (jkid != NULL && !json_is_string(jkid)) {
    *why = "token key id (kid) is not a string";
    goto out;
  }
  /* The key: the one the kid names that fits alg. */
  bool kid_known = false;
  size_t fits = 0;
  for (size_t i = 0; keys && i < keys->n; i++) {
    const th__jwk *k = &keys->keys[i];
    if (jkid != NULL && (k->kid == NULL ||
                         strcmp(k->kid, json_string_value(jkid)) != 0))
      continue;
    kid_known = true;
    if (k->algs & bit) {
      if (key == NULL)
        key = k;
      fits++;
    }
  }
  if (jkid != NULL && !kid_known) {
    *why = "unknown key (kid): not in the provider's key set";
    rc = TH_ENOTFOUND;
    key = NULL;
    goto out;
  }
  if (key == NULL) {
    *why = jkid != NULL ? "token algorithm (alg) does not fit its key "
                          "(kty or the key's alg)"
                        : "token names no key (kid) and no key fits its "
                          "algorithm";
    goto out;
  }
  if (jkid == NULL && fits > 1) {
    *why = "token names no key (kid) and several keys could have signed it";
    key = NULL;
    goto out;
  }
  size_t sig_len = 0;
  unsigned char *sig = th__b64url_decode(tok + d2 + 1, len - d2 - 1, &sig_len);
  if (sig == NULL) {
    *why = "token signature is not base64url";
    goto out;
  }
  bool good = th__sig_ok(key->pkey, bit, tok, d2, sig, sig_len);
  free(sig);
  if (!good) {
    *why = "bad signature";
    goto out;
  }
  *payload = th__b64url_json(tok + d1 + 1, d2 - d1 - 1);
  if (*payload == NULL) {
    *why = "token payload is not base64url JSON (or repeats a member)";
    goto out;
  }
  *why = NULL;
  rc = TH_OK;
out:
  json_decref(header);
  return rc;
}

/* ---- ID-token claims -------------------------------------------------------- */

static bool th__claim_is(json_t *claims, const char *name, const char *want) {
  json_t *v = json_object_get(claims, name);
  return json_is_string(v) && strlen(want) == json_string_length(v) &&
         strcmp(json_string_value(v), want) == 0;
}

/* The issuer to expect: expect->issuer, with Entra ID's placeholder
 * replaced by the pinned tenant. NULL (and *why) if that cannot be. */
static char *th__issuer_expected(const th__id_expect *e, const char **why) {
  const char *ph = strstr(e->issuer, TH__TENANT_PLACEHOLDER);
  if (ph == NULL)
    return th__strdup(e->issuer);
  if (e->tid == NULL || e->tid[0] == '\0') {
    *why = "a multi-tenant issuer ({tenantid}) needs the council's tenant "
           "(tid) pinned";
    return NULL;
  }
  th__sbuf b = {0};
  th__sbuf_put(&b, e->issuer, (size_t)(ph - e->issuer));
  th__sbuf_puts(&b, e->tid);
  th__sbuf_puts(&b, ph + strlen(TH__TENANT_PLACEHOLDER));
  if (b.oom) {
    th__sbuf_free(&b);
    *why = "out of memory";
    return NULL;
  }
  return b.p;
}

int th__id_claims_check(json_t *claims, const th__id_expect *e,
                        const char **why) {
  if (e == NULL || e->issuer == NULL || e->client_id == NULL ||
      e->nonce == NULL || e->issuer[0] == '\0' || e->client_id[0] == '\0' ||
      e->nonce[0] == '\0') {
    *why = "issuer, client and nonce are required to check an ID token";
    return TH_EINVAL;
  }
  if (!json_is_object(claims)) {
    *why = "token payload is not a JSON object";
    return TH_EAUTH;
  }
  char *iss = th__issuer_expected(e, why);
  if (iss == NULL)
    return TH_EINVAL;
  bool iss_ok = th__claim_is(claims, "iss", iss);
  free(iss);
  if (!iss_ok) {
    *why = "issuer (iss) is not the configured provider";
    return TH_EAUTH;
  }
  json_t *aud = json_object_get(claims, "aud");
  if (!th__jwt_aud_contains(aud, e->client_id)) {
    *why = "audience (aud) does not include this client";
    return TH_EAUTH;
  }
  /* OpenID Connect Core 3.1.3.7, items 4 and 5: with other audiences the
   * token must say it was issued to us (azp); when azp is there at all it
   * must be us. */
  json_t *azp = json_object_get(claims, "azp");
  bool several = json_is_array(aud) && json_array_size(aud) > 1;
  if ((several || azp != NULL) && !th__claim_is(claims, "azp", e->client_id)) {
    *why = azp == NULL ? "token has several audiences and no authorized "
                         "party (azp)"
                       : "authorized party (azp) is not this client";
    return TH_EAUTH;
  }
  int64_t exp = 0, iat = 0, nbf = 0;
  if (!th__jwt_time_claim(claims, "exp", true, &exp)) {
    *why = "token has no usable expiry (exp)";
    return TH_EAUTH;
  }
  if (exp + TH__ID_TOKEN_SKEW_S <= e->now_s) {
    *why = "token has expired (exp)";
    return TH_EAUTH;
  }
  if (!th__jwt_time_claim(claims, "iat", true, &iat)) {
    *why = "token has no usable issue time (iat)";
    return TH_EAUTH;
  }
  if (iat > e->now_s + TH__ID_TOKEN_SKEW_S) {
    *why = "token was issued in the future (iat)";
    return TH_EAUTH;
  }
  if (!th__jwt_time_claim(claims, "nbf", false, &nbf) ||
      nbf > e->now_s + TH__ID_TOKEN_SKEW_S) {
    *why = "token is not valid yet (nbf)";
    return TH_EAUTH;
  }
  json_t *nonce = json_object_get(claims, "nonce");
  if (!json_is_string(nonce)) {
    *why = "token has no nonce";
    return TH_EAUTH;
  }
  size_t nlen = strlen(e->nonce);
  if (json_string_length(nonce) != nlen ||
      sodium_memcmp(json_string_value(nonce), e->nonce, nlen) != 0) {
    *why = "nonce does not match this sign-in";
    return TH_EAUTH;
  }
  if (e->tid != NULL && !th__claim_is(claims, "tid", e->tid)) {
    *why = "tenant (tid) is not the council's";
    return TH_EAUTH;
  }
  if (e->hd != NULL && !th__claim_is(claims, "hd", e->hd)) {
    *why = "hosted domain (hd) is not the council's";
    return TH_EAUTH;
  }
  json_t *sub = json_object_get(claims, "sub");
  if (!json_is_string(sub) || json_string_length(sub) == 0 ||
      json_string_length(sub) > TH__SUB_MAX ||
      strlen(json_string_value(sub)) != json_string_length(sub)) {
    *why = "token has no usable subject (sub)";
    return TH_EAUTH;
  }
  *why = NULL;
  return TH_OK;
}

int th__id_token_verify(const th__jwks *keys, const char *tok, size_t len,
                        unsigned algs, const th__id_expect *expect,
                        json_t **claims, const char **why) {
  if (claims)
    *claims = NULL;
  json_t *payload = NULL;
  int rc = th__jws_verify(keys, tok, len, algs, &payload, why);
  if (rc == TH_OK)
    rc = th__id_claims_check(payload, expect, why);
  if (rc == TH_OK && claims)
    *claims = payload;
  else
    json_decref(payload);
  return rc;
}

/* ---- re-fetch rate limit ---------------------------------------------------- */

bool th__jwks_refetch_may(th__refetch *r, const char *issuer, int64_t now_s) {
  if (issuer == NULL)
    return false;
  pthread_mutex_lock(&r->lock);
  bool may = false;
  int hit = -1, empty = -1, oldest = -1;
  for (int i = 0; i < TH__JWKS_REFETCH_ISSUERS; i++) {
    if (r->slot[i].issuer == NULL) {
      if (empty < 0)
        empty = i;
    } else if (strcmp(r->slot[i].issuer, issuer) == 0) {
      hit = i;
      break;
    } else if (oldest < 0 || r->slot[i].last_s < r->slot[oldest].last_s) {
      oldest = i;
    }
  }
  if (hit >= 0) {
    /* A clock that went back counts as "just now": no burst then. */
    int64_t last = r->slot[hit].last_s;
    if (now_s >= last + TH__JWKS_REFETCH_S) {
      r->slot[hit].last_s = now_s;
      may = true;
    }
  } else {
    int i = empty >= 0 ? empty : oldest;
    char *copy = th__strdup(issuer);
    if (copy != NULL) {
      free(r->slot[i].issuer);
      r->slot[i].issuer = copy;
      r->slot[i].last_s = now_s;
      may = true;
    }
  }
  pthread_mutex_unlock(&r->lock);
  return may;
}

void th__refetch_clear(th__refetch *r) {
  pthread_mutex_lock(&r->lock);
  for (int i = 0; i < TH__JWKS_REFETCH_ISSUERS; i++) {
    free(r->slot[i].issuer);
    r->slot[i].issuer = NULL;
    r->slot[i].last_s = 0;
  }
  pthread_mutex_unlock(&r->lock);
}

/* ---- PKCE, state, nonce ----------------------------------------------------- */

static bool th__pkce_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
         c == '~';
}

int th__pkce_verifier(char *out, size_t len) {
  if (out == NULL || len < TH__PKCE_VERIFIER_MIN || len > TH__PKCE_VERIFIER_MAX)
    return TH_EINVAL;
  /* base64url of random bytes is in the unreserved alphabet: 96 bytes give
   * 128 characters, of which the first len are taken. */
  unsigned char raw[96];
  char text[sodium_base64_ENCODED_LEN(96,
                                      sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
  randombytes_buf(raw, sizeof raw);
  sodium_bin2base64(text, sizeof text, raw, sizeof raw,
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  memcpy(out, text, len);
  out[len] = '\0';
  sodium_memzero(raw, sizeof raw);
  sodium_memzero(text, sizeof text);
  return TH_OK;
}

int th__pkce_challenge(const char *verifier,
                       char out[TH__PKCE_CHALLENGE_LEN + 1]) {
  if (verifier == NULL || out == NULL)
    return TH_EINVAL;
  size_t n = strlen(verifier);
  if (n < TH__PKCE_VERIFIER_MIN || n > TH__PKCE_VERIFIER_MAX)
    return TH_EINVAL;
  for (size_t i = 0; i < n; i++)
    if (!th__pkce_char(verifier[i]))
      return TH_EINVAL;
  unsigned char h[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(h, (const unsigned char *)verifier, n);
  sodium_bin2base64(out, TH__PKCE_CHALLENGE_LEN + 1, h, sizeof h,
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  return TH_OK;
}

void th__oidc_random(char out[TH__PKCE_CHALLENGE_LEN + 1]) {
  unsigned char raw[32];
  randombytes_buf(raw, sizeof raw);
  sodium_bin2base64(out, TH__PKCE_CHALLENGE_LEN + 1, raw, sizeof raw,
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  sodium_memzero(raw, sizeof raw);
}

/* ---- private_key_jwt -------------------------------------------------------- */

struct th__jose_signer {
  EVP_PKEY *pkey;
  unsigned alg; /* TH__JWS_RS256 or TH__JWS_ES256 */
  char kid[TH__PKCE_CHALLENGE_LEN + 1]; /* the RFC 7638 thumbprint */
};

/* A BIGNUM parameter of pkey as base64url; `pad` bytes wide when not 0. */
static char *th__bn_b64(const EVP_PKEY *pkey, const char *name, int pad) {
  BIGNUM *bn = NULL;
  char *out = NULL;
  if (!EVP_PKEY_get_bn_param(pkey, name, &bn))
    return NULL;
  int n = pad ? pad : BN_num_bytes(bn);
  unsigned char *raw = malloc((size_t)n + 1);
  if (raw && BN_bn2binpad(bn, raw, n) == n)
    out = th__b64url_encode(raw, (size_t)n);
  free(raw);
  BN_free(bn);
  return out;
}

/* The public JWK's members as RFC 7638 orders them (lexically, required
 * members only), into b; with the extras when `full`. */
static void th__signer_jwk_put(const th__jose_signer *s, th__sbuf *b,
                               bool full) {
  char *p1 = NULL, *p2 = NULL;
  if (s->alg == TH__JWS_RS256) {
    p1 = th__bn_b64(s->pkey, OSSL_PKEY_PARAM_RSA_E, 0);
    p2 = th__bn_b64(s->pkey, OSSL_PKEY_PARAM_RSA_N, 0);
    if (p1 && p2)
      th__sbuf_printf(b, "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"", p1, p2);
  } else {
    p1 = th__bn_b64(s->pkey, OSSL_PKEY_PARAM_EC_PUB_X, 32);
    p2 = th__bn_b64(s->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, 32);
    if (p1 && p2)
      th__sbuf_printf(b, "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\","
                         "\"y\":\"%s\"", p1, p2);
  }
  if (p1 == NULL || p2 == NULL)
    b->oom = true;
  else if (full)
    th__sbuf_printf(b, ",\"kid\":\"%s\",\"use\":\"sig\",\"alg\":\"%s\"", s->kid,
                    th__alg_name(s->alg));
  th__sbuf_putc(b, '}');
  free(p1);
  free(p2);
}

int th__jose_signer_load(th_db *db, const char *path, th__jose_signer **out) {
  *out = NULL;
  if (path == NULL)
    return th__err(db, TH_EINVAL, "no private key file");
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return th__err(db, TH_EKEY, "cannot open private key file %s: %s", path,
                   strerror(errno));
  struct stat sb;
  if (fstat(fd, &sb) != 0) {
    int e = errno;
    close(fd);
    return th__err(db, TH_EKEY, "cannot stat private key file %s: %s", path,
                   strerror(e));
  }
  int rc = th__check_private(db, "private key file", path, &sb);
  if (rc == TH_OK && (sb.st_size <= 0 || sb.st_size > (off_t)64 * 1024))
    rc = th__err(db, TH_EKEY, "private key file %s is empty or too large",
                 path);
  if (rc < 0) {
    close(fd);
    return rc;
  }
  FILE *f = fdopen(fd, "r");
  if (f == NULL) {
    close(fd);
    return th__err(db, TH_ENOMEM, "out of memory");
  }
  /* No passphrase callback: an encrypted key is refused, never prompted
   * for on a server's terminal. */
  EVP_PKEY *pkey = PEM_read_PrivateKey(f, NULL, NULL, (void *)"");
  (void)fclose(f); /* read only: nothing to lose */
  if (pkey == NULL)
    return th__err(db, TH_EKEY,
                   "private key file %s holds no unencrypted PEM private key",
                   path);
  unsigned alg = 0;
  if (EVP_PKEY_is_a(pkey, "RSA")) {
    if (EVP_PKEY_get_bits(pkey) >= TH__RSA_MIN_BITS)
      alg = TH__JWS_RS256;
  } else if (EVP_PKEY_is_a(pkey, "EC")) {
    char group[64] = "";
    size_t glen = 0;
    if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group,
                                       sizeof group, &glen) &&
        (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0))
      alg = TH__JWS_ES256;
  }
  if (alg == 0) {
    EVP_PKEY_free(pkey);
    return th__err(db, TH_EKEY,
                   "private key file %s: the key must be RSA of %d bits or "
                   "more, or EC on P-256",
                   path, TH__RSA_MIN_BITS);
  }
  th__jose_signer *s = calloc(1, sizeof *s);
  if (s == NULL) {
    EVP_PKEY_free(pkey);
    return th__err(db, TH_ENOMEM, "out of memory");
  }
  s->pkey = pkey;
  s->alg = alg;
  th__sbuf b = {0};
  th__signer_jwk_put(s, &b, false);
  if (b.oom || b.p == NULL) {
    th__sbuf_free(&b);
    th__jose_signer_free(s);
    return th__err(db, TH_ENOMEM, "out of memory");
  }
  unsigned char h[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(h, (const unsigned char *)b.p, b.len);
  sodium_bin2base64(s->kid, sizeof s->kid, h, sizeof h,
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  th__sbuf_free(&b);
  *out = s;
  return TH_OK;
}

void th__jose_signer_free(th__jose_signer *s) {
  if (s == NULL)
    return;
  EVP_PKEY_free(s->pkey);
  free(s);
}

unsigned th__jose_signer_alg(const th__jose_signer *s) { return s->alg; }

int th__jose_signer_jwk(const th__jose_signer *s, char **out) {
  *out = NULL;
  th__sbuf b = {0};
  th__signer_jwk_put(s, &b, true);
  if (b.oom || b.p == NULL) {
    th__sbuf_free(&b);
    return TH_ENOMEM;
  }
  *out = b.p;
  return TH_OK;
}

/* Signs data with the signer's key: the JWS signature bytes (for ES256 the
 * raw r || s), malloc'd, or NULL. */
static unsigned char *th__sign(const th__jose_signer *s, const void *data,
                               size_t len, size_t *sig_len) {
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  EVP_PKEY_CTX *pctx = NULL;
  unsigned char *der = NULL, *out = NULL;
  size_t der_len = 0;
  if (md == NULL ||
      EVP_DigestSignInit_ex(md, &pctx, "SHA256", NULL, NULL, s->pkey, NULL) != 1 ||
      (s->alg == TH__JWS_RS256 &&
       EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) <= 0) ||
      EVP_DigestSign(md, NULL, &der_len, data, len) != 1 ||
      (der = malloc(der_len)) == NULL ||
      EVP_DigestSign(md, der, &der_len, data, len) != 1)
    goto done;
  if (s->alg == TH__JWS_RS256) {
    out = der;
    der = NULL;
    *sig_len = der_len;
  } else {
    const unsigned char *p = der;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    out = es ? malloc(64) : NULL;
    if (out && (BN_bn2binpad(ECDSA_SIG_get0_r(es), out, 32) != 32 ||
                BN_bn2binpad(ECDSA_SIG_get0_s(es), out + 32, 32) != 32)) {
      free(out);
      out = NULL;
    }
    ECDSA_SIG_free(es);
    *sig_len = 64;
  }
done:
  free(der);
  EVP_MD_CTX_free(md);
  return out;
}

int th__client_assertion(const th__jose_signer *s, const char *client_id,
                         const char *audience, int64_t now_s, char **out) {
  *out = NULL;
  if (s == NULL || client_id == NULL || audience == NULL ||
      client_id[0] == '\0' || audience[0] == '\0')
    return TH_EINVAL;
  char jti[TH__PKCE_CHALLENGE_LEN + 1];
  th__oidc_random(jti);
  json_t *hdr = json_pack("{s:s,s:s,s:s}", "alg", th__alg_name(s->alg), "typ",
                          "JWT", "kid", s->kid);
  json_t *claims = json_pack("{s:s,s:s,s:s,s:s,s:I,s:I}", "iss", client_id,
                             "sub", client_id, "aud", audience, "jti", jti,
                             "iat", (json_int_t)now_s, "exp",
                             (json_int_t)now_s + 60);
  char *h = hdr ? json_dumps(hdr, JSON_COMPACT) : NULL;
  char *p = claims ? json_dumps(claims, JSON_COMPACT) : NULL;
  json_decref(hdr);
  json_decref(claims);
  char *h64 = h ? th__b64url_encode(h, strlen(h)) : NULL;
  char *p64 = p ? th__b64url_encode(p, strlen(p)) : NULL;
  free(h);
  free(p);
  int rc = TH_ENOMEM;
  th__sbuf b = {0};
  if (h64 && p64) {
    th__sbuf_printf(&b, "%s.%s", h64, p64);
    size_t sig_len = 0;
    unsigned char *sig = b.oom ? NULL : th__sign(s, b.p, b.len, &sig_len);
    char *sig64 = sig ? th__b64url_encode(sig, sig_len) : NULL;
    if (sig == NULL && !b.oom)
      rc = TH_EIO;
    if (sig64) {
      th__sbuf_printf(&b, ".%s", sig64);
      if (!b.oom) {
        *out = b.p;
        b.p = NULL;
        rc = TH_OK;
      }
    }
    free(sig);
    free(sig64);
  }
  free(h64);
  free(p64);
  th__sbuf_free(&b);
  return rc;
}
