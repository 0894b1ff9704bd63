/*
 * residents.c: the right of access (an export of everything linked to a
 * resident, parsed back with jansson) and the right to erasure (votes
 * withdrawn with exact counts, ideas kept but detached), and what a
 * destroyed consultation key leaves: nothing that can be linked.
 */
#include "helpers.h"
#include "internal.h"

#include <jansson.h>
#include <stdlib.h>

#define T0 INT64_C(1772445600000) /* 2026-03-02T10:00:00Z */
#define DAY TH__DAY_MS
#define RES "resident-8f3a2c91"

static int64_t propose(th_db *db, const char *resident, const char *cons,
                       const char *title) {
  th_who w = {.resident = resident};
  th_idea_new n = {.size = sizeof(n), .consultation = cons, .title = title};
  int64_t id = 0;
  if (th_idea_submit(db, "camden", &w, &n, &id) != TH_RECORDED)
    printf("# submit \"%s\": %s\n", title, th_errmsg(db));
  return id;
}

static int vote(th_db *db, const char *resident, int64_t idea, int value) {
  th_who w = {.resident = resident};
  return th_vote(db, "camden", &w, idea, value, NULL);
}

static json_t *export_json(th_db *db, const char *resident) {
  char *js = NULL;
  int rc = th_resident_export(db, "camden", resident, &js);
  if (rc != TH_OK) {
    printf("# export: %s\n", th_errmsg(db));
    return NULL;
  }
  json_error_t err;
  json_t *doc = json_loads(js, 0, &err);
  if (doc == NULL)
    printf("# export is not JSON: %s\n", err.text);
  th_free(js);
  return doc;
}

static json_t *consultation(json_t *doc, const char *slug) {
  json_t *list = json_object_get(doc, "consultations");
  size_t i;
  json_t *c;
  json_array_foreach(list, i, c) {
    if (strcmp(json_string_value(json_object_get(c, "consultation")), slug) ==
        0)
      return c;
  }
  return NULL;
}

static void counts(th_db *db, int64_t idea, int64_t *up, int64_t *down) {
  th_idea *i = NULL;
  th_idea_get(db, "camden", idea, &i);
  *up = i ? i->up : -1;
  *down = i ? i->down : -1;
  th_idea_free(i);
}

