/*
 * ideas.c: proposing ideas (validation, moderation queue, anonymous
 * authors, duplicates, open and closed consultations, scrubbing), reading
 * and filtering them, their status, moderation (merges carry votes over
 * exactly) and withdrawal by their author.
 */
#include "helpers.h"
#include "internal.h"

#include <stdlib.h>

#define T0 INT64_C(1772445600000) /* 2026-03-02T10:00:00Z */
#define DAY TH__DAY_MS

static char *repeat(const char *unit, size_t n) {
  size_t u = strlen(unit);
  char *s = malloc(u * n + 1);
  for (size_t i = 0; i < n; i++)
    memcpy(s + i * u, unit, u);
  s[u * n] = '\0';
  return s;
}

static int submit_as(th_db *db, const char *site, const char *resident,
                     const char *cons, const char *title, int64_t *id) {
  th_who w = {.resident = resident};
  th_idea_new n = {.size = sizeof(n), .consultation = cons, .title = title};
  return th_idea_submit(db, site, &w, &n, id);
}

static int64_t new_idea(th_db *db, const char *site, const char *resident,
                        const char *cons, const char *title) {
  int64_t id = 0;
  int rc = submit_as(db, site, resident, cons, title, &id);
  if (rc != TH_RECORDED)
    printf("# submit \"%s\": %s\n", title, th_errmsg(db));
  return id;
}

static th_idea *get(th_db *db, const char *site, int64_t id) {
  th_idea *i = NULL;
  if (th_idea_get(db, site, id, &i) != TH_OK)
    printf("# get %lld: %s\n", (long long)id, th_errmsg(db));
  return i;
}

static int status_of(th_db *db, const char *site, int64_t id) {
  th_idea *i = get(db, site, id);
  int s = i ? i->status : -1;
  th_idea_free(i);
  return s;
}

static int vote(th_db *db, const char *site, const char *resident, int64_t idea,
                int value) {
  th_who w = {.resident = resident};
  return th_vote(db, site, &w, idea, value, NULL);
}

static void test_names(void) {
  const char *st[] = {"pending",     "published", "under_review", "accepted",
                      "in_progress", "done",      "declined",     "hidden",
                      "withdrawn",   "merged"};
  int ok = 1;
  for (int i = 0; i < 10; i++)
    ok &= th_status_name(i) && strcmp(th_status_name(i), st[i]) == 0 &&
          th_status_parse(st[i]) == i;
  TAP_OK(ok, "every status name round-trips");
  TAP_OK(th_status_name(-1) == NULL && th_status_name(10) == NULL,
         "status names out of range are NULL");
  TAP_INT(th_status_parse("Published"), TH_EINVAL, "status parse is exact");
  TAP_INT(th_status_parse(NULL), TH_EINVAL, "status parse NULL");
  TAP_INT(th_status_parse(""), TH_EINVAL, "status parse empty");
  const char *so[] = {"top", "hot", "new", "controversial", "random"};
  ok = 1;
  for (int i = 0; i < 5; i++)
    ok &= th_sort_name(i) && strcmp(th_sort_name(i), so[i]) == 0 &&
          th_sort_parse(so[i]) == i;
  TAP_OK(ok, "every sort name round-trips");
  TAP_OK(th_sort_name(5) == NULL && th_sort_name(-1) == NULL,
         "sort names out of range");
  TAP_INT(th_sort_parse("best"), TH_EINVAL, "unknown sort");
  TAP_INT(th_sort_parse(NULL), TH_EINVAL, "sort parse NULL");
  const char *mo[] = {"publish", "hide", "reject", "merge"};
  ok = 1;
  for (int i = 0; i < 4; i++)
    ok &= th_moderation_name(i) && strcmp(th_moderation_name(i), mo[i]) == 0 &&
          th_moderation_parse(mo[i]) == i;
  TAP_OK(ok, "every moderation name round-trips");
  TAP_OK(th_moderation_name(4) == NULL && th_moderation_name(-1) == NULL,
         "moderation names out of range");
  TAP_INT(th_moderation_parse("delete"), TH_EINVAL, "unknown moderation");
  TAP_INT(th_moderation_parse(NULL), TH_EINVAL, "moderation parse NULL");
}

static void test_submit_validation(void) {
  t_clock = T0;
  th_db *db = t_open("validate.db");
  t_site(db, "camden", 0, 0);
  th_who w = {.resident = "res-1"};
  th_idea_new n = {.size = sizeof(n), .title = "A good idea"};
  int64_t id = -7;
  TAP_INT(th_idea_submit(db, "camden", &w, NULL, &id), TH_EINVAL, "NULL idea");
  TAP_INT(id, -7, "id_out untouched on failure");
  struct {
    const char *what;
    th_idea_new n;
    int want;
  } cases[] = {
      {"NULL title", {.title = NULL}, TH_EINVAL},
      {"empty title", {.title = ""}, TH_ETOOSHORT},
      {"2-character title", {.title = "ab"}, TH_ETOOSHORT},
      {"spaces do not count", {.title = "  a b  "}, TH_ETOOSHORT},
      {"3-character title", {.title = "abc"}, TH_RECORDED},
      {"3 two-byte characters",
       {.title = "\xc3\xa9\xc3\xa9\xc3\xa9"},
       TH_RECORDED},
      {"newline in a title", {.title = "Two\nlines"}, TH_EINVAL},
      {"tab in a title", {.title = "Tab\there"}, TH_EINVAL},
      {"DEL in a title", {.title = "Del\x7fhere"}, TH_EINVAL},
      {"invalid UTF-8 title", {.title = "Caf\xc3\x28 idea"}, TH_EUTF8},
      {"truncated UTF-8 title", {.title = "Idea \xe2\x82"}, TH_EUTF8},
      {"body with newlines and tabs",
       {.title = "Multiline body", .body = "Line one\n\tLine two\r\n"},
       TH_RECORDED},
      {"control character in a body",
       {.title = "Bell in body", .body = "ding\x07"},
       TH_EINVAL},
      {"invalid UTF-8 body",
       {.title = "Bad body", .body = "\xc3\x28"},
       TH_EUTF8},
      {"newline in a category",
       {.title = "Bad category", .category = "a\nb"},
       TH_EINVAL},
      {"invalid UTF-8 ward", {.title = "Bad ward", .ward = "\xff"}, TH_EUTF8},
      {"unknown consultation",
       {.title = "Nowhere", .consultation = "no-such"},
       TH_ENOTFOUND},
  };
  for (size_t i = 0; i < TH__ARRAY_SIZE(cases); i++) {
    char title[64];
    th_idea_new c = cases[i].n;
    c.size = sizeof c;
    if (c.title && cases[i].want == TH_RECORDED) {
      /* Unique titles so none is a duplicate of another. */
      snprintf(title, sizeof title, "%s", c.title);
      c.title = title;
    }
    TAP_INT(th_idea_submit(db, "camden", &w, &c, NULL), cases[i].want, "%s",
            cases[i].what);
  }
  char *t141 = repeat("t", 141);
  n.title = t141;
  TAP_INT(th_idea_submit(db, "camden", &w, &n, NULL), TH_ETOOLONG,
          "title of 141 characters");
  t141[140] = '\0';
  TAP_INT(th_idea_submit(db, "camden", &w, &n, NULL), TH_RECORDED,
          "title of 140 characters");
  free(t141);
  char *e140 = repeat("\xc3\xa9", 140);
  n.title = e140;
  TAP_INT(th_idea_submit(db, "camden", &w, &n, NULL), TH_RECORDED,
          "140 two-byte characters (280 bytes) are 140 characters");
  free(e140);
  char *e141 = repeat("\xe2\x82\xac", 141);
  n.title = e141;
  TAP_INT(th_idea_submit(db, "camden", &w, &n, NULL), TH_ETOOLONG,
          "141 euro signs are too many");
  free(e141);
  char *s141 = repeat("\xf0\x9f\x8c\xb3", 140); /* a tree: 4 bytes */
  n.title = s141;
  TAP_INT(th_idea_submit(db, "camden", &w, &n, NULL), TH_RECORDED,
          "140 four-byte characters fit");
  free(s141);
  n.title = "Body lengths";
  char *b5001 = repeat("b", 5001);
  n.body = b5001;
  TAP_INT(th_idea_submit(db, "camden", &w, &n, NULL), TH_ETOOLONG,
          "body of 5001 characters");
  free(b5001);
  char *e5000 = repeat("\xe2\x82\xac", 5000);
  n.body = e5000;
  TAP_INT(th_idea_submit(db, "camden", &w, &n, NULL), TH_RECORDED,
          "body of 5000 three-byte characters");
  free(e5000);
  char *e5001 = repeat("\xc3\xa9", 5001);
  n.title = "Body lengths 2";
  n.body = e5001;
  TAP_INT(th_idea_submit(db, "camden", &w, &n, NULL), TH_ETOOLONG,
          "body of 5001 two-byte characters");
  free(e5001);
  n.body = NULL;
  char *c61 = repeat("c", 61);
  n.category = c61;
  TAP_INT(th_idea_submit(db, "camden", &w, &n, NULL), TH_ETOOLONG,
          "category of 61 characters");
  n.category = NULL;
  n.ward = c61;
  TAP_INT(th_idea_submit(db, "camden", &w, &n, NULL), TH_ETOOLONG,
          "ward of 61 characters");
  free(c61);
  n.ward = NULL;

  /* Who and where. */
  n.title = "Who proposes";
  TAP_INT(th_idea_submit(db, "nowhere", &w, &n, NULL), TH_ENOTFOUND,
          "unknown site");
  TAP_INT(th_idea_submit(db, NULL, &w, &n, NULL), TH_EINVAL, "NULL site");
  TAP_INT(th_idea_submit(db, "camden", NULL, &n, NULL), TH_EPERM,
          "nobody, on a site without anonymous ideas: TH_EPERM");
  th_who dev = {.ip = "198.51.100.4", .user_agent = "UA"};
  TAP_INT(th_idea_submit(db, "camden", &dev, &n, NULL), TH_EPERM,
          "a device, on a site without anonymous ideas: TH_EPERM");
  th_who empty = {.resident = ""};
  TAP_INT(th_idea_submit(db, "camden", &empty, &n, NULL), TH_EPERM,
          "an empty resident id is anonymous");
  th_who blank = {.resident = "   "};
  TAP_INT(th_idea_submit(db, "camden", &blank, &n, NULL), TH_EINVAL,
          "a blank resident id is refused");

  t_site(db, "anon", 1, 0);
  int64_t aid = 0;
  TAP_INT(th_idea_submit(db, "anon", &dev, &n, &aid), TH_RECORDED,
          "a device may propose where the site allows it");
  TAP_INT(th_idea_submit(db, "anon", &dev, &n, &id), TH_DUPLICATE,
          "the same device and title again: TH_DUPLICATE");
  TAP_INT(id, aid, "with the first id");
  th_who dev2 = {.ip = "198.51.100.4", .user_agent = "Another UA"};
  TAP_INT(th_idea_submit(db, "anon", &dev2, &n, NULL), TH_RECORDED,
          "another user agent is another device");
  TAP_INT(th_idea_submit(db, "anon", NULL, &n, NULL), TH_EINVAL,
          "nobody at all on an anonymous site: TH_EINVAL");
  th_who noip = {.user_agent = "UA"};
  TAP_INT(th_idea_submit(db, "anon", &noip, &n, NULL), TH_EINVAL,
          "a device without an address: TH_EINVAL");
  th_close(db);
}

