#include "helpers.h"

#include <ctype.h>
#include <ftw.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef HAVE_LIBPQ
#include <libpq-fe.h>
#endif

static char t_dir_buf[256];

static int t_rm(const char *path, const struct stat *sb, int flag,
                struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(path);
}

static void t_cleanup(void) {
  if (t_dir_buf[0] && getenv("TH_KEEP") == NULL)
    nftw(t_dir_buf, t_rm, 16, FTW_DEPTH | FTW_PHYS);
}

const char *t_dir(void) {
  if (t_dir_buf[0] == '\0') {
    const char *tmp = getenv("TMPDIR");
    snprintf(t_dir_buf, sizeof t_dir_buf, "%s/townhall-test-XXXXXX",
             tmp ? tmp : "/tmp");
    if (mkdtemp(t_dir_buf) == NULL) {
      perror("mkdtemp");
      exit(99);
    }
    atexit(t_cleanup);
  }
  return t_dir_buf;
}

const char *t_path(const char *name) {
  static char bufs[8][512];
  static int next;
  char *b = bufs[next++ % 8];
  snprintf(b, 512, "%s/%s", t_dir(), name);
  return b;
}

th_time t_clock = INT64_C(1772445600000); /* 2026-03-02T10:00:00Z */

th_time t_now(void *unused) {
  (void)unused;
  return t_clock;
}

/* ---- the engine under test ------------------------------------------------ */

static _Noreturn void t_bail(const char *what) {
  printf("Bail out! %s\n", what);
  fflush(stdout);
  exit(1);
}

bool t_pg(void) {
  static int pg = -1;
  if (pg < 0) {
    const char *e = getenv("TH_TEST_ENGINE");
    if (e == NULL || e[0] == '\0' || strcmp(e, "sqlite") == 0)
      pg = 0;
    else if (strcmp(e, "postgresql") == 0)
      pg = 1;
    else
      t_bail("TH_TEST_ENGINE is sqlite (the default) or postgresql");
  }
  return pg == 1;
}

bool t_on_sqlite(const char *test, const char *why) {
  if (!t_pg())
    return true;
  printf("# SQLite only, not run on PostgreSQL: %s: %s\n", test, why);
  return false;
}

void t_sqlite_program(const char *why) {
  if (!t_pg())
    return;
  printf("1..0 # SKIP SQLite only: %s\n", why);
  fflush(stdout);
  exit(0);
}

/* The test databases this program made on PostgreSQL: name (as the test
 * gives it), the database's name, its URI and its key file. */
typedef struct {
  char *name, *dbname, *uri, *key;
} t_pgdb;
static t_pgdb t_pgdbs[64];
static size_t t_n_pgdbs;

#ifdef HAVE_LIBPQ
static PGconn *t_admin;

static char *t_strdup(const char *s) {
  char *d = strdup(s);
  if (d == NULL)
    t_bail("out of memory");
  return d;
}

static const char *t_admin_uri(void) {
  const char *u = getenv("TH_TEST_PG");
  if (u == NULL || u[0] == '\0')
    t_bail("TH_TEST_ENGINE=postgresql needs TH_TEST_PG, the maintenance URI "
           "of a cluster to make test databases on (tests/pg/cluster.py)");
  return u;
}

static PGconn *t_admin_conn(void) {
  if (t_admin == NULL) {
    t_admin = PQconnectdb(t_admin_uri());
    if (PQstatus(t_admin) != CONNECTION_OK) {
      printf("# TH_TEST_PG: %s", PQerrorMessage(t_admin));
      t_bail("cannot connect to the test cluster (TH_TEST_PG)");
    }
  }
  return t_admin;
}

/* Runs one command as the cluster's superuser; bails out on failure. */
static void t_admin_exec(const char *sql, bool must) {
  PGresult *r = PQexec(t_admin_conn(), sql);
  if (PQresultStatus(r) != PGRES_COMMAND_OK && must) {
    printf("# %s: %s", sql, PQerrorMessage(t_admin));
    PQclear(r);
    t_bail("cannot make a test database");
  }
  PQclear(r);
}

static void t_pg_drop(void) {
  if (getenv("TH_KEEP") == NULL)
    for (size_t i = 0; i < t_n_pgdbs; i++) {
      char sql[160];
      snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS \"%s\" WITH (FORCE)",
               t_pgdbs[i].dbname);
      t_admin_exec(sql, false);
    }
  if (t_admin)
    PQfinish(t_admin);
  t_admin = NULL;
}

/* Appends s to the URI being built, percent-encoding all but unreserved
 * characters and '/' (a socket directory stays readable). */
static void t_uri_cat(char *out, size_t n, const char *s) {
  size_t at = strlen(out);
  for (; *s && at + 4 < n; s++) {
    unsigned char c = (unsigned char)*s;
    if (isalnum(c) || strchr("-._~/", c))
      out[at++] = (char)c;
    else
      at += (size_t)snprintf(out + at, n - at, "%%%02X", c);
  }
  out[at] = '\0';
}

