/*
 * pgq.c: the store's interface (store.h) over PostgreSQL (libpq): the
 * statements of statements.h prepared by name at first use ("s<id>", ?N
 * rewritten to $N), bound as text (numbers) or binary (blobs), run at
 * their first step; SQLSTATEs mapped to TH_E codes; a lost connection
 * reset on its next use, at most once a second; transactions, the data
 * version, the probe and the database held alone. The engine's table is
 * at the end. docs/design/postgresql.md.
 */
#include "pg.h"

#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* 'T' 'H' 'A' 'L' (PRAGMA application_id's value) and the writer's lock:
 * one write transaction at a time across every node (statements.h, BEGIN). */
#define TH__PG_LOCK "1414021452, 2"

/* PostgreSQL's text of each statement: SQLite's, or its second text. */
static const char *const th__pg_texts[TH__S_COUNT] = {
#define TH__STMT(id, sql) sql,
#define TH__STMT2(id, sql, pg_sql) pg_sql,
#include "statements.h"
#undef TH__STMT2
#undef TH__STMT
};

static int64_t th__pg_mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* SQLite's ?N as PostgreSQL's $N, outside quoted strings and identifiers.
 * *nparams gets the highest N, *named a bit per N named (1 << (N - 1)).
 * NULL when out of memory. */
static char *th__pg_rewrite(const char *in, int *nparams, uint64_t *named) {
  size_t n = strlen(in);
  char *out = malloc(n + 1);
  if (out == NULL)
    return NULL;
  *nparams = 0;
  *named = 0;
  char quote = 0;
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    char ch = in[i];
    if (quote) {
      if (ch == quote)
        quote = 0; /* a doubled quote reopens at once: the same */
      out[o++] = ch;
      continue;
    }
    if (ch == '\'' || ch == '"') {
      quote = ch;
      out[o++] = ch;
      continue;
    }
    if (ch == '?' && in[i + 1] >= '0' && in[i + 1] <= '9') {
      int v = 0;
      out[o++] = '$';
      while (in[i + 1] >= '0' && in[i + 1] <= '9') {
        v = v * 10 + (in[i + 1] - '0');
        out[o++] = in[++i];
      }
      if (v > *nparams)
        *nparams = v;
      if (v >= 1 && v <= 64)
        *named |= (uint64_t)1 << (v - 1);
      continue;
    }
    out[o++] = ch;
  }
  out[o] = '\0';
  return out;
}

/* ---- errors --------------------------------------------------------------- */

static bool th__pg_state_is(const char *state, const char *want) {
  return state && strcmp(state, want) == 0;
}

/* Whether a SQLSTATE says the connection is gone, or is to a server that
 * cannot take writes (a standby after fail-over): reset it. */
static bool th__pg_state_lost(const char *state) {
  return state &&
         (strncmp(state, "08", 2) == 0 || th__pg_state_is(state, "57P01") ||
          th__pg_state_is(state, "57P02") ||
          th__pg_state_is(state, "57P03") ||
          th__pg_state_is(state, "25006"));
}

static int th__pg_code(const char *state) {
  if (state == NULL)
    return TH_EDB;
  static const struct {
    const char *state;
    int code;
  } map[] = {
      {"23505", TH_EEXIST}, {"40001", TH_EBUSY},    {"40P01", TH_EBUSY},
      {"55P03", TH_EBUSY},  {"53300", TH_EBUSY},    {"57014", TH_EBUSY},
      {"53100", TH_EFULL},  {"53200", TH_ENOMEM},   {"28P01", TH_EAUTH},
      {"28000", TH_EAUTH},  {"3D000", TH_ENOTFOUND}, {"25006", TH_EIO},
  };
  for (size_t i = 0; i < TH__ARRAY_SIZE(map); i++)
    if (strcmp(state, map[i].state) == 0)
      return map[i].code;
  if (th__pg_state_lost(state))
    return TH_EIO;
  return TH_EDB;
}

/* A message on one line (libpq's run to several, indented by tabs),
 * without its trailing newline, into out. */
static void th__pg_trim(const char *msg, char *out, size_t n) {
  snprintf(out, n, "%s", msg ? msg : "");
  size_t len = strlen(out);
  while (len > 0 && (out[len - 1] == '\n' || out[len - 1] == ' '))
    out[--len] = '\0';
  size_t o = 0;
  for (size_t i = 0; i < len; i++) {
    if (out[i] == '\n' || out[i] == '\t') {
      if (o > 0 && out[o - 1] != ' ')
        out[o++] = ' ';
      continue;
    }
    out[o++] = out[i];
  }
  out[o] = '\0';
}