static void test_export_erase(void) {
  t_clock = T0;
  th_db *db = t_open("residents.db");
  t_site(db, "camden", 1, 0);
  th_consultation parks = {.size = sizeof(th_consultation),
                           .slug = "parks",
                           .title = "Parks strategy",
                           .opens = T0 - DAY,
                           .closes = T0 + 30 * DAY};
  th_consultation_create(db, "camden", NULL, &parks, NULL);
  int64_t own = propose(db, RES, NULL, "Bins emptied twice a week");
  int64_t own_parks = propose(db, RES, "parks", "A caf\xc3\xa9 in the park");
  int64_t other = propose(db, "someone-else", NULL, "Longer library hours");
  int64_t other2 = propose(db, "someone-else", NULL, "Fewer parking bays");
  int64_t pk = propose(db, "someone-else", "parks", "A bigger pond");
  vote(db, RES, other, 1);
  vote(db, RES, other2, -1);
  vote(db, RES, pk, 1);
  vote(db, "someone-else", other, 1);
  vote(db, "someone-else", own, 1);
  t_clock += DAY;
  vote(db, RES, own, 1);
  /* A device vote from the resident's own browser is not theirs to export:
   * it cannot be linked to them. */
  th_who dev = {.ip = "203.0.113.77", .user_agent = "UA"};
  th_vote(db, "camden", &dev, other, -1, NULL);

  char *js = (char *)1;
  TAP_INT(th_resident_export(db, "camden", RES, NULL), TH_EINVAL,
          "NULL json_out");
  TAP_INT(th_resident_export(db, "camden", NULL, &js), TH_EINVAL,
          "NULL resident");
  TAP_OK(js == NULL, "*json_out NULL on failure");
  TAP_INT(th_resident_export(db, "camden", "", &js), TH_EINVAL,
          "empty resident");
  TAP_INT(th_resident_export(db, "nowhere", RES, &js), TH_ENOTFOUND,
          "unknown site");

  json_t *doc = export_json(db, RES);
  TAP_OK(doc != NULL, "export parses as JSON");
  TAP_STR(json_string_value(json_object_get(doc, "site")), "camden", "site");
  TAP_OK(json_is_string(json_object_get(doc, "note")), "a note explains it");
  TAP_INT(json_array_size(json_object_get(doc, "consultations")), 2,
          "two consultations");
  json_t *board = consultation(doc, "ideas");
  json_t *pc = consultation(doc, "parks");
  TAP_OK(board && pc, "the board and parks");
  json_t *bv = json_object_get(board, "votes");
  TAP_INT(json_array_size(bv), 3, "three votes on the board");
  int found = 0;
  size_t i;
  json_t *v;
  json_array_foreach(bv, i, v) {
    json_int_t idea = json_integer_value(json_object_get(v, "idea"));
    int value = (int)json_integer_value(json_object_get(v, "vote"));
    const char *day = json_string_value(json_object_get(v, "day"));
    const char *title = json_string_value(json_object_get(v, "title"));
    if (idea == other && value == 1 && day && strcmp(day, "2026-03-02") == 0 &&
        title && strcmp(title, "Longer library hours") == 0)
      found |= 1;
    if (idea == other2 && value == -1)
      found |= 2;
    if (idea == own && value == 1 && day && strcmp(day, "2026-03-03") == 0)
      found |= 4;
  }
  TAP_INT(found, 7, "each vote with its idea, title, value and day");
  json_t *bi = json_object_get(board, "ideas");
  TAP_INT(json_array_size(bi), 1, "one idea on the board");
  json_t *first = json_array_get(bi, 0);
  TAP_INT(json_integer_value(json_object_get(first, "id")), own, "its id");
  TAP_STR(json_string_value(json_object_get(first, "title")),
          "Bins emptied twice a week", "its title");
  TAP_STR(json_string_value(json_object_get(first, "status")), "published",
          "its status");
  TAP_INT(json_integer_value(json_object_get(first, "created")), T0,
          "its creation time");
  TAP_INT(json_array_size(json_object_get(pc, "votes")), 1,
          "one vote in parks");
  TAP_STR(json_string_value(json_object_get(pc, "title")), "Parks strategy",
          "consultation title");
  json_t *pi = json_array_get(json_object_get(pc, "ideas"), 0);
  TAP_STR(json_string_value(json_object_get(pi, "title")),
          "A caf\xc3\xa9 in the park", "non-ASCII title round-trips");
  TAP_INT(json_integer_value(json_object_get(pi, "id")), own_parks, "its id");
  json_decref(doc);

  /* An id is taken as given: " RES " is refused, never trimmed into RES
   * (issue 12). */
  char *spaced = NULL;
  TAP_INT(th_resident_export(db, "camden", "  " RES " ", &spaced), TH_EINVAL,
          "white space around the id: TH_EINVAL, not the same resident");
  TAP_OK(spaced == NULL && strstr(th_errmsg(db), "white space"),
         "nothing exported, and the message says why: %s", th_errmsg(db));
  doc = export_json(db, "a-stranger");
  TAP_OK(doc && json_is_array(json_object_get(doc, "consultations")) &&
             json_array_size(json_object_get(doc, "consultations")) == 0,
         "a stranger: nothing");
  json_decref(doc);

  /* Erasure. */
  int64_t up, down, up2, down2, upk, downk, upo, downo;
  counts(db, other, &up, &down);
  counts(db, other2, &up2, &down2);
  counts(db, pk, &upk, &downk);
  counts(db, own, &upo, &downo);
  TAP_OK(up == 2 && down2 == 1 && upk == 1 && upo == 2, "counts before");
  int64_t erased = -1;
  TAP_INT(th_resident_erase(db, "camden", NULL, &erased), TH_EINVAL,
          "erase: NULL resident");
  TAP_INT(th_resident_erase(db, "camden", "", &erased), TH_EINVAL,
          "erase: empty resident");
  TAP_INT(th_resident_erase(db, "nowhere", RES, &erased), TH_ENOTFOUND,
          "erase: unknown site");
  TAP_INT(th_resident_erase(db, "camden", RES, &erased), TH_RECORDED, "erased");
  TAP_INT(erased, 6, "4 votes and 2 ideas affected");
  int64_t a, b;
  counts(db, other, &a, &b);
  TAP_OK(a == up - 1 && b == down, "vote on other withdrawn: %lld/%lld",
         (long long)a, (long long)b);
  counts(db, other2, &a, &b);
  TAP_OK(a == up2 && b == down2 - 1, "down vote withdrawn");
  counts(db, pk, &a, &b);
  TAP_OK(a == upk - 1 && b == downk, "vote in parks withdrawn");
  counts(db, own, &a, &b);
  TAP_OK(a == upo - 1 && b == downo, "own vote on own idea withdrawn");
  th_idea *idea = NULL;
  th_idea_get(db, "camden", other, &idea);
  TAP_OK(idea && idea->anon_down == 1, "the device's vote is not touched");
  int64_t now_up = idea ? idea->up : 0;
  TAP_DBL(idea ? idea->top : -1, th__wilson_lower(now_up, now_up), 1e-12,
          "ranking keys follow");
  th_idea_free(idea);
  idea = NULL;
  TAP_INT(th_idea_get(db, "camden", own, &idea), TH_OK, "their idea is kept");
  TAP_OK(idea && idea->status == TH_PUBLISHED &&
             strcmp(idea->title, "Bins emptied twice a week") == 0,
         "unchanged");
  th_idea_free(idea);
  th_who me = {.resident = RES};
  TAP_INT(th_idea_withdraw(db, "camden", &me, own), TH_EPERM,
          "detached: the erased resident can no longer withdraw it");
  TAP_INT(vote(db, "someone-else", own, 0), TH_RECORDED,
          "others' votes on it stand");

  doc = export_json(db, RES);
  TAP_INT(json_array_size(json_object_get(doc, "consultations")), 0,
          "after erasure the export is empty");
  json_decref(doc);
  erased = -1;
  TAP_INT(th_resident_erase(db, "camden", RES, &erased), TH_DUPLICATE,
          "a second erase: TH_DUPLICATE");
  TAP_INT(erased, 0, "nothing affected");
  TAP_INT(th_resident_erase(db, "camden", "a-stranger", NULL), TH_DUPLICATE,
          "a stranger: TH_DUPLICATE (erased may be NULL)");

  /* They may come back; they are a new participant. */
  TAP_INT(vote(db, RES, other, 1), TH_RECORDED, "vote again after erasure");
  counts(db, other, &a, &b);
  TAP_INT(a, up, "counted once");
  th_idea_new same = {.size = sizeof(same), .title = "Bins emptied twice a week"};
  int64_t again = 0;
  TAP_INT(th_idea_submit(db, "camden", &me, &same, &again), TH_RECORDED,
          "the same title again is a new idea: the old one is no longer "
          "theirs");
  TAP_OK(again != own, "a new id");
  int64_t n = 0;
  TAP_INT(th_resident_erase(db, "camden", RES, &n), TH_RECORDED, "erase again");
  TAP_INT(n, 2, "one vote and one idea");

  /* Erasure works on a closed consultation too. */
  vote(db, "closer", pk, -1);
  t_clock = T0 + 31 * DAY;
  counts(db, pk, &a, &b);
  TAP_INT(th_resident_erase(db, "camden", "closer", &n), TH_RECORDED,
          "erase after the consultation closed");
  counts(db, pk, &upk, &downk);
  TAP_INT(downk, b - 1, "the closed consultation's count moved");
  th_close(db);
}

