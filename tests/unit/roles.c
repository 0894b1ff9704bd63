/*
 * roles.c: who may do what, through the C API. The table is read from
 * docs/SECURITY.md ("Who may do what") and every cell of it is checked:
 * each action is done by anyone (no staff member), a resident (whose token
 * is no staff token), and a staff member of each role, each made by
 * th_staff_from_token; the answer must be the cell's. Then th_staff
 * itself: made only from a valid token, for its site, until it expires.
 */
#include "helpers.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

#define SITE "camden"
#define PAGE "https://www.camden.gov.uk/bins"

/* The callers, in the table's column order. */
enum { ANYONE, RESIDENT, MODERATOR, COUNCILLOR, ADMIN, NCALLERS };
static const char *const caller_names[NCALLERS] = {
    "anyone", "resident", "moderator", "councillor", "admin"};
static th_staff *callers[NCALLERS]; /* NULL for anyone and the resident */

static th_db *db;
static int64_t public_idea, hidden_idea;

/* A new idea by a resident, pending on this moderated site: a title of
 * its own each time (the same title again would be the same idea). */
static int64_t new_idea(const char *what) {
  static int n_ideas;
  char title[64];
  snprintf(title, sizeof title, "%s, number %d", what, ++n_ideas);
  th_who who = {.resident = "alice"};
  th_idea_new n = {.size = sizeof(n), .title = title, .body = "Please."};
  int64_t id = 0;
  if (th_idea_submit(db, SITE, &who, &n, &id) < 0)
    printf("# th_idea_submit: %s\n", th_errmsg(db));
  return id;
}

/* A new published idea. */
static int64_t new_public_idea(const char *title) {
  int64_t id = new_idea(title);
  th_idea_moderate(db, SITE, "fixture", id, TH_MOD_PUBLISH, 0, "fixture");
  return id;
}

/* ---- the actions: each returns the answer as the table words it --------- */

/* "yes", "no" (TH_EPERM), "not found" (TH_ENOTFOUND); anything else as
 * the error's name, which no cell holds. */
static const char *answer(int rc) {
  if (rc >= 0)
    return "yes";
  if (rc == TH_EPERM)
    return "no";
  if (rc == TH_ENOTFOUND)
    return "not found";
  return th_err_name(rc);
}

/* An idea and its history must answer alike. */
static const char *see_idea(const th_staff *s, int64_t id) {
  th_idea *i = NULL;
  int rc = th_idea_get_as(db, s, SITE, id, &i);
  int ok = rc == TH_OK ? i != NULL && i->id == id : i == NULL;
  th_idea_free(i);
  th_vote_history *h = NULL;
  int hrc = th_vote_history_get_as(db, s, SITE, id, &h);
  th_vote_history_free(h);
  if (!ok || (hrc < 0) != (rc < 0) || (rc < 0 && hrc != rc))
    return "the idea and its history disagree";
  return answer(rc);
}

static const char *act_see_public(const th_staff *s) {
  return see_idea(s, public_idea);
}

static const char *act_see_private(const th_staff *s) {
  return see_idea(s, hidden_idea);
}

static const char *list_ideas(const th_staff *s, unsigned statuses) {
  th_idea_query q = {.size = sizeof(q), .statuses = statuses, .sort = TH_SORT_NEW};
  th_idea_page *p = NULL;
  int rc = th_idea_list_as(db, s, SITE, &q, &p);
  size_t n = p ? p->count : 0;
  th_idea_page_free(p);
  if (rc == TH_OK && n == 0)
    return "an empty list";
  return answer(rc);
}

static const char *act_list_public(const th_staff *s) {
  return list_ideas(s, 0);
}

static const char *act_list_other(const th_staff *s) {
  return list_ideas(s, TH_STATUS_BIT(TH_PENDING) | TH_STATUS_BIT(TH_HIDDEN));
}

static const char *act_summary(const th_staff *s) {
  th_page_summary *sum = NULL;
  int rc = th_feedback_summary_as(db, s, SITE, PAGE, &sum);
  const char *a = rc < 0 ? answer(rc)
                  : sum == NULL ? "no summary"
                  : sum->exact ? "exact"
                               : "published";
  th_page_summary_free(sum);
  return a;
}

static const char *act_pages(const th_staff *s) {
  th_page_list *l = NULL;
  int rc = th_feedback_pages_as(db, s, SITE, 0, NULL, &l);
  int got = l && l->count > 0;
  th_page_list_free(l);
  return rc == TH_OK && !got ? "an empty list" : answer(rc);
}

