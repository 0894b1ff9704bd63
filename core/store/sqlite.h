/*
 * sqlite.h: what the files of core/store/ share about SQLite, and nothing
 * outside core/store/ includes: the connection behind a handle, the
 * statement cache, result codes mapped to TH_E codes, the WAL's buffering.
 */
#ifndef TH_STORE_SQLITE_H
#define TH_STORE_SQLITE_H

#include <sqlite3.h>

#include "engine.h"

/* A statement in use: store.h's th__q, the engine's table first. */
typedef struct th__sqlite_q {
  th__q q;
  sqlite3_stmt *st;
  /* Prepared without its trailing "RETURNING id" (th__stmt): an insert
   * whose id th__q_insert reads as SQLite's last rowid. */
  bool rowid;
} th__sqlite_q;

/* A handle's connection and its prepared statements (db->conn, the engine's
 * table first): made by th__sqlite_open, emptied by a reconnect, freed by
 * th__store_close. */
typedef struct th__sqlite_conn {
  th__conn base;
  sqlite3 *sql; /* NULL once lost (th__lost) */
  th__sqlite_q stmts[TH__S_COUNT];
  /* Statements built at run time (list queries), cached by their text. */
  struct {
    char *sql;
    th__sqlite_q q;
  } dyn[24];
  unsigned dyn_next;
} th__sqlite_conn;

/* db's connection when it is SQLite's, else NULL. */
static inline th__sqlite_conn *th__sqlite_conn_of(const th_db *db) {
  return db->conn && db->conn->engine == &th__sqlite_engine
             ? (th__sqlite_conn *)db->conn
             : NULL;
}

/* The handle's SQLite connection, or NULL (not opened, lost, or not a
 * SQLite handle). */
static inline sqlite3 *th__sql(const th_db *db) {
  th__sqlite_conn *c = th__sqlite_conn_of(db);
  return c ? c->sql : NULL;
}

/* The statement of a th__q of this engine. */
static inline sqlite3_stmt *th__st(th__q *q) {
  return ((th__sqlite_q *)q)->st;
}

/* Maps a SQLite result code to a TH_E code, records SQLite's message with
 * `what` ("recording a vote") and returns the code. */
int th__sqlerr(th_db *db, int rc, const char *what);
/* The cached prepared statement `id`, reset and with bindings cleared; NULL
 * (and db's error set) if it cannot be prepared. */
sqlite3_stmt *th__stmt(th_db *db, th__stmt_id id);
/* A statement built at run time, from a small per-handle cache keyed by its
 * text; reset and with bindings cleared. */
th__q *th__stmt_dynamic(th_db *db, const char *sql);
/* Runs SQL that returns no rows; TH_OK or the mapped error. */
int th__exec(th_db *db, const char *sql);
/* Steps a statement to completion expecting no row, and resets it. */
int th__step_done(th_db *db, sqlite3_stmt *st, const char *what);

/* Creates `path`, if it does not exist, empty and mode 0600 (sqlite.c):
 * before SQLite creates a database or a backup, which would be 0644. 0, or
 * -1 with errno. */
int th__create_private(const char *path);
/* The integer a PRAGMA reads ("PRAGMA synchronous"), or -1 (sqlite.c). */
int th__pragma_int(th_db *db, const char *pragma);
/* Marks the file as townhall's (PRAGMA application_id; migrate.c). */
int th__set_application_id(th_db *db);

/* The engine's functions behind store.h (engine.h's table, in sqlite.c),
 * defined in query.c, lists.c, maint.c, migrate.c, backup.c, checkpoint.c
 * and sqlite.c. */
th__q *th__sqlite_q_get(th_db *db, th__stmt_id id);
void th__sqlite_q_i64(th__q *q, int i, int64_t v);
void th__sqlite_q_f64(th__q *q, int i, double v);
void th__sqlite_q_null(th__q *q, int i);
void th__sqlite_q_text(th__q *q, int i, const char *s);
void th__sqlite_q_textn(th__q *q, int i, const char *s, size_t len);
void th__sqlite_q_text_copy(th__q *q, int i, const char *s);
void th__sqlite_q_blob(th__q *q, int i, const void *p, size_t len);
int th__sqlite_q_step(th_db *db, th__q *q, const char *what);
int th__sqlite_q_run(th_db *db, th__q *q, const char *what);
int th__sqlite_q_insert(th_db *db, th__q *q, const char *what, int64_t *id);
void th__sqlite_q_reset(th__q *q);
int64_t th__sqlite_q_changes(th_db *db);
int64_t th__sqlite_q_col_i64(th__q *q, int col);
int th__sqlite_q_col_int(th__q *q, int col);
double th__sqlite_q_col_f64(th__q *q, int col);
bool th__sqlite_q_col_null(th__q *q, int col);
const char *th__sqlite_q_col_text(th__q *q, int col);
size_t th__sqlite_q_col_len(th__q *q, int col);
const void *th__sqlite_q_col_blob(th__q *q, int col, size_t *len);
th__q *th__sqlite_idea_list_q(th_db *db, const th__idea_list_args *a);
int th__sqlite_migrate(th_db *db);
bool th__sqlite_in_txn(th_db *db);
bool th__sqlite_connected(th_db *db);
void th__sqlite_checkpoint(th_db *db);
int th__sqlite_exclusive_begin(th_db *db);
void th__sqlite_exclusive_end(th_db *db);
int th__sqlite_synchronous(th_db *db);
int th__sqlite_backup(th_db *db, const char *dest);

/* ---- the WAL's writes gathered (walbuf.c) -------------------------------- */

/* The name of a VFS that wraps SQLite's current default VFS and gathers a
 * WAL's writes into one system call per commit where the connection allows
 * it (below); registered on first use. NULL if it cannot be made: then the
 * default VFS serves unchanged. Any thread. */
const char *th__walbuf_vfs(void);
/* sqlite3_file_control(db, "main", TH__FCNTL_WAL_BUFFER, &int): nonzero lets
 * the WAL's writes be gathered until its sync. Only for connections that
 * sync every commit (synchronous=FULL or EXTRA). */
#define TH__FCNTL_WAL_BUFFER 0x54480001

#endif /* TH_STORE_SQLITE_H */