static void test_destroyed_key(void) {
  t_clock = T0;
  th_db *db = t_open("destroyed.db");
  t_site(db, "camden", 0, 0);
  th_consultation c = {.size = sizeof(th_consultation),
                       .slug = "budget",
                       .title = "Budget 2026",
                       .opens = T0 - DAY,
                       .closes = T0 + 10 * DAY};
  th_consultation_create(db, "camden", NULL, &c, NULL);
  int64_t bi = propose(db, "someone-else", "budget", "Spend on parks");
  int64_t own = propose(db, RES, "budget", "Spend on libraries");
  int64_t board = propose(db, "someone-else", NULL, "A board idea");
  vote(db, RES, bi, 1);
  vote(db, RES, board, 1);
  json_t *doc = export_json(db, RES);
  TAP_INT(json_array_size(json_object_get(doc, "consultations")), 2,
          "before: budget and the board");
  json_decref(doc);

  /* Closed, then key_days (365) later the purge destroys the key. */
  t_clock = c.closes + 365 * DAY + 1;
  th_purge_report r = TH_PURGE_REPORT_INIT;
  TAP_INT(th_purge(db, &r), TH_OK, "purge");
  TAP_INT(r.keys, 1, "one key destroyed");
  th_consultation *g = NULL;
  th_consultation_get(db, "camden", "budget", &g);
  TAP_INT(g ? g->key_destroyed : -1, 1, "key_destroyed");
  th_consultation_free(g);

  doc = export_json(db, RES);
  TAP_INT(json_array_size(json_object_get(doc, "consultations")), 1,
          "after: only the board can be linked");
  TAP_OK(consultation(doc, "budget") == NULL, "nothing from budget");
  json_decref(doc);
  int64_t n = -1;
  TAP_INT(th_resident_erase(db, "camden", RES, &n), TH_RECORDED,
          "erase reaches what can still be linked");
  TAP_INT(n, 1, "the board vote only");
  th_idea *i = NULL;
  th_idea_get(db, "camden", bi, &i);
  TAP_INT(i ? i->up : -1, 1, "the anonymous-for-good vote stays counted");
  th_idea_free(i);
  i = NULL;
  th_idea_get(db, "camden", own, &i);
  TAP_OK(i != NULL, "their budget idea stays, linked to no one");
  th_idea_free(i);
  TAP_INT(th_resident_erase(db, "camden", RES, &n), TH_DUPLICATE,
          "nothing left to erase");
  th_close(db);

  /* The database holds no pseudonym for the destroyed consultation. */
  int64_t left = t_sql_i64("destroyed.db",
                           "SELECT count(*) FROM participants p JOIN "
                           "consultations c ON c.id = p.consultation_id WHERE "
                           "c.slug = 'budget' AND p.pseudonym IS NOT NULL");
  TAP_INT(left, 0, "no pseudonym kept for budget's participants");
}

int main(void) {
  test_export_erase();
  test_destroyed_key();
  return tap_done();
}
