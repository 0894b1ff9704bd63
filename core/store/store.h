/*
 * store.h: the store's interface to the domain. The domain (the files of core/)
 * names a statement, binds typed values, steps it and reads typed columns;
 * only the code under core/store/ knows the engine (SQLite, the default; a
 * libpq implementation satisfies the same interface), its SQL text and its
 * result codes. Each function goes to the engine behind the handle or the
 * statement (engine.h, store.c). Included by internal.h; never includes an
 * engine header.
 *
 * Threads: a statement belongs to its handle and is used on the thread
 * that uses the handle. Lifetime: a th__q from th__q_get is the handle's;
 * it stays valid until the next th__q_get of the same statement (which
 * resets it), and is never freed by the caller.
 *
 * Placeholders are numbered from 1 ($1 in PostgreSQL, ?1 in SQLite), and
 * columns from 0, in the order statements.h gives them.
 */
#ifndef TH_STORE_H
#define TH_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct th_db th_db;

/* Every named statement (core/store/statements.h). */
typedef enum th__stmt_id {
#define TH__STMT(id, sql) TH__S_##id,
#include "statements.h"
#undef TH__STMT
  TH__S_COUNT
} th__stmt_id;

/* A handle's connection to its engine (db->conn), the store's alone. */
typedef struct th__conn th__conn;

/* A named statement in use. */
typedef struct th__q th__q;

/* What th__q_step found. */
enum { TH__DONE = 0, TH__ROW = 1 };

/* The statement `id`, reset and with its bindings cleared; NULL with db's
 * error set (a statement that cannot be prepared, a lost connection). */
th__q *th__q_get(th_db *db, th__stmt_id id);

/* Binding parameter `i` (from 1). A text or blob is not copied: it must
 * stay as it is until the statement is reset (th__q_reset, the end of
 * th__q_run / th__q_insert, a step that returns TH__DONE or an error).
 * th__q_text with NULL binds NULL. th__q_text_copy copies. */
void th__q_i64(th__q *q, int i, int64_t v);
void th__q_f64(th__q *q, int i, double v);
void th__q_null(th__q *q, int i);
void th__q_text(th__q *q, int i, const char *s);
void th__q_textn(th__q *q, int i, const char *s, size_t len);
void th__q_text_copy(th__q *q, int i, const char *s);
void th__q_blob(th__q *q, int i, const void *p, size_t len);

/* One step: TH__ROW (read its columns, then step again or reset),
 * TH__DONE (the statement is reset), or a negative TH_E code with db's
 * error set, naming `what` ("reading an idea"; the statement is reset). */
int th__q_step(th_db *db, th__q *q, const char *what);
/* Runs a statement to its first row or its end and resets it: TH_OK or
 * the mapped error. For writes and for statements whose rows are not
 * read. */
int th__q_run(th_db *db, th__q *q, const char *what);
/* Runs an INSERT … RETURNING id: *id is the new row's id, or 0 when no row
 * was inserted (ON CONFLICT … DO NOTHING); resets it. TH_OK or the mapped
 * error. */
int th__q_insert(th_db *db, th__q *q, const char *what, int64_t *id);
/* Resets a statement whose rows were not all read (releasing what it
 * holds, a read transaction among them). NULL is fine. */
void th__q_reset(th__q *q);
/* Rows inserted, changed or deleted by the last statement run on db. */
int64_t th__q_changes(th_db *db);

/* Column `col` (from 0) of the current row. A text or blob pointer is
 * valid until the next step or reset of `q`; a NULL text is NULL, a NULL
 * number 0. */
int64_t th__q_col_i64(th__q *q, int col);
int th__q_col_int(th__q *q, int col);
double th__q_col_f64(th__q *q, int col);
bool th__q_col_null(th__q *q, int col);
const char *th__q_col_text(th__q *q, int col);
size_t th__q_col_len(th__q *q, int col);
const void *th__q_col_blob(th__q *q, int col, size_t *len);
/* A malloc'd copy of a text column, "" for NULL; NULL only when out of
 * memory. */
char *th__q_col_dup(th__q *q, int col);

/* ---- the connection (sqlite.c) ------------------------------------------- */

typedef struct th_open_options th_open_options;
/* Opens db->path as `opt` asks (a new file readable by its owner alone; a
 * read-only handle creates nothing) and reads its schema version into
 * *version (0: a new database). A file that is not a database, is corrupt,
 * belongs to another program or to a newer townhall is refused before
 * anything writes: TH_ENOTDB, TH_ECORRUPT, TH_ENEWER, or the mapped error.
 * The handle's thread. */
int th__store_open(th_db *db, const th_open_options *opt, int *version);
/* Whether `path` is a database server's connection URI (postgresql://),
 * not a file: no file beside it, nothing to stat. */
bool th__store_is_uri(const char *path);
/* The database as a message names it: a file's path, or a URI's display
 * form (postgresql://user@host/dbname, never its password). */
const char *th__store_name(const th_db *db);
/* The connection's settings once the key ring is loaded: durability as
 * `opt` asks, the log, the SQL functions migrations call. TH_OK or the
 * mapped error. */
int th__store_configure(th_db *db, const th_open_options *opt);
/* Rolls back a batch left open, finalises every statement and closes the
 * connection. Safe on a handle whose connection was lost or never made. */
