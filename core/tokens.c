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
  th__q *st = th__q_get(db, TH__S_TOKEN_INSERT);
  if (st == NULL)
    return th__write_end(db, db->errcode);
  if (site_id)
    th__q_i64(st, 1, site_id);
  th__q_i64(st, 2, role);
  th__q_text(st, 3, label);
  th__q_i64(st, 4, now);
  th__q_i64(st, 5, expires);
  int64_t id = 0;
  if ((rc = th__q_insert(db, st, "creating a token", &id)) < 0)
    return th__write_end(db, rc);

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
  if ((st = th__q_get(db, TH__S_TOKEN_SET_HASH)) == NULL) {
    rc = db->errcode;
  } else {
    th__q_i64(st, 1, id);
    th__q_blob(st, 2, hash, sizeof hash);
    rc = th__q_run(db, st, "creating a token");
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

static void th__token_fill(th__q *st, th_token_info *t) {
  t->id = th__q_col_i64(st, 0);
  t->site = th__q_col_dup(st, 1);
  t->role = th__q_col_int(st, 2);
  t->label = th__q_col_dup(st, 3);
  t->created = th__q_col_i64(st, 4);
  t->expires = th__q_col_i64(st, 5);
  t->revoked = th__q_col_int(st, 6);
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
  th__q *st = th__q_get(db, TH__S_TOKEN_GET);
  if (st == NULL)
    return db->errcode;
  th__q_i64(st, 1, id);
  int rc = th__q_step(db, st, "checking a token");
  if (rc != TH__ROW)
    return rc == TH__DONE ? th__err(db, TH_EAUTH, "%s", bad) : rc;
  size_t stored_len = 0;
  const void *stored = th__q_col_blob(st, 7, &stored_len);
  bool match = stored && stored_len == 32 &&
               sodium_memcmp(stored, presented, 32) == 0;
  th_token_info *t = calloc(1, sizeof *t);
  if (t)
    th__token_fill(st, t);
  int64_t token_site = th__q_col_i64(st, 8);
  th__q_reset(st);
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
  th__q *st = th__q_get(db, TH__S_TOKEN_GET);
  if (st == NULL)
    return th__write_end(db, db->errcode);
  th__q_i64(st, 1, id);
  int src = th__q_step(db, st, "revoking a token");
  int revoked = src == TH__ROW ? th__q_col_int(st, 6) : 0;
  int64_t site_id = src == TH__ROW ? th__q_col_i64(st, 8) : 0;
  th__q_reset(st);
  if (src == TH__DONE)
    rc = th__err(db, TH_ENOTFOUND, "no token %" PRId64, id);
  else if (src != TH__ROW)
    rc = src;
  else if (revoked)
    rc = TH_DUPLICATE;
  if (rc == TH_OK) {
    if ((st = th__q_get(db, TH__S_TOKEN_REVOKE)) == NULL)
      rc = db->errcode;
    else {
      th__q_i64(st, 1, id);
      rc = th__q_run(db, st, "revoking a token");
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
  th__q *st = th__q_get(db, TH__S_TOKEN_LIST);
  if (st == NULL)
    return db->errcode;
  th_token_list *l = calloc(1, sizeof *l);
  if (l == NULL)
    return th__err(db, TH_ENOMEM, "out of memory");
  size_t cap = 0;
  int rc;
  while ((rc = th__q_step(db, st, "listing tokens")) == TH__ROW) {
    th_token_info *n = th__grow(l->items, l->count, &cap, sizeof *n);
    if (n == NULL)
      break;
    l->items = n;
    th__token_fill(st, &l->items[l->count++]);
  }
  th__q_reset(st);
  if (rc != TH__DONE) {
    th_token_list_free(l);
    return rc == TH__ROW ? th__err(db, TH_ENOMEM, "out of memory") : rc;
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