static void test_submit(void) {
  t_clock = T0;
  th_db *db = t_open("submit.db");
  t_site(db, "camden", 0, 0);
  t_site(db, "moderated", 0, 1);
  th_who w = {.resident = "res-1"};
  th_idea_new n = {.size = sizeof(n), .title = "Plant trees on Camden Road",
                   .body = "Shade in summer.\nCall me on 020 7974 4444 or "
                           "write to jo.bloggs@example.org.",
                   .category = "environment",
                   .ward = "Camden Town"};
  int64_t id = 0, id2 = 0, mid = 0;
  TAP_INT(th_idea_submit(db, "camden", &w, &n, &id), TH_RECORDED, "submitted");
  TAP_OK(id > 0, "id_out");
  th_idea *i = get(db, "camden", id);
  if (i) {
    TAP_INT(i->status, TH_PUBLISHED, "published at once: no moderation");
    TAP_STR(i->title, n.title, "title");
    TAP_STR(i->body,
            "Shade in summer.\nCall me on [phone] or write to [email].",
            "body scrubbed: no phone, no e-mail");
    TAP_OK(strstr(i->body, "jo.bloggs") == NULL &&
               strstr(i->body, "7974") == NULL,
           "nothing of them is left");
    TAP_STR(i->category, "environment", "category");
    TAP_STR(i->ward, "Camden Town", "ward");
    TAP_STR(i->consultation, "ideas", "on the ideas board by default");
    TAP_INT(i->merged_into, 0, "not merged");
    TAP_STR(i->response, "", "no response");
    TAP_INT(i->response_at, 0, "no response time");
    TAP_OK(i->up == 0 && i->down == 0 && i->anon_up == 0 && i->anon_down == 0,
           "no votes");
    TAP_DBL(i->top, 0, 0, "top 0");
    TAP_DBL(i->hot, th__hot(0, 0, T0), 1e-9, "hot from its creation time");
    TAP_DBL(i->controversial, 0, 0, "controversial 0");
    TAP_INT(i->created, T0, "created");
    TAP_INT(i->updated, T0, "updated");
  }
  th_idea_free(i);

  /* Duplicates: the same author and title in the same consultation. */
  t_clock += 60000;
  th_idea_new again = {.size = sizeof(again), .title = n.title, .body = "Different body"};
  TAP_INT(th_idea_submit(db, "camden", &w, &again, &id2), TH_DUPLICATE,
          "same author, same title: TH_DUPLICATE");
  TAP_INT(id2, id, "with the first idea's id");
  th_who spaced = {.resident = "  res-1\t"};
  id2 = 0;
  TAP_INT(th_idea_submit(db, "camden", &spaced, &again, &id2), TH_EINVAL,
          "the same resident id with white space around it: refused");
  TAP_INT(id2, 0, "no idea");
  i = get(db, "camden", id);
  TAP_STR(i ? i->body : NULL,
          "Shade in summer.\nCall me on [phone] or write to [email].",
          "the duplicate changed nothing");
  th_idea_free(i);
  th_who w2 = {.resident = "res-2"};
  TAP_INT(th_idea_submit(db, "camden", &w2, &again, &id2), TH_RECORDED,
          "another author, the same title: a new idea");
  TAP_OK(id2 != id, "a new id");
  th_consultation c = {
      .size = sizeof(th_consultation), .slug = "parks", .title = "Parks"};
  th_consultation_create(db, "camden", NULL, &c, NULL);
  again.consultation = "parks";
  int64_t id3 = 0;
  TAP_INT(th_idea_submit(db, "camden", &w, &again, &id3), TH_RECORDED,
          "the same author and title in another consultation");
  i = get(db, "camden", id3);
  TAP_STR(i ? i->consultation : NULL, "parks", "in that consultation");
  th_idea_free(i);

  /* A moderated site queues ideas. */
  TAP_INT(th_idea_submit(db, "moderated", &w, &n, &mid), TH_RECORDED,
          "submitted to a moderated site");
  TAP_INT(status_of(db, "moderated", mid), TH_PENDING, "pending");
  th_idea *x = (th_idea *)1;
  TAP_INT(th_idea_get(db, "camden", mid, &x), TH_ENOTFOUND,
          "another site's idea is not found");
  TAP_OK(x == NULL, "*out NULL on failure");
  TAP_INT(th_idea_get(db, "camden", 999999, &x), TH_ENOTFOUND, "unknown id");
  TAP_INT(th_idea_get(db, "camden", 0, &x), TH_ENOTFOUND, "id 0");
  TAP_INT(th_idea_get(db, "camden", -1, &x), TH_ENOTFOUND, "id -1");
  TAP_INT(th_idea_get(db, "nowhere", id, &x), TH_ENOTFOUND, "unknown site");
  TAP_INT(th_idea_get(db, "camden", id, NULL), TH_EINVAL, "NULL out");
  th_idea_free(NULL);

  /* Opening and closing. */
  th_consultation future = {.size = sizeof(th_consultation),
                            .slug = "future",
                            .title = "Future",
                            .opens = t_clock + DAY,
                            .closes = t_clock + 10 * DAY};
  th_consultation past = {.size = sizeof(th_consultation),
                          .slug = "past",
                          .title = "Past",
                          .opens = t_clock - 10 * DAY,
                          .closes = t_clock - DAY};
  th_consultation_create(db, "camden", NULL, &future, NULL);
  th_consultation_create(db, "camden", NULL, &past, NULL);
  n.consultation = "future";
  TAP_INT(th_idea_submit(db, "camden", &w, &n, NULL), TH_ECLOSED,
          "not open yet: TH_ECLOSED");
  n.consultation = "past";
  TAP_INT(th_idea_submit(db, "camden", &w, &n, NULL), TH_ECLOSED,
          "closed: TH_ECLOSED");
  th_time saved = t_clock;
  t_clock = future.opens;
  n.consultation = "future";
  TAP_INT(th_idea_submit(db, "camden", &w, &n, NULL), TH_RECORDED,
          "open from the moment it opens");
  t_clock = future.closes - 1;
  n.title = "The last millisecond";
  TAP_INT(th_idea_submit(db, "camden", &w, &n, NULL), TH_RECORDED,
          "still open a millisecond before it closes");
  t_clock = future.closes;
  n.title = "Too late";
  TAP_INT(th_idea_submit(db, "camden", &w, &n, NULL), TH_ECLOSED,
          "closed at the moment it closes");
  t_clock = saved;
  th_close(db);
}