int th__pg_fail(th_db *db, th__pg_conn *c, const PGresult *r,
                const char *what) {
  const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
  const char *primary =
      r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
  char msg[300];
  th__pg_trim(primary ? primary : PQerrorMessage(c->pg), msg, sizeof msg);
  int code = th__pg_code(state);
  /* An error without a SQLSTATE is libpq's own, not the server's: the
   * connection failed (a server that closed it answers so before libpq
   * marks the connection bad). */
  if (PQstatus(c->pg) != CONNECTION_OK || th__pg_state_lost(state) ||
      state == NULL) {
    /* Reset on the next use (th__pg_usable), never here: a loop is not
     * kept waiting for a server that went away. */
    c->lost = true;
    return th__err(db, TH_EIO,
                   "%s: the connection to %s was lost (%s); nothing of this "
                   "was kept: try again",
                   what, c->name, msg[0] ? msg : "no answer");
  }
  if (code == TH_EFULL)
    return th__err(db, code,
                   "%s: the disk is full (%s); nothing of this write was kept",
                   what, msg);
  return th__err(db, code, "%s: %s", what, msg);
}

/* ---- the connection ------------------------------------------------------ */

int th__pg_session(th_db *db, th__pg_conn *c) {
  char sql[256];
  /* Besides the handle's own settings, those that decide how values read
   * back, whatever the database's or role's defaults say: bytea as hex
   * (th__q_col_blob decodes only that), floats with every digit (the
   * ranking keys in list cursors), and UTF-8 text. */
  snprintf(sql, sizeof sql,
           "SET synchronous_commit = %s; SET lock_timeout = %d;"
           " SET default_transaction_read_only = %s; SET bytea_output = hex;"
           " SET extra_float_digits = 3; SET client_encoding = 'UTF8'",
           c->synchronous == 1 ? "off" : "on", c->lock_ms,
           c->readonly ? "on" : "off");
  return th__pg_exec(db, sql, "configuring the connection");
}

/* Every statement's result dropped, and what the server session held
 * (prepared statements) forgotten: after a reset. */
static void th__pg_forget(th__pg_conn *c) {
  memset(c->prepared, 0, sizeof c->prepared);
  for (size_t i = 0; i < TH__S_COUNT; i++) {
    PQclear(c->stmts[i].res);
    c->stmts[i].res = NULL;
  }
  for (size_t i = 0; i < TH__ARRAY_SIZE(c->dyn); i++) {
    PQclear(c->dyn[i].q.res);
    c->dyn[i].q.res = NULL;
    c->dyn[i].prepared = false;
  }
}

/* The connection made again: its session's settings, and a transaction
 * that was open on the handle marked lost. */
static bool th__pg_reconnected(th_db *db, th__pg_conn *c) {
  c->resetting = false;
  c->lost = false;
  c->txn_lost = db->in_batch || db->write_depth > 0;
  if (th__pg_session(db, c) < 0) {
    c->lost = true;
    return false;
  }
  return true;
}

static bool th__pg_reset_failed(th_db *db, th__pg_conn *c) {
  char msg[300];
  th__pg_trim(PQerrorMessage(c->pg), msg, sizeof msg);
  c->resetting = false;
  c->lost = true;
  th__err(db, TH_EIO, "reconnecting to %s: %s", c->name,
          msg[0] ? msg : "no answer");
  return false;
}

/* How long a reset may take before it is given up (the connect_timeout
 * libpq does not enforce on a connection made without waiting). */
#define TH__PG_RESET_MS 10000

/* Whether db's connection can be used now. A lost one is reset without
 * waiting (PQresetStart, then PQresetPoll as far as its socket is ready at
 * each use), a new attempt at most once a second: a loop thread answers
 * TH_EIO at once while the server is away, never blocks on it. False with
 * db's error set. */
static bool th__pg_usable(th_db *db, th__pg_conn *c) {
  if (c == NULL || c->pg == NULL) {
    th__lost(db);
    return false;
  }
  if (!c->lost && PQstatus(c->pg) == CONNECTION_OK)
    return true;
  int64_t now = th__pg_mono_ms();
  if (!c->resetting) {
    if (c->reset_at != 0 && now - c->reset_at < 1000) {
      th__err(db, TH_EIO,
              "the connection to %s is lost; trying again at most once a "
              "second",
              c->name);
      return false;
    }
    c->reset_at = now;
    c->lost = true;
    th__pg_forget(c);
    if (!PQresetStart(c->pg))
      return th__pg_reset_failed(db, c);
    c->resetting = true;
    c->polling = PGRES_POLLING_WRITING;
  }
  for (int i = 0; i < 16; i++) {
    struct pollfd p = {.fd = PQsocket(c->pg),
                       .events = c->polling == PGRES_POLLING_READING
                                     ? POLLIN
                                     : POLLOUT};
    if (p.fd < 0)
      return th__pg_reset_failed(db, c);
    if (poll(&p, 1, 0) <= 0)
      break; /* not yet: on a later use */
    PostgresPollingStatusType st = PQresetPoll(c->pg);
    if (st == PGRES_POLLING_OK)
      return th__pg_reconnected(db, c);
    if (st == PGRES_POLLING_FAILED)
      return th__pg_reset_failed(db, c);
    c->polling = st;
  }
  if (now - c->reset_at > TH__PG_RESET_MS) {
    c->resetting = false; /* a new attempt at the next use */
    th__err(db, TH_EIO, "reconnecting to %s: no answer in %d s", c->name,
            TH__PG_RESET_MS / 1000);
    return false;
  }
  th__err(db, TH_EIO, "the connection to %s is lost; reconnecting",
          c->name);
  return false;
}

