/*
 * migrate.c: applies the migrations compiled into the library
 * (migrations/NNNN_name.sql, embedded at build time) in order, each in one
 * transaction, recording progress in PRAGMA user_version. Forward only: a
 * database newer than the library is refused before anything is touched
 * (db.c), and there is no "down".
 */
#include "sqlite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int th__migration_version(const char *name) {
  /* "0003_feedback.sql" -> 3 */
  int v = 0;
  for (int i = 0; i < 4; i++) {
    if (name[i] < '0' || name[i] > '9')
      return -1;
    v = v * 10 + (name[i] - '0');
  }
  return name[4] == '_' ? v : -1;
}

int th_schema_latest(void) {
  int latest = 0;
  for (const th__blob *m = th__migrations; m->name; m++) {
    int v = th__migration_version(m->name);
    if (v > latest)
      latest = v;
  }
  return latest;
}

static int th__apply(th_db *db, const th__blob *m, int version) {
  int rc = th__exec(db, "BEGIN IMMEDIATE");
  if (rc < 0)
    return rc;
  /* Re-read inside the write lock: another process may have migrated. */
  int current = th_schema_version(db);
  if (current >= version)
    return th__exec(db, "COMMIT");
  if (current != version - 1) {
    th__exec(db, "ROLLBACK");
    return th__err(db, TH_ESTATE, "migration %s expects schema %d, found %d",
                   m->name, version - 1, current);
  }
  char *err = NULL;
  int src = sqlite3_exec(th__sql(db), (const char *)m->data, NULL, NULL, &err);
  if (src != SQLITE_OK) {
    int code = th__err(db, src == SQLITE_FULL ? TH_EFULL : TH_EDB,
                       "migration %s failed: %s", m->name,
                       err ? err : sqlite3_errstr(src));
    sqlite3_free(err);
    sqlite3_exec(th__sql(db), "ROLLBACK", NULL, NULL, NULL);
    return code;
  }
  char sql[64];
  snprintf(sql, sizeof sql, "PRAGMA user_version=%d", version);
  rc = th__exec(db, sql);
  if (rc >= 0 && version == 1)
    rc = th__set_application_id(db);
  if (rc >= 0)
    rc = th__exec(db, "COMMIT");
  if (rc < 0)
    sqlite3_exec(th__sql(db), "ROLLBACK", NULL, NULL, NULL);
  return rc;
}

int th__sqlite_migrate(th_db *db) {
  int current = th_schema_version(db);
  for (const th__blob *m = th__migrations; m->name; m++) {
    int v = th__migration_version(m->name);
    if (v < 0)
      return th__err(db, TH_EINVAL, "badly named migration %s", m->name);
    if (v <= current)
      continue;
    int rc = th__apply(db, m, v);
    if (rc < 0)
      return rc;
    current = v;
  }
  return TH_OK;
}