static void test_list(void) {
  t_clock = T0;
  th_db *db = t_open("list.db");
  t_site(db, "camden", 0, 1); /* moderated */
  t_site(db, "barnet", 0, 0);
  th_consultation c = {
      .size = sizeof(th_consultation), .slug = "parks", .title = "Parks"};
  th_consultation_create(db, "camden", NULL, &c, NULL);
  th_who w = {.resident = "res-1"};
  struct {
    const char *title, *cons, *ward, *cat;
    int publish;
  } spec[] = {
      {"Trees in Kentish Town", NULL, "Kentish Town", "environment", 1},
      {"Bins in Kentish Town", NULL, "Kentish Town", "waste", 1},
      {"Trees in Highgate", NULL, "Highgate", "environment", 1},
      {"Pending in Highgate", NULL, "Highgate", "environment", 0},
      {"Parks: a pond", "parks", "Highgate", "environment", 1},
      {"Parks: a cafe", "parks", "", "", 0},
  };
  int64_t ids[6];
  for (int k = 0; k < 6; k++) {
    t_clock += 1000;
    th_idea_new n = {.size = sizeof(n), .title = spec[k].title,
                     .consultation = spec[k].cons,
                     .ward = spec[k].ward,
                     .category = spec[k].cat};
    ids[k] = 0;
    th_idea_submit(db, "camden", &w, &n, &ids[k]);
    if (spec[k].publish)
      th_idea_moderate(db, "camden", "mod", ids[k], TH_MOD_PUBLISH, 0, "ok");
  }
  th_idea_new other = {.size = sizeof(other), .title = "Barnet idea"};
  th_idea_submit(db, "barnet", &w, &other, NULL);
  th_idea_moderate(db, "camden", "mod", ids[2], TH_MOD_HIDE, 0, "spam");

  struct {
    const char *what;
    th_idea_query q;
    int n;
    int64_t first;
  } cases[] = {
      {"public, new first", {.sort = TH_SORT_NEW}, 3, ids[4]},
      {"pending only",
       {.sort = TH_SORT_NEW, .statuses = TH_STATUS_BIT(TH_PENDING)},
       2,
       ids[5]},
      {"hidden only",
       {.sort = TH_SORT_NEW, .statuses = TH_STATUS_BIT(TH_HIDDEN)},
       1,
       ids[2]},
      {"pending and hidden",
       {.sort = TH_SORT_NEW,
        .statuses = TH_STATUS_BIT(TH_PENDING) | TH_STATUS_BIT(TH_HIDDEN)},
       3,
       ids[5]},
      {"every status", {.sort = TH_SORT_NEW, .statuses = 0x3ff}, 6, ids[5]},
      {"ward Kentish Town",
       {.sort = TH_SORT_NEW, .ward = "Kentish Town"},
       2,
       ids[1]},
      {"ward Highgate, any status",
       {.sort = TH_SORT_NEW, .ward = "Highgate", .statuses = 0x3ff},
       3,
       ids[4]},
      {"ward none",
       {.sort = TH_SORT_NEW, .ward = "", .statuses = 0x3ff},
       1,
       ids[5]},
      {"category environment",
       {.sort = TH_SORT_NEW, .category = "environment"},
       2,
       ids[4]},
      {"category waste in Kentish Town",
       {.sort = TH_SORT_NEW, .category = "waste", .ward = "Kentish Town"},
       1,
       ids[1]},
      {"category and ward that never meet",
       {.sort = TH_SORT_NEW, .category = "waste", .ward = "Highgate"},
       0,
       0},
      {"consultation parks",
       {.sort = TH_SORT_NEW, .consultation = "parks"},
       1,
       ids[4]},
      {"consultation parks, all",
       {.sort = TH_SORT_NEW, .consultation = "parks", .statuses = 0x3ff},
       2,
       ids[5]},
      {"the ideas board",
       {.sort = TH_SORT_NEW, .consultation = "ideas"},
       2,
       ids[1]},
      {"limit 1", {.sort = TH_SORT_NEW, .limit = 1}, 1, ids[4]},
  };
  for (size_t k = 0; k < TH__ARRAY_SIZE(cases); k++) {
    th_idea_page *p = NULL;
    cases[k].q.size = sizeof cases[k].q;
    int rc = th_idea_list(db, "camden", &cases[k].q, &p);
    TAP_OK(rc == TH_OK && p && (int)p->count == cases[k].n &&
               (cases[k].n == 0 || p->items[0].id == cases[k].first),
           "list: %s (%d, got %d)", cases[k].what, cases[k].n,
           p ? (int)p->count : -1);
    if (p && cases[k].q.limit == 1)
      TAP_OK(p->next_cursor != NULL, "a limited page has a cursor");
    else if (p)
      TAP_OK(p->next_cursor == NULL, "the last page has no cursor");
    th_idea_page_free(p);
  }
  th_idea_page *p = (th_idea_page *)1;
  th_idea_query q = {.size = sizeof(q), .sort = TH_SORT_NEW};
  TAP_INT(th_idea_list(db, "camden", NULL, &p), TH_EINVAL, "NULL query");
  TAP_INT(th_idea_list(db, "camden", &q, NULL), TH_EINVAL, "NULL out");
  q.statuses = 1u << 10;
  TAP_INT(th_idea_list(db, "camden", &q, &p), TH_EINVAL, "unknown status bit");
  TAP_OK(p == NULL, "*out NULL on failure");
  q.statuses = 0;
  q.sort = 5;
  TAP_INT(th_idea_list(db, "camden", &q, &p), TH_EINVAL, "unknown sort");
  q.sort = -1;
  TAP_INT(th_idea_list(db, "camden", &q, &p), TH_EINVAL, "negative sort");
  q.sort = TH_SORT_TOP;
  q.limit = 101;
  TAP_INT(th_idea_list(db, "camden", &q, &p), TH_ERANGE, "limit 101");
  q.limit = -1;
  TAP_INT(th_idea_list(db, "camden", &q, &p), TH_ERANGE, "limit -1");
  q.limit = 100;
  TAP_INT(th_idea_list(db, "camden", &q, &p), TH_OK, "limit 100");
  th_idea_page_free(p);
  q.consultation = "nope";
  TAP_INT(th_idea_list(db, "camden", &q, &p), TH_ENOTFOUND,
          "unknown consultation");
  q.consultation = NULL;
  TAP_INT(th_idea_list(db, "nowhere", &q, &p), TH_ENOTFOUND, "unknown site");
  TAP_INT(th_idea_list(db, NULL, &q, &p), TH_EINVAL, "NULL site");
  th_idea_page_free(NULL);

  /* Default limit 20, and cursors over a filter. */
  for (int k = 0; k < 25; k++) {
    char t[32];
    snprintf(t, sizeof t, "Barnet idea %d", k);
    th_idea_new n = {.size = sizeof(n), .title = t, .ward = k % 2 ? "East" : "West"};
    t_clock += 1000;
    th_idea_submit(db, "barnet", &w, &n, NULL);
  }
  th_idea_query bq = {.size = sizeof(bq), .sort = TH_SORT_NEW};
  p = NULL;
  th_idea_list(db, "barnet", &bq, &p);
  TAP_INT(p ? (int)p->count : -1, 20, "default limit 20");
  th_idea_page_free(p);
  bq.ward = "East";
  bq.limit = 5;
  int seen = 0, pages = 0, wrong = 0;
  char *cur = NULL;
  do {
    bq.cursor = cur;
    p = NULL;
    if (th_idea_list(db, "barnet", &bq, &p) != TH_OK)
      break;
    pages++;
    for (size_t k = 0; k < p->count; k++)
      wrong += strcmp(p->items[k].ward, "East") != 0;
    seen += (int)p->count;
    free(cur);
    cur = p->next_cursor ? strdup(p->next_cursor) : NULL;
    th_idea_page_free(p);
  } while (cur && pages < 10);
  free(cur);
  TAP_INT(seen, 12, "12 East ideas through cursors");
  TAP_INT(pages, 3, "in pages of 5");
  TAP_INT(wrong, 0, "every one in the ward");
  th_close(db);
}

