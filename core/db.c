/*
 * db.c: opening and closing a database, its pragmas, the per-connection
 * cache of prepared statements, and the transaction discipline every write
 * follows (BEGIN IMMEDIATE alone, or a SAVEPOINT inside a batch).
 */
#include "internal.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* 'T' 'H' 'A' 'L': marks a file as townhall's (PRAGMA application_id). */
#define TH__APPLICATION_ID 0x5448414c

static const char *const th__sql[TH__S_COUNT] = {
#define TH__STMT(id, sql) sql,
#include "store/statements.h"
#undef TH__STMT
};

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
                 "this handle lost its database connection; close it");
}

sqlite3_stmt *th__stmt(th_db *db, th__stmt_id id) {
  if (db->sql == NULL) {
    th__lost(db);
    return NULL;
  }
  sqlite3_stmt *st = db->stmts[id];
  if (st == NULL) {
    int rc = sqlite3_prepare_v3(db->sql, th__sql[id], -1,
                                SQLITE_PREPARE_PERSISTENT, &st, NULL);
    if (rc != SQLITE_OK) {
      th__sqlerr(db, rc, "preparing a statement");
      return NULL;
    }
    db->stmts[id] = st;
    return st;
  }
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  return st;
}

sqlite3_stmt *th__stmt_dynamic(th_db *db, const char *sql) {
  if (db->sql == NULL) {
    th__lost(db);
    return NULL;
  }
  for (size_t i = 0; i < TH__ARRAY_SIZE(db->dyn); i++) {
    if (db->dyn[i].sql && strcmp(db->dyn[i].sql, sql) == 0) {
      sqlite3_reset(db->dyn[i].st);
      sqlite3_clear_bindings(db->dyn[i].st);
      return db->dyn[i].st;
    }
  }
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v3(db->sql, sql, -1, SQLITE_PREPARE_PERSISTENT, &st,
                              NULL);
  if (rc != SQLITE_OK) {
    th__sqlerr(db, rc, "preparing a query");
    return NULL;
  }
  char *copy = th__strdup(sql);
  if (copy == NULL) {
    sqlite3_finalize(st);
    th__err(db, TH_ENOMEM, "out of memory");
    return NULL;
  }
  /* Round robin: the handful of list shapes an application uses stay. */
  unsigned slot = db->dyn_next++ % TH__ARRAY_SIZE(db->dyn);
  free(db->dyn[slot].sql);
  sqlite3_finalize(db->dyn[slot].st);
  db->dyn[slot].sql = copy;
  db->dyn[slot].st = st;
  return st;
}

int th__exec(th_db *db, const char *sql) {
  if (db->sql == NULL)
    return th__lost(db);
  int rc = sqlite3_exec(db->sql, sql, NULL, NULL, NULL);
  return rc == SQLITE_OK ? TH_OK : th__sqlerr(db, rc, sql);
}

int th__step_done(th_db *db, sqlite3_stmt *st, const char *what) {
  int rc = sqlite3_step(st);
  if (rc == SQLITE_DONE || rc == SQLITE_ROW) {
    sqlite3_reset(st);
    return TH_OK;
  }
  int err = th__sqlerr(db, rc, what);
  sqlite3_reset(st);
  return err;
}

int th__data_version(th_db *db, int64_t *out) {
  sqlite3_stmt *st = th__stmt(db, TH__S_DATA_VERSION);
  if (st == NULL)
    return db->errcode;
  int rc = sqlite3_step(st);
  if (rc != SQLITE_ROW) {
    sqlite3_reset(st);
    return th__sqlerr(db, rc, "reading the data version");
  }
  *out = sqlite3_column_int64(st, 0);
  sqlite3_reset(st); /* ends the read transaction */
  return TH_OK;
}