int th__pg_exec(th_db *db, const char *sql, const char *what) {
  th__pg_conn *c = th__pg_conn_of(db);
  if (c == NULL || c->pg == NULL)
    return th__lost(db);
  PGresult *r = PQexec(c->pg, sql);
  ExecStatusType st = PQresultStatus(r);
  int rc = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK
               ? TH_OK
               : th__pg_fail(db, c, r, what);
  PQclear(r);
  return rc;
}

/* ---- statements ----------------------------------------------------------- */

/* Forgets a statement's bindings (and its result). */
static void th__pg_unbind(th__pg_q *q) {
  PQclear(q->res);
  q->res = NULL;
  for (int i = 0; i < TH__PG_PARAMS; i++) {
    free(q->own[i]);
    q->own[i] = NULL;
    q->vals[i] = NULL;
    q->lens[i] = 0;
    q->fmts[i] = 0;
  }
}

/* Prepares q's text on the server under its name; types where a parameter
 * is not named in the text (a list without its ward: $2 unused, $3 used)
 * are text, which the server could not infer. */
static int th__pg_prepare(th_db *db, th__pg_conn *c, th__pg_q *q) {
  if (q->simple)
    return TH_OK;
  Oid types[TH__PG_PARAMS];
  for (int i = 0; i < q->nparams; i++)
    types[i] = (q->named & ((uint64_t)1 << i)) ? 0 : 25 /* text */;
  PGresult *r = PQprepare(c->pg, q->name, q->sql, q->nparams, types);
  int rc = PQresultStatus(r) == PGRES_COMMAND_OK
               ? TH_OK
               : th__pg_fail(db, c, r, "preparing a statement");
  PQclear(r);
  return rc;
}

static void th__pg_q_init(th__pg_q *q, th__pg_conn *c) {
  q->q.engine = &th__pg_engine;
  q->c = c;
  for (int i = 0; i < TH__PG_BLOB_COLS; i++)
    q->blob[i].row = -1;
}

static th__q *th__pg_q_get(th_db *db, th__stmt_id id) {
  th__pg_conn *c = th__pg_conn_of(db);
  if (!th__pg_usable(db, c))
    return NULL;
  if (c->txn_lost) {
    /* Only what ends the lost transaction, or starts a new one. */
    if (db->in_batch || db->write_depth > 1 ||
        (db->write_depth == 1 && id != TH__S_BEGIN)) {
      if (id != TH__S_ROLLBACK && id != TH__S_ROLLBACK_TO &&
          id != TH__S_RELEASE) {
        th__err(db, TH_EIO,
                "the connection to %s was lost during this transaction; "
                "nothing of it was kept: roll it back",
                c->name);
        return NULL;
      }
    } else {
      c->txn_lost = false;
    }
  }
  th__pg_q *q = &c->stmts[id];
  th__pg_unbind(q);
  if (c->prepared[id / 64] & ((uint64_t)1 << (id % 64)))
    return &q->q;
  if (c->sql[id] == NULL) {
    c->sql[id] = th__pg_rewrite(th__pg_texts[id], &q->nparams, &q->named);
    if (c->sql[id] == NULL) {
      th__err(db, TH_ENOMEM, "out of memory");
      return NULL;
    }
    th__pg_q_init(q, c);
    snprintf(q->name, sizeof q->name, "s%d", (int)id);
    q->sql = c->sql[id];
    q->simple = strchr(q->sql, ';') != NULL && q->nparams == 0;
    q->commit = id == TH__S_COMMIT;
    if (q->nparams > TH__PG_PARAMS) {
      th__err(db, TH_EDB, "statement %s has too many parameters", q->name);
      return NULL;
    }
  }
  if (th__pg_prepare(db, c, q) < 0)
    return NULL;
  c->prepared[id / 64] |= (uint64_t)1 << (id % 64);
  return &q->q;
}