static void test_set_status(void) {
  t_clock = T0;
  th_db *db = t_open("status.db");
  t_site(db, "camden", 0, 1);
  int64_t a =
      new_idea(db, "camden", "res-1", NULL, "Street lights on Pratt St");
  TAP_INT(th_idea_set_status(db, "camden", "cllr", a, TH_UNDER_REVIEW, NULL),
          TH_ESTATE, "from pending: TH_ESTATE (moderate first)");
  th_idea_moderate(db, "camden", "mod", a, TH_MOD_PUBLISH, 0, "ok");
  TAP_INT(th_idea_set_status(db, "camden", "cllr", a, TH_PENDING, NULL),
          TH_EINVAL, "to pending: TH_EINVAL");
  TAP_INT(th_idea_set_status(db, "camden", "cllr", a, TH_HIDDEN, NULL),
          TH_EINVAL, "to hidden: TH_EINVAL (that is moderation)");
  TAP_INT(th_idea_set_status(db, "camden", "cllr", a, TH_WITHDRAWN, NULL),
          TH_EINVAL, "to withdrawn: TH_EINVAL");
  TAP_INT(th_idea_set_status(db, "camden", "cllr", a, TH_MERGED, NULL),
          TH_EINVAL, "to merged: TH_EINVAL");
  TAP_INT(th_idea_set_status(db, "camden", "cllr", a, 42, NULL), TH_EINVAL,
          "to 42: TH_EINVAL");
  TAP_INT(th_idea_set_status(db, "camden", "cllr", a, -1, NULL), TH_EINVAL,
          "to -1: TH_EINVAL");
  TAP_INT(th_idea_set_status(db, "camden", "cllr", a, TH_PUBLISHED, NULL),
          TH_DUPLICATE, "unchanged: TH_DUPLICATE");
  t_clock += 1000;
  TAP_INT(th_idea_set_status(db, "camden", "cllr", a, TH_UNDER_REVIEW, NULL),
          TH_RECORDED, "published -> under_review");
  th_idea *i = get(db, "camden", a);
  TAP_OK(i && i->status == TH_UNDER_REVIEW && i->updated == t_clock &&
             i->response[0] == 0,
         "status stored, updated moved, no response");
  th_idea_free(i);
  t_clock += 1000;
  TAP_INT(th_idea_set_status(db, "camden", "cllr", a, TH_UNDER_REVIEW,
                             "We will survey the street in May."),
          TH_RECORDED, "a response alone is a change");
  i = get(db, "camden", a);
  TAP_STR(i ? i->response : NULL, "We will survey the street in May.",
          "response stored");
  TAP_INT(i ? i->response_at : -1, t_clock, "response_at");
  th_idea_free(i);
  TAP_INT(th_idea_set_status(db, "camden", "cllr", a, TH_UNDER_REVIEW,
                             "We will survey the street in May."),
          TH_DUPLICATE, "same status, same response: TH_DUPLICATE");
  TAP_INT(th_idea_set_status(db, "camden", "cllr", a, TH_UNDER_REVIEW, NULL),
          TH_DUPLICATE, "same status, response untouched: TH_DUPLICATE");
  th_time answered = t_clock;
  t_clock += 1000;
  TAP_INT(th_idea_set_status(db, "camden", "cllr", a, TH_ACCEPTED, NULL),
          TH_RECORDED, "-> accepted, response kept");
  i = get(db, "camden", a);
  TAP_OK(i && i->status == TH_ACCEPTED &&
             strcmp(i->response, "We will survey the street in May.") == 0 &&
             i->response_at == answered,
         "the response and its time are kept");
  th_idea_free(i);
  TAP_INT(th_idea_set_status(db, "camden", "cllr", a, TH_IN_PROGRESS, ""),
          TH_RECORDED, "-> in progress, response cleared");
  i = get(db, "camden", a);
  TAP_OK(i && i->status == TH_IN_PROGRESS && i->response[0] == 0 &&
             i->response_at == 0,
         "an empty response clears it and its time");
  th_idea_free(i);
  TAP_INT(th_idea_set_status(db, "camden", "cllr", a, TH_IN_PROGRESS, ""),
          TH_DUPLICATE, "clearing again: TH_DUPLICATE");
  TAP_INT(
      th_idea_set_status(db, "camden", "cllr", a, TH_DONE, "Done.\nThank you!"),
      TH_RECORDED, "-> done, multi-line response");
  TAP_INT(th_idea_set_status(db, "camden", "cllr", a, TH_DECLINED, NULL),
          TH_RECORDED, "done -> declined is allowed");
  TAP_INT(th_idea_set_status(db, "camden", "cllr", a, TH_PUBLISHED, NULL),
          TH_RECORDED, "declined -> published is allowed");
  char *r5001 = repeat("r", 5001);
  TAP_INT(th_idea_set_status(db, "camden", "cllr", a, TH_DONE, r5001),
          TH_ETOOLONG, "a response of 5001 characters");
  free(r5001);
  char *r5000 = repeat("\xc3\xa9", 5000);
  TAP_INT(th_idea_set_status(db, "camden", "cllr", a, TH_DONE, r5000),
          TH_RECORDED, "5000 two-byte characters fit");
  free(r5000);
  TAP_INT(th_idea_set_status(db, "camden", "cllr", a, TH_DONE, "\xc3\x28"),
          TH_EUTF8, "response not UTF-8");
  TAP_INT(th_idea_set_status(db, "camden", "cllr", a, TH_DONE, "bell\x07"),
          TH_EINVAL, "control character in a response");
  TAP_INT(th_idea_set_status(db, "camden", "cllr", 99999, TH_DONE, NULL),
          TH_ENOTFOUND, "unknown idea");
  TAP_INT(th_idea_set_status(db, "nowhere", "cllr", a, TH_DONE, NULL),
          TH_ENOTFOUND, "unknown site");
  /* From hidden, withdrawn: not visible, so not settable. */
  th_idea_moderate(db, "camden", "mod", a, TH_MOD_HIDE, 0, "spam");
  TAP_INT(th_idea_set_status(db, "camden", "cllr", a, TH_DONE, NULL), TH_ESTATE,
          "from hidden: TH_ESTATE");
  int64_t b = new_idea(db, "camden", "res-1", NULL, "Withdrawn later");
  th_idea_moderate(db, "camden", "mod", b, TH_MOD_PUBLISH, 0, "ok");
  th_who w = {.resident = "res-1"};
  th_idea_withdraw(db, "camden", &w, b);
  TAP_INT(th_idea_set_status(db, "camden", "cllr", b, TH_DONE, NULL), TH_ESTATE,
          "from withdrawn: TH_ESTATE");
  th_close(db);
}

