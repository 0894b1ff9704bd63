/*
 * jose.h: JSON Web Signatures and the OpenID Connect pieces built on them
 * (core/auth/jose.c): a provider's key set (JWKS, RFC 7517), compact JWS
 * verification with RS256, PS256 and ES256 only (RFC 7515, 7518, 8725),
 * the ID-token claim checks of OpenID Connect Core 3.1.3.7, the rate limit
 * on re-fetching a key set, PKCE (RFC 7636), state and nonce, and client
 * assertions for private_key_jwt (RFC 7523). The signature work is
 * OpenSSL's libcrypto; nothing here is hand-written cryptography.
 *
 * Every refusal comes with a static sentence naming the check that failed
 * (`why`); none of them quotes the token or any part of it, so a caller
 * may log it. docs/design/sign-in.md says what is accepted and why.
 *
 * The base64url, JSON and claim helpers at the top are shared with the
 * HS256 resident tokens (core/jwt.c): one strict decoder for both.
 */
#ifndef TH_AUTH_JOSE_H
#define TH_AUTH_JOSE_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "townhall.h"

/* ---- shared with the resident tokens (jwt.c) ------------------------------ */

/* Strict base64url without padding (RFC 7515 section 2): no '=', no white
 * space, no other alphabet, no leftover bits (so each value has exactly
 * one spelling). A malloc'd copy (one byte more than *out_len, NUL) or
 * NULL. */
unsigned char *th__b64url_decode(const char *s, size_t n, size_t *out_len);
/* base64url without padding of len bytes, NUL-terminated; malloc'd, or
 * NULL without memory. */
char *th__b64url_encode(const void *data, size_t len);
/* The JSON object base64url-encoded in s[0..n), members unique
 * (JSON_REJECT_DUPLICATES), or NULL. */
json_t *th__b64url_json(const char *s, size_t n);
/* The three parts of a compact JWS "h.p.s": the offsets of its two dots.
 * false unless there are exactly two. */
bool th__jws_split(const char *tok, size_t len, size_t *dot1, size_t *dot2);
/* A NumericDate claim (RFC 7519 section 2) of `payload`: true with *out set
 * when present and a number from 0 to 1e12 seconds (integers and reals; a
 * larger one would overflow the arithmetic around it), true and *out
 * untouched when absent and not `required`, false otherwise. */
bool th__jwt_time_claim(json_t *payload, const char *name, bool required,
                        int64_t *out);
/* Whether `aud` (a string or an array of strings) names `who` exactly. */
bool th__jwt_aud_contains(json_t *aud, const char *who);

/* ---- key sets -------------------------------------------------------------- */

/* The signature algorithms accepted, as bits of a mask. Nothing else is
 * ever accepted: not "none", not HS256/384/512 (whose key would be the
 * provider's public key, RFC 8725 section 2.1), not RS384 and friends. */
enum {
  TH__JWS_RS256 = 1 << 0,
  TH__JWS_PS256 = 1 << 1,
  TH__JWS_ES256 = 1 << 2,
  TH__JWS_ANY = TH__JWS_RS256 | TH__JWS_PS256 | TH__JWS_ES256
};

/* Caps on what a provider may send: a key set larger than this, or a token
 * longer, is refused before it is parsed. An ID token with a long groups
 * claim is a few KiB; Entra ID replaces more than 200 groups by an
 * "overage" claim. */
#define TH__JWKS_MAX_BYTES ((size_t)256 * 1024)
#define TH__JWKS_MAX_KEYS 64
#define TH__JWS_MAX_BYTES ((size_t)32 * 1024)
/* RSA keys shorter than this are ignored (RFC 7518 section 3.3). */
#define TH__RSA_MIN_BITS 2048

typedef struct th__jwks th__jwks;

