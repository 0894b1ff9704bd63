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
  th__q *st = th__q_get(db, TH__S_PART_FIND);
  if (st == NULL)
    return db->errcode;
  th__q_blob(st, 1, pn, sizeof pn);
  rc = th__q_step(db, st, "looking up a participant");
  if (rc == TH__ROW) {
    *id_out = th__q_col_i64(st, 0);
    th__q_reset(st);
    return TH_OK;
  }
  if (rc < 0)
    return rc;
  if (!create)
    return TH_OK;
  st = th__q_get(db, TH__S_PART_INSERT);
  if (st == NULL)
    return db->errcode;
  th__q_i64(st, 1, consultation_id);
  th__q_i64(st, 2, kind);
  th__q_blob(st, 3, pn, sizeof pn);
  return th__q_insert(db, st, "recording a participant", id_out);
}
