/*
 * sqlite.c: the store's connection to SQLite: opening a database file
 * (created readable by its owner alone, identified before anything writes),
 * its pragmas and SQL functions, the per-connection cache of prepared
 * statements, SQLite's result codes mapped to TH_E codes, and reconnecting.
 */
#include "sqlite.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* 'T' 'H' 'A' 'L': marks a file as townhall's (PRAGMA application_id). */
#define TH__APPLICATION_ID 0x5448414c

int th__sqlerr(th_db *db, int rc, const char *what) {
  int code;
  switch (rc & 0xff) {
  case SQLITE_FULL:
    code = TH_EFULL;
    break;
  case SQLITE_BUSY:
  case SQLITE_LOCKED:
    code = TH_EBUSY;
    break;
  case SQLITE_IOERR:
  case SQLITE_CANTOPEN:
  case SQLITE_PERM:
    code = TH_EIO;
    break;
  case SQLITE_CORRUPT:
    code = TH_ECORRUPT;
    break;
  case SQLITE_NOTADB:
    code = TH_ENOTDB;
    break;
  case SQLITE_NOMEM:
    code = TH_ENOMEM;
    break;
  case SQLITE_READONLY:
    code = TH_EREADONLY;
    break;
  case SQLITE_CONSTRAINT:
    /* Only a duplicate key means "already exists"; a failed CHECK, NOT NULL
     * or foreign key is a bug or corruption, not the caller's duplicate. */
    code = rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY
               ? TH_EEXIST
               : TH_EDB;
    break;
  default:
    code = TH_EDB;
    break;
  }
  const char *detail =
      th__sql(db) ? sqlite3_errmsg(th__sql(db)) : sqlite3_errstr(rc);
  if (code == TH_EFULL)
    return th__err(db, code,
                   "%s: the disk is full (%s); nothing of this write was kept",
                   what, detail);
  return th__err(db, code, "%s: %s", what, detail);
}

static const char *const th__stmt_sql[TH__S_COUNT] = {
#define TH__STMT(id, sql) sql,
#include "statements.h"
#undef TH__STMT
};

/* A plain insert whose only result is its new row's id. SQLite runs a
 * RETURNING clause by writing its rows to an ephemeral table, a pager and
 * a zeroed page of its own at every execution: about 20,000 instructions
 * an insert under callgrind, a sixth of a new resident's vote. Such an
 * insert is prepared without the clause, and th__q_insert reads the rowid
 * instead; an upsert (whose RETURNING may name a row it updated, which the
 * last rowid would not) keeps it. */
#define TH__RETURNING_ID " RETURNING id"
static bool th__returns_rowid(const char *sql, size_t len) {
  size_t n = sizeof TH__RETURNING_ID - 1;
  return strncmp(sql, "INSERT ", 7) == 0 && len > n &&
         strcmp(sql + len - n, TH__RETURNING_ID) == 0 &&
         strstr(sql, " ON CONFLICT") == NULL;
}

sqlite3_stmt *th__stmt(th_db *db, th__stmt_id id) {
  th__sqlite_conn *c = th__sqlite_conn_of(db);
  if (c == NULL || c->sql == NULL) {
    th__lost(db);
    return NULL;
  }
  sqlite3_stmt *st = c->stmts[id].st;
  if (st == NULL) {
    const char *sql = th__stmt_sql[id];
    size_t len = strlen(sql);
    bool rowid = th__returns_rowid(sql, len);
    if (rowid)
      len -= sizeof TH__RETURNING_ID - 1;
    int rc = sqlite3_prepare_v3(th__sql(db), sql, (int)len,
                                SQLITE_PREPARE_PERSISTENT, &st, NULL);
    if (rc != SQLITE_OK) {
      th__sqlerr(db, rc, "preparing a statement");
      return NULL;
    }
    c->stmts[id].q.engine = &th__sqlite_engine;
    c->stmts[id].st = st;
    c->stmts[id].rowid = rowid;
    return st;
  }
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  return st;
}