th__q *th__pg_stmt_dynamic(th_db *db, const char *sql) {
  th__pg_conn *c = th__pg_conn_of(db);
  if (!th__pg_usable(db, c))
    return NULL;
  size_t slot = TH__ARRAY_SIZE(c->dyn);
  for (size_t i = 0; i < TH__ARRAY_SIZE(c->dyn); i++)
    if (c->dyn[i].key && strcmp(c->dyn[i].key, sql) == 0)
      slot = i;
  int nparams = 0;
  uint64_t named = 0;
  if (slot == TH__ARRAY_SIZE(c->dyn)) {
    char *key = th__strdup(sql);
    char *text = key ? th__pg_rewrite(sql, &nparams, &named) : NULL;
    if (text == NULL || nparams > TH__PG_PARAMS) {
      free(key);
      free(text);
      th__err(db, text ? TH_EDB : TH_ENOMEM,
              text ? "a list with too many parameters" : "out of memory");
      return NULL;
    }
    /* Round robin: the handful of list shapes an application uses stay. */
    slot = c->dyn_next++ % TH__ARRAY_SIZE(c->dyn);
    th__pg_q *old = &c->dyn[slot].q;
    th__pg_unbind(old);
    if (c->dyn[slot].prepared) {
      char dealloc[32];
      snprintf(dealloc, sizeof dealloc, "DEALLOCATE %s", old->name);
      PQclear(PQexec(c->pg, dealloc));
    }
    free(c->dyn[slot].key);
    free(c->dyn[slot].sql);
    for (int i = 0; i < TH__PG_BLOB_COLS; i++)
      free(old->blob[i].p);
    memset(old, 0, sizeof *old);
    th__pg_q_init(old, c);
    c->dyn[slot].key = key;
    c->dyn[slot].sql = text;
    c->dyn[slot].prepared = false;
    snprintf(old->name, sizeof old->name, "d%u", ++c->dyn_serial);
    old->sql = text;
    old->nparams = nparams;
    old->named = named;
    old->dyn = (unsigned)slot + 1;
  }
  th__pg_q *q = &c->dyn[slot].q;
  th__pg_unbind(q);
  if (!c->dyn[slot].prepared) {
    if (th__pg_prepare(db, c, q) < 0)
      return NULL;
    c->dyn[slot].prepared = true;
  }
  return &q->q;
}

static th__pg_q *th__pg_q_of(th__q *q) { return (th__pg_q *)q; }

/* Parameter i (from 1) of q as an index from 0, its copy freed; -1 when
 * out of range. */
static int th__pg_param(th__pg_q *q, int i) {
  if (i < 1 || i > TH__PG_PARAMS)
    return -1;
  i--;
  free(q->own[i]);
  q->own[i] = NULL;
  q->fmts[i] = 0;
  q->lens[i] = 0;
  return i;
}

static void th__pg_q_i64(th__q *qq, int i, int64_t v) {
  th__pg_q *q = th__pg_q_of(qq);
  if ((i = th__pg_param(q, i)) < 0)
    return;
  snprintf(q->num[i], sizeof q->num[i], "%" PRId64, v);
  q->vals[i] = q->num[i];
}

static void th__pg_q_f64(th__q *qq, int i, double v) {
  th__pg_q *q = th__pg_q_of(qq);
  if ((i = th__pg_param(q, i)) < 0)
    return;
  snprintf(q->num[i], sizeof q->num[i], "%.17g", v);
  q->vals[i] = q->num[i];
}

static void th__pg_q_null(th__q *qq, int i) {
  th__pg_q *q = th__pg_q_of(qq);
  if ((i = th__pg_param(q, i)) >= 0)
    q->vals[i] = NULL;
}

static void th__pg_q_text(th__q *qq, int i, const char *s) {
  th__pg_q *q = th__pg_q_of(qq);
  if ((i = th__pg_param(q, i)) >= 0)
    q->vals[i] = s;
}

/* A text of `len` bytes, copied: a parameter in text format ends at its
 * NUL. Out of memory binds NULL, which the statement then refuses or
 * stores as missing: never a truncated text. */
static void th__pg_q_textn(th__q *qq, int i, const char *s, size_t len) {
  th__pg_q *q = th__pg_q_of(qq);
  if ((i = th__pg_param(q, i)) < 0)
    return;
  q->vals[i] = NULL;
  if (s == NULL)
    return;
  q->own[i] = malloc(len + 1);
  if (q->own[i] == NULL)
    return;
  memcpy(q->own[i], s, len);
  q->own[i][len] = '\0';
  q->vals[i] = q->own[i];
}

static void th__pg_q_text_copy(th__q *qq, int i, const char *s) {
  th__pg_q_textn(qq, i, s, s ? strlen(s) : 0);
}

static void th__pg_q_blob(th__q *qq, int i, const void *p, size_t len) {
  th__pg_q *q = th__pg_q_of(qq);
  if ((i = th__pg_param(q, i)) < 0)
    return;
  /* Binary format: the bytes as they are, no bytea escaping. A zero-length
   * blob is an empty blob, not NULL. */
  q->vals[i] = p ? p : "";
  q->lens[i] = (int)len;
  q->fmts[i] = 1;
}

static void th__pg_q_reset(th__q *qq) {
  th__pg_q *q = th__pg_q_of(qq);
  PQclear(q->res);
  q->res = NULL;
}