static const char *act_comments(const th_staff *s) {
  th_comment_list *l = NULL;
  int rc = th_feedback_comments_as(db, s, SITE, PAGE, 0, &l);
  int got = l && l->count > 0;
  th_comment_list_free(l);
  return rc == TH_OK && !got ? "an empty list" : answer(rc);
}

/* The writes: each on an idea (a consultation) of its own, so that every
 * allowed one records something, audited under the staff member's name. */
static const char *audited(int rc, const th_staff *s, const char *action) {
  if (rc != TH_RECORDED)
    return answer(rc == TH_DUPLICATE ? TH_EEXIST : rc);
  th_audit_list *a = NULL;
  th_audit_list_get(db, SITE, 0, 1, &a);
  int ok = a && a->count == 1 && strcmp(a->items[0].action, action) == 0 &&
           strcmp(a->items[0].actor, th_staff_actor(s)) == 0;
  th_audit_list_free(a);
  return ok ? "yes" : "recorded, but not audited under the staff member";
}

static const char *act_status(const th_staff *s) {
  int64_t id = new_public_idea("Status to set");
  int rc = th_idea_set_status_as(db, s, SITE, id, TH_ACCEPTED, "We will.");
  th_idea *i = NULL;
  th_idea_get(db, SITE, id, &i);
  int changed = i && i->status == TH_ACCEPTED;
  th_idea_free(i);
  if ((rc >= 0) != changed)
    return "the answer and the idea disagree";
  return audited(rc, s, "status");
}

static const char *act_moderate(const th_staff *s) {
  int64_t id = new_idea("Idea to moderate");
  int rc = th_idea_moderate_as(db, s, SITE, id, TH_MOD_PUBLISH, 0, "fine");
  th_idea *i = NULL;
  th_idea_get(db, SITE, id, &i);
  int changed = i && i->status == TH_PUBLISHED;
  th_idea_free(i);
  if ((rc >= 0) != changed)
    return "the answer and the idea disagree";
  return audited(rc, s, "moderate:publish");
}

static const char *act_consultation(const th_staff *s) {
  static int n;
  char slug[32];
  snprintf(slug, sizeof slug, "roles-%d", ++n);
  th_consultation c = {
      .size = sizeof(th_consultation), .slug = slug, .title = "Parks"};
  int rc = th_consultation_create_as(db, s, SITE, &c, NULL);
  th_consultation *got = NULL;
  int exists = th_consultation_get(db, SITE, slug, &got) == TH_OK;
  th_consultation_free(got);
  if ((rc >= 0) != exists)
    return "the answer and the consultations disagree";
  return audited(rc, s, "consultation:create");
}

static const char *act_audit(const th_staff *s) {
  th_audit_list *a = NULL;
  int rc = th_audit_list_get_as(db, s, SITE, 0, 0, &a);
  int got = a && a->count > 0;
  th_audit_list_free(a);
  return rc == TH_OK && !got ? "an empty list" : answer(rc);
}

/* The table's rows, by their Action cell. */
static const struct {
  const char *action;
  const char *(*act)(const th_staff *s);
} actions[] = {
    {"See a public idea and its vote history", act_see_public},
    {"See an idea the public may not (pending, hidden, withdrawn) and its "
     "vote history",
     act_see_private},
    {"List ideas of the public's statuses", act_list_public},
    {"List ideas of other statuses", act_list_other},
    {"Read a page's feedback figures", act_summary},
    {"List the pages' feedback, worst first", act_pages},
    {"Read a page's feedback comments", act_comments},
    {"Set an idea's status and official response", act_status},
    {"Publish, hide, reject or merge an idea", act_moderate},
    {"Open a consultation", act_consultation},
    {"Read the audit log", act_audit},
};

/* ---- the table, from docs/SECURITY.md ------------------------------------ */

/* Splits a table row "| a | b |" into trimmed cells (in place). */
static int cells(char *line, char **out, int max) {
  int n = 0;
  char *p = strchr(line, '|');
  while (p && n < max) {
    char *start = p + 1;
    char *end = strchr(start, '|');
    if (end == NULL)
      break;
    *end = '\0';
    while (*start == ' ')
      start++;
    char *e = end;
    while (e > start && e[-1] == ' ')
      *--e = '\0';
    out[n++] = start;
    p = end;
  }
  return n;
}

