/*
 * pgmigrate.c: townhall's schema on PostgreSQL (migrations/postgresql/,
 * embedded at build time as th__pg_migrations). PostgreSQL starts at
 * SQLite's version 10 with one baseline file; from 0011 on each migration
 * exists in both dialects under the same number, so a schema version
 * means the same tables on either engine. The version and the owning
 * application live in townhall_meta's one row (PostgreSQL has no PRAGMA
 * user_version or application_id).
 *
 * Migrating takes a session advisory lock first: ten nodes started at
 * once queue on it, the first migrates, the others re-read the version
 * under the lock and apply nothing. A node that dies mid-migration loses
 * the lock with its connection, and its migration's transaction rolls
 * back, so the next one starts from a whole version.
 */
#include "pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The advisory lock's two keys: "THAL" (SQLite's application id, 0x5448414C)
 * and 1 for migrations (the writer's transactions take 2). */
#define TH__PG_LOCK_MIGRATE "1414021452, 1"

/* Runs sql (one or several statements, the simple query protocol). 0, or
 * -1 with libpq's message (without its newline) in msg and the SQLSTATE
 * in state (empty when there is none: a lost connection). */
static int th__pg_run(PGconn *c, const char *sql, char *msg, size_t n,
                      char state[6]) {
  PGresult *r = PQexec(c, sql);
  ExecStatusType st = PQresultStatus(r);
  state[0] = '\0';
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
    PQclear(r);
    return 0;
  }
  const char *s = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
  snprintf(state, 6, "%s", s ? s : "");
  snprintf(msg, n, "%s", r ? PQresultErrorMessage(r) : PQerrorMessage(c));
  size_t len = strlen(msg);
  while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == ' '))
    msg[--len] = '\0';
  PQclear(r);
  return -1;
}

/* The TH_E code of a failed statement here: a lost connection or a server
 * going away is TH_EIO (try again later), a full disk TH_EFULL, the rest
 * TH_EDB. */
static int th__pg_code(PGconn *c, const char *state) {
  if (PQstatus(c) == CONNECTION_BAD || strncmp(state, "08", 2) == 0 ||
      strncmp(state, "57P", 3) == 0)
    return TH_EIO;
  if (strcmp(state, "53100") == 0)
    return TH_EFULL;
  return TH_EDB;
}

int th__pg_schema_version_conn(PGconn *c) {
  /* Two statements: a query naming a table that does not exist fails to
   * plan, whatever a CASE around it would have chosen. */
  PGresult *r = PQexec(c, "SELECT to_regclass('townhall_meta') IS NULL");
  int v = -1;
  if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
      strcmp(PQgetvalue(r, 0, 0), "t") == 0)
    v = 0;
  PQclear(r);
  if (v == 0)
    return 0;
  r = PQexec(c, "SELECT schema_version FROM townhall_meta"
                " WHERE application = 'townhall'");
  if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
    v = (int)strtol(PQgetvalue(r, 0, 0), NULL, 10);
  PQclear(r);
  return v;
}

int th__pg_relations_conn(PGconn *c) {
  PGresult *r = PQexec(
      c, "SELECT count(*) FROM pg_catalog.pg_class k"
         " JOIN pg_catalog.pg_namespace n ON n.oid = k.relnamespace"
         " WHERE n.nspname = current_schema()"
         " AND k.relkind IN ('r', 'p', 'v', 'm', 'f')");
  long n = -1;
  if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
    n = strtol(PQgetvalue(r, 0, 0), NULL, 10);
  PQclear(r);
  return (int)n;
}

int th__pg_refuse_foreign(th_db *db, PGconn *c, const char *name) {
  int relations = th__pg_relations_conn(c);
  if (relations < 0)
    return th__err(db, PQstatus(c) == CONNECTION_BAD ? TH_EIO : TH_EDB,
                   "%s: cannot read what the database holds", name);
  if (relations > 0)
    /* No townhall_meta, yet tables: another application's database (or
     * one a failed hand-made copy left half-made). Never write to it. */
    return th__err(db, TH_ENOTDB,
                   "%s holds %d tables or views but is not a townhall "
                   "database (no townhall_meta); refusing to touch it",
                   name, relations);
  return TH_OK;
}

/* Applies migration m (version v) on a database at version `current`, in
 * one transaction that also records the new version. */
static int th__pg_apply(th_db *db, PGconn *c, const char *name,
                        const th__blob *m, int v, int current) {
  char msg[512], state[6];
  char meta[128];
  if (current == 0)
    snprintf(meta, sizeof meta,
             "INSERT INTO townhall_meta (application, schema_version)"
             " VALUES ('townhall', %d)",
             v);
  else
    snprintf(meta, sizeof meta,
             "UPDATE townhall_meta SET schema_version = %d", v);
  const char *what = "starting";
  if (th__pg_run(c, "BEGIN", msg, sizeof msg, state) == 0 &&
      (what = m->name,
       th__pg_run(c, (const char *)m->data, msg, sizeof msg, state) == 0) &&
      (what = "recording the schema version",
       th__pg_run(c, meta, msg, sizeof msg, state) == 0) &&
      (what = "committing",
       th__pg_run(c, "COMMIT", msg, sizeof msg, state) == 0))
    return TH_OK;
  int code = th__pg_code(c, state);
  char ignored[64], ignored_state[6];
  th__pg_run(c, "ROLLBACK", ignored, sizeof ignored, ignored_state);
  return th__err(db, code, "%s: migrating to schema %d (%s) failed: %s",
                 name, v, what, msg);
}

int th__pg_migrate_conn(th_db *db, PGconn *c, const char *name) {
  char msg[512], state[6];
  if (th__pg_run(c, "SELECT pg_advisory_lock(" TH__PG_LOCK_MIGRATE ")", msg,
                 sizeof msg, state) < 0)
    return th__err(db, th__pg_code(c, state),
                   "%s: waiting for the migration lock: %s", name, msg);
  /* Re-read under the lock: another node may have migrated meanwhile. */
  int current = th__pg_schema_version_conn(c);
  int rc = TH_OK;
  if (current < 0)
    rc = th__err(db, PQstatus(c) == CONNECTION_BAD ? TH_EIO : TH_ENOTDB,
                 "%s: cannot read townhall_meta's schema version", name);
  else if (current == 0)
    rc = th__pg_refuse_foreign(db, c, name);
  for (const th__blob *m = th__pg_migrations; rc == TH_OK && m->name; m++) {
    int v = th__migration_version(m->name);
    if (v < 0) {
      rc = th__err(db, TH_EINVAL, "badly named migration postgresql/%s",
                   m->name);
      break;
    }
    if (v <= current)
      continue;
    /* The first file is the baseline, taken by an empty database only;
     * each later one by the version just before it. */
    if (current != 0 && current != v - 1) {
      rc = th__err(db, TH_ESTATE,
                   "%s: migration postgresql/%s expects schema %d, found %d",
                   name, m->name, v - 1, current);
      break;
    }
    if ((rc = th__pg_apply(db, c, name, m, v, current)) == TH_OK)
      current = v;
  }
  if (rc == TH_OK && current != th_schema_latest())
    rc = th__err(db, TH_ESTATE,
                 "%s: PostgreSQL's migrations end at schema %d but SQLite's "
                 "at %d: this townhall was built without one of them",
                 name, current, th_schema_latest());
  /* A lost connection has lost the lock with it. */
  if (PQstatus(c) == CONNECTION_OK)
    th__pg_run(c, "SELECT pg_advisory_unlock(" TH__PG_LOCK_MIGRATE ")", msg,
               sizeof msg, state);
  return rc;
}
