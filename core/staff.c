/*
 * staff.c: the staff member a token proves (th_staff), and who may do what
 * (docs/SECURITY.md, "Who may do what"). Every function that acts for a
 * staff member or reads what only staff may see has an _as form that takes
 * a th_staff and checks its role here, so that the C API, the bindings and
 * the HTTP API answer alike. The checks are for consistency between
 * callers, not a boundary against the process, which may call the
 * unchecked functions. The _as forms on ideas and consultations are
 * beside what they check, in ideas.c and consultation.c.
 */
#include "internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int th__staff_check(th_db *db, const char *token, const char *site_slug,
                    th_staff *out) {
  memset(out, 0, sizeof *out);
  th_token_info *info = NULL;
  int rc = th_token_check(db, token, site_slug, &info);
  if (rc < 0)
    return rc;
  out->token_id = info->id;
  out->role = info->role;
  out->expires = info->expires;
  snprintf(out->site, sizeof out->site, "%s", info->site);
  snprintf(out->label, sizeof out->label, "%s", info->label);
  snprintf(out->actor, sizeof out->actor, "token %" PRId64 " (%s)", info->id,
           info->label);
  th_token_info_free(info);
  return TH_OK;
}

int th_staff_from_token(th_db *db, const char *token, const char *site_slug,
                        th_staff **out) {
  th__clear_err(db);
  if (out == NULL)
    return th__err(db, TH_EINVAL, "out is NULL");
  *out = NULL;
  th_staff *s = malloc(sizeof *s);
  if (s == NULL)
    return th__err(db, TH_ENOMEM, "out of memory");
  int rc = th__staff_check(db, token, site_slug, s);
  if (rc < 0) {
    free(s);
    return rc;
  }
  *out = s;
  return TH_OK;
}

void th_staff_free(th_staff *staff) { free(staff); }

int th_staff_role(const th_staff *staff) {
  return staff ? staff->role : TH_EINVAL;
}

int64_t th_staff_token_id(const th_staff *staff) {
  return staff ? staff->token_id : 0;
}

const char *th_staff_label(const th_staff *staff) {
  return staff ? staff->label : NULL;
}

const char *th_staff_site(const th_staff *staff) {
  return staff ? staff->site : NULL;
}

const char *th_staff_actor(const th_staff *staff) {
  return staff ? staff->actor : NULL;
}

/* "councillor or admin", for a message. */
static const char *th__roles_text(unsigned roles) {
  switch (roles) {
  case TH__MAY_READ_AUDIT:
    return "an admin";
  case TH__MAY_SET_STATUS:
    return "a councillor or an admin";
  case TH__MAY_MODERATE:
    return "a moderator or an admin";
  default:
    return "staff";
  }
}

int th__staff_may(th_db *db, const th_staff *staff, const char *site_slug,
                  unsigned roles, const char *what) {
  if (staff == NULL)
    return th__err(db, TH_EPERM, "only %s may %s", th__roles_text(roles),
                   what);
  if (staff->site[0] &&
      (site_slug == NULL || strcmp(staff->site, site_slug) != 0))
    return th__err(db, TH_EPERM, "this token is for another site");
  const char *name = th_role_name(staff->role);
  if (name == NULL || !(roles & TH__ROLE_BIT(staff->role)))
    return th__err(db, TH_EPERM, "a %s may not %s: only %s may",
                   name ? name : "token of no known role", what,
                   th__roles_text(roles));
  if (staff->expires <= th_now(db))
    return th__err(db, TH_EAUTH, "the staff token has expired");
  return TH_OK;
}

/* ---- what only staff may read -------------------------------------------- */

int th_feedback_summary_as(th_db *db, const th_staff *staff,
                           const char *site_slug, const char *page,
                           th_page_summary **out) {
  th__clear_err(db);
  if (out)
    *out = NULL;
  if (staff == NULL)
    return th_feedback_summary_public(db, site_slug, page, out);
  int rc = th__staff_may(db, staff, site_slug, TH__MAY_STAFF_READ,
                         "read a page's exact counters");
  return rc < 0 ? rc : th_feedback_summary(db, site_slug, page, out);
}

int th_feedback_pages_as(th_db *db, const th_staff *staff,
                         const char *site_slug, int limit, const char *cursor,
                         th_page_list **out) {
  th__clear_err(db);
  if (out)
    *out = NULL;
  int rc = th__staff_may(db, staff, site_slug, TH__MAY_STAFF_READ,
                         "list the pages' feedback");
  return rc < 0 ? rc : th_feedback_pages(db, site_slug, limit, cursor, out);
}

int th_feedback_comments_as(th_db *db, const th_staff *staff,
                            const char *site_slug, const char *page,
                            int limit, th_comment_list **out) {
  th__clear_err(db);
  if (out)
    *out = NULL;
  int rc = th__staff_may(db, staff, site_slug, TH__MAY_STAFF_READ,
                         "read feedback comments");
  return rc < 0 ? rc : th_feedback_comments(db, site_slug, page, limit, out);
}

int th_audit_list_get_as(th_db *db, const th_staff *staff,
                         const char *site_slug, int64_t before_id, int limit,
                         th_audit_list **out) {
  th__clear_err(db);
  if (out)
    *out = NULL;
  int rc = th__staff_may(db, staff, site_slug, TH__MAY_READ_AUDIT,
                         "read the audit log");
  return rc < 0 ? rc
                : th_audit_list_get(db, site_slug, before_id, limit, out);
}

int th_vote_history_get_as(th_db *db, const th_staff *staff,
                           const char *site_slug, int64_t idea_id,
                           th_vote_history **out) {
  th__clear_err(db);
  if (out)
    *out = NULL;
  /* The history of an idea the caller may not see would tell that it
   * exists: the same answer as th_idea_get_as. */
  th_idea *idea = NULL;
  int rc = th_idea_get_as(db, staff, site_slug, idea_id, &idea);
  th_idea_free(idea);
  return rc < 0 ? rc : th_vote_history_get(db, site_slug, idea_id, out);
}