static void test_moderate(void) {
  t_clock = T0;
  th_db *db = t_open("moderate.db");
  t_site(db, "camden", 0, 1);
  int64_t a = new_idea(db, "camden", "res-1", NULL, "Idea number one");
  TAP_INT(th_idea_moderate(db, "camden", "mod", a, 4, 0, "why"), TH_EINVAL,
          "unknown action");
  TAP_INT(th_idea_moderate(db, "camden", "mod", a, -1, 0, "why"), TH_EINVAL,
          "negative action");
  TAP_INT(th_idea_moderate(db, "camden", "mod", a, TH_MOD_PUBLISH, 0, NULL),
          TH_EINVAL, "a reason is required");
  TAP_INT(th_idea_moderate(db, "camden", "mod", a, TH_MOD_PUBLISH, 0, ""),
          TH_EINVAL, "an empty reason is no reason");
  TAP_INT(th_idea_moderate(db, "camden", "mod", a, TH_MOD_PUBLISH, 0, "  \n"),
          TH_EINVAL, "white space is no reason");
  char *r501 = repeat("r", 501);
  TAP_INT(th_idea_moderate(db, "camden", "mod", a, TH_MOD_PUBLISH, 0, r501),
          TH_ETOOLONG, "a reason of 501 characters");
  free(r501);
  TAP_INT(
      th_idea_moderate(db, "camden", "mod", a, TH_MOD_PUBLISH, 0, "\xc3\x28"),
      TH_EUTF8, "a reason not UTF-8");
  TAP_INT(th_idea_moderate(db, "camden", "mod", 9999, TH_MOD_PUBLISH, 0, "ok"),
          TH_ENOTFOUND, "unknown idea");
  TAP_INT(th_idea_moderate(db, "nowhere", "mod", a, TH_MOD_PUBLISH, 0, "ok"),
          TH_ENOTFOUND, "unknown site");
  TAP_INT(status_of(db, "camden", a), TH_PENDING, "still pending");

  struct {
    const char *what;
    int action, want, status_after;
  } steps[] = {
      {"reject pending", TH_MOD_REJECT, TH_RECORDED, TH_HIDDEN},
      {"reject again", TH_MOD_REJECT, TH_DUPLICATE, TH_HIDDEN},
      {"hide hidden", TH_MOD_HIDE, TH_DUPLICATE, TH_HIDDEN},
      {"publish hidden", TH_MOD_PUBLISH, TH_RECORDED, TH_PUBLISHED},
      {"publish published", TH_MOD_PUBLISH, TH_DUPLICATE, TH_PUBLISHED},
      {"reject published", TH_MOD_REJECT, TH_ESTATE, TH_PUBLISHED},
      {"hide published", TH_MOD_HIDE, TH_RECORDED, TH_HIDDEN},
      {"publish again", TH_MOD_PUBLISH, TH_RECORDED, TH_PUBLISHED},
  };
  for (size_t k = 0; k < TH__ARRAY_SIZE(steps); k++) {
    TAP_INT(
        th_idea_moderate(db, "camden", "mod", a, steps[k].action, 0, "reason"),
        steps[k].want, "%s", steps[k].what);
    TAP_INT(status_of(db, "camden", a), steps[k].status_after, "%s: status",
            steps[k].what);
  }
  int64_t b = new_idea(db, "camden", "res-1", NULL, "Idea number two");
  TAP_INT(th_idea_moderate(db, "camden", "mod", b, TH_MOD_HIDE, 0, "spam"),
          TH_RECORDED, "hide pending");
  th_idea_moderate(db, "camden", "mod", b, TH_MOD_PUBLISH, 0, "ok");
  th_idea_set_status(db, "camden", "cllr", b, TH_ACCEPTED, NULL);
  TAP_INT(th_idea_moderate(db, "camden", "mod", b, TH_MOD_PUBLISH, 0, "ok"),
          TH_ESTATE, "publish accepted: TH_ESTATE");
  TAP_INT(th_idea_moderate(db, "camden", "mod", b, TH_MOD_REJECT, 0, "no"),
          TH_ESTATE, "reject accepted: TH_ESTATE");
  TAP_INT(th_idea_moderate(db, "camden", "mod", b, TH_MOD_HIDE, 0, "no"),
          TH_RECORDED, "hide accepted");
  int64_t c = new_idea(db, "camden", "res-1", NULL, "Idea number three");
  th_idea_moderate(db, "camden", "mod", c, TH_MOD_PUBLISH, 0, "ok");
  th_who w = {.resident = "res-1"};
  th_idea_withdraw(db, "camden", &w, c);
  TAP_INT(th_idea_moderate(db, "camden", "mod", c, TH_MOD_PUBLISH, 0, "ok"),
          TH_ESTATE, "publish withdrawn: TH_ESTATE");
  TAP_INT(th_idea_moderate(db, "camden", "mod", c, TH_MOD_HIDE, 0, "ok"),
          TH_ESTATE, "hide withdrawn: TH_ESTATE");
  TAP_INT(th_idea_moderate(db, "camden", "mod", c, TH_MOD_MERGE, a, "ok"),
          TH_ESTATE, "merge withdrawn: TH_ESTATE");

  /* Failed moderation leaves no audit entry. */
  th_audit_list *al = NULL;
  th_audit_list_get(db, "camden", 0, 1000, &al);
  int mods = 0;
  for (size_t k = 0; al && k < al->count; k++)
    mods += strncmp(al->items[k].action, "moderate:", 9) == 0;
  TAP_INT(mods, 8, "one audit entry per applied moderation");
  th_audit_list_free(al);
  th_close(db);
}

/* Merging never publishes what a moderator has not approved: a pending
 * idea merged into a public one stays private (issue 12, section 2). `pend`
 * was pending and `pub` public when each was merged into `dst`. */
static void test_merge_visibility(th_db *db, int64_t pend, int64_t pub,
                                  int64_t dst) {
  th_idea *i = get(db, "camden", pend);
  TAP_OK(i && i->status == TH_MERGED && i->merged_from == TH_PENDING,
         "staff see the merged idea, and that it was pending");
  TAP_INT(th_idea_is_public(i), 0, "a pending idea merged away: not public");
  th_idea_free(i);
  i = NULL;
  TAP_INT(th_idea_get_public(db, "camden", pend, &i), TH_ENOTFOUND,
          "th_idea_get_public: TH_ENOTFOUND");
  TAP_OK(i == NULL, "and nothing is returned");
  char missing[128];
  snprintf(missing, sizeof missing, "%s", th_errmsg(db));
  th_idea_get_public(db, "camden", 999999, &i);
  char other[128];
  snprintf(other, sizeof other, "%s", th_errmsg(db));
  char *p = strstr(missing, " on this site"), *q = strstr(other, " on this site");
  TAP_OK(p && q && strcmp(p, q) == 0 &&
             strncmp(missing, "no idea ", 8) == 0 &&
             strncmp(other, "no idea ", 8) == 0,
         "the same words as a missing idea (\"%s\", \"%s\")", missing, other);
  i = get(db, "camden", pub);
  TAP_OK(i && i->status == TH_MERGED && i->merged_from == TH_PUBLISHED,
         "a public idea merged: merged_from published");
  TAP_INT(th_idea_is_public(i), 1, "a public idea merged stays public");
  th_idea_free(i);
  i = NULL;
  TAP_INT(th_idea_get_public(db, "camden", pub, &i), TH_OK,
          "th_idea_get_public of a public idea merged: TH_OK");
  th_idea_free(i);
  i = NULL;
  TAP_INT(th_idea_get_public(db, "camden", dst, &i), TH_OK,
          "the target is public");
  TAP_INT(i ? i->merged_from : 0, -1, "merged_from -1 unless merged");
  th_idea_free(i);
  TAP_INT(th_idea_is_public(NULL), 0, "th_idea_is_public(NULL): 0");
}

