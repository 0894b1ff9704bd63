/*
 * retention.c: th_purge with the test clock. Comments, audit entries and
 * consultation keys go when each site says (and not a millisecond sooner),
 * -1 keeps them forever, deduplication tokens and salts go regardless, the
 * report counts what went, and removed text leaves the file and its WAL.
 */
#include "helpers.h"
#include "internal.h"

#include <stdlib.h>

#define T0 INT64_C(1772445600000) /* 2026-03-02T10:00:00Z */
#define DAY TH__DAY_MS
#define PAGE "https://www.camden.gov.uk/parking"

static int fb(th_db *db, const char *site, const char *ip, const char *page,
              const char *comment) {
  th_who w = {.ip = ip, .user_agent = "UA"};
  th_feedback f = {.size = sizeof(f), .page = page, .useful = 1, .rating = 3, .comment = comment};
  /* One key per device, as a widget that retries would send: a second
   * call the same day is a retry and folds. */
  return th_feedback_answer(db, site, &w, &f, "retry-key", NULL);
}

static void make_site(th_db *db, const char *slug, int comment_days,
                      int audit_days, int key_days) {
  th_site s = {.size = sizeof(th_site),
               .slug = slug,
               .name = "Council",
               .origins = "https://www.camden.gov.uk",
               .comment_days = comment_days,
               .audit_days = audit_days,
               .key_days = key_days};
  if (th_site_create(db, "test", &s, NULL) != TH_RECORDED)
    printf("# site %s: %s\n", slug, th_errmsg(db));
}

static int64_t count_sql(const char *sql) {
  return t_sql_i64("purge.db", sql);
}

static int comments_on(th_db *db, const char *site, const char *page) {
  th_comment_list *l = NULL;
  if (th_feedback_comments(db, site, page, 0, &l) != TH_OK)
    return -1;
  int n = (int)l->count;
  th_comment_list_free(l);
  return n;
}

