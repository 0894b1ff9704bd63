/*
 * migrate.c: core/store/pgmigrate.c's migration on its own, for
 * tests/pg/test_migrate.py (several of these at once on one database).
 *
 *   migrate URI
 *
 * Connects with libpq, runs th__pg_migrate_conn, and prints one line,
 * "ok VERSION" (the schema version afterwards) or "error TH_E… message",
 * exiting 0 or 1. Linked with libthcore.a, for the internal function.
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"
#include "store/pg.h"

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: migrate URI\n");
    return 2;
  }
  PGconn *c = PQconnectdb(argv[1]);
  if (PQstatus(c) != CONNECTION_OK) {
    printf("error connect %s", PQerrorMessage(c));
    PQfinish(c);
    return 1;
  }
  th_db *db = calloc(1, sizeof *db);
  if (db == NULL)
    return 1;
  int rc = th__pg_migrate_conn(db, c, "the test database");
  if (rc == TH_OK)
    printf("ok %d\n", th__pg_schema_version_conn(c));
  else
    printf("error %s %s\n", th_err_name(rc), db->errmsg);
  free(db);
  PQfinish(c);
  return rc == TH_OK ? 0 : 1;
}
