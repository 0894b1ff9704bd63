/*
 * tokens.c: staff API tokens. A token is "th_<id>_<secret>": the id finds
 * the row, and the keyed hash of the whole token is compared in constant
 * time. The secret is 192 random bits and is never stored; the hash is keyed
 * with a subkey of the key file, so a stolen database does not allow
 * guesses to be tested offline.
 */
#include "internal.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TH__TOKEN_SECRET_BYTES 24
#define TH__TOKEN_MAX_AGE (INT64_C(731) * TH__DAY_MS)

static const char *const th__role_names[] = {NULL, "moderator", "councillor",
                                             "admin"};

const char *th_role_name(int role) {
  if (role < TH_ROLE_MODERATOR || role > TH_ROLE_ADMIN)
    return NULL;
  return th__role_names[role];
}

int th_role_parse(const char *name) {
  for (int r = TH_ROLE_MODERATOR; name && r <= TH_ROLE_ADMIN; r++)
    if (strcmp(name, th__role_names[r]) == 0)
      return r;
  return TH_EINVAL;
}

int th_token_create(th_db *db, th_actor actor, const char *site_slug,
                    int role, const char *label, th_time expires,
                    char **token_out, int64_t *id_out) {
  th__clear_err(db);
  if (token_out == NULL)
    return th__err(db, TH_EINVAL, "token_out is NULL");
  *token_out = NULL;
  if (th_role_name(role) == NULL)
    return th__err(db, TH_EINVAL, "role must be moderator, councillor or admin");
  int rc = th__text_check(db, "label", label, 1, 80, 0);
  if (rc < 0)
    return rc;
  th_time now = th_now(db);
  if (expires == 0)
    expires = now + 90 * TH__DAY_MS;
  if (expires <= now || expires > now + TH__TOKEN_MAX_AGE)
    return th__err(db, TH_EINVAL,
                   "a token must expire in the future, within two years");
  int64_t site_id = 0;
  if (site_slug) {
    th__site_row site;
    if ((rc = th__site_lookup(db, site_slug, &site)) < 0)
      return rc;
    site_id = site.id;
  }
  if ((rc = th__write_begin(db)) < 0)
    return rc;
  sqlite3_stmt *st = th__stmt(db, TH__S_TOKEN_INSERT);
  if (st == NULL)
    return th__write_end(db, db->errcode);
  if (site_id)
    sqlite3_bind_int64(st, 1, site_id);
  sqlite3_bind_int(st, 2, role);
  sqlite3_bind_text(st, 3, label, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 4, now);
  sqlite3_bind_int64(st, 5, expires);
  if ((rc = th__step_done(db, st, "creating a token")) < 0)
    return th__write_end(db, rc);
  int64_t id = sqlite3_last_insert_rowid(db->sql);

  unsigned char secret[TH__TOKEN_SECRET_BYTES];
  randombytes_buf(secret, sizeof secret);
  char b64[64];
  sodium_bin2base64(b64, sizeof b64, secret, sizeof secret,
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  sodium_memzero(secret, sizeof secret);
  char *token = malloc(96);
  if (token == NULL)
    return th__write_end(db, th__err(db, TH_ENOMEM, "out of memory"));
  snprintf(token, 96, "th_%" PRId64 "_%s", id, b64);
  sodium_memzero(b64, sizeof b64);
  unsigned char hash[32];
  th__token_hash(db->keys, token, strlen(token), hash);
  if ((st = th__stmt(db, TH__S_TOKEN_SET_HASH)) == NULL) {
    rc = db->errcode;
  } else {
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_blob(st, 2, hash, sizeof hash, SQLITE_TRANSIENT);
    rc = th__step_done(db, st, "creating a token");
  }
  if (rc >= 0 && site_id) {
    char detail[128];
    snprintf(detail, sizeof detail, "token %" PRId64 " (%s, %s)", id,
             th_role_name(role), label);
    rc = th__audit(db, site_id, actor, "token:create", 0, detail);
  }
  rc = th__write_end(db, rc < 0 ? rc : TH_RECORDED);
  if (rc < 0) {
    sodium_memzero(token, strlen(token));
    free(token);
    return rc;
  }
  *token_out = token;
  if (id_out)
    *id_out = id;
  return rc;
}

static void th__token_fill(sqlite3_stmt *st, th_token_info *t) {
  t->id = sqlite3_column_int64(st, 0);
  t->site = th__col_text(st, 1);
  t->role = sqlite3_column_int(st, 2);
  t->label = th__col_text(st, 3);
  t->created = sqlite3_column_int64(st, 4);
  t->expires = sqlite3_column_int64(st, 5);
  t->revoked = sqlite3_column_int(st, 6);
}

void th_token_info_free(th_token_info *t) {
  if (t == NULL)
    return;
  free((char *)t->site);
  free((char *)t->label);
  free(t);
}

/* "th_<id>_<secret>" -> id, or 0 if the shape is wrong. */
static int64_t th__token_id(const char *token) {
  if (token == NULL || strncmp(token, "th_", 3) != 0)
    return 0;
  int64_t id = 0;
  const char *p = token + 3;
  int digits = 0;
  while (*p >= '0' && *p <= '9' && digits < 18) {
    id = id * 10 + (*p++ - '0');
    digits++;
  }
  if (digits == 0 || *p != '_' || strlen(p + 1) != 32)
    return 0;
  return id;
}

int th_token_check(th_db *db, const char *token, const char *site_slug,
                   th_token_info **out) {
  th__clear_err(db);
  if (out)
    *out = NULL;
  /* Every failure gets this one message: which part was wrong is for the
   * log, not for whoever is guessing. */
  static const char bad[] = "the staff token is not valid";
  int64_t id = th__token_id(token);
  unsigned char presented[32];
  /* Hash even a malformed token, so that every path costs the same. */
  th__token_hash(db->keys, token ? token : "", token ? strlen(token) : 0,
                 presented);
  if (id == 0)
    return th__err(db, TH_EAUTH, "%s", bad);
  sqlite3_stmt *st = th__stmt(db, TH__S_TOKEN_GET);
  if (st == NULL)
    return db->errcode;
  sqlite3_bind_int64(st, 1, id);
  int rc = sqlite3_step(st);
  if (rc != SQLITE_ROW) {
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? th__err(db, TH_EAUTH, "%s", bad)
                             : th__sqlerr(db, rc, "checking a token");
  }
  const void *stored = sqlite3_column_blob(st, 7);
  bool match = stored && sqlite3_column_bytes(st, 7) == 32 &&
               sodium_memcmp(stored, presented, 32) == 0;
  th_token_info *t = calloc(1, sizeof *t);
  if (t)
    th__token_fill(st, t);
  int64_t token_site = sqlite3_column_int64(st, 8);
  sqlite3_reset(st);
  if (t == NULL || t->site == NULL || t->label == NULL) {
    th_token_info_free(t);
    return th__err(db, TH_ENOMEM, "out of memory");
  }
  rc = TH_OK;
  if (!match || t->revoked || t->expires <= th_now(db))
    rc = th__err(db, TH_EAUTH, "%s", bad);
  else if (site_slug && token_site && strcmp(site_slug, t->site) != 0)
    rc = th__err(db, TH_EPERM, "this token is for another site");
  if (rc == TH_OK && out)
    *out = t;
  else
    th_token_info_free(t);
  return rc;
}

int th_token_revoke(th_db *db, th_actor actor, int64_t id) {
  th__clear_err(db);
  int rc = th__write_begin(db);
  if (rc < 0)
    return rc;
  sqlite3_stmt *st = th__stmt(db, TH__S_TOKEN_GET);
  if (st == NULL)
    return th__write_end(db, db->errcode);
  sqlite3_bind_int64(st, 1, id);
  int src = sqlite3_step(st);
  int revoked = src == SQLITE_ROW ? sqlite3_column_int(st, 6) : 0;
  int64_t site_id = src == SQLITE_ROW ? sqlite3_column_int64(st, 8) : 0;
  sqlite3_reset(st);
  if (src == SQLITE_DONE)
    rc = th__err(db, TH_ENOTFOUND, "no token %" PRId64, id);
  else if (src != SQLITE_ROW)
    rc = th__sqlerr(db, src, "revoking a token");
  else if (revoked)
    rc = TH_DUPLICATE;
  if (rc == TH_OK) {
    if ((st = th__stmt(db, TH__S_TOKEN_REVOKE)) == NULL)
      rc = db->errcode;
    else {
      sqlite3_bind_int64(st, 1, id);
      rc = th__step_done(db, st, "revoking a token");
    }
    if (rc >= 0 && site_id) {
      char detail[64];
      snprintf(detail, sizeof detail, "token %" PRId64, id);
      rc = th__audit(db, site_id, actor, "token:revoke", 0, detail);
    }
    if (rc >= 0)
      rc = TH_RECORDED;
  }
  return th__write_end(db, rc);
}

int th_token_list_all(th_db *db, th_token_list **out) {
  th__clear_err(db);
  if (out == NULL)
    return th__err(db, TH_EINVAL, "out is NULL");
  *out = NULL;
  sqlite3_stmt *st = th__stmt(db, TH__S_TOKEN_LIST);
  if (st == NULL)
    return db->errcode;
  th_token_list *l = calloc(1, sizeof *l);
  if (l == NULL)
    return th__err(db, TH_ENOMEM, "out of memory");
  size_t cap = 0;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    th_token_info *n = th__grow(l->items, l->count, &cap, sizeof *n);
    if (n == NULL)
      break;
    l->items = n;
    th__token_fill(st, &l->items[l->count++]);
  }
  sqlite3_reset(st);
  if (rc != SQLITE_DONE) {
    th_token_list_free(l);
    return rc == SQLITE_ROW ? th__err(db, TH_ENOMEM, "out of memory")
                            : th__sqlerr(db, rc, "listing tokens");
  }
  *out = l;
  return TH_OK;
}

void th_token_list_free(th_token_list *l) {
  if (l == NULL)
    return;
  for (size_t i = 0; i < l->count; i++) {
    free((char *)l->items[i].site);
    free((char *)l->items[i].label);
  }
  free(l->items);
  free(l);
}