/* Runs q: its result kept, the row cursor before the first row. */
static int th__pg_run(th_db *db, th__pg_q *q, const char *what) {
  th__pg_conn *c = q->c;
  if (c->pg == NULL || c->lost)
    return th__err(db, TH_EIO, "%s: the connection to %s was lost", what,
                   c->name);
  if (q->commit) {
    /* PostgreSQL answers a COMMIT outside a transaction with a warning,
     * and one of a failed transaction with ROLLBACK: neither committed
     * anything, and neither may look as if it did. */
    PGTransactionStatusType t = PQtransactionStatus(c->pg);
    if (t == PQTRANS_IDLE)
      return th__err(db, TH_EIO,
                     "%s: the transaction was lost with the connection to "
                     "%s; nothing of it was kept",
                     what, c->name);
    if (t == PQTRANS_INERROR) {
      PQclear(PQexec(c->pg, "ROLLBACK"));
      return th__err(db, TH_EDB,
                     "%s: a statement of the transaction had failed; it was "
                     "rolled back",
                     what);
    }
  }
  PGresult *r =
      q->simple ? PQexec(c->pg, q->sql)
                : PQexecPrepared(c->pg, q->name, q->nparams, q->vals, q->lens,
                                 q->fmts, 0);
  ExecStatusType st = PQresultStatus(r);
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
    int rc = th__pg_fail(db, c, r, what);
    PQclear(r);
    /* BEGIN is "BEGIN; SELECT pg_advisory_xact_lock(...)": when the lock
     * is not granted (lock_timeout, a cancel, a deadlock) the block it
     * opened stays open and failed, and every later statement on the
     * handle would fail with it. Nothing of it is the caller's yet: roll
     * it back here. */
    if (q->simple && c->pg && PQtransactionStatus(c->pg) == PQTRANS_INERROR)
      PQclear(PQexec(c->pg, "ROLLBACK"));
    return rc;
  }
  const char *cmd = PQcmdStatus(r);
  if (strncmp(cmd, "INSERT", 6) == 0 || strncmp(cmd, "UPDATE", 6) == 0 ||
      strncmp(cmd, "DELETE", 6) == 0 || strncmp(cmd, "MERGE", 5) == 0)
    c->changes = strtoll(PQcmdTuples(r), NULL, 10);
  q->res = r;
  q->rows = PQntuples(r);
  q->row = -1;
  for (int i = 0; i < TH__PG_BLOB_COLS; i++)
    q->blob[i].row = -1;
  return TH_OK;
}

static int th__pg_q_step(th_db *db, th__q *qq, const char *what) {
  th__pg_q *q = th__pg_q_of(qq);
  if (q->res == NULL) {
    int rc = th__pg_run(db, q, what);
    if (rc < 0)
      return rc;
  }
  if (++q->row < q->rows)
    return TH__ROW;
  th__pg_q_reset(qq);
  return TH__DONE;
}

static int th__pg_q_run(th_db *db, th__q *qq, const char *what) {
  th__pg_q *q = th__pg_q_of(qq);
  th__pg_q_reset(qq);
  int rc = th__pg_run(db, q, what);
  th__pg_q_reset(qq);
  return rc < 0 ? rc : TH_OK;
}

static int th__pg_q_insert(th_db *db, th__q *qq, const char *what,
                           int64_t *id) {
  th__pg_q *q = th__pg_q_of(qq);
  th__pg_q_reset(qq);
  *id = 0;
  int rc = th__pg_run(db, q, what);
  if (rc == TH_OK && q->rows > 0 && !PQgetisnull(q->res, 0, 0))
    *id = strtoll(PQgetvalue(q->res, 0, 0), NULL, 10);
  th__pg_q_reset(qq);
  return rc < 0 ? rc : TH_OK;
}

static int64_t th__pg_q_changes(th_db *db) {
  th__pg_conn *c = th__pg_conn_of(db);
  return c ? c->changes : 0;
}

/* ---- columns -------------------------------------------------------------- */

static bool th__pg_q_col_null(th__q *qq, int col) {
  th__pg_q *q = th__pg_q_of(qq);
  return q->res == NULL || q->row < 0 || q->row >= q->rows ||
         col >= PQnfields(q->res) || PQgetisnull(q->res, q->row, col);
}

static const char *th__pg_value(th__q *qq, int col) {
  th__pg_q *q = th__pg_q_of(qq);
  return th__pg_q_col_null(qq, col) ? NULL : PQgetvalue(q->res, q->row, col);
}

