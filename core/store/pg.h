/*
 * pg.h: what core/store/'s PostgreSQL files (pg*.c, compiled only when
 * configure found libpq) share, and nothing outside core/store/ includes.
 */
#ifndef TH_STORE_PG_H
#define TH_STORE_PG_H

#include <libpq-fe.h>

#include "engine.h"

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

/* Brings the database on c to the library's schema version, under the
 * migration advisory lock so that of several nodes starting at once one
 * migrates and the others wait, then find nothing to do. Each migration
 * is one transaction. `name` is the URI's display form, for messages (it
 * never holds the password). TH_OK, or the error with db's message set;
 * the lock is released either way (and with the session, should the node
 * die). c must not be in a transaction. */
int th__pg_migrate_conn(th_db *db, PGconn *c, const char *name);

#endif /* TH_STORE_PG_H */
