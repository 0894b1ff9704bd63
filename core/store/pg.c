/*
 * pg.c: the store's connection to PostgreSQL (libpq), compiled only when
 * configure found libpq (HAVE_LIBPQ; issue 15, docs/design/postgresql.md):
 * it reads a postgresql:// URI, connects, and identifies the database
 * before anything writes: another application's database is refused
 * untouched, a newer townhall's too. The connection then becomes the
 * handle's (db->conn), its statements and transactions pgq.c's.
 *
 * The password never reaches a message: the URI is parsed once with
 * PQconninfoParse, and every message names the *display form* built from
 * it without password and sslpassword; PQconninfoParse's own error (which
 * can quote a fragment of the password) is never passed on.
 */
#include "pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The oldest server taken: pg_current_xact_id (the data version's
 * counterpart, docs/design/postgresql.md) needs 13. */
#define TH__PG_MIN_VERSION 130000

/* Appends printf-style text to buf (size n) at *at, truncating. */
static void th__pg_cat(char *buf, size_t n, size_t *at, const char *s) {
  size_t len = strlen(s);
  if (*at + len >= n)
    len = *at < n - 1 ? n - 1 - *at : 0;
  memcpy(buf + *at, s, len);
  *at += len;
  buf[*at] = '\0';
}

/* The display form of a parsed URI: postgresql://user@host:port/dbname,
 * a socket directory as ?host=, and target_session_attrs; never a
 * password. */
static void th__pg_display(const PQconninfoOption *o, char *out, size_t n) {
  const char *user = NULL, *host = NULL, *port = NULL, *dbname = NULL,
             *tsa = NULL;
  for (; o->keyword; o++) {
    if (o->val == NULL || o->val[0] == '\0')
      continue;
    if (strcmp(o->keyword, "user") == 0)
      user = o->val;
    else if (strcmp(o->keyword, "host") == 0)
      host = o->val;
    else if (strcmp(o->keyword, "port") == 0)
      port = o->val;
    else if (strcmp(o->keyword, "dbname") == 0)
      dbname = o->val;
    else if (strcmp(o->keyword, "target_session_attrs") == 0)
      tsa = o->val;
  }
  bool socket = host && strchr(host, '/');
  size_t at = 0;
  out[0] = '\0';
  th__pg_cat(out, n, &at, "postgresql://");
  if (user) {
    th__pg_cat(out, n, &at, user);
    th__pg_cat(out, n, &at, "@");
  }
  if (host && !socket)
    th__pg_cat(out, n, &at, host);
  if (port && !socket) {
    th__pg_cat(out, n, &at, ":");
    th__pg_cat(out, n, &at, port);
  }
  th__pg_cat(out, n, &at, "/");
  if (dbname)
    th__pg_cat(out, n, &at, dbname);
  const char *sep = "?";
  if (socket) {
    th__pg_cat(out, n, &at, "?host=");
    th__pg_cat(out, n, &at, host);
    if (port) {
      th__pg_cat(out, n, &at, "&port=");
      th__pg_cat(out, n, &at, port);
    }
    sep = "&";
  }
  if (tsa) {
    th__pg_cat(out, n, &at, sep);
    th__pg_cat(out, n, &at, "target_session_attrs=");
    th__pg_cat(out, n, &at, tsa);
  }
}

/* libpq's message without its trailing newline. */
static void th__pg_message(PGconn *c, char *out, size_t n) {
  snprintf(out, n, "%s", c ? PQerrorMessage(c) : "out of memory");
  size_t len = strlen(out);
  while (len > 0 && (out[len - 1] == '\n' || out[len - 1] == ' '))
    out[--len] = '\0';
}

/* A failed connection's TH_E code. libpq gives no SQLSTATE for a
 * connection that never opened, so its (English, client-side) reasons are
 * read: a password asked for and missing or refused is TH_EAUTH, a
 * database that does not exist TH_ENOTFOUND, anything else (no server, a
 * timeout, too many connections) TH_EIO. */
static int th__pg_connect_code(PGconn *c, const char *msg) {
  if (c == NULL)
    return TH_ENOMEM;
  if (PQconnectionNeedsPassword(c) ||
      strstr(msg, "password authentication failed") ||
      strstr(msg, "authentication failed") ||
      strstr(msg, "no pg_hba.conf entry") || strstr(msg, "28P01") ||
      strstr(msg, "28000"))
    return TH_EAUTH;
  if (strstr(msg, "does not exist") && strstr(msg, "database"))
    return TH_ENOTFOUND;
  return TH_EIO;
}

/* Reads the identity of the database: townhall's schema version (0: an
 * empty database), or a refusal. */
