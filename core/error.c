/*
 * error.c: the error table, and the per-handle detailed message.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *th_strerror(int code) {
  switch (code) {
#define TH__STRERROR(name, value, text)                                      \
  case TH_##name:                                                            \
    return text;
    TH_ERRNO_MAP(TH__STRERROR)
#undef TH__STRERROR
  case TH_OK:
    return "success";
  case TH_RECORDED:
    return "recorded";
  case TH_DUPLICATE:
    return "already recorded";
  default:
    return "unknown error";
  }
}

const char *th_err_name(int code) {
  switch (code) {
#define TH__ERRNAME(name, value, text)                                       \
  case TH_##name:                                                            \
    return "TH_" #name;
    TH_ERRNO_MAP(TH__ERRNAME)
#undef TH__ERRNAME
  case TH_OK:
    return "TH_OK";
  case TH_RECORDED:
    return "TH_RECORDED";
  case TH_DUPLICATE:
    return "TH_DUPLICATE";
  default:
    return "TH_EUNKNOWN";
  }
}

void th_free(void *p) { free(p); }

int th__err(th_db *db, int code, const char *fmt, ...) {
  if (db == NULL)
    return code;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(db->errmsg, sizeof db->errmsg, fmt, ap);
  va_end(ap);
  db->errcode = code;
  return code;
}

void th__clear_err(th_db *db) {
  db->errcode = TH_OK;
  db->errmsg[0] = '\0';
}

int th__sqlerr(th_db *db, int rc, const char *what) {
  int code;
  switch (rc & 0xff) {
  case SQLITE_FULL:
    code = TH_EFULL;
    break;
  case SQLITE_BUSY:
  case SQLITE_LOCKED:
    code = TH_EBUSY;
    break;
  case SQLITE_IOERR:
  case SQLITE_CANTOPEN:
  case SQLITE_PERM:
    code = TH_EIO;
    break;
  case SQLITE_CORRUPT:
    code = TH_ECORRUPT;
    break;
  case SQLITE_NOTADB:
    code = TH_ENOTDB;
    break;
  case SQLITE_NOMEM:
    code = TH_ENOMEM;
    break;
  case SQLITE_READONLY:
    code = TH_EREADONLY;
    break;
  case SQLITE_CONSTRAINT:
    /* Only a duplicate key means "already exists"; a failed CHECK, NOT NULL
     * or foreign key is a bug or corruption, not the caller's duplicate. */
    code = rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY
               ? TH_EEXIST
               : TH_EDB;
    break;
  default:
    code = TH_EDB;
    break;
  }
  const char *detail = db->sql ? sqlite3_errmsg(db->sql) : sqlite3_errstr(rc);
  if (code == TH_EFULL)
    return th__err(db, code,
                   "%s: the disk is full (%s); nothing of this write was kept",
                   what, detail);
  return th__err(db, code, "%s: %s", what, detail);
}

const char *th_errmsg(th_db *db) {
  if (db == NULL)
    return "no handle (out of memory?)";
  return db->errmsg[0] ? db->errmsg : (db->errcode ? th_strerror(db->errcode) : "");
}

int th_errcode(th_db *db) { return db ? db->errcode : TH_ENOMEM; }

char *th__col_text(sqlite3_stmt *st, int col) {
  const unsigned char *t = sqlite3_column_text(st, col);
  return th__strdup(t ? (const char *)t : "");
}