/* Parses a JWKS document. Keys that are not RSA or EC P-256, whose "use"
 * is not "sig", whose "key_ops" lack "verify", whose "alg" is not one of
 * ours or does not fit their "kty", or that are malformed (an RSA modulus
 * under TH__RSA_MIN_BITS, a point off the curve) are left out and counted
 * in *ignored (may be NULL). TH_OK and *out (free with th__jwks_free);
 * TH_EAUTH with `why` for a document that is not a key set (too large,
 * not JSON, duplicate members, no "keys" array, more than
 * TH__JWKS_MAX_KEYS keys) or holds no usable key; TH_ENOMEM. */
int th__jwks_parse(const char *json, size_t len, th__jwks **out,
                   size_t *ignored, const char **why);
void th__jwks_free(th__jwks *keys);
/* How many usable keys the set holds. */
size_t th__jwks_count(const th__jwks *keys);

/* Verifies the compact JWS tok[0..len) with `keys`, accepting only the
 * algorithms in `algs` (TH__JWS_* bits; 0 means TH__JWS_ANY). The header
 * must be a JSON object without "crit", with "typ" absent or "JWT", and an
 * "alg" that is one of `algs` and fits the key; the key is the one whose
 * "kid" the header names (or the only key that fits when it names none).
 * TH_OK and *payload (a JSON object; json_decref it) once the signature
 * is good; TH_ENOTFOUND, why "unknown key (kid)", when no key has that
 * kid: the caller may re-fetch the key set once (th__jwks_refetch_may)
 * and try again; TH_EAUTH with `why` for anything else; TH_ENOMEM. No
 * claim is looked at here. */
int th__jws_verify(const th__jwks *keys, const char *tok, size_t len,
                   unsigned algs, json_t **payload, const char **why);

/* ---- ID tokens ------------------------------------------------------------- */

/* How far the provider's clock may be ahead of ours (iat, nbf) or behind
 * it (exp), in seconds. */
#define TH__ID_TOKEN_SKEW_S 60
/* Entra ID's multi-tenant issuers ("common", "organizations") publish
 * this placeholder in their discovery document's issuer. */
#define TH__TENANT_PLACEHOLDER "{tenantid}"

/* What an ID token must say (OpenID Connect Core 3.1.3.7). */
typedef struct th__id_expect {
  /* The issuer exactly as discovery gave it. One holding
   * TH__TENANT_PLACEHOLDER (Entra ID's multi-tenant issuers) needs `tid`:
   * the placeholder is replaced by it, so only the council's tenant
   * passes. */
  const char *issuer;
  const char *client_id;
  /* The nonce sent with the authorization request; compared in constant
   * time. Required. */
  const char *nonce;
  /* Tenant pins, NULL for none: the token's "tid" (Entra ID) and "hd"
   * (Google Workspace's hosted domain) must equal them exactly. */
  const char *tid;
  const char *hd;
  int64_t now_s; /* seconds since 1970 */
} th__id_expect;

/* The subject is at most this many bytes (OpenID Connect Core 2). */
#define TH__SUB_MAX 255

/* Checks the claims of a verified ID token: iss, aud (contains the
 * client), azp (the client, required when aud names others), exp, iat,
 * nbf (bounded skew), nonce, the tenant pins, and a usable sub. TH_OK, or
 * TH_EAUTH with `why` naming the first check that failed; TH_EINVAL (why
 * says so) for an `expect` without issuer, client or nonce, or a tenant
 * placeholder without `tid`. */
int th__id_claims_check(json_t *claims, const th__id_expect *expect,
                        const char **why);

/* th__jws_verify (algs as there) then th__id_claims_check: what the
 * relying party calls with the token endpoint's id_token. TH_OK and
 * *claims (json_decref it; may be NULL when not wanted); TH_ENOTFOUND for
 * an unknown key; TH_EAUTH with `why`. */
int th__id_token_verify(const th__jwks *keys, const char *tok, size_t len,
                        unsigned algs, const th__id_expect *expect,
                        json_t **claims, const char **why);

/* ---- re-fetching a key set ------------------------------------------------- */

