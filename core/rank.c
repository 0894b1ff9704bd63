/*
 * rank.c: the ranking keys stored with every idea (DESIGN.md section 6),
 * kept up to date in the same transaction as each vote. (The opaque
 * cursors that page through ranked lists are in util.c.)
 */
#include "internal.h"

#include <math.h>
#include <sodium.h>
#include <string.h>

/* Wilson score interval lower bound at 95% (z = 1.96) for pos successes out
 * of n: how good an item is at least, given how little we know. 0 if n is 0.
 */
double th__wilson_lower(int64_t pos, int64_t n) {
  if (n <= 0)
    return 0.0;
  const double z = 1.96;
  double nn = (double)n;
  double p = (double)pos / nn;
  double z2 = z * z;
  double centre = p + z2 / (2 * nn);
  double margin = z * sqrt((p * (1 - p) + z2 / (4 * nn)) / nn);
  double lb = (centre - margin) / (1 + z2 / nn);
  return lb < 0 ? 0 : lb;
}

/* Reddit's hot: sign(s) * log10(max(|s|, 1)) + seconds / 45000, with s = up
 * - down. Time enters only through the creation time, so the stored value
 * never needs recomputing as ideas age: newer ideas simply start higher (an
 * idea needs ten times the net votes to rank as high as one 12.5 h newer).
 */
double th__hot(int64_t up, int64_t down, th_time created) {
  int64_t s = up - down;
  double order = log10((double)(s < 0 ? -s : s) > 1 ? (double)(s < 0 ? -s : s)
                                                     : 1.0);
  double sign = s > 0 ? 1 : s < 0 ? -1 : 0;
  int64_t created_s = created / 1000; /* whole seconds, as Reddit's */
  return sign * order + (double)created_s / 45000.0;
}

/* Reddit's controversy: many votes, evenly split. (up+down)^(min/max), and 0
 * when either side has no votes at all (a one-sided idea is not
 * controversial however popular). */
double th__controversial(int64_t up, int64_t down) {
  if (up <= 0 || down <= 0)
    return 0.0;
  double magnitude = (double)(up + down);
  double balance = up > down ? (double)down / (double)up
                             : (double)up / (double)down;
  return pow(magnitude, balance);
}

/* A stable pseudo-random key for an idea under a seed: SipHash-2-4 of the id
 * keyed by the seed. The same seed always gives the same order, so pages of
 * a random list never overlap. */
uint64_t th__random_key(uint64_t seed, int64_t id) {
  unsigned char key[crypto_shorthash_KEYBYTES] = {0};
  unsigned char in[8], out[crypto_shorthash_BYTES];
  for (int i = 0; i < 8; i++) {
    key[i] = (unsigned char)(seed >> (8 * i));
    in[i] = (unsigned char)((uint64_t)id >> (8 * i));
  }
  memcpy(key + 8, "th-rand", 8);
  crypto_shorthash(out, in, sizeof in, key);
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--)
    v = (v << 8) | out[i];
  return v;
}