static void test_merge(void) {
  t_clock = T0;
  th_db *db = t_open("merge.db");
  t_site(db, "camden", 1, 0); /* anonymous votes allowed */
  th_consultation pc = {
      .size = sizeof(th_consultation), .slug = "parks", .title = "Parks"};
  th_consultation_create(db, "camden", NULL, &pc, NULL);
  int64_t src = new_idea(db, "camden", "author", NULL, "More benches");
  int64_t dst = new_idea(db, "camden", "author", NULL, "Benches in parks");
  int64_t far = new_idea(db, "camden", "author", "parks", "Benches (parks)");
  /* src: r1 up, r2 down, r3 up, d1 up, d2 down.
   * dst: r1 down, r4 up, d1 down. */
  vote(db, "camden", "r1", src, 1);
  vote(db, "camden", "r2", src, -1);
  vote(db, "camden", "r3", src, 1);
  vote(db, "camden", "r1", dst, -1);
  vote(db, "camden", "r4", dst, 1);
  th_who d1 = {.ip = "198.51.100.1", .user_agent = "UA"};
  th_who d2 = {.ip = "198.51.100.2", .user_agent = "UA"};
  th_vote(db, "camden", &d1, src, 1, NULL);
  th_vote(db, "camden", &d2, src, -1, NULL);
  th_vote(db, "camden", &d1, dst, -1, NULL);

  TAP_INT(th_idea_moderate(db, "camden", "mod", src, TH_MOD_MERGE, src, "x"),
          TH_EINVAL, "merge into itself: TH_EINVAL");
  TAP_INT(th_idea_moderate(db, "camden", "mod", src, TH_MOD_MERGE, far, "x"),
          TH_EINVAL, "merge across consultations: TH_EINVAL");
  TAP_INT(th_idea_moderate(db, "camden", "mod", src, TH_MOD_MERGE, 9999, "x"),
          TH_ENOTFOUND, "merge into an unknown idea");
  TAP_INT(th_idea_moderate(db, "camden", "mod", src, TH_MOD_MERGE, 0, "x"),
          TH_ENOTFOUND, "merge into nothing");
  t_site(db, "barnet", 0, 0);
  int64_t foreign = 0;
  submit_as(db, "barnet", "author", NULL, "Barnet benches", &foreign);
  TAP_INT(
      th_idea_moderate(db, "camden", "mod", src, TH_MOD_MERGE, foreign, "x"),
      TH_ENOTFOUND, "merge into another site's idea");
  int64_t hid = new_idea(db, "camden", "author", NULL, "Hidden benches");
  th_idea_moderate(db, "camden", "mod", hid, TH_MOD_HIDE, 0, "spam");
  TAP_INT(th_idea_moderate(db, "camden", "mod", src, TH_MOD_MERGE, hid, "x"),
          TH_ESTATE, "merge into a hidden idea: TH_ESTATE");
  th_idea *s0 = get(db, "camden", src);
  TAP_OK(s0 && s0->status == TH_PUBLISHED && s0->up == 2 && s0->down == 1 &&
             s0->anon_up == 1 && s0->anon_down == 1,
         "failed merges changed nothing");
  th_idea_free(s0);

  t_clock += 1000;
  TAP_INT(th_idea_moderate(db, "camden", "mod", src, TH_MOD_MERGE, dst,
                           "Same idea"),
          TH_RECORDED, "merged");
  th_idea *s = get(db, "camden", src), *d = get(db, "camden", dst);
  TAP_INT(s ? s->status : -1, TH_MERGED, "source is merged");
  TAP_INT(s ? s->merged_into : -1, dst, "merged_into the target");
  TAP_OK(s && s->up == 0 && s->down == 0 && s->anon_up == 0 &&
             s->anon_down == 0 && s->top == 0,
         "source's counts are zero");
  /* Target: r1 down (its own stands), r4 up, r2 down, r3 up; d1 down (its
   * own), d2 down. */
  TAP_INT(d ? d->up : -1, 2, "target up: r4, r3");
  TAP_INT(d ? d->down : -1, 2, "target down: r1 (target's vote), r2");
  TAP_INT(d ? d->anon_up : -1, 0, "target anon up: d1 kept its down vote");
  TAP_INT(d ? d->anon_down : -1, 2, "target anon down: d1, d2");
  TAP_DBL(d ? d->top : -1, th__wilson_lower(2, 4), 1e-12, "target top");
  TAP_DBL(d ? d->controversial : -1, th__controversial(2, 2), 1e-12,
          "target controversial");
  th_idea_free(s);
  th_idea_free(d);

  /* The moved votes are the target's now: each voter still has one vote. */
  th_counts cn;
  th_who r1 = {.resident = "r1"}, r2 = {.resident = "r2"};
  TAP_INT(th_vote(db, "camden", &r1, dst, -1, &cn), TH_DUPLICATE,
          "r1's vote on the target is still down");
  TAP_INT(th_vote(db, "camden", &r2, dst, -1, &cn), TH_DUPLICATE,
          "r2's down vote moved to the target");
  TAP_INT(th_vote(db, "camden", &r2, dst, 0, &cn), TH_RECORDED,
          "r2 withdraws it from the target");
  TAP_OK(cn.up == 2 && cn.down == 1, "counts move exactly: 2 up, 1 down");
  TAP_INT(th_vote(db, "camden", &d2, dst, 1, &cn), TH_RECORDED,
          "d2 changes its moved vote");
  TAP_OK(cn.anon_up == 1 && cn.anon_down == 1, "anonymous counts move too");
  TAP_INT(vote(db, "camden", "r3", src, 0), TH_ESTATE,
          "no votes on a merged idea");
  TAP_INT(th_idea_moderate(db, "camden", "mod", src, TH_MOD_MERGE, dst, "x"),
          TH_DUPLICATE, "merge again: TH_DUPLICATE");
  TAP_INT(th_idea_moderate(db, "camden", "mod", src, TH_MOD_PUBLISH, 0, "x"),
          TH_ESTATE, "publish merged: TH_ESTATE");
  TAP_INT(th_idea_moderate(db, "camden", "mod", dst, TH_MOD_MERGE, src, "x"),
          TH_ESTATE, "merge into a merged idea: TH_ESTATE");

  /* A pending idea may be merged straight away. */
  th_site *site = NULL;
  th_site_get(db, "camden", &site);
  site->moderate_ideas = 1;
  th_site_update(db, NULL, site);
  th_site_free(site);
  int64_t pend = new_idea(db, "camden", "author", NULL, "Benches please");
  TAP_INT(status_of(db, "camden", pend), TH_PENDING, "pending");
  TAP_INT(th_idea_moderate(db, "camden", "mod", pend, TH_MOD_MERGE, dst, "dup"),
          TH_RECORDED, "pending merged");
  TAP_INT(th_idea_moderate(db, "camden", "mod", dst, TH_MOD_MERGE, pend, "dup"),
          TH_ESTATE, "into a merged one: TH_ESTATE");
  test_merge_visibility(db, pend, src, dst);

  /* Merge bookkeeping: votes recounted exactly against a model, many
   * voters. */
  int64_t x = new_idea(db, "camden", "author", NULL, "Many votes X");
  int64_t y = new_idea(db, "camden", "author", NULL, "Many votes Y");
  th_idea_moderate(db, "camden", "mod", x, TH_MOD_PUBLISH, 0, "ok");
  th_idea_moderate(db, "camden", "mod", y, TH_MOD_PUBLISH, 0, "ok");
  int vx[60], vy[60];
  srand(7);
  for (int k = 0; k < 60; k++) {
    char r[16];
    snprintf(r, sizeof r, "m%d", k);
    vx[k] = rand() % 3 - 1;
    vy[k] = rand() % 3 - 1;
    if (vx[k])
      vote(db, "camden", r, x, vx[k]);
    if (vy[k])
      vote(db, "camden", r, y, vy[k]);
  }
  int up = 0, down = 0;
  for (int k = 0; k < 60; k++) {
    int v = vy[k] ? vy[k] : vx[k];
    up += v == 1;
    down += v == -1;
  }
  th_idea_moderate(db, "camden", "mod", x, TH_MOD_MERGE, y, "dup");
  th_idea *iy = get(db, "camden", y);
  TAP_OK(iy && iy->up == up && iy->down == down,
         "60 voters: the target has %d up, %d down (got %lld, %lld)", up, down,
         iy ? (long long)iy->up : -1, iy ? (long long)iy->down : -1);
  th_idea_free(iy);
  th_close(db);
}