static int64_t th__pg_q_col_i64(th__q *qq, int col) {
  const char *v = th__pg_value(qq, col);
  if (v == NULL)
    return 0;
  /* A boolean expression (c.pkey IS NULL) reads as SQLite's 1 or 0. */
  if (v[0] == 't')
    return 1;
  if (v[0] == 'f')
    return 0;
  char *end = NULL;
  long long n = strtoll(v, &end, 10);
  if (*end == '.' || *end == 'e' || *end == 'E')
    return (int64_t)strtod(v, NULL); /* a numeric: truncated, as SQLite */
  return n;
}

static int th__pg_q_col_int(th__q *qq, int col) {
  return (int)th__pg_q_col_i64(qq, col);
}

static double th__pg_q_col_f64(th__q *qq, int col) {
  const char *v = th__pg_value(qq, col);
  if (v == NULL)
    return 0.0;
  if (v[0] == 't')
    return 1.0;
  if (v[0] == 'f')
    return 0.0;
  return strtod(v, NULL);
}

static const char *th__pg_q_col_text(th__q *qq, int col) {
  return th__pg_value(qq, col);
}

static size_t th__pg_q_col_len(th__q *qq, int col) {
  th__pg_q *q = th__pg_q_of(qq);
  return th__pg_q_col_null(qq, col)
             ? 0
             : (size_t)PQgetlength(q->res, q->row, col);
}

static int th__pg_hex(char ch) {
  if (ch >= '0' && ch <= '9')
    return ch - '0';
  if (ch >= 'a' && ch <= 'f')
    return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F')
    return ch - 'A' + 10;
  return -1;
}

static const void *th__pg_q_col_blob(th__q *qq, int col, size_t *len) {
  th__pg_q *q = th__pg_q_of(qq);
  *len = 0;
  const char *v = th__pg_value(qq, col);
  if (v == NULL)
    return NULL;
  size_t n = (size_t)PQgetlength(q->res, q->row, col);
  /* A bytea comes as \x and hex (text results); anything else is its
   * bytes as they are. */
  if (PQftype(q->res, col) != 17 /* bytea */ || n < 2 || v[0] != '\\' ||
      v[1] != 'x') {
    *len = n;
    return n ? v : NULL;
  }
  if (col < 0 || col >= TH__PG_BLOB_COLS)
    return NULL;
  size_t bytes = (n - 2) / 2;
  if (bytes == 0)
    return NULL; /* as SQLite: an empty blob reads as no pointer */
  if (q->blob[col].row == q->row && q->blob[col].p) {
    *len = q->blob[col].len;
    return q->blob[col].p;
  }
  if (q->blob[col].p == NULL || q->blob[col].cap < bytes) {
    unsigned char *p = realloc(q->blob[col].p, bytes);
    if (p == NULL)
      return NULL;
    q->blob[col].p = p;
    q->blob[col].cap = bytes;
  }
  for (size_t i = 0; i < bytes; i++) {
    int hi = th__pg_hex(v[2 + 2 * i]), lo = th__pg_hex(v[3 + 2 * i]);
    if (hi < 0 || lo < 0)
      return NULL;
    q->blob[col].p[i] = (unsigned char)(hi << 4 | lo);
  }
  q->blob[col].len = bytes;
  q->blob[col].row = q->row;
  *len = bytes;
  return q->blob[col].p;
}

/* ---- the connection's upkeep ----------------------------------------------- */

static int th__pg_configure(th_db *db, const th_open_options *opt) {
  th__pg_conn *c = th__pg_conn_of(db);
  if (c == NULL)
    return th__lost(db);
  c->synchronous = opt->synchronous;
  c->readonly = (opt->flags & TH_OPEN_READONLY) != 0;
  c->lock_ms = opt->busy_timeout_ms > 0 ? opt->busy_timeout_ms : 5000;
  return th__pg_session(db, c);
}

static void th__pg_free_q(th__pg_q *q) {
  th__pg_unbind(q);
  for (int i = 0; i < TH__PG_BLOB_COLS; i++)
    free(q->blob[i].p);
}

static void th__pg_close(th_db *db) {
  th__pg_conn *c = th__pg_conn_of(db);
  if (c == NULL)
    return;
  for (size_t i = 0; i < TH__S_COUNT; i++) {
    th__pg_free_q(&c->stmts[i]);
    free(c->sql[i]);
  }
  for (size_t i = 0; i < TH__ARRAY_SIZE(c->dyn); i++) {
    th__pg_free_q(&c->dyn[i].q);
    free(c->dyn[i].key);
    free(c->dyn[i].sql);
  }
  /* A transaction left open (a batch) ends with the session: the server
   * rolls it back. */
  PQfinish(c->pg);
  free(c);
  db->conn = NULL;
}

/* Asked for (store.h's th__db_reconnect): made again now, waiting. */
static int th__pg_reconnect(th_db *db) {
  th__pg_conn *c = th__pg_conn_of(db);
  if (c == NULL || c->pg == NULL)
    return th__lost(db);
  c->reset_at = th__pg_mono_ms();
  th__pg_forget(c);
  PQreset(c->pg);
  if (PQstatus(c->pg) != CONNECTION_OK) {
    th__pg_reset_failed(db, c);
    return db->errcode;
  }
  return th__pg_reconnected(db, c) ? TH_OK : db->errcode;
}