int th__write_probe(th_db *db) {
  int rc = th__write_begin(db);
  if (rc < 0)
    return rc;
  sqlite3_stmt *st = th__stmt(db, TH__S_PROBE_WRITE);
  if (st == NULL) {
    rc = db->errcode;
  } else {
    sqlite3_bind_int64(st, 1, th_now(db));
    rc = th__step_done(db, st, "writing the readiness probe");
  }
  return th__write_end(db, rc);
}

static int th__run(th_db *db, th__stmt_id id, const char *what) {
  sqlite3_stmt *st = th__stmt(db, id);
  if (st == NULL)
    return db->errcode;
  return th__step_done(db, st, what);
}

int th__write_begin(th_db *db) {
  if (db->flags & TH_OPEN_READONLY)
    return th__err(db, TH_EREADONLY, "this handle was opened read-only");
  if (db->write_depth++ > 0)
    return TH_OK; /* nested inside a write of the same call */
  if (db->in_batch)
    return th__run(db, TH__S_SAVEPOINT, "starting a write");
  int rc = th__run(db, TH__S_BEGIN, "starting a write");
  if (rc < 0)
    db->write_depth--;
  return rc;
}

int th__write_end(th_db *db, int rc) {
  if (--db->write_depth > 0)
    return rc;
  if (db->in_batch) {
    if (rc < 0) {
      /* Keep the first error's message: rolling back must not replace it. */
      char msg[sizeof db->errmsg];
      memcpy(msg, db->errmsg, sizeof msg);
      th__run(db, TH__S_ROLLBACK_TO, "undoing a write");
      th__run(db, TH__S_RELEASE, "undoing a write");
      memcpy(db->errmsg, msg, sizeof msg);
      db->errcode = rc;
      return rc;
    }
    int r = th__run(db, TH__S_RELEASE, "finishing a write");
    return r < 0 ? r : rc;
  }
  if (rc < 0) {
    char msg[sizeof db->errmsg];
    memcpy(msg, db->errmsg, sizeof msg);
    if (!sqlite3_get_autocommit(db->sql))
      th__run(db, TH__S_ROLLBACK, "undoing a write");
    memcpy(db->errmsg, msg, sizeof msg);
    db->errcode = rc;
    return rc;
  }
  int r = th__run(db, TH__S_COMMIT, "committing");
  if (r < 0) {
    char msg[sizeof db->errmsg];
    memcpy(msg, db->errmsg, sizeof msg);
    if (!sqlite3_get_autocommit(db->sql))
      th__run(db, TH__S_ROLLBACK, "undoing a failed commit");
    memcpy(db->errmsg, msg, sizeof msg);
    db->errcode = r;
    return r;
  }
  return rc;
}

int th_batch_begin(th_db *db) {
  th__clear_err(db);
  if (db->in_batch)
    return th__err(db, TH_ESTATE, "a batch is already open on this handle");
  if (db->flags & TH_OPEN_READONLY)
    return th__err(db, TH_EREADONLY, "this handle was opened read-only");
  int rc = th__run(db, TH__S_BEGIN, "starting a batch");
  if (rc < 0)
    return rc;
  db->in_batch = 1;
  return TH_OK;
}

int th_batch_commit(th_db *db) {
  th__clear_err(db);
  if (!db->in_batch)
    return th__err(db, TH_ESTATE, "no batch is open on this handle");
  db->in_batch = 0;
  int rc = th__run(db, TH__S_COMMIT, "committing a batch");
  if (rc < 0 && !sqlite3_get_autocommit(db->sql)) {
    char msg[sizeof db->errmsg];
    memcpy(msg, db->errmsg, sizeof msg);
    th__run(db, TH__S_ROLLBACK, "undoing a failed batch");
    memcpy(db->errmsg, msg, sizeof msg);
    db->errcode = rc;
  }
  return rc;
}

int th_batch_rollback(th_db *db) {
  th__clear_err(db);
  if (!db->in_batch)
    return th__err(db, TH_ESTATE, "no batch is open on this handle");
  db->in_batch = 0;
  if (sqlite3_get_autocommit(db->sql))
    return TH_OK;
  return th__run(db, TH__S_ROLLBACK, "rolling back a batch");
}

