/*
 * helpers.h: what the C tests share: a scratch directory per test program, a
 * database in it, a clock the test moves by hand.
 */
#ifndef TH_TEST_HELPERS_H
#define TH_TEST_HELPERS_H

#include "config.h"

#include <stddef.h>

#include "tap.h"
#include "townhall.h"

/* A fresh directory under $TMPDIR, removed at exit unless TH_KEEP is set. */
const char *t_dir(void);
/* t_dir()/name, in a static buffer rotated among 8. */
const char *t_path(const char *name);

/* The test clock: starts at 2026-03-02T10:00:00Z; tests move it. */
extern th_time t_clock;
th_time t_now(void *unused);

/* Opens (creating) t_path(name) with the test clock; fails the test on error. */
th_db *t_open(const char *name);
/* A site "camden" with origin https://www.camden.gov.uk. */
void t_site(th_db *db, const char *slug, int allow_anonymous, int moderate);

/* Sets a site's wards, categories and contacts (one item per line, NULL
 * for none), keeping its other settings; th_site_update's result. */
int t_site_lists(th_db *db, const char *slug, const char *wards,
                 const char *categories, const char *contacts);

/* Reads a whole file; *len gets its length. NULL if absent. */
unsigned char *t_read_file(const char *path, size_t *len);
/* The blob in the first row of `sql` on the database t_path(name), read
 * with SQLite directly (at most cap bytes); 0 if there is none. */
size_t t_blob(const char *name, const char *sql, unsigned char *out,
              size_t cap);
/* Whether needle occurs in haystack. */
int t_contains(const unsigned char *hay, size_t hlen, const void *needle,
               size_t nlen);

#define T_CHECK(db, call)                                                    \
  do {                                                                       \
    int t_rc_ = (call);                                                      \
    if (t_rc_ < 0)                                                           \
      printf("# %s: %s (%s)\n", #call, th_errmsg(db), th_err_name(t_rc_));   \
    TAP_OK(t_rc_ >= 0, "%s", #call);                                         \
  } while (0)

#endif