static int th__pg_migrate(th_db *db) {
  th__pg_conn *c = th__pg_conn_of(db);
  if (!th__pg_usable(db, c))
    return db->errcode;
  /* The migrations' lock is waited for as long as another node migrates,
   * not the busy timeout that bounds a write's wait for the writer's. */
  int rc = th__pg_exec(db, "SET lock_timeout = 0", "migrating");
  if (rc == TH_OK)
    rc = th__pg_migrate_conn(db, c->pg, c->name);
  /* DDL may have changed what prepared statements refer to. */
  th__pg_forget(c);
  if (rc == TH_OK)
    rc = th__pg_session(db, c);
  else if (!c->lost)
    th__pg_session(db, c);
  return rc;
}

static int th__pg_schema_version(th_db *db) {
  th__pg_conn *c = th__pg_conn_of(db);
  if (c == NULL || !th__pg_usable(db, c))
    return -1;
  return th__pg_schema_version_conn(c->pg);
}

static int th__pg_data_version(th_db *db, int64_t *out) {
  th__q *q = th__pg_q_get(db, TH__S_DATA_VERSION);
  if (q == NULL)
    return db->errcode;
  int rc = th__pg_q_step(db, q, "reading the data version");
  if (rc != TH__ROW) {
    th__pg_q_reset(q);
    return rc < 0 ? rc
                  : th__err(db, TH_EDB,
                            "reading the data version: townhall_version is "
                            "empty");
  }
  *out = th__pg_q_col_i64(q, 0);
  th__pg_q_reset(q);
  return TH_OK;
}

static int th__pg_write_probe(th_db *db) {
  static const unsigned char room[16384];
  int rc = th__write_begin(db);
  if (rc < 0)
    return rc;
  th__q *q = th__pg_q_get(db, TH__S_PROBE_WRITE);
  if (q == NULL) {
    rc = db->errcode;
  } else {
    th__pg_q_i64(q, 1, th_now(db));
    th__pg_q_blob(q, 2, room, sizeof room);
    rc = th__pg_q_run(db, q, "writing the readiness probe");
  }
  return th__write_end(db, rc);
}

static bool th__pg_in_txn(th_db *db) {
  th__pg_conn *c = th__pg_conn_of(db);
  if (c == NULL || c->pg == NULL)
    return false;
  PGTransactionStatusType t = PQtransactionStatus(c->pg);
  return t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE;
}

static bool th__pg_connected(th_db *db) {
  th__pg_conn *c = th__pg_conn_of(db);
  return c != NULL && c->pg != NULL && !c->lost &&
         PQstatus(c->pg) == CONNECTION_OK;
}

/* After a purge or a key rotation (retention.c, rotate.c: committed, no
 * transaction open): SQLite's WAL checkpoint has no counterpart a townhall
 * role may run (CHECKPOINT needs pg_checkpoint), and PostgreSQL's own
 * checkpointer moves the WAL into the tables. What it has instead is the
 * privacy upkeep docs/privacy.md promises: a destroyed consultation key,
 * a re-sealed key or site secret, an erased pseudonym or a cleared
 * feedback token stays in its table's file as a dead tuple until VACUUM.
 * The two small tables holding sealed keys and secrets are rewritten into
 * new files (VACUUM FULL: the old file is unlinked, so the old bytes are in
 * no file; their readers wait a moment for the rewrite); the two large
 * ones get a plain VACUUM, which frees the dead tuples without locking
 * out writers. A failure (a lock not granted within lock_timeout, a lost
 * connection) leaves autovacuum to do it later: nothing committed
 * depends on it. */
static void th__pg_checkpoint(th_db *db) {
  th__pg_conn *c = th__pg_conn_of(db);
  if (c == NULL || c->pg == NULL || c->lost ||
      PQtransactionStatus(c->pg) != PQTRANS_IDLE)
    return;
  /* VACUUM FULL waits for its exclusive lock in the queue, and every new
   * read of those tables (every loop's, on every node) would wait behind
   * it: a short lock_timeout gives up at once instead, leaving it to
   * autovacuum, then the handle's own comes back. */
  static const char *const vacuum[] = {
      "SET lock_timeout = 50",
      "VACUUM (FULL) consultations, sites",
      "VACUUM participants, feedback",
  };
  for (size_t i = 0; i < TH__ARRAY_SIZE(vacuum); i++)
    PQclear(PQexec(c->pg, vacuum[i]));
  char restore[64];
  snprintf(restore, sizeof restore, "SET lock_timeout = %d", c->lock_ms);
  PQclear(PQexec(c->pg, restore));
}

