/*
 * tap.h: a small Test Anything Protocol emitter for the C tests. Each check
 * prints "ok N - name" or "not ok N - name" with the values that differed;
 * tap_done() prints the plan and returns the exit status.
 */
#ifndef TH_TAP_H
#define TH_TAP_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

#define TAP_OK(cond, ...) tap_ok_((cond) != 0, __FILE__, __LINE__, __VA_ARGS__)
#define TAP_INT(got, want, ...)                                              \
  tap_int_((int64_t)(got), (int64_t)(want), __FILE__, __LINE__, __VA_ARGS__)
#define TAP_STR(got, want, ...)                                              \
  tap_str_((got), (want), __FILE__, __LINE__, __VA_ARGS__)
#define TAP_DBL(got, want, eps, ...)                                         \
  tap_dbl_((got), (want), (eps), __FILE__, __LINE__, __VA_ARGS__)

/* A test's name stays on its TAP line: a line break or another control
 * character in it (test names quote the text under test) is written as
 * an escape, so that the runner never reads half a name as a line of its
 * own. */
static inline void tap_name_(const char *fmt, va_list ap) {
  char name[1024];
  vsnprintf(name, sizeof name, fmt, ap);
  for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
    if (*p == '\n')
      fputs("\\n", stdout);
    else if (*p == '\r')
      fputs("\\r", stdout);
    else if (*p == '\t')
      fputs("\\t", stdout);
    else if (*p < 0x20 || *p == 0x7f)
      printf("\\x%02x", *p);
    else
      putchar(*p);
  }
}

static inline int tap_ok_(int pass, const char *file, int line,
                          const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  printf("%s %d - ", pass ? "ok" : "not ok", ++tap_n);
  tap_name_(fmt, ap);
  printf("\n");
  va_end(ap);
  if (!pass) {
    tap_failed++;
    printf("#   at %s:%d\n", file, line);
  }
  fflush(stdout);
  return pass;
}

static inline int tap_int_(int64_t got, int64_t want, const char *file,
                           int line, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int pass = got == want;
  printf("%s %d - ", pass ? "ok" : "not ok", ++tap_n);
  tap_name_(fmt, ap);
  printf("\n");
  va_end(ap);
  if (!pass) {
    tap_failed++;
    printf("#   at %s:%d: got %lld, want %lld\n", file, line, (long long)got,
           (long long)want);
  }
  fflush(stdout);
  return pass;
}

static inline int tap_str_(const char *got, const char *want,
                           const char *file, int line, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int pass = got && want ? strcmp(got, want) == 0 : got == want;
  printf("%s %d - ", pass ? "ok" : "not ok", ++tap_n);
  tap_name_(fmt, ap);
  printf("\n");
  va_end(ap);
  if (!pass) {
    tap_failed++;
    printf("#   at %s:%d:\n#     got  \"%s\"\n#     want \"%s\"\n", file, line,
           got ? got : "(null)", want ? want : "(null)");
  }
  fflush(stdout);
  return pass;
}

static inline int tap_dbl_(double got, double want, double eps,
                           const char *file, int line, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  double d = got - want;
  int pass = d <= eps && d >= -eps;
  printf("%s %d - ", pass ? "ok" : "not ok", ++tap_n);
  tap_name_(fmt, ap);
  printf("\n");
  va_end(ap);
  if (!pass) {
    tap_failed++;
    printf("#   at %s:%d: got %.12g, want %.12g\n", file, line, got, want);
  }
  fflush(stdout);
  return pass;
}

static inline int tap_done(void) {
  printf("1..%d\n", tap_n);
  return tap_failed ? 1 : 0;
}

#endif