static void test_withdraw(void) {
  t_clock = T0;
  th_db *db = t_open("withdraw.db");
  t_site(db, "camden", 0, 1);
  t_site(db, "anon", 1, 0);
  th_who author = {.resident = "res-author"}, other = {.resident = "res-other"};
  int64_t a = new_idea(db, "camden", "res-author", NULL, "Withdraw me later");
  vote(db, "camden", "res-other", a, 1); /* pending: refused, no matter */
  TAP_INT(th_idea_withdraw(db, "camden", &other, a), TH_EPERM,
          "a stranger with no pseudonym here: TH_EPERM");
  th_idea_moderate(db, "camden", "mod", a, TH_MOD_PUBLISH, 0, "ok");
  vote(db, "camden", "res-other", a, 1);
  TAP_INT(th_idea_withdraw(db, "camden", &other, a), TH_EPERM,
          "another participant: TH_EPERM");
  TAP_INT(th_idea_withdraw(db, "camden", NULL, a), TH_EINVAL, "NULL who");
  th_who nobody = {0};
  TAP_INT(th_idea_withdraw(db, "camden", &nobody, a), TH_EINVAL,
          "nobody at all");
  TAP_INT(th_idea_withdraw(db, "camden", &author, 9999), TH_ENOTFOUND,
          "unknown idea");
  TAP_INT(th_idea_withdraw(db, "nowhere", &author, a), TH_ENOTFOUND,
          "unknown site");
  TAP_INT(status_of(db, "camden", a), TH_PUBLISHED, "still published");
  t_clock += 1000;
  TAP_INT(th_idea_withdraw(db, "camden", &author, a), TH_RECORDED,
          "the author withdraws it");
  th_idea *i = get(db, "camden", a);
  TAP_OK(i && i->status == TH_WITHDRAWN && i->updated == t_clock,
         "withdrawn, updated now");
  th_idea_free(i);
  TAP_INT(th_idea_withdraw(db, "camden", &author, a), TH_DUPLICATE,
          "a second time: TH_DUPLICATE");
  TAP_INT(th_idea_withdraw(db, "camden", &other, a), TH_EPERM,
          "not the author, even now: TH_EPERM");
  TAP_INT(vote(db, "camden", "res-other", a, -1), TH_ESTATE,
          "no votes on a withdrawn idea");

  int64_t p = new_idea(db, "camden", "res-author", NULL, "Pending withdrawal");
  TAP_INT(th_idea_withdraw(db, "camden", &author, p), TH_RECORDED,
          "a pending idea can be withdrawn");
  int64_t r = new_idea(db, "camden", "res-author", NULL, "Under review one");
  th_idea_moderate(db, "camden", "mod", r, TH_MOD_PUBLISH, 0, "ok");
  th_idea_set_status(db, "camden", "cllr", r, TH_UNDER_REVIEW, NULL);
  TAP_INT(th_idea_withdraw(db, "camden", &author, r), TH_RECORDED,
          "an idea under review can be withdrawn");
  int64_t acc = new_idea(db, "camden", "res-author", NULL, "Accepted one");
  th_idea_moderate(db, "camden", "mod", acc, TH_MOD_PUBLISH, 0, "ok");
  th_idea_set_status(db, "camden", "cllr", acc, TH_ACCEPTED, NULL);
  TAP_INT(th_idea_withdraw(db, "camden", &author, acc), TH_ESTATE,
          "an accepted idea cannot be withdrawn");
  TAP_INT(status_of(db, "camden", acc), TH_ACCEPTED, "still accepted");
  int64_t h = new_idea(db, "camden", "res-author", NULL, "Hidden one");
  th_idea_moderate(db, "camden", "mod", h, TH_MOD_REJECT, 0, "no");
  TAP_INT(th_idea_withdraw(db, "camden", &author, h), TH_ESTATE,
          "a hidden idea cannot be withdrawn");
  TAP_INT(th_idea_withdraw(db, "camden", &other, h), TH_EPERM,
          "and a stranger is told TH_EPERM first");

  /* An anonymous author is the same device. */
  th_who dev = {.ip = "203.0.113.5", .user_agent = "UA 1"};
  th_who dev_ua = {.ip = "203.0.113.5", .user_agent = "UA 2"};
  th_idea_new n = {.size = sizeof(n), .title = "Device idea"};
  int64_t d = 0;
  th_idea_submit(db, "anon", &dev, &n, &d);
  TAP_INT(th_idea_withdraw(db, "anon", &dev_ua, d), TH_EPERM,
          "another user agent is another device: TH_EPERM");
  TAP_INT(th_idea_withdraw(db, "anon", &dev, d), TH_RECORDED,
          "the device that proposed it withdraws it");
  th_close(db);
}

/* A resident id is taken exactly as given: " alice" was trimmed into
 * "alice" and acted as her (issue 12, section 3). */
static void test_resident_ids(void) {
  t_clock = T0;
  th_db *db = t_open("resident-ids.db");
  t_site(db, "camden", 0, 0);
  int64_t id = 0;
  TAP_INT(submit_as(db, "camden", "alice", NULL, "Trees on the high street",
                    &id),
          TH_RECORDED, "alice proposes");
  static const char *const bad[] = {
      " alice", "alice ", "\talice", "alice\n", "ali\x01" "ce",
      "alice\xc2\xa0",       /* no-break space */
      "\xe2\x80\x8b" "alice", /* zero-width space */
      "alice\xe3\x80\x80",   /* ideographic space */
      "ali\xc2\x85" "ce",     /* NEL, a C1 control */
      "ali\xff" "ce"};       /* not UTF-8 */
  for (size_t k = 0; k < TH__ARRAY_SIZE(bad); k++) {
    int64_t got = 0;
    int rc = submit_as(db, "camden", bad[k], NULL, "Trees on the high street",
                       &got);
    TAP_OK(rc == TH_EINVAL && strstr(th_errmsg(db), "resident id"),
           "id %zu refused: %s (%s)", k, th_err_name(rc), th_errmsg(db));
    TAP_INT(vote(db, "camden", bad[k], id, 1), TH_EINVAL, "id %zu: no vote",
            k);
    TAP_INT(th_idea_withdraw(db, "camden", &(th_who){.resident = bad[k]}, id),
            TH_EINVAL, "id %zu: cannot withdraw alice's idea", k);
    char *json = NULL;
    TAP_INT(th_resident_export(db, "camden", bad[k], &json), TH_EINVAL,
            "id %zu: no export", k);
    th_free(json);
    TAP_INT(th_resident_erase(db, "camden", bad[k], NULL), TH_EINVAL,
            "id %zu: no erasure", k);
  }
  TAP_INT(status_of(db, "camden", id), TH_PUBLISHED, "alice's idea stands");
  TAP_INT(submit_as(db, "camden", "alice smith", NULL, "Benches", &id),
          TH_RECORDED, "a space inside an id is part of it");
  TAP_INT(submit_as(db, "camden", "\xc3\xa5lice", NULL, "Benches", &id),
          TH_RECORDED, "non-ASCII letters are fine");
  th_close(db);
}

