/*
 * participant.c: the participants of a consultation, known only by their
 * pseudonym under the consultation's key.
 */
#include "internal.h"

#include <sodium.h>

int th__participant(th_db *db, int64_t consultation_id, const th_who *who,
                    bool create, int64_t *id_out, int *kind_out) {
  *id_out = 0;
  int rc;
  if (who && who->resident && who->resident[0] &&
      (rc = th__resident_id_check(db, who->resident)) < 0)
    return rc;
  unsigned char key[TH__KEY_BYTES];
  rc = th__consultation_key(db, consultation_id, key);
  if (rc < 0)
    return rc;
  unsigned char pn[TH__PSEUDONYM_BYTES];
  int kind = 0;
  rc = th__pseudonym(key, who, pn, &kind);
  sodium_memzero(key, sizeof key);
  if (rc < 0)
    return th__err(db, TH_EINVAL,
                   "who acts must be a resident or a device (address)");
  if (kind_out)
    *kind_out = kind;
  sqlite3_stmt *st = th__stmt(db, TH__S_PART_FIND);
  if (st == NULL)
    return db->errcode;
  sqlite3_bind_blob(st, 1, pn, sizeof pn, SQLITE_STATIC);
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    *id_out = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return TH_OK;
  }
  sqlite3_reset(st);
  if (rc != SQLITE_DONE)
    return th__sqlerr(db, rc, "looking up a participant");
  if (!create)
    return TH_OK;
  st = th__stmt(db, TH__S_PART_INSERT);
  if (st == NULL)
    return db->errcode;
  sqlite3_bind_int64(st, 1, consultation_id);
  sqlite3_bind_int(st, 2, kind);
  sqlite3_bind_blob(st, 3, pn, sizeof pn, SQLITE_STATIC);
  rc = th__step_done(db, st, "recording a participant");
  if (rc < 0)
    return rc;
  *id_out = sqlite3_last_insert_rowid(db->sql);
  return TH_OK;
}
