/*
 * db.c: the handle: opening (the store's connection, the key ring, the
 * schema brought up to date) and closing it, the clock, the version.
 * The connection itself, its statements and transactions are the store's
 * (core/store/sqlite.c, core/store/txn.c).
 */
#include "internal.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

unsigned th_version(void) {
  return (TH_VERSION_MAJOR << 16) | (TH_VERSION_MINOR << 8) | TH_VERSION_PATCH;
}

const char *th_version_string(void) { return PACKAGE_VERSION; }

static th_time th__system_now(void *unused) {
  (void)unused;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (th_time)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

th_time th_now(th_db *db) { return db->now(db->clock_data); }

int th__lost(th_db *db) {
  return th__err(db, TH_ESTATE,
                 "this handle has no database connection (it was lost, or "
                 "th_open failed); close it");
}

static int th__file_exists(const char *path) {
  struct stat sb;
  return stat(path, &sb) == 0;
}

static int th__open(th_db *db, const char *path, const th_open_options *opt);

int th_open(th_db **out, const char *path, const th_open_options *opt) {
  static const th_open_options defaults = TH_OPEN_OPTIONS_INIT;
  if (out == NULL)
    return TH_EINVAL;
  *out = NULL;
  if (sodium_init() < 0)
    return TH_ENOMEM;
  if (opt == NULL)
    opt = &defaults;
  th_db *db = calloc(1, sizeof *db);
  if (db == NULL)
    return TH_ENOMEM;
  *out = db;
  int rc = th__open(db, path, opt);
  /* A handle whose open failed is for th_errmsg and th_close only, but a
   * caller who goes on with it must get an error, not a crash on a key
   * ring it never acquired: without its connection, every call on it
   * fails with TH_ESTATE (th__lost) before it reaches the keys. */
  if (rc < 0)
    th__store_close(db);
  return rc;
}

static int th__open(th_db *db, const char *path, const th_open_options *opt) {
  /* Only the members the caller's size covers (townhall.h, "Structs that
   * grow"); the rest stay zero, their defaults. */
  th_open_options o;
  if (TH__SIZED_IN(db, th_open_options, opt, &o) < 0)
    return TH_EINVAL;
  opt = &o;
  db->flags = opt->flags;
  db->now = opt->now ? opt->now : th__system_now;
  db->clock_data = opt->clock_data;
  if (path == NULL || path[0] == '\0')
    return th__err(db, TH_EINVAL, "no database path given");
  db->path = th__strdup(path);
  if (db->path == NULL)
    return th__err(db, TH_ENOMEM, "out of memory");

  bool readonly = (opt->flags & TH_OPEN_READONLY) != 0;
  if ((readonly || (opt->flags & TH_OPEN_NOCREATE)) &&
      !th__store_is_uri(path) && !th__file_exists(path))
    return th__err(db, TH_ENOTFOUND, "%s does not exist", path);

  int version = 0;
  int rc = th__store_open(db, opt, &version);
  if (rc < 0)
    return rc;

  if (opt->key_file == NULL) {
    size_t n = strlen(path) + 5;
    db->key_path = malloc(n);
    if (db->key_path)
      snprintf(db->key_path, n, "%s.key", path);
  } else {
    db->key_path = th__strdup(opt->key_file);
  }
  if (db->key_path == NULL)
    return th__err(db, TH_ENOMEM, "out of memory");
  db->opt = *opt;
  db->opt.key_file = db->key_path;
  /* A key file is made only with a new database: an existing one needs the
   * key file it was created with (its sealed keys and secrets, its token
   * hashes), and a fresh key would only hide that it is missing. */
  rc = th__keyring_acquire(db, db->key_path, !readonly && version == 0,
                           opt->persist_salts >= 0, &db->keys);
  if (rc < 0)
    return rc;

  rc = th__store_configure(db, opt);
  if (rc < 0)
    return rc;

  if (version < th_schema_latest()) {
    if (readonly && (opt->flags & TH_OPEN_ANY_SCHEMA)) {
      th__clear_err(db);
      return TH_OK;
    }
    /* NOMIGRATE guards data an older townhall wrote; a new, empty database
     * has none and is simply created at the latest schema. */
    if (readonly || ((opt->flags & TH_OPEN_NOMIGRATE) && version > 0))
      return th__err(db, TH_ESTATE,
                     "%s has schema version %d and needs migrating to %d "
                     "(run `townhall migrate`)",
                     th__store_name(db), version, th_schema_latest());
    rc = th__migrate(db);
    if (rc < 0)
      return rc;
  }
  th__clear_err(db);
  return TH_OK;
}

int th_close(th_db *db) {
  if (db == NULL)
    return TH_OK;
  th__store_close(db);
  if (db->keys)
    th__keyring_release(db->keys);
  /* A PostgreSQL URI may hold a password: not left in freed memory. */
  if (db->path)
    sodium_memzero(db->path, strlen(db->path));
  free(db->path);
  free(db->key_path);
  sodium_memzero(db, sizeof *db);
  free(db);
  return TH_OK;
}

int th__db_open_like(th_db *db, int flags, th_db **out) {
  th_open_options o = db->opt;
  o.flags = flags;
  return th_open(out, db->path, &o);
}
