/*
 * sqlite.h: what the files of core/store/ share about SQLite, and nothing
 * outside core/store/ includes: the connection behind a handle, the
 * statement cache, result codes mapped to TH_E codes, the WAL's buffering.
 */
#ifndef TH_STORE_SQLITE_H
#define TH_STORE_SQLITE_H

#include <sqlite3.h>

#include "../internal.h"

/* A handle's connection and its prepared statements (db->conn): made by
 * th__store_open, emptied by a reconnect, freed by th__store_close. */
struct th__conn {
  sqlite3 *sql; /* NULL once lost (th__lost) */
  sqlite3_stmt *stmts[TH__S_COUNT];
  /* Statements built at run time (list queries), cached by their text. */
  struct {
    char *sql;
    sqlite3_stmt *st;
  } dyn[24];
  unsigned dyn_next;
};

/* The handle's SQLite connection, or NULL (not opened, or lost). */
static inline sqlite3 *th__sql(const th_db *db) {
  return db->conn ? db->conn->sql : NULL;
}

/* Maps a SQLite result code to a TH_E code, records SQLite's message with
 * `what` ("recording a vote") and returns the code. */
int th__sqlerr(th_db *db, int rc, const char *what);
/* The cached prepared statement `id`, reset and with bindings cleared; NULL
 * (and db's error set) if it cannot be prepared. */
sqlite3_stmt *th__stmt(th_db *db, th__stmt_id id);
/* A statement built at run time, from a small per-handle cache keyed by its
 * text; reset and with bindings cleared. */
sqlite3_stmt *th__stmt_dynamic(th_db *db, const char *sql);
/* Runs SQL that returns no rows; TH_OK or the mapped error. */
int th__exec(th_db *db, const char *sql);
/* Steps a statement to completion expecting no row, and resets it. */
int th__step_done(th_db *db, sqlite3_stmt *st, const char *what);

/* Creates `path`, if it does not exist, empty and mode 0600 (sqlite.c):
 * before SQLite creates a database or a backup, which would be 0644. 0, or
 * -1 with errno. */
int th__create_private(const char *path);
/* Marks the file as townhall's (PRAGMA application_id; migrate.c). */
int th__set_application_id(th_db *db);

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