static void test_comments_and_audit(void) {
  t_clock = T0;
  th_db *db = t_open("purge.db");
  make_site(db, "short", 30, 60, 10);
  make_site(db, "forever", -1, -1, -1);
  make_site(db, "default", 0, 0, 0);
  int64_t day0 = th__day(T0);
  /* Day 0: two comments and an answer without one on each site. */
  const char *sites[] = {"short", "forever", "default"};
  for (int k = 0; k < 3; k++) {
    char text[64];
    snprintf(text, sizeof text, "Old comment one: QX7-%s-OLD", sites[k]);
    fb(db, sites[k], "198.51.100.1", PAGE, text);
    fb(db, sites[k], "198.51.100.2", PAGE, "Old comment two");
    fb(db, sites[k], "198.51.100.3", PAGE, NULL);
  }
  /* Day 20: one more on "short". */
  t_clock = T0 + 20 * DAY;
  fb(db, "short", "198.51.100.1", PAGE, "Newer comment");

  th_purge_report r = TH_PURGE_REPORT_INIT;
  memset(&r, 0x55, sizeof r); /* every count written, whatever was there */
  r.size = sizeof r;
  TAP_INT(th_purge(db, &r), TH_OK, "purge on day 20");
  TAP_INT(r.comments, 0, "no comment is 30 days old yet");
  TAP_INT(r.audit, 0, "no audit entry is old");
  TAP_INT(r.keys, 0, "no key");
  TAP_INT(r.dedup_tokens, 9, "day 0's nine tokens cleared");
  TAP_INT(th_purge(db, NULL), TH_OK, "report may be NULL");

  /* Day 30 (at 10:00): day 0's comments are 30 days old, not older. */
  t_clock = T0 + 30 * DAY;
  th_purge(db, &r);
  TAP_INT(r.comments, 0, "day 30: kept");
  TAP_INT(r.dedup_tokens, 1, "day 20's token cleared");
  TAP_INT(comments_on(db, "short", PAGE), 3, "three comments");
  t_clock = (day0 + 31) * DAY;
  TAP_INT(th_purge(db, &r), TH_OK, "purge on day 31");
  TAP_INT(r.comments, 2, "two comments of day 0 removed");
  TAP_INT(r.dedup_tokens, 0, "no token left to clear");
  TAP_INT(comments_on(db, "short", PAGE), 1, "one comment left");
  th_page_summary *s = NULL;
  th_feedback_summary(db, "short", PAGE, &s);
  TAP_INT(s ? s->comments : -1, 1, "the page's comment count follows");
  TAP_OK(s && s->yes == 4 && s->ratings[2] == 4,
         "the answers and ratings themselves stay");
  th_page_summary_free(s);
  TAP_INT(comments_on(db, "forever", PAGE), 2, "-1 keeps comments");
  TAP_INT(comments_on(db, "default", PAGE), 2, "default (365) keeps them");
  th_purge(db, &r);
  TAP_INT(r.comments, 0, "a second purge removes nothing more");

  /* Audit: each site has its site:create entry from T0. */
  t_clock = T0 + 60 * DAY;
  th_purge(db, &r);
  TAP_INT(r.audit, 0, "60 days to the millisecond: kept");
  TAP_INT(r.comments, 1, "day 20's comment is over 30 days old");
  TAP_INT(comments_on(db, "short", PAGE), 0, "no comment left on short");
  t_clock = T0 + 60 * DAY + 1;
  th_consultation c = {
      .size = sizeof(th_consultation), .slug = "fresh", .title = "Fresh"};
  th_consultation_create(db, "short", "planner", &c, NULL);
  th_purge(db, &r);
  TAP_INT(r.audit, 1, "one millisecond more: short's entry removed");

  th_audit_list *a = NULL;
  th_audit_list_get(db, "short", 0, 0, &a);
  TAP_OK(a && a->count == 1 &&
             strcmp(a->items[0].action, "consultation:create") == 0,
         "the newer entry stays");
  th_audit_list_free(a);
  a = NULL;
  th_audit_list_get(db, "forever", 0, 0, &a);
  TAP_INT(a ? (int)a->count : -1, 1, "-1 keeps audit entries");
  th_audit_list_free(a);

  /* The default 365 comment days and 730 audit days. */
  t_clock = (day0 + 366) * DAY;
  th_purge(db, &r);
  TAP_INT(comments_on(db, "default", PAGE), 0, "default: gone after 365 days");
  TAP_INT(r.comments, 2, "default's two");
  t_clock = T0 + 730 * DAY + 1;
  th_purge(db, &r);
  a = NULL;
  th_audit_list_get(db, "default", 0, 0, &a);
  TAP_INT(a ? (int)a->count : -1, 0, "default: audit gone after 730 days");
  th_audit_list_free(a);

  /* Forever is forever. */
  t_clock = T0 + 36500 * DAY;
  th_purge(db, &r);
  TAP_INT(comments_on(db, "forever", PAGE), 2, "a century later: comments");
  a = NULL;
  th_audit_list_get(db, "forever", 0, 0, &a);
  TAP_INT(a ? (int)a->count : -1, 1, "a century later: the audit entry");
  th_audit_list_free(a);
  th_close(db);

  TAP_INT(count_sql("SELECT count(*) FROM feedback WHERE comment LIKE "
                    "'%QX7-%'"),
          1, "only the forever site's copy remains");
  /* The removed text is gone from the file and its WAL (secure_delete and
   * the checkpoint), while the comment kept forever is found: the scan can
   * fail. */
  if (!t_on_sqlite("test_comments_and_audit: the file's bytes",
                   "reads the SQLite file and its WAL (secure_delete); "
                   "PostgreSQL's data directory and WAL are the privacy "
                   "scan's, after VACUUM (issue 15)"))
    return;
  size_t n = 0, wn = 0;
  unsigned char *file = t_read_file(t_path("purge.db"), &n);
  unsigned char *wal = t_read_file(t_path("purge.db-wal"), &wn);
  TAP_OK(file != NULL, "read the database");
  const char *gone[] = {"QX7-short-OLD", "QX7-default-OLD", "Newer comment"};
  for (int k = 0; k < 3; k++) {
    int in = (file && t_contains(file, n, gone[k], strlen(gone[k]))) ||
             (wal && t_contains(wal, wn, gone[k], strlen(gone[k])));
    TAP_OK(!in, "\"%s\" is in neither the file nor the WAL", gone[k]);
  }
  const char *kept = "QX7-forever-OLD";
  TAP_OK((file && t_contains(file, n, kept, strlen(kept))) ||
             (wal && t_contains(wal, wn, kept, strlen(kept))),
         "control: the comment kept forever is found");
  free(file);
  free(wal);
}