/* SQL function th_rand(seed, id): the stable shuffle behind TH_SORT_RANDOM,
 * as a signed 64-bit integer so SQLite can order and compare it. */
static void th__sql_rand(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  (void)argc;
  uint64_t seed = (uint64_t)sqlite3_value_int64(argv[0]);
  int64_t id = sqlite3_value_int64(argv[1]);
  sqlite3_result_int64(ctx, (int64_t)(th__random_key(seed, id) >> 1));
}

/* SQL function th_redact(text): th_redact in SQL, for migrations that scrub
 * what an older townhall stored as sent (0007_site_vocabularies.sql). NULL
 * stays NULL. */
static void th__sql_redact(sqlite3_context *ctx, int argc,
                           sqlite3_value **argv) {
  (void)argc;
  const char *in = (const char *)sqlite3_value_text(argv[0]);
  if (in == NULL) {
    sqlite3_result_null(ctx);
    return;
  }
  char *out = NULL;
  if (th_redact(in, &out) != TH_OK) {
    sqlite3_result_error_nomem(ctx);
    return;
  }
  sqlite3_result_text(ctx, out, -1, free);
}

/* SQL function th_redact_allowing(text, allow): th__redact_allowing, for
 * migrations that scrub what staff wrote, keeping the site's contacts
 * (0010_rescrub.sql). NULL text stays NULL. */
static void th__sql_redact_allowing(sqlite3_context *ctx, int argc,
                                    sqlite3_value **argv) {
  (void)argc;
  const char *in = (const char *)sqlite3_value_text(argv[0]);
  const char *allow = (const char *)sqlite3_value_text(argv[1]);
  if (in == NULL) {
    sqlite3_result_null(ctx);
    return;
  }
  char *out = NULL;
  if (th__redact_allowing(in, allow, &out) != TH_OK) {
    sqlite3_result_error_nomem(ctx);
    return;
  }
  sqlite3_result_text(ctx, out, -1, free);
}

/* SQL function th_page_scrub(url, keep_params): a stored page address as
 * th__page_normalize makes it now; the address as it was if it is not
 * one it would take (it is left alone rather than lost). */
static void th__sql_page_scrub(sqlite3_context *ctx, int argc,
                               sqlite3_value **argv) {
  (void)argc;
  const char *in = (const char *)sqlite3_value_text(argv[0]);
  const char *keep = (const char *)sqlite3_value_text(argv[1]);
  if (in == NULL) {
    sqlite3_result_null(ctx);
    return;
  }
  char *out = NULL;
  int rc = th__page_normalize(in, keep, &out);
  if (rc == TH_ENOMEM) {
    sqlite3_result_error_nomem(ctx);
    return;
  }
  if (rc != TH_OK) {
    sqlite3_result_value(ctx, argv[0]);
    return;
  }
  sqlite3_result_text(ctx, out, -1, free);
}

/* Reads the two header pragmas; distinguishes "not a database" from
 * "corrupt" from "someone else's database". */
