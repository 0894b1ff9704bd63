#include "helpers.h"

#include <ftw.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

th_db *t_open(const char *name) {
  th_db *db = NULL;
  th_open_options o = {.size = sizeof(o), .now = t_now};
  int rc = th_open(&db, t_path(name), &o);
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

size_t t_blob(const char *name, const char *sql, unsigned char *out,
              size_t cap) {
  sqlite3 *s = NULL;
  sqlite3_stmt *st = NULL;
  size_t n = 0;
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
