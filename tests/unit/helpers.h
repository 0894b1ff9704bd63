/*
 * helpers.h: what the C tests share: a scratch directory per test program, a
 * database in it, a clock the test moves by hand.
 */
#ifndef TH_TEST_HELPERS_H
#define TH_TEST_HELPERS_H

#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tap.h"
#include "townhall.h"

/* A fresh directory under $TMPDIR, removed at exit unless TH_KEEP is set. */
const char *t_dir(void);
/* t_dir()/name, in a static buffer rotated among 8. */
const char *t_path(const char *name);

/* The test clock: starts at 2026-03-02T10:00:00Z; tests move it. */
extern th_time t_clock;
th_time t_now(void *unused);

/* ---- the engine under test -------------------------------------------------
 * $TH_TEST_ENGINE selects it: "sqlite" (the default) or "postgresql". On
 * SQLite a test database `name` is the file t_path(name), its key file
 * beside it (t_path(name) ".key", th_open's default). On PostgreSQL it is a
 * database of its own on the cluster whose maintenance URI is $TH_TEST_PG
 * (a superuser's, e.g. tests/pg/cluster.py's admin_uri): made with CREATE
 * DATABASE ... TEMPLATE template0 the first time this program names it,
 * owned by and opened as $TH_TEST_PG_ROLE when that is set (else as the
 * URI's own user), and dropped at exit unless TH_KEEP is set. A URI needs a
 * named key file: t_path(name) ".key", where SQLite keeps it, so the key,
 * its salts file and every file check on them are the same on both. */

/* Whether the tests run on PostgreSQL. */
bool t_pg(void);
/* What th_open takes for the test database `name`: t_path(name) on SQLite,
 * the URI of its database on PostgreSQL (made on first use). Static, valid
 * until exit. */
const char *t_target(const char *name);
/* Fills what `name`'s database needs in o: on PostgreSQL its key file
 * (t_path(name) ".key") when o->key_file is NULL. Returns o. */
th_open_options *t_options(const char *name, th_open_options *o);

/* Tests about SQLite itself (the bytes of the .db file and its WAL, file
 * modes, PRAGMAs, SQLite's locks, th_backup's file copy, hand-made old
 * SQLite schemas) are not domain tests: they run on SQLite only, each
 * marked with its reason, and docs/design/postgresql.md ("Tests") lists
 * them. t_on_sqlite(why): true on SQLite; on PostgreSQL a "# SQLite only"
 * TAP comment naming the reason, and false. T_SQLITE_ONLY(why) at the top
 * of a void test function returns from it on PostgreSQL. Never a SKIP: the
 * checks that run on SQLite are reported there, nothing is reported here. */
bool t_on_sqlite(const char *test, const char *why);
#define T_SQLITE_ONLY(why)                                                   \
  do {                                                                       \
    if (!t_on_sqlite(__func__, why))                                         \
      return;                                                                \
  } while (0)
/* A whole test program that is SQLite only: on PostgreSQL prints the TAP
 * plan "1..0 # SKIP" with the reason and exits 0 (suite
 * 96-postgresql-domain does not run it: 10-unit.sh leaves out every
 * program that calls this). */
void t_sqlite_program(const char *why);

/* Opens (creating) the test database `name` (t_target) with the test clock;
 * fails the test on error. */
th_db *t_open(const char *name);
/* A site "camden" with origin https://www.camden.gov.uk. */
void t_site(th_db *db, const char *slug, int allow_anonymous, int moderate);

/* Sets a site's wards, categories and contacts (one item per line, NULL
 * for none), keeping its other settings; th_site_update's result. */
int t_site_lists(th_db *db, const char *slug, const char *wards,
                 const char *categories, const char *contacts);

/* Reads a whole file; *len gets its length. NULL if absent. */
unsigned char *t_read_file(const char *path, size_t *len);
/* The blob in the first row of `sql` on the test database `name`, read on
 * a connection of its own, not townhall's (SQLite or libpq; at most cap
 * bytes); 0 if there is none. */
size_t t_blob(const char *name, const char *sql, unsigned char *out,
              size_t cap);
/* The integer in the first column of the first row of `sql` on the test
 * database `name`, read the same way; -1 if there is none. `sql` must be
 * valid on both engines. */
int64_t t_sql_i64(const char *name, const char *sql);
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