static void test_keys(void) {
  t_clock = T0;
  th_db *db = t_open("keys.db");
  make_site(db, "camden", 0, 0, 10);
  make_site(db, "keep", 0, 0, -1);
  th_consultation c = {.size = sizeof(th_consultation),
                       .slug = "spring",
                       .title = "Spring",
                       .opens = T0 - DAY,
                       .closes = T0 + 5 * DAY};
  th_consultation_create(db, "camden", NULL, &c, NULL);
  th_consultation_create(db, "keep", NULL, &c, NULL);
  th_who w = {.resident = "resident-1"};
  th_idea_new n = {.size = sizeof(n), .consultation = "spring", .title = "Spring idea"};
  int64_t id = 0, kid = 0;
  th_idea_submit(db, "camden", &w, &n, &id);
  th_idea_submit(db, "keep", &w, &n, &kid);
  th_who v = {.resident = "voter"};
  th_vote(db, "camden", &v, id, 1, NULL);

  th_purge_report r = TH_PURGE_REPORT_INIT;
  t_clock = c.closes + 10 * DAY;
  th_purge(db, &r);
  TAP_INT(r.keys, 0, "key_days to the millisecond: key kept");
  th_consultation *g = NULL;
  th_consultation_get(db, "camden", "spring", &g);
  TAP_INT(g ? g->key_destroyed : -1, 0, "not destroyed");
  th_consultation_free(g);
  t_clock += 1;
  TAP_INT(th_purge(db, &r), TH_OK, "purge");
  TAP_INT(r.keys, 1, "one key destroyed");
  g = NULL;
  th_consultation_get(db, "camden", "spring", &g);
  TAP_INT(g ? g->key_destroyed : -1, 1, "key_destroyed");
  th_consultation_free(g);
  g = NULL;
  th_consultation_get(db, "keep", "spring", &g);
  TAP_INT(g ? g->key_destroyed : -1, 0, "key_days -1 keeps the key");
  th_consultation_free(g);
  g = NULL;
  th_consultation_get(db, "camden", "ideas", &g);
  TAP_INT(g ? g->key_destroyed : -1, 0, "the board never closes: key kept");
  th_consultation_free(g);

  int rc = th_vote(db, "camden", &v, id, -1, NULL);
  TAP_OK(rc == TH_ECLOSED || rc == TH_EKEY, "voting there fails: %s",
         th_err_name(rc));
  rc = th_idea_submit(db, "camden", &w, &n, NULL);
  TAP_OK(rc == TH_ECLOSED || rc == TH_EKEY, "proposing there fails: %s",
         th_err_name(rc));
  TAP_INT(th_idea_withdraw(db, "camden", &w, id), TH_EKEY,
          "the author can no longer be recognised: TH_EKEY");
  th_idea *i = NULL;
  th_idea_get(db, "camden", id, &i);
  TAP_OK(i && i->up == 1 && i->status == TH_PUBLISHED,
         "the idea and its count stay");
  th_idea_free(i);
  th_purge(db, &r);
  TAP_INT(r.keys, 0, "a key is destroyed once");
  th_close(db);
  db = t_open("keys.db");
  g = NULL;
  th_consultation_get(db, "camden", "spring", &g);
  TAP_INT(g ? g->key_destroyed : -1, 1, "still destroyed after reopening");
  th_consultation_free(g);
  th_close(db);
}

static void test_tokens_and_salts(void) {
  t_clock = T0;
  th_db *db = t_open("tokens.db");
  make_site(db, "camden", 0, 0, 0);
  int64_t day0 = th__day(T0);
  fb(db, "camden", "198.51.100.1", PAGE, NULL);
  fb(db, "camden", "198.51.100.2", PAGE, NULL);
  th_purge_report r = TH_PURGE_REPORT_INIT;
  th_purge(db, &r);
  TAP_INT(r.dedup_tokens, 0, "today's handles are kept: they fold retries");
  TAP_INT(r.salts, 0, "today's salt is kept");
  TAP_INT(fb(db, "camden", "198.51.100.1", PAGE, NULL), TH_DUPLICATE,
          "and still deduplicate after a purge");
  t_clock = (day0 + 1) * DAY + 1000;
  fb(db, "camden", "198.51.100.1", PAGE, NULL);
  th_purge(db, &r);
  TAP_INT(r.dedup_tokens, 2, "day 0's handles cleared on day 1");
  TAP_INT(r.salts, 0, "day 0's salt lives until day 2");
  TAP_INT(fb(db, "camden", "198.51.100.1", PAGE, NULL), TH_DUPLICATE,
          "day 1's handle still folds");
  t_clock = (day0 + 2) * DAY;
  th_purge(db, &r);
  TAP_INT(r.dedup_tokens, 1, "day 1's handle cleared on day 2");
  TAP_INT(r.salts, 1, "day 0's salt destroyed 48 h after its day began");
  th_purge(db, &r);
  TAP_INT(r.dedup_tokens, 0, "nothing left to clear");
  TAP_INT(r.salts, 0, "nor to destroy");
  th_page_summary *s = NULL;
  th_feedback_summary(db, "camden", PAGE, &s);
  TAP_INT(s ? s->yes : -1, 3, "clearing handles leaves the counts");
  th_page_summary_free(s);

  /* Inside a batch the purge runs in a savepoint and is kept on commit. */
  fb(db, "camden", "198.51.100.9", PAGE, NULL);
  t_clock += DAY;
  th_batch_begin(db);
  TAP_INT(th_purge(db, &r), TH_OK, "purge inside a batch");
  TAP_INT(th_batch_commit(db), TH_OK, "commit");
  TAP_INT(r.dedup_tokens, 1, "the token cleared");
  th_close(db);
}

int main(void) {
  test_comments_and_audit();
  test_keys();
  test_tokens_and_salts();
  return tap_done();
}
