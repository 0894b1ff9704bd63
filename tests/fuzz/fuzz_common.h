/*
 * fuzz_common.h: small helpers of the harnesses. A property that fails
 * aborts with a message, so libFuzzer keeps the input as a crash.
 */
#ifndef TH_FUZZ_COMMON_H
#define TH_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_ASSERT(cond, ...)                                               \
  do {                                                                       \
    if (!(cond)) {                                                           \
      fprintf(stderr, "property failed at %s:%d: %s\n  ", __FILE__,         \
              __LINE__, #cond);                                              \
      fprintf(stderr, __VA_ARGS__);                                          \
      fprintf(stderr, "\n");                                                 \
      abort();                                                               \
    }                                                                        \
  } while (0)

/* A NUL-terminated copy of n bytes (an embedded NUL ends the C string
 * early, as it would for any caller). */
static inline char *fuzz_strndup(const uint8_t *p, size_t n) {
  char *s = malloc(n + 1);
  if (s == NULL)
    abort();
  if (n)
    memcpy(s, p, n);
  s[n] = '\0';
  return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