static int th__pg_identify(th_db *db, PGconn *c, const char *name,
                           int *version) {
  PGresult *r = PQexec(c, "SELECT to_regclass('townhall_meta') IS NOT NULL");
  if (PQresultStatus(r) != PGRES_TUPLES_OK) {
    char msg[256];
    th__pg_message(c, msg, sizeof msg);
    PQclear(r);
    return th__err(db, TH_EDB, "%s: reading what the database holds: %s",
                   name, msg);
  }
  bool meta = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
  PQclear(r);
  if (!meta) {
    *version = 0;
    return th__pg_refuse_foreign(db, c, name);
  }
  r = PQexec(c, "SELECT application, schema_version FROM townhall_meta");
  if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
    PQclear(r);
    return th__err(db, TH_ENOTDB,
                   "%s has a townhall_meta that is not townhall's; refusing "
                   "to touch it",
                   name);
  }
  bool ours = strcmp(PQgetvalue(r, 0, 0), "townhall") == 0;
  int v = (int)strtol(PQgetvalue(r, 0, 1), NULL, 10);
  PQclear(r);
  if (!ours)
    return th__err(db, TH_ENOTDB,
                   "%s belongs to another application; refusing to touch it",
                   name);
  if (v > th_schema_latest())
    return th__err(db, TH_ENEWER,
                   "%s has schema version %d, written by a newer townhall; "
                   "this is townhall %s (schema %d): upgrade townhall, the "
                   "database was not changed",
                   name, v, PACKAGE_VERSION, th_schema_latest());
  *version = v;
  return TH_OK;
}

const char *th__pg_name(const th_db *db) {
  th__pg_conn *c = th__pg_conn_of(db);
  return c ? c->name : NULL;
}

static void th__pg_notice(void *arg, const char *message) {
  (void)arg;
  (void)message;
}

int th__pg_open(th_db *db, const th_open_options *opt, int *version) {
  char *perr = NULL;
  PQconninfoOption *o = PQconninfoParse(db->path, &perr);
  if (o == NULL) {
    /* perr can quote the offending fragment, a piece of the password. */
    PQfreemem(perr);
    return th__err(db, TH_EINVAL,
                   "the database is not a valid PostgreSQL connection URI "
                   "(its text is left out of this message: it may hold a "
                   "password)");
  }
  char name[256];
  th__pg_display(o, name, sizeof name);
  PQconninfoFree(o);

  /* Keywords before dbname are the URI's to override (expand_dbname). */
  /* Over TCP, a server gone silent is noticed: data unacknowledged for
   * 30 s, or an idle connection unanswered for a minute, fails the
   * connection rather than the request waiting for ever. */
  const char *const keys[] = {"application_name", "connect_timeout",
                              "client_encoding", "keepalives_idle",
                              "keepalives_interval", "keepalives_count",
                              "tcp_user_timeout", "dbname", NULL};
  const char *const vals[] = {"townhall", "10", "UTF8", "30", "10", "3",
                              "30000", db->path, NULL};
  PGconn *c = PQconnectdbParams(keys, vals, 1);
  int rc;
  if (c == NULL || PQstatus(c) != CONNECTION_OK) {
    char msg[384];
    th__pg_message(c, msg, sizeof msg);
    rc = th__err(db, th__pg_connect_code(c, msg), "connecting to %s: %s",
                 name, msg);
  } else if (PQserverVersion(c) < TH__PG_MIN_VERSION) {
    rc = th__err(db, TH_EDB,
                 "%s runs PostgreSQL %d; townhall needs 13 or newer", name,
                 PQserverVersion(c) / 10000);
  } else if ((rc = th__pg_identify(db, c, name, version)) == TH_OK &&
             *version == 0 &&
             (opt->flags & (TH_OPEN_NOCREATE | TH_OPEN_READONLY))) {
    /* A file that does not exist is TH_ENOTFOUND with these flags (db.c);
     * an empty database is PostgreSQL's counterpart: nothing of
     * townhall's to open, and neither a key file nor a schema made. */
    rc = th__err(db, TH_ENOTFOUND,
                 "%s holds no townhall database (it is empty)", name);
  } else if (rc == TH_OK) {
    th__pg_conn *pc = calloc(1, sizeof *pc);
    if (pc == NULL) {
      rc = th__err(db, TH_ENOMEM, "out of memory");
    } else {
      pc->base.engine = &th__pg_engine;
      pc->pg = c;
      /* The server's notices (a warning before it shuts down) are not the
       * embedding program's stderr's: libpq prints them there by default.
       * Its errors reach the caller as TH_E codes and messages. */
      PQsetNoticeProcessor(c, th__pg_notice, NULL);
      snprintf(pc->name, sizeof pc->name, "%s", name);
      db->conn = &pc->base;
      return TH_OK;
    }
  }
  PQfinish(c);
  return rc;
}