static int th__identify(th_db *db, int *user_version) {
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(
      db->sql,
      "SELECT (SELECT application_id FROM pragma_application_id),"
      " (SELECT user_version FROM pragma_user_version),"
      " (SELECT count(*) FROM sqlite_schema)",
      -1, &st, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_step(st);
  if (rc != SQLITE_ROW) {
    int code = rc == SQLITE_OK ? SQLITE_ERROR : rc;
    if ((code & 0xff) == SQLITE_NOTADB) {
      sqlite3_finalize(st);
      return th__err(db, TH_ENOTDB,
                     "%s is not a townhall database (not even a SQLite one)",
                     db->path);
    }
    if ((code & 0xff) == SQLITE_CORRUPT) {
      sqlite3_finalize(st);
      return th__err(db, TH_ECORRUPT,
                     "%s is corrupt: %s; restore it from a backup", db->path,
                     sqlite3_errmsg(db->sql));
    }
    rc = th__sqlerr(db, code, "reading the database header");
    sqlite3_finalize(st);
    return rc;
  }
  int app = sqlite3_column_int(st, 0);
  int uv = sqlite3_column_int(st, 1);
  int tables = sqlite3_column_int(st, 2);
  sqlite3_finalize(st);
  if (app != TH__APPLICATION_ID && (app != 0 || uv != 0 || tables != 0))
    return th__err(db, TH_ENOTDB,
                   "%s is a SQLite database but not a townhall one "
                   "(application_id %d); refusing to touch it",
                   db->path, app);
  if (uv > th_schema_latest())
    return th__err(db, TH_ENEWER,
                   "%s has schema version %d, written by a newer townhall; "
                   "this is townhall %s (schema %d): upgrade townhall, the "
                   "file was not changed",
                   db->path, uv, PACKAGE_VERSION, th_schema_latest());
  *user_version = uv;
  return TH_OK;
}

static int th__file_exists(const char *path) {
  struct stat sb;
  return stat(path, &sb) == 0;
}

/* Creates a new database file readable by its owner alone, before SQLite
 * does: SQLite would make it 0644 (less the umask), and it gives the -wal
 * and -shm files beside it the database's own mode, so all three start
 * 0600. An existing file keeps the mode its operator gave it. */
int th__create_private(const char *path) {
  if (strcmp(path, ":memory:") == 0)
    return 0;
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                S_IRUSR | S_IWUSR);
  if (fd < 0)
    return errno == EEXIST ? 0 : -1;
  return close(fd);
}

