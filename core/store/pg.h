/*
 * pg.h: what core/store/'s PostgreSQL files (pg*.c, compiled only when
 * configure found libpq) share, and nothing outside core/store/ includes:
 * the connection behind a handle and its statements prepared by name
 * (pgq.c), and the schema's migration (pgmigrate.c).
 * docs/design/postgresql.md.
 */
#ifndef TH_STORE_PG_H
#define TH_STORE_PG_H

/* config.h (through engine.h) first: its feature macros precede every
 * system header. */
#include "engine.h"

#include <libpq-fe.h>

/* Parameters a statement may have ($1 to $24): statements.h's most is 16,
 * a random idea list's 11. */
#define TH__PG_PARAMS 24
/* Columns whose bytea a row can hold decoded at once. */
#define TH__PG_BLOB_COLS 24

struct th__pg_conn;

/* A statement in use: store.h's th__q, the engine's table first. Its
 * bindings are kept here until the next th__q_get of it; its result from
 * the first step until the end or a reset. */
typedef struct th__pg_q {
  th__q q;
  struct th__pg_conn *c;
  char name[16];   /* the prepared statement's name: s<id> or d<serial> */
  const char *sql; /* PostgreSQL's text ($N); the connection's */
  int nparams;     /* the highest $N the text names */
  uint64_t named;  /* a bit per $N the text names (1 << (N - 1)) */
  bool simple;     /* several commands, no parameter: PQexec (BEGIN) */
  bool commit;     /* COMMIT: refused when its transaction is gone */
  unsigned dyn;    /* 1 + its slot among the dynamic ones, or 0 */
  const char *vals[TH__PG_PARAMS];
  int lens[TH__PG_PARAMS];
  int fmts[TH__PG_PARAMS];
  char num[TH__PG_PARAMS][32]; /* integers and doubles as text */
  char *own[TH__PG_PARAMS];    /* copies (th__q_text_copy, th__q_textn) */
  PGresult *res;               /* from the first step to the end or reset */
  int row, rows;
  struct {
    unsigned char *p;
    size_t cap, len;
    int row; /* the row decoded, -1 none */
  } blob[TH__PG_BLOB_COLS];
} th__pg_q;

/* A handle's connection (db->conn, the engine's table first): made by
 * th__pg_open, freed by th__store_close. */
typedef struct th__pg_conn {
  th__conn base;
  PGconn *pg;
  char name[256];   /* the URI's display form: never a password */
  bool lost;        /* the connection went away: reset before next use */
  /* Reset while a transaction was open on the handle (a batch, a write):
   * its statements are refused until it is rolled back, so that nothing
   * of it runs on in autocommit. */
  bool txn_lost;
  bool resetting;   /* a reset under way (PQresetStart), not yet done */
  PostgresPollingStatusType polling; /* what it waits for */
  int64_t reset_at; /* when the last PQreset was tried (ms, monotonic) */
  int64_t changes;  /* rows of the last INSERT, UPDATE or DELETE */
  int synchronous;  /* th_open_options.synchronous as configured */
  int readonly;     /* a TH_OPEN_READONLY handle */
  int lock_ms;      /* lock_timeout: the busy timeout */
  /* Which statements are prepared in the server session (a reset clears
   * it: prepared statements live in the session). */
  uint64_t prepared[(TH__S_COUNT + 63) / 64];
  char *sql[TH__S_COUNT]; /* the texts rewritten for PostgreSQL, lazily */
  th__pg_q stmts[TH__S_COUNT];
  /* Statements built at run time (list queries), cached by their text. */
  struct {
    char *key; /* the text asked for (SQLite's form) */
    char *sql; /* PostgreSQL's */
    bool prepared;
    th__pg_q q;
  } dyn[24];
  unsigned dyn_next, dyn_serial;
} th__pg_conn;

/* The engine's table (pgq.c). */
extern const th__engine th__pg_engine;

/* db's connection when it is PostgreSQL's, else NULL. */
static inline th__pg_conn *th__pg_conn_of(const th_db *db) {
  return db->conn && db->conn->engine == &th__pg_engine
             ? (th__pg_conn *)db->conn
             : NULL;
}

/* A statement built at run time (lists.c), from the handle's small cache
 * keyed by its text (SQLite's form, ?N: rewritten as pgq.c does for
 * statements.h); its bindings cleared. NULL with db's error set. */
th__q *th__pg_stmt_dynamic(th_db *db, const char *sql);
/* The idea lists (lists.c). */
th__q *th__pg_idea_list_q(th_db *db, const th__idea_list_args *a);
/* Runs SQL of no parameter on db's connection, outside the statement
 * cache: TH_OK or the mapped error naming `what` (pgq.c). */
int th__pg_exec(th_db *db, const char *sql, const char *what);
/* Records a failed command's error on db (SQLSTATE mapped to a TH_E code,
 * a lost connection marked) and returns the code (pgq.c). */
int th__pg_fail(th_db *db, th__pg_conn *c, const PGresult *r,
                const char *what);
/* The session's settings after a connect or a reset (pgq.c). */
int th__pg_session(th_db *db, th__pg_conn *c);

/* ---- the schema (pgmigrate.c) ------------------------------------------- */

/* The migrations compiled in from migrations/postgresql/ (embed.sh). */
extern const th__blob th__pg_migrations[];

/* The schema version of the database on c: townhall_meta's, 0 for a
 * database without townhall_meta (an empty one: pg.c refuses one holding
 * another application's tables before asking), -1 if it cannot be read. */
int th__pg_schema_version_conn(PGconn *c);

/* The tables, views and foreign tables in c's current schema, -1 if they
 * cannot be counted: a database with some but no townhall_meta belongs to
 * another application. */
int th__pg_relations_conn(PGconn *c);

/* TH_OK for a database whose current schema holds no table, view or
 * foreign table; else TH_ENOTDB (another application's: never written
 * to), with db's message naming `name`. For one without townhall_meta. */
int th__pg_refuse_foreign(th_db *db, PGconn *c, const char *name);

/* Brings the database on c to the library's schema version, under the
 * migration advisory lock so that of several nodes starting at once one
 * migrates and the others wait, then find nothing to do. Each migration
 * is one transaction. `name` is the URI's display form, for messages (it
 * never holds the password). TH_OK, or the error with db's message set;
 * the lock is released either way (and with the session, should the node
 * die). c must not be in a transaction. */
int th__pg_migrate_conn(th_db *db, PGconn *c, const char *name);

#endif /* TH_STORE_PG_H */
