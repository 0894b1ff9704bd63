/*
 * jwt.c: resident JWTs for the vote load, signed as a council's app signs
 * them: HS256 with the site's secret, {"sub","aud","exp"}, exp 50 minutes
 * ahead (under the hour the bench promises), every sub distinct.
 *
 *   jwt SECRET_FILE SITE PREFIX THREADS COUNT OUTDIR
 *
 * Writes OUTDIR/jwt-<t>.txt for t = 1..THREADS, COUNT tokens each, one per
 * line, for sub "<PREFIX>-<t>-<n>": each wrk thread reads its own file.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static size_t b64url(char *out, size_t cap, const void *in, size_t len) {
  sodium_bin2base64(out, cap, in, len,
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  return strlen(out);
}

int main(int argc, char **argv) {
  if (argc != 7) {
    fprintf(stderr,
            "usage: jwt SECRET_FILE SITE PREFIX THREADS COUNT OUTDIR\n");
    return 2;
  }
  if (sodium_init() < 0)
    return 1;
  unsigned char secret[256];
  FILE *f = fopen(argv[1], "rb");
  size_t slen = f ? fread(secret, 1, sizeof secret, f) : 0;
  if (f)
    fclose(f);
  while (slen && (secret[slen - 1] == '\n' || secret[slen - 1] == '\r'))
    slen--;
  if (slen < 32) {
    fprintf(stderr, "jwt: the secret must be at least 32 bytes\n");
    return 1;
  }
  const char *site = argv[2], *prefix = argv[3];
  int threads = atoi(argv[4]);
  long count = atol(argv[5]);
  long long exp = (long long)time(NULL) + 3000;
  static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
  char h64[64];
  size_t hl = b64url(h64, sizeof h64, header, sizeof header - 1);
  for (int t = 1; t <= threads; t++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/jwt-%d.txt", argv[6], t);
    FILE *out = fopen(path, "w");
    if (out == NULL) {
      perror(path);
      return 1;
    }
    setvbuf(out, NULL, _IOFBF, 1 << 20);
    for (long n = 0; n < count; n++) {
      char payload[256], signing[512], sig[64];
      int pl = snprintf(payload, sizeof payload,
                        "{\"sub\":\"%s-%d-%ld\",\"aud\":\"%s\",\"exp\":%lld}",
                        prefix, t, n, site, exp);
      memcpy(signing, h64, hl);
      signing[hl] = '.';
      size_t sl = hl + 1 +
                  b64url(signing + hl + 1, sizeof signing - hl - 1, payload,
                         (size_t)pl);
      unsigned char mac[crypto_auth_hmacsha256_BYTES];
      crypto_auth_hmacsha256_state st;
      crypto_auth_hmacsha256_init(&st, secret, slen);
      crypto_auth_hmacsha256_update(&st, (const unsigned char *)signing, sl);
      crypto_auth_hmacsha256_final(&st, mac);
      b64url(sig, sizeof sig, mac, sizeof mac);
      fwrite(signing, 1, sl, out);
      fputc('.', out);
      fputs(sig, out);
      fputc('\n', out);
    }
    if (fclose(out) != 0) {
      perror(path);
      return 1;
    }
  }
  sodium_memzero(secret, sizeof secret);
  return 0;
}