/* The URI of database `dbname` on TH_TEST_PG's cluster: every parameter
 * of TH_TEST_PG (host, port, sslmode, ...) as a query parameter, with
 * dbname replaced and, when TH_TEST_PG_ROLE is set, the user (and no
 * password: the role's own comes from libpq's PGPASSWORD or passfile). */
static char *t_pg_uri(const char *dbname, const char *role) {
  char *err = NULL;
  PQconninfoOption *o = PQconninfoParse(t_admin_uri(), &err);
  if (o == NULL) {
    PQfreemem(err);
    t_bail("TH_TEST_PG is not a libpq connection URI");
  }
  char uri[2048] = "postgresql://?dbname=";
  t_uri_cat(uri, sizeof uri, dbname);
  if (role) {
    strcat(uri, "&user=");
    t_uri_cat(uri, sizeof uri, role);
  }
  for (PQconninfoOption *p = o; p->keyword; p++) {
    if (p->val == NULL || p->val[0] == '\0' ||
        strcmp(p->keyword, "dbname") == 0 ||
        (role && (strcmp(p->keyword, "user") == 0 ||
                  strcmp(p->keyword, "password") == 0)))
      continue;
    size_t at = strlen(uri); /* keywords are [a-z_]: no encoding */
    snprintf(uri + at, sizeof uri - at, "&%s=", p->keyword);
    t_uri_cat(uri, sizeof uri, p->val);
  }
  PQconninfoFree(o);
  return t_strdup(uri);
}
#endif

static t_pgdb *t_pg_find(const char *name) {
  for (size_t i = 0; i < t_n_pgdbs; i++)
    if (strcmp(t_pgdbs[i].name, name) == 0)
      return &t_pgdbs[i];
  return NULL;
}

static t_pgdb *t_pg_db(const char *name) {
  t_pgdb *d = t_pg_find(name);
  if (d)
    return d;
#ifdef HAVE_LIBPQ
  if (t_n_pgdbs == sizeof t_pgdbs / sizeof t_pgdbs[0])
    t_bail("too many test databases in one program");
  if (t_n_pgdbs == 0) {
    t_admin_conn();
    atexit(t_pg_drop);
  }
  /* th_t<pid>_<n>_<name>: unique per program and name, at most 63 bytes
   * (PostgreSQL's identifier limit), only [a-z0-9_]. */
  char dbname[64];
  int at = snprintf(dbname, sizeof dbname, "th_t%ld_%zu_", (long)getpid(),
                    t_n_pgdbs);
  for (const char *p = name; *p && at < 63; p++)
    dbname[at++] = isalnum((unsigned char)*p)
                       ? (char)tolower((unsigned char)*p)
                       : '_';
  dbname[at] = '\0';
  const char *role = getenv("TH_TEST_PG_ROLE");
  if (role && role[0] == '\0')
    role = NULL;
  char sql[256];
  snprintf(sql, sizeof sql, "CREATE DATABASE \"%s\" TEMPLATE template0%s%s%s",
           dbname, role ? " OWNER \"" : "", role ? role : "", role ? "\"" : "");
  t_admin_exec(sql, true);
  d = &t_pgdbs[t_n_pgdbs++];
  d->name = t_strdup(name);
  d->dbname = t_strdup(dbname);
  d->uri = t_pg_uri(dbname, role);
  char key[600];
  snprintf(key, sizeof key, "%s.key", t_path(name));
  d->key = t_strdup(key);
  return d;
#else
  t_bail("TH_TEST_ENGINE=postgresql, but this build has no libpq "
         "(configure found none)");
#endif
}

const char *t_target(const char *name) {
  return t_pg() ? t_pg_db(name)->uri : t_path(name);
}

th_open_options *t_options(const char *name, th_open_options *o) {
  if (t_pg() && o->key_file == NULL)
    o->key_file = t_pg_db(name)->key;
  return o;
}

th_db *t_open(const char *name) {
  th_db *db = NULL;
  th_open_options o = {.size = sizeof(o), .now = t_now};
  int rc = th_open(&db, t_target(name), t_options(name, &o));
  if (rc != TH_OK) {
    printf("# th_open(%s): %s\n", name, th_errmsg(db));
    printf("Bail out! cannot open a test database\n");
    exit(1);
  }
  return db;
}

void t_site(th_db *db, const char *slug, int allow_anonymous, int moderate) {
  th_site s = {.size = sizeof(th_site),
               .slug = slug,
               .name = "London Borough of Camden",
               .origins = "https://www.camden.gov.uk",
               .allow_anonymous = allow_anonymous,
               .moderate_ideas = moderate};
  int rc = th_site_create(db, "test", &s, NULL);
  if (rc != TH_RECORDED) {
    printf("# th_site_create: %s\n", th_errmsg(db));
    printf("Bail out! cannot create a test site\n");
    exit(1);
  }
}

