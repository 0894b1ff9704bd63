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

const char *th_errmsg(th_db *db) {
  if (db == NULL)
    return "no handle (out of memory?)";
  return db->errmsg[0] ? db->errmsg : (db->errcode ? th_strerror(db->errcode) : "");
}

int th_errcode(th_db *db) { return db ? db->errcode : TH_ENOMEM; }