/* The writer's lock held by the session (not a transaction: the handle's
 * own writes open theirs inside it, and an advisory lock a session holds
 * is granted again to it), and no other client connection to the
 * database: the counterpart of SQLite's exclusive lock. Tried again for
 * as long as the busy timeout, as SQLite's busy handler would: a
 * connection just closed leaves its server process a moment later. Other
 * sessions' reads are not blocked (MVCC); their writes wait for the
 * lock. */
static int th__pg_exclusive_begin(th_db *db) {
  th__pg_conn *c = th__pg_conn_of(db);
  if (!th__pg_usable(db, c))
    return db->errcode;
  int64_t until = th__pg_mono_ms() + c->lock_ms;
  for (;;) {
    PGresult *r = PQexec(
        c->pg, "SELECT pg_try_advisory_lock(" TH__PG_LOCK "),"
               " (SELECT count(*) FROM pg_stat_activity"
               " WHERE datname = current_database()"
               " AND pid <> pg_backend_pid()"
               " AND backend_type = 'client backend')");
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
      int rc = th__pg_fail(db, c, r, "taking the database alone");
      PQclear(r);
      return rc;
    }
    bool locked = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    long others = strtol(PQgetvalue(r, 0, 1), NULL, 10);
    PQclear(r);
    if (locked && others == 0)
      return TH_OK;
    if (locked)
      PQclear(PQexec(c->pg, "SELECT pg_advisory_unlock(" TH__PG_LOCK ")"));
    if (th__pg_mono_ms() >= until)
      break;
    struct timespec pause = {.tv_sec = 0, .tv_nsec = 20000000L};
    nanosleep(&pause, NULL);
  }
  return th__err(db, TH_EBUSY, "%s is in use by another connection",
                 c->name);
}

static void th__pg_exclusive_end(th_db *db) {
  th__pg_conn *c = th__pg_conn_of(db);
  if (c && c->pg && !c->lost)
    PQclear(PQexec(c->pg, "SELECT pg_advisory_unlock(" TH__PG_LOCK ")"));
}

static int th__pg_synchronous(th_db *db) {
  th__pg_conn *c = th__pg_conn_of(db);
  if (c == NULL || c->pg == NULL || c->lost)
    return -1;
  /* synchronous_commit as SQLite's PRAGMA synchronous: off is NORMAL (1),
   * anything that waits for the WAL's flush FULL (2). */
  const char *v = PQparameterStatus(c->pg, "synchronous_commit");
  if (v == NULL) {
    PGresult *r = PQexec(c->pg, "SHOW synchronous_commit");
    int s = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1
                ? strcmp(PQgetvalue(r, 0, 0), "off") == 0 ? 1 : 2
                : -1;
    PQclear(r);
    return s;
  }
  return strcmp(v, "off") == 0 ? 1 : 2;
}

static int th__pg_backup(th_db *db, const char *dest) {
  (void)dest;
  th__clear_err(db);
  th__pg_conn *c = th__pg_conn_of(db);
  return th__err(db, TH_ESTATE,
                 "%s is a PostgreSQL database: th_backup copies SQLite files "
                 "only; back it up with pg_dump or the provider's backups "
                 "(docs/operations.md), and the key file separately",
                 c ? c->name : "the database");
}

const th__engine th__pg_engine = {
    .name = "postgresql",
    .q_get = th__pg_q_get,
    .q_i64 = th__pg_q_i64,
    .q_f64 = th__pg_q_f64,
    .q_null = th__pg_q_null,
    .q_text = th__pg_q_text,
    .q_textn = th__pg_q_textn,
    .q_text_copy = th__pg_q_text_copy,
    .q_blob = th__pg_q_blob,
    .q_step = th__pg_q_step,
    .q_run = th__pg_q_run,
    .q_insert = th__pg_q_insert,
    .q_reset = th__pg_q_reset,
    .q_changes = th__pg_q_changes,
    .q_col_i64 = th__pg_q_col_i64,
    .q_col_int = th__pg_q_col_int,
    .q_col_f64 = th__pg_q_col_f64,
    .q_col_null = th__pg_q_col_null,
    .q_col_text = th__pg_q_col_text,
    .q_col_len = th__pg_q_col_len,
    .q_col_blob = th__pg_q_col_blob,
    .idea_list_q = th__pg_idea_list_q,
    .store_configure = th__pg_configure,
    .store_close = th__pg_close,
    .reconnect = th__pg_reconnect,
    .migrate = th__pg_migrate,
    .schema_version = th__pg_schema_version,
    .data_version = th__pg_data_version,
    .write_probe = th__pg_write_probe,
    .in_txn = th__pg_in_txn,
    .connected = th__pg_connected,
    .checkpoint = th__pg_checkpoint,
    .exclusive_begin = th__pg_exclusive_begin,
    .exclusive_end = th__pg_exclusive_end,
    .synchronous = th__pg_synchronous,
    .backup = th__pg_backup,
};