/* Wards and categories: a site's lists where it has them (anything else
 * refused, naming the field), free text scrubbed where it has none. */
static void test_vocabularies(void) {
  t_clock = T0;
  th_db *db = t_open("vocab.db");
  t_site(db, "camden", 0, 0);
  th_who w = {.resident = "res-v"};

  /* No lists: free text, scrubbed as th_redact does (issue 12's request). */
  th_idea_new n = {.size = sizeof(n), .title = "Fix the lights",
                   .category = "canary@example.org",
                   .ward = "07700 900461"};
  int64_t id = 0;
  TAP_INT(th_idea_submit(db, "camden", &w, &n, &id), TH_RECORDED,
          "free text accepted where the site has no list");
  th_idea *i = get(db, "camden", id);
  TAP_STR(i ? i->category : NULL, "[email]", "a free-text category is scrubbed");
  TAP_STR(i ? i->ward : NULL, "[phone]", "a free-text ward is scrubbed");
  th_idea_free(i);
  th_idea_new spaced = {.size = sizeof(spaced), .title = "Mend the swings", .category = "  Parks  ",
                        .ward = "   "};
  TAP_INT(th_idea_submit(db, "camden", &w, &spaced, &id), TH_RECORDED,
          "surrounding space");
  i = get(db, "camden", id);
  TAP_STR(i ? i->category : NULL, "Parks", "trimmed");
  TAP_STR(i ? i->ward : NULL, "", "blank is not given");
  th_idea_free(i);

  /* Lists. */
  TAP_INT(t_site_lists(db, "camden", "Kentish Town\nHighgate", "Parks\nRoads",
                    NULL),
          TH_RECORDED, "lists set");
  th_idea_new bad = {.size = sizeof(bad), .title = "Benches by the pond", .ward = "Gospel Oak",
                     .category = "Parks"};
  TAP_INT(th_idea_submit(db, "camden", &w, &bad, &id), TH_EINVAL,
          "a ward not in the list");
  TAP_OK(strncmp(th_errmsg(db), "ward: ", 6) == 0 &&
             strstr(th_errmsg(db), "Gospel Oak") &&
             strstr(th_errmsg(db), "Kentish Town, Highgate"),
         "the message names the field, the value and the choices: %s",
         th_errmsg(db));
  bad.ward = "Highgate";
  bad.category = "me@example.org";
  TAP_INT(th_idea_submit(db, "camden", &w, &bad, &id), TH_EINVAL,
          "a category not in the list");
  TAP_OK(strncmp(th_errmsg(db), "category: ", 10) == 0 &&
             strstr(th_errmsg(db), "categories") &&
             strstr(th_errmsg(db), "me@example") == NULL,
         "names the field and echoes the value scrubbed: %s", th_errmsg(db));
  bad.category = "roads";
  bad.ward = " HIGHGATE ";
  TAP_INT(th_idea_submit(db, "camden", &w, &bad, &id), TH_RECORDED,
          "ignoring case and surrounding space");
  i = get(db, "camden", id);
  TAP_STR(i ? i->ward : NULL, "Highgate", "stored as the list spells it");
  TAP_STR(i ? i->category : NULL, "Roads", "category as the list spells it");
  th_idea_free(i);
  th_idea_new none = {.size = sizeof(none), .title = "Borough-wide", .ward = "", .category = NULL};
  TAP_INT(th_idea_submit(db, "camden", &w, &none, &id), TH_RECORDED,
          "not given: still allowed with a list");
  th_idea_page *p = NULL;
  th_idea_query q = {.size = sizeof(q), .sort = TH_SORT_NEW, .limit = 100};
  th_idea_list(db, "camden", &q, &p);
  TAP_INT(p ? (int)p->count : -1, 4, "nothing refused was stored");
  th_idea_page_free(p);
  th_close(db);
}

/* Text staff write is published or kept: scrubbed like residents' text,
 * except for the council's own contact details (the site's contacts). */
static void test_staff_text(void) {
  t_clock = T0;
  th_db *db = t_open("staff.db");
  t_site(db, "camden", 0, 0);
  int64_t id = new_idea(db, "camden", "res-s", NULL, "Fix the lights");
  const char *said = "Fixed. Write to jo.bloggs@example.org's councillor on "
                     "020 7974 4444, or at contact@camden.gov.uk.";
  /* Without contacts everything personal-looking goes. */
  TAP_INT(th_idea_set_status(db, "camden", "cllr", id, TH_DONE, said),
          TH_RECORDED, "response set");
  th_idea *i = get(db, "camden", id);
  TAP_STR(i ? i->response : NULL,
          "Fixed. Write to [email]'s councillor on [phone], or at [email].",
          "a response is scrubbed");
  th_idea_free(i);
  TAP_INT(th_idea_set_status(db, "camden", "cllr", id, TH_DONE, said),
          TH_DUPLICATE, "the same response again: nothing changed");
  /* The council's switchboard and public address are its own. */
  TAP_INT(t_site_lists(db, "camden", NULL, NULL,
                    "020 7974 4444\ncontact@camden.gov.uk\nNW1 2DB"),
          TH_RECORDED, "contacts set");
  TAP_INT(th_idea_set_status(db, "camden", "cllr", id, TH_DONE, said),
          TH_RECORDED, "response set again");
  i = get(db, "camden", id);
  TAP_STR(i ? i->response : NULL,
          "Fixed. Write to [email]'s councillor on 020 7974 4444, or at "
          "contact@camden.gov.uk.",
          "the resident's address goes, the council's contacts stay");
  th_idea_free(i);

  /* A moderation reason, kept in the audit log. */
  int64_t id2 = new_idea(db, "camden", "res-t", NULL, "Another idea");
  TAP_INT(th_idea_moderate(db, "camden", "mod", id2, TH_MOD_HIDE, 0,
                           "Names a neighbour: sam@example.net, 07700 "
                           "900461. Ask 020 7974 4444."),
          TH_RECORDED, "hidden");
  th_audit_list *a = NULL;
  th_audit_list_get(db, "camden", 0, 1, &a);
  TAP_STR(a && a->count ? a->items[0].detail : NULL,
          "Names a neighbour: [email], [phone]. Ask 020 7974 4444.",
          "a moderation reason is scrubbed, the switchboard kept");
  th_audit_list_free(a);

  /* A consultation's title and description. */
  th_consultation c = {.size = sizeof(th_consultation),
                       .slug = "parks",
                       .title = "Parks: ask jo@example.org",
                       .description = "Drop in at NW1 2DB or NW5 1TL, or "
                                      "call 07700 900461."};
  TAP_INT(th_consultation_create(db, "camden", "cllr", &c, NULL), TH_RECORDED,
          "consultation");
  th_consultation *got = NULL;
  th_consultation_get(db, "camden", "parks", &got);
  TAP_STR(got ? got->title : NULL, "Parks: ask [email]", "title scrubbed");
  TAP_STR(got ? got->description : NULL,
          "Drop in at NW1 2DB or NW5 [postcode], or call [phone].",
          "description scrubbed, the office's postcode kept");
  th_consultation_free(got);

  /* The site's own name. */
  th_site *s = NULL;
  th_site_get(db, "camden", &s);
  th_site keep = *s;
  s->name = "Camden (jo@example.org) 020 7974 4444";
  TAP_INT(th_site_update(db, "admin", s), TH_RECORDED, "renamed");
  *s = keep;
  th_site_free(s);
  th_site_get(db, "camden", &s);
  TAP_STR(s ? s->name : NULL, "Camden ([email]) 020 7974 4444",
          "a site's name is scrubbed, keeping its contacts");
  th_site_free(s);
  th_close(db);
}

int main(void) {
  test_names();
  test_submit_validation();
  test_submit();
  test_list();
  test_set_status();
  test_moderate();
  test_merge();
  test_withdraw();
  test_resident_ids();
  test_vocabularies();
  test_staff_text();
  return tap_done();
}