void th__store_close(th_db *db);

/* Closes the handle's connection (dropping every lock it holds) and opens
 * a new one in its place, as th_open would. On failure the handle can only
 * be closed. */
int th__db_reconnect(th_db *db);
/* Brings the schema up to the latest version (migrate.c), in one
 * transaction per migration. TH_OK or the mapped error. */
int th__migrate(th_db *db);
/* The engine's data version, read in a read transaction of its own: it
 * changes whenever another connection, in this process or any other, has
 * committed since the last read (PRAGMA data_version). TH_OK or the mapped
 * error. */
int th__data_version(th_db *db, int64_t *out);
/* Readiness: one small real write (the probe table's row), committed as
 * any other, so that a database that cannot take writes (a full disk, a
 * read-only file system, a lock held elsewhere) says so. */
int th__write_probe(th_db *db);

/* ---- transactions (txn.c) ------------------------------------------------ */

/* Starts a write: BEGIN IMMEDIATE outside a batch, a SAVEPOINT inside one.
 * Every th__write_begin that succeeded is paired with th__write_end, which
 * commits (or releases) when rc >= 0 and rolls back otherwise, and returns
 * rc or the commit's error. */
int th__write_begin(th_db *db);
int th__write_end(th_db *db, int rc);

/* ---- the checkpointer (checkpoint.c) ------------------------------------- */

/* Moves a writer connection's WAL checkpoints out of its COMMITs onto a
 * thread with a connection of its own. NULL when that cannot be set up:
 * then SQLite's automatic checkpoints stay. Called on the thread that
 * opened `w`, before it writes. */
typedef struct th__ckpt th__ckpt;
th__ckpt *th__ckpt_start(th_db *w);
/* Takes the hook off `w` (before th__ckpt_stop, when `w` stays open). */
void th__ckpt_unhook(th_db *w);
/* Stops the thread (after `w` is closed or unhooked) and closes its
 * connection, which checkpoints what is left. NULL is fine. */
void th__ckpt_stop(th__ckpt *c);
/* PRAGMA synchronous as `db`'s connection reports it (2 = FULL), or -1.
 * The thread that uses `db`. */
int th__synchronous(th_db *db);

/* ---- upkeep (maint.c) ---------------------------------------------------- */

/* Moves what the write-ahead log holds into the database and empties it
 * (after a purge or a key rotation, so that removed bytes leave the log).
 * Best effort: a failure changes nothing committed. */
void th__store_checkpoint(th_db *db);
/* Whether a transaction is open on db's connection. */
bool th__store_in_txn(th_db *db);
/* Whether db has a connection: false once it was lost (th__lost). */
bool th__store_connected(th_db *db);

/* ---- the database for one handle alone (maint.c) ------------------------- */

/* Takes the database for db's connection alone, for a change nobody else
 * may write beside or see half-done (a key rotation): until
 * th__store_exclusive_end no other connection, in this process or another,
 * can read or write, and db can still read (a backup) and write (its own
 * transactions). Outside any transaction. TH_OK; TH_EBUSY while any other
 * connection is open (a running server), the handle then holding nothing
 * and usable, and the message the caller's to word; another TH_E code with
 * db's message, the handle holding nothing either. */
int th__store_exclusive_begin(th_db *db);
/* Gives the database back to every connection. Best effort: a failure
 * leaves the handle usable, and its next read lets the others in. */
void th__store_exclusive_end(th_db *db);

/* ---- lists whose shape varies (lists.c) ---------------------------------- */

/* An idea list as th_idea_list asks for it: where, which, in what order,
 * from where on. Numbers are as the domain keeps them (times in ms). */
typedef struct th__idea_list_args {
  int64_t site_id;         /* the site's ideas, when consultation_id is 0 */
  int64_t consultation_id; /* 0: every consultation of the site */
  unsigned statuses;       /* a TH_STATUS_BIT mask of th_status values */
  const char *ward;        /* NULL: any; not copied (as th__q_text) */
  const char *category;    /* NULL: any; not copied */
  int64_t created_from;    /* 0: no bound; else created >= it */
  int64_t created_to;      /* 0: no bound; else created < it */
  int sort;                /* a th_sort (TH_SORT_TOP ... TH_SORT_RANDOM) */
  int64_t seed;            /* TH_SORT_RANDOM's shuffle */
  /* A page after the first: the last row's sort key (after_key for top,
   * hot and controversial, after_key_int for new and random) and id; 0
   * after_id: the first page. */
  double after_key;
  int64_t after_key_int;
  int64_t after_id;
  int64_t rows; /* rows at most */
} th__idea_list_args;

/* The statement listing `a`, bound and ready to step (th__q_step): its rows
 * have the columns of IDEA_GET (statements.h, TH__IDEA_COLS: 0 to 20)
 * and then the row's sort key (21: a number, read as th__q_col_f64 or
 * th__q_col_i64 as the sort's key is), in the sort's order. NULL with db's
 * error set. Built per shape and cached by the handle: valid until the
 * handle next builds a statement at run time (which may take its place in
 * the cache), and never freed by the caller. */
th__q *th__idea_list_q(th_db *db, const th__idea_list_args *a);

#endif /* TH_STORE_H */