th__q *th__stmt_dynamic(th_db *db, const char *sql) {
  th__sqlite_conn *c = th__sqlite_conn_of(db);
  if (c == NULL || c->sql == NULL) {
    th__lost(db);
    return NULL;
  }
  for (size_t i = 0; i < TH__ARRAY_SIZE(c->dyn); i++) {
    if (c->dyn[i].sql && strcmp(c->dyn[i].sql, sql) == 0) {
      sqlite3_reset(c->dyn[i].q.st);
      sqlite3_clear_bindings(c->dyn[i].q.st);
      return &c->dyn[i].q.q;
    }
  }
  sqlite3_stmt *st = NULL;
  int rc =
      sqlite3_prepare_v3(c->sql, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
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
  unsigned slot = c->dyn_next++ % TH__ARRAY_SIZE(c->dyn);
  free(c->dyn[slot].sql);
  sqlite3_finalize(c->dyn[slot].q.st);
  c->dyn[slot].sql = copy;
  c->dyn[slot].q.q.engine = &th__sqlite_engine;
  c->dyn[slot].q.st = st;
  return &c->dyn[slot].q.q;
}

int th__exec(th_db *db, const char *sql) {
  if (th__sql(db) == NULL)
    return th__lost(db);
  int rc = sqlite3_exec(th__sql(db), sql, NULL, NULL, NULL);
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

static int th__sqlite_data_version(th_db *db, int64_t *out) {
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

static int th__sqlite_write_probe(th_db *db) {
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

/* SQL function th_rand(seed, id): the stable shuffle behind TH_SORT_RANDOM,
 * as a signed 64-bit integer so SQLite can order and compare it. */
static void th__sql_rand(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
  (void)argc;
  uint64_t seed = (uint64_t)sqlite3_value_int64(argv[0]);
  int64_t id = sqlite3_value_int64(argv[1]);
  sqlite3_result_int64(ctx, (int64_t)(th__random_key(seed, id) >> 1));
}

/* SQL functions th_redact(text) and th_redact_allowing(text, allow):
 * th_redact and th__redact_allowing in SQL, for migrations that scrub what
 * an older townhall stored as sent (0007_site_vocabularies.sql) and what
 * staff wrote, keeping the site's contacts (0010_rescrub.sql). NULL text
 * stays NULL. */
static void th__sql_redact(sqlite3_context *ctx, int argc,
                           sqlite3_value **argv) {
  const char *in = (const char *)sqlite3_value_text(argv[0]);
  const char *allow =
      argc > 1 ? (const char *)sqlite3_value_text(argv[1]) : NULL;
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
      th__sql(db),
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
                     sqlite3_errmsg(th__sql(db)));
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

/* Finalizes the handle's statements and closes its connection; the
 * th__conn stays, empty, until th__store_close. */
static void th__db_disconnect(th_db *db) {
  th__sqlite_conn *c = th__sqlite_conn_of(db);
  if (c == NULL)
    return;
  for (size_t i = 0; i < TH__S_COUNT; i++) {
    sqlite3_finalize(c->stmts[i].st);
    c->stmts[i].st = NULL;
  }
  for (size_t i = 0; i < TH__ARRAY_SIZE(c->dyn); i++) {
    sqlite3_finalize(c->dyn[i].q.st);
    free(c->dyn[i].sql);
    c->dyn[i].q.st = NULL;
    c->dyn[i].sql = NULL;
  }
  sqlite3_close_v2(c->sql);
  c->sql = NULL;
}

int th__pragma_int(th_db *db, const char *pragma) {
  sqlite3_stmt *st = NULL;
  int v = -1;
  if (sqlite3_prepare_v2(th__sql(db), pragma, -1, &st, NULL) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW)
    v = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  return v;
}

static int th__sqlite_schema_version(th_db *db) {
  return th__pragma_int(db, "PRAGMA user_version");
}

int th__set_application_id(th_db *db) {
  char sql[64];
  snprintf(sql, sizeof sql, "PRAGMA application_id=%d", TH__APPLICATION_ID);
  return th__exec(db, sql);
}

static int th__sqlite_reconnect(th_db *db) {
  th__db_disconnect(db);
  th_db *fresh = NULL;
  int rc = th__db_open_like(db, db->flags, &fresh);
  if (rc == TH_OK) {
    /* Its statements stay with it, finalized below. */
    th__sqlite_conn_of(db)->sql = th__sqlite_conn_of(fresh)->sql;
    th__sqlite_conn_of(fresh)->sql = NULL;
  } else {
    rc = th__err(db, TH_ESTATE,
                 "reopening the database failed (%s): this handle can only "
                 "be closed",
                 th_errmsg(fresh));
  }
  th_close(fresh);
  return rc;
}

int th__sqlite_open(th_db *db, const th_open_options *opt, int *version) {
  bool readonly = (opt->flags & TH_OPEN_READONLY) != 0;
  if (!readonly && th__create_private(db->path) != 0)
    return th__err(db, TH_EIO, "creating %s: %s", db->path, strerror(errno));
  int sflags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE |
               (readonly ? SQLITE_OPEN_READONLY
                         : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  th__sqlite_conn *c = calloc(1, sizeof *c);
  if (c == NULL)
    return th__err(db, TH_ENOMEM, "out of memory");
  c->base.engine = &th__sqlite_engine;
  db->conn = &c->base;
  int rc = sqlite3_open_v2(db->path, &c->sql, sflags, th__walbuf_vfs());
  if (rc != SQLITE_OK)
    return th__sqlerr(db, rc, db->path);
  sqlite3_extended_result_codes(th__sql(db), 1);
  sqlite3_busy_timeout(th__sql(db),
                       opt->busy_timeout_ms > 0 ? opt->busy_timeout_ms : 5000);
  /* Identify before anything writes: a newer or foreign file stays as it
   * was, byte for byte. */
  return th__identify(db, version);
}

static int th__sqlite_configure(th_db *db, const th_open_options *opt) {
  bool readonly = (opt->flags & TH_OPEN_READONLY) != 0;
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
  int rc = th__exec(db, pragmas);
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
    sqlite3_file_control(th__sql(db), "main", TH__FCNTL_WAL_BUFFER, &gather);
  }
  static const struct {
    const char *name;
    int args;
    void (*fn)(sqlite3_context *, int, sqlite3_value **);
  } fns[] = {
      {"th_rand", 2, th__sql_rand},
      {"th_redact", 1, th__sql_redact},
      {"th_redact_allowing", 2, th__sql_redact},
      {"th_page_scrub", 2, th__sql_page_scrub},
  };
  for (size_t i = 0; i < TH__ARRAY_SIZE(fns); i++) {
    rc = sqlite3_create_function_v2(
        th__sql(db), fns[i].name, fns[i].args,
        SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, NULL, fns[i].fn,
        NULL, NULL, NULL);
    if (rc != SQLITE_OK)
      return th__sqlerr(db, rc, "registering functions");
  }
  return TH_OK;
}

static void th__sqlite_close(th_db *db) {
  if (th__sql(db) && db->in_batch && !sqlite3_get_autocommit(th__sql(db)))
    sqlite3_exec(th__sql(db), "ROLLBACK", NULL, NULL, NULL);
  th__db_disconnect(db);
  free(db->conn);
  db->conn = NULL;
}

const th__engine th__sqlite_engine = {
    .name = "sqlite",
    .q_get = th__sqlite_q_get,
    .q_i64 = th__sqlite_q_i64,
    .q_f64 = th__sqlite_q_f64,
    .q_null = th__sqlite_q_null,
    .q_text = th__sqlite_q_text,
    .q_textn = th__sqlite_q_textn,
    .q_text_copy = th__sqlite_q_text_copy,
    .q_blob = th__sqlite_q_blob,
    .q_step = th__sqlite_q_step,
    .q_run = th__sqlite_q_run,
    .q_insert = th__sqlite_q_insert,
    .q_reset = th__sqlite_q_reset,
    .q_changes = th__sqlite_q_changes,
    .q_col_i64 = th__sqlite_q_col_i64,
    .q_col_int = th__sqlite_q_col_int,
    .q_col_f64 = th__sqlite_q_col_f64,
    .q_col_null = th__sqlite_q_col_null,
    .q_col_text = th__sqlite_q_col_text,
    .q_col_len = th__sqlite_q_col_len,
    .q_col_blob = th__sqlite_q_col_blob,
    .idea_list_q = th__sqlite_idea_list_q,
    .store_configure = th__sqlite_configure,
    .store_close = th__sqlite_close,
    .reconnect = th__sqlite_reconnect,
    .migrate = th__sqlite_migrate,
    .schema_version = th__sqlite_schema_version,
    .data_version = th__sqlite_data_version,
    .write_probe = th__sqlite_write_probe,
    .in_txn = th__sqlite_in_txn,
    .connected = th__sqlite_connected,
    .checkpoint = th__sqlite_checkpoint,
    .exclusive_begin = th__sqlite_exclusive_begin,
    .exclusive_end = th__sqlite_exclusive_end,
    .synchronous = th__sqlite_synchronous,
    .backup = th__sqlite_backup,
};