/* An unknown kid makes the caller re-fetch the provider's key set (the
 * provider rotated its keys), but a stream of tokens with made-up kids
 * must not become a stream of requests to the provider: at most one
 * re-fetch per issuer in this many seconds. */
#define TH__JWKS_REFETCH_S 60
#define TH__JWKS_REFETCH_ISSUERS 32

typedef struct th__refetch {
  pthread_mutex_t lock;
  struct {
    char *issuer; /* malloc'd; NULL: free slot */
    int64_t last_s;
  } slot[TH__JWKS_REFETCH_ISSUERS];
} th__refetch;
#define TH__REFETCH_INIT {PTHREAD_MUTEX_INITIALIZER, {{NULL, 0}}}

/* true (and the time is recorded) if a re-fetch of `issuer`'s key set may
 * happen at now_s: none in the last TH__JWKS_REFETCH_S seconds. With every
 * slot taken, the issuer seen least recently gives its slot up. false on a
 * NULL issuer or without memory. Any thread. */
bool th__jwks_refetch_may(th__refetch *r, const char *issuer, int64_t now_s);
/* Frees the issuers' copies (the mutex is left as it is). */
void th__refetch_clear(th__refetch *r);

/* ---- PKCE, state, nonce ---------------------------------------------------- */

#define TH__PKCE_VERIFIER_MIN 43
#define TH__PKCE_VERIFIER_MAX 128
/* A challenge (and a state or nonce) is 43 characters and a NUL. */
#define TH__PKCE_CHALLENGE_LEN 43

/* A code verifier of `len` characters (43 to 128) from randombytes_buf,
 * in the unreserved alphabet, into out (len + 1 bytes). TH_OK, TH_EINVAL
 * for a length out of range. */
int th__pkce_verifier(char *out, size_t len);
/* The S256 challenge of `verifier`: base64url(SHA-256(verifier)), 43
 * characters, into out. TH_OK; TH_EINVAL for a verifier that is not 43 to
 * 128 unreserved characters. */
int th__pkce_challenge(const char *verifier,
                       char out[TH__PKCE_CHALLENGE_LEN + 1]);
/* A fresh state or nonce: 32 random bytes, base64url. */
void th__oidc_random(char out[TH__PKCE_CHALLENGE_LEN + 1]);

/* ---- private_key_jwt ------------------------------------------------------- */

typedef struct th__jose_signer th__jose_signer;

/* Reads the client's private key from the PEM file `path`, which must be
 * a regular file only its owner may read or write (as the key file:
 * th__check_private). An RSA key of at least TH__RSA_MIN_BITS signs
 * RS256, an EC P-256 key ES256; anything else is refused. TH_OK and *out
 * (free with th__jose_signer_free); TH_EKEY with a message on db (which
 * may be NULL) naming the file, never its contents. */
int th__jose_signer_load(th_db *db, const char *path, th__jose_signer **out);
void th__jose_signer_free(th__jose_signer *s);
/* TH__JWS_RS256 or TH__JWS_ES256. */
unsigned th__jose_signer_alg(const th__jose_signer *s);
/* The public half as a JWK (with kid, use "sig" and alg), what the
 * provider is given as the client's key set; the kid is the key's RFC
 * 7638 thumbprint. *out malloc'd. TH_OK, TH_ENOMEM. */
int th__jose_signer_jwk(const th__jose_signer *s, char **out);
/* A client assertion (RFC 7523 section 3, OpenID Connect Core 9): iss and
 * sub the client, aud the token endpoint, a random jti, iat now_s and exp
 * a minute later, signed with the key. *out malloc'd. TH_OK, TH_EINVAL,
 * TH_ENOMEM, TH_EIO (libcrypto refused to sign). */
int th__client_assertion(const th__jose_signer *s, const char *client_id,
                         const char *audience, int64_t now_s, char **out);

#endif /* TH_AUTH_JOSE_H */