static void test_table(void) {
  const char *top = getenv("TOP_SRCDIR");
  char path[4096];
  snprintf(path, sizeof path, "%s/docs/SECURITY.md", top ? top : ".");
  size_t len = 0;
  char *doc = (char *)t_read_file(path, &len);
  if (!TAP_OK(doc != NULL, "docs/SECURITY.md is readable (%s)", path))
    return;
  char *text = realloc(doc, len + 1);
  text[len] = '\0';
  char *sec = strstr(text, "\n## Who may do what\n");
  TAP_OK(sec != NULL, "docs/SECURITY.md has \"Who may do what\"");
  char *end = sec ? strstr(sec + 1, "\n## ") : NULL;
  if (end)
    *end = '\0';
  int col[NCALLERS] = {-1, -1, -1, -1, -1};
  int rows = 0, header = 0;
  bool seen[COUNT(actions)] = {false};
  for (char *save = NULL, *line = sec ? strtok_r(sec, "\n", &save) : NULL;
       line; line = strtok_r(NULL, "\n", &save)) {
    if (line[0] != '|')
      continue;
    char *c[16];
    int n = cells(line, c, 16);
    if (n > 0 && strncmp(c[0], "---", 3) == 0)
      continue;
    if (!header) {
      header = 1;
      for (int i = 0; i < n; i++)
        for (int k = 0; k < NCALLERS; k++)
          if (strcmp(c[i], caller_names[k]) == 0)
            col[k] = i;
      for (int k = 0; k < NCALLERS; k++)
        TAP_OK(col[k] > 0, "the table has a column \"%s\"", caller_names[k]);
      continue;
    }
    size_t a = 0;
    while (a < COUNT(actions) && strcmp(actions[a].action, c[0]) != 0)
      a++;
    if (!TAP_OK(a < COUNT(actions), "a test for the row \"%s\"",
                c[0]))
      continue;
    seen[a] = true;
    rows++;
    for (int k = 0; k < NCALLERS; k++) {
      if (col[k] < 0 || col[k] >= n)
        continue;
      TAP_STR(actions[a].act(callers[k]), c[col[k]], "%s: %s",
              caller_names[k], c[0]);
    }
  }
  for (size_t a = 0; a < COUNT(actions); a++)
    TAP_OK(seen[a], "the table has the row \"%s\"", actions[a].action);
  TAP_OK(rows >= 11, "the table has its rows (%d)", rows);
  free(text);
}

/* ---- th_staff itself ------------------------------------------------------- */