unsigned char *t_read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    return NULL;
  size_t cap = 4096, n = 0;
  unsigned char *buf = malloc(cap);
  size_t got;
  while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
    n += got;
    if (n == cap) {
      unsigned char *nb = realloc(buf, cap *= 2);
      if (nb == NULL) {
        free(buf);
        buf = NULL;
      }
      buf = nb;
    }
  }
  fclose(f);
  *len = n;
  return buf;
}

int t_contains(const unsigned char *hay, size_t hlen, const void *needle,
               size_t nlen) {
  if (nlen == 0 || hlen < nlen)
    return 0;
  return memmem(hay, hlen, needle, nlen) != NULL;
}

#ifdef HAVE_LIBPQ
/* Closes a connection of the helpers' own and waits (at most 5 s) until
 * its server process has left pg_stat_activity: PostgreSQL ends it after
 * the client has gone, and until then townhall counts it as someone else
 * on the database (th_key_rotate's TH_EBUSY). A helper's read leaves no
 * trace. */
static void t_pg_finish(PGconn *c) {
  int pid = c && PQstatus(c) == CONNECTION_OK ? PQbackendPID(c) : 0;
  PQfinish(c);
  if (pid == 0)
    return;
  char sql[96];
  snprintf(sql, sizeof sql,
           "SELECT 1 FROM pg_catalog.pg_stat_activity WHERE pid = %d", pid);
  for (int i = 0; i < 500; i++) {
    PGresult *r = PQexec(t_admin_conn(), sql);
    bool gone = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 0;
    PQclear(r);
    if (gone)
      return;
    usleep(10000);
  }
}

/* The first row of `sql` on `name`'s PostgreSQL database, on a connection
 * of its own, in binary (format 1) or text; NULL (and a TAP comment) if
 * the query failed or gave no row. PQclear it. */
static PGresult *t_pg_row(const char *name, const char *sql, int format,
                          PGconn **conn) {
  *conn = PQconnectdb(t_target(name));
  PGresult *r = NULL;
  if (PQstatus(*conn) == CONNECTION_OK)
    r = PQexecParams(*conn, sql, 0, NULL, NULL, NULL, NULL, format);
  if (r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) < 1) {
    if (r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK)
      printf("# %s: %s", sql, PQerrorMessage(*conn));
    PQclear(r);
    return NULL;
  }
  return r;
}
#endif

size_t t_blob(const char *name, const char *sql, unsigned char *out,
              size_t cap) {
  size_t n = 0;
  if (t_pg()) {
#ifdef HAVE_LIBPQ
    PGconn *c = NULL;
    PGresult *r = t_pg_row(name, sql, 1, &c);
    if (r && !PQgetisnull(r, 0, 0)) {
      n = (size_t)PQgetlength(r, 0, 0);
      if (n > cap)
        n = cap;
      memcpy(out, PQgetvalue(r, 0, 0), n);
    }
    PQclear(r);
    t_pg_finish(c);
#endif
    return n;
  }
  sqlite3 *s = NULL;
  sqlite3_stmt *st = NULL;
  if (sqlite3_open_v2(t_path(name), &s, SQLITE_OPEN_READONLY, NULL) ==
          SQLITE_OK &&
      sqlite3_prepare_v2(s, sql, -1, &st, NULL) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW &&
      sqlite3_column_type(st, 0) == SQLITE_BLOB) {
    n = (size_t)sqlite3_column_bytes(st, 0);
    if (n > cap)
      n = cap;
    memcpy(out, sqlite3_column_blob(st, 0), n);
  }
  sqlite3_finalize(st);
  sqlite3_close(s);
  return n;
}

int64_t t_sql_i64(const char *name, const char *sql) {
  int64_t v = -1;
  if (t_pg()) {
#ifdef HAVE_LIBPQ
    PGconn *c = NULL;
    PGresult *r = t_pg_row(name, sql, 0, &c);
    if (r && !PQgetisnull(r, 0, 0))
      v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    t_pg_finish(c);
#endif
    return v;
  }
  sqlite3 *s = NULL;
  sqlite3_stmt *st = NULL;
  if (sqlite3_open_v2(t_path(name), &s, SQLITE_OPEN_READONLY, NULL) ==
          SQLITE_OK &&
      sqlite3_prepare_v2(s, sql, -1, &st, NULL) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW &&
      sqlite3_column_type(st, 0) != SQLITE_NULL)
    v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(s);
  return v;
}

int t_site_lists(th_db *db, const char *slug, const char *wards,
                 const char *categories, const char *contacts) {
  th_site *s = NULL;
  int rc = th_site_get(db, slug, &s);
  if (rc < 0)
    return rc;
  th_site keep = *s;
  s->wards = wards;
  s->categories = categories;
  s->contacts = contacts;
  rc = th_site_update(db, "tester", s);
  *s = keep; /* th_site_free frees the site's own strings */
  th_site_free(s);
  return rc;
}