int th_open(th_db **out, const char *path, const th_open_options *opt) {
  static const th_open_options defaults;
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
  db->flags = opt->flags;
  db->now = opt->now ? opt->now : th__system_now;
  db->clock_data = opt->clock_data;
  if (path == NULL || path[0] == '\0')
    return th__err(db, TH_EINVAL, "no database path given");
  db->path = th__strdup(path);
  if (db->path == NULL)
    return th__err(db, TH_ENOMEM, "out of memory");

  bool readonly = (opt->flags & TH_OPEN_READONLY) != 0;
  if ((readonly || (opt->flags & TH_OPEN_NOCREATE)) && !th__file_exists(path))
    return th__err(db, TH_ENOTFOUND, "%s does not exist", path);

  if (!readonly && th__create_private(path) != 0)
    return th__err(db, TH_EIO, "creating %s: %s", path, strerror(errno));
  int sflags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE |
               (readonly ? SQLITE_OPEN_READONLY
                         : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  int rc = sqlite3_open_v2(path, &db->sql, sflags, th__walbuf_vfs());
  if (rc != SQLITE_OK)
    return th__sqlerr(db, rc, path);
  sqlite3_extended_result_codes(db->sql, 1);
  sqlite3_busy_timeout(db->sql,
                       opt->busy_timeout_ms > 0 ? opt->busy_timeout_ms : 5000);

  /* Identify before anything writes: a newer or foreign file stays as it
   * was, byte for byte. */
  int version = 0;
  rc = th__identify(db, &version);
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

  char pragmas[256];
  snprintf(pragmas, sizeof pragmas,
           "PRAGMA foreign_keys=ON; PRAGMA synchronous=%d;"
           " PRAGMA secure_delete=ON; PRAGMA temp_store=MEMORY;"
           /* Up to 64 MiB of page cache per connection (SQLite's default is
            * 2 MiB): a database of a million ideas and ten million votes is
            * ~1 GB, and its hot index pages must not be re-read through a
            * system call for every write. Pages are allocated only as they
            * are used, so a small database costs no more than before. */
           " PRAGMA cache_size=-65536;",
           opt->synchronous == 1 ? 1 : 2);
  rc = th__exec(db, pragmas);
  if (rc < 0)
    return rc;
  if (!readonly) {
    /* WAL: readers never block the writer and one fsync commits a batch. */
    rc = th__exec(db, "PRAGMA journal_mode=WAL");
    if (rc < 0)
      return rc;
    /* Every commit syncs the WAL here: its frames can be written in one
     * go just before that sync (walbuf.c). */
    int gather = opt->synchronous != 1;
    sqlite3_file_control(db->sql, "main", TH__FCNTL_WAL_BUFFER, &gather);
  }
  rc = sqlite3_create_function_v2(db->sql, "th_rand", 2,
                                  SQLITE_UTF8 | SQLITE_DETERMINISTIC |
                                      SQLITE_INNOCUOUS,
                                  NULL, th__sql_rand, NULL, NULL, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_create_function_v2(db->sql, "th_redact", 1,
                                    SQLITE_UTF8 | SQLITE_DETERMINISTIC |
                                        SQLITE_INNOCUOUS,
                                    NULL, th__sql_redact, NULL, NULL, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_create_function_v2(
        db->sql, "th_redact_allowing", 2,
        SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, NULL,
        th__sql_redact_allowing, NULL, NULL, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_create_function_v2(
        db->sql, "th_page_scrub", 2,
        SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, NULL,
        th__sql_page_scrub, NULL, NULL, NULL);
  if (rc != SQLITE_OK)
    return th__sqlerr(db, rc, "registering functions");

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
                     path, version, th_schema_latest());
    rc = th__migrate(db);
    if (rc < 0)
      return rc;
  }
  th__clear_err(db);
  return TH_OK;
}

/* Finalizes the handle's statements and closes its connection. */
static void th__db_disconnect(th_db *db) {
  for (size_t i = 0; i < TH__S_COUNT; i++) {
    sqlite3_finalize(db->stmts[i]);
    db->stmts[i] = NULL;
  }
  for (size_t i = 0; i < TH__ARRAY_SIZE(db->dyn); i++) {
    sqlite3_finalize(db->dyn[i].st);
    free(db->dyn[i].sql);
    db->dyn[i].st = NULL;
    db->dyn[i].sql = NULL;
  }
  sqlite3_close_v2(db->sql);
  db->sql = NULL;
}

int th_close(th_db *db) {
  if (db == NULL)
    return TH_OK;
  if (db->sql && db->in_batch && !sqlite3_get_autocommit(db->sql))
    sqlite3_exec(db->sql, "ROLLBACK", NULL, NULL, NULL);
  th__db_disconnect(db);
  if (db->keys)
    th__keyring_release(db->keys);
  free(db->path);
  free(db->key_path);
  sodium_memzero(db, sizeof *db);
  free(db);
  return TH_OK;
}

int th_schema_version(th_db *db) {
  sqlite3_stmt *st = NULL;
  int v = -1;
  if (sqlite3_prepare_v2(db->sql, "PRAGMA user_version", -1, &st, NULL) ==
          SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW)
    v = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  return v;
}

int th__set_application_id(th_db *db) {
  char sql[64];
  snprintf(sql, sizeof sql, "PRAGMA application_id=%d", TH__APPLICATION_ID);
  return th__exec(db, sql);
}

int th__db_reconnect(th_db *db) {
  th__db_disconnect(db);
  th_db *fresh = NULL;
  int rc = th__db_open_like(db, db->flags, &fresh);
  if (rc == TH_OK) {
    db->sql = fresh->sql; /* its statements stay with it, finalized below */
    fresh->sql = NULL;
  } else {
    rc = th__err(db, TH_ESTATE,
                 "reopening the database failed (%s): this handle can only "
                 "be closed",
                 th_errmsg(fresh));
  }
  th_close(fresh);
  return rc;
}

int th__db_open_like(th_db *db, int flags, th_db **out) {
  th_open_options o = db->opt;
  o.flags = flags;
  return th_open(out, db->path, &o);
}