static void test_staff(void) {
  /* A resident's token is no staff token. */
  static const unsigned char secret[32] = "a site secret of 32 bytes, ok..";
  th_site_set_secret(db, SITE, secret, sizeof secret);
  char *jwt = NULL;
  T_CHECK(db, th_resident_token(db, SITE, "alice", 600, &jwt));
  th_staff *s = (th_staff *)1;
  TAP_INT(th_staff_from_token(db, jwt, SITE, &s), TH_EAUTH,
          "a resident's token is no staff token");
  TAP_OK(s == NULL, "and nothing is made");
  th_free(jwt);
  TAP_INT(th_staff_from_token(db, "th_1_nope", SITE, &s), TH_EAUTH,
          "a wrong token");
  TAP_INT(th_staff_from_token(db, NULL, SITE, &s), TH_EAUTH, "NULL token");
  TAP_INT(th_staff_from_token(db, "x", SITE, NULL), TH_EINVAL, "NULL out");

  /* What it carries. */
  const th_staff *m = callers[MODERATOR];
  TAP_INT(th_staff_role(m), TH_ROLE_MODERATOR, "its role");
  TAP_STR(th_staff_label(m), "Mo Moderator", "its label");
  TAP_STR(th_staff_site(m), SITE, "its site");
  char want[64];
  snprintf(want, sizeof want, "token %lld (Mo Moderator)",
           (long long)th_staff_token_id(m));
  TAP_STR(th_staff_actor(m), want, "its audit name");
  TAP_OK(th_staff_token_id(m) > 0, "its token's id");
  TAP_INT(th_staff_role(NULL), TH_EINVAL, "NULL: no role");
  TAP_OK(th_staff_label(NULL) == NULL && th_staff_site(NULL) == NULL &&
             th_staff_actor(NULL) == NULL && th_staff_token_id(NULL) == 0,
         "NULL: nothing");
  th_staff_free(NULL);

  /* The wrong role's refusal says who may. */
  TAP_INT(th_idea_moderate_as(db, callers[COUNCILLOR], SITE, hidden_idea,
                              TH_MOD_PUBLISH, 0, "ok"),
          TH_EPERM, "a councillor may not moderate");
  TAP_STR(th_errmsg(db),
          "a councillor may not moderate ideas: only a moderator or an admin "
          "may",
          "the message names who may");
  TAP_INT(th_audit_list_get_as(db, NULL, SITE, 0, 0, NULL), TH_EPERM,
          "checked before anything else");
  TAP_STR(th_errmsg(db), "only an admin may read the audit log",
          "the message for no staff member");

  /* A token for one site, on another. */
  th_site other = {.size = sizeof(th_site), .slug = "barnet", .name = "Barnet"};
  th_site_create(db, NULL, &other, NULL);
  TAP_INT(th_audit_list_get_as(db, callers[ADMIN], "barnet", 0, 0, NULL),
          TH_EPERM, "another site's admin");
  TAP_STR(th_errmsg(db), "this token is for another site", "says so");
  th_idea *i = NULL;
  TAP_INT(th_idea_get_as(db, callers[MODERATOR], "barnet", public_idea, &i),
          TH_EPERM, "another site's moderator sees nothing");
  TAP_INT(th_staff_from_token(db, NULL, "barnet", &s), TH_EAUTH,
          "still no token");
  char *tok = NULL;
  T_CHECK(db, th_token_create(db, "test", NULL, TH_ROLE_ADMIN, "Everywhere",
                              0, &tok, NULL));
  TAP_INT(th_staff_from_token(db, tok, NULL, &s), TH_OK,
          "a token for every site");
  TAP_STR(th_staff_site(s), "", "has no site");
  th_audit_list *al = NULL;
  TAP_INT(th_audit_list_get_as(db, s, "barnet", 0, 0, &al), TH_OK,
          "and may act on any");
  th_audit_list_free(al);

  /* Expired since it was checked: refused, and the check does not see a
   * revocation (documented): one th_staff per request or session. */
  th_token_revoke(db, "test", th_staff_token_id(s));
  TAP_INT(th_audit_list_get_as(db, s, SITE, 0, 0, &al), TH_OK,
          "a revocation is not seen by a th_staff made before it");
  th_audit_list_free(al);
  th_staff *again = NULL;
  TAP_INT(th_staff_from_token(db, tok, NULL, &again), TH_EAUTH,
          "but a new one is refused");
  th_time saved = t_clock;
  t_clock += 91LL * 24 * 3600 * 1000;
  TAP_INT(th_audit_list_get_as(db, callers[ADMIN], SITE, 0, 0, &al),
          TH_EAUTH, "its token expired since");
  TAP_OK(al == NULL, "and nothing is returned");
  t_clock = saved;
  th_staff_free(s);
  th_free(tok);
}

int main(void) {
  db = t_open("roles.db");
  t_site(db, SITE, 0, 1);
  static const struct {
    int role;
    const char *label;
    int caller;
  } make[] = {{TH_ROLE_MODERATOR, "Mo Moderator", MODERATOR},
              {TH_ROLE_COUNCILLOR, "Cy Councillor", COUNCILLOR},
              {TH_ROLE_ADMIN, "Al Admin", ADMIN}};
  for (size_t k = 0; k < COUNT(make); k++) {
    char *tok = NULL;
    T_CHECK(db, th_token_create(db, "test", SITE, make[k].role, make[k].label,
                                0, &tok, NULL));
    T_CHECK(db, th_staff_from_token(db, tok, SITE, &callers[make[k].caller]));
    th_free(tok);
  }
  public_idea = new_public_idea("A public idea");
  hidden_idea = new_public_idea("An idea hidden later");
  th_vote(db, SITE, &(th_who){.resident = "bob"}, public_idea, 1, NULL);
  th_vote(db, SITE, &(th_who){.resident = "bob"}, hidden_idea, 1, NULL);
  th_idea_moderate(db, SITE, "fixture", hidden_idea, TH_MOD_HIDE, 0, "spam");
  /* Feedback from last week, which the published figures show. */
  th_time now = t_clock;
  t_clock -= 8LL * 24 * 3600 * 1000;
  for (int k = 0; k < 12; k++) {
    th_who w = {.ip = "192.0.2.1", .user_agent = "test"};
    th_feedback fb = {.size = sizeof(fb), .page = PAGE, .useful = k % 3 != 0, .rating = 4,
                      .comment = "The page was clear."};
    th_feedback_answer(db, SITE, &w, &fb, NULL, NULL);
  }
  t_clock = now;

  test_table();
  test_staff();
  for (int k = 0; k < NCALLERS; k++)
    th_staff_free(callers[k]);
  th_close(db);
  return tap_done();
}
