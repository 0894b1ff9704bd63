/*
 * abi.c: the structs that carry their size (townhall.h, "Structs that
 * grow"). The rule itself (th__sized_in, th__sized_out) with a struct of
 * two versions: an older caller's smaller struct is read as it meant it,
 * the members it does not have taking their defaults, and only its own
 * bytes are written; a newer caller's larger one is accepted while what
 * this library does not know is zero. Then each public entry point that
 * takes such a struct: a size never set, or garbage, is TH_EINVAL with a
 * message, never a read past the caller's struct; and a report the
 * library fills in is written only as far as the caller's size goes.
 */
#include "helpers.h"
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <uv.h>

/* One struct in two versions, as a header would have them a release
 * apart: v2 appends two members. */
typedef struct v1 {
  size_t size;
  int64_t a;
  const char *b;
} v1;
typedef struct v2 {
  size_t size;
  int64_t a;
  const char *b;
  int64_t c;      /* added later: 0 is the old behaviour */
  const char *d;  /* added later */
} v2;

static void test_read(th_db *db) {
  v1 old = {.size = sizeof old, .a = 7, .b = "bee"};
  v2 got;
  memset(&got, 0xAA, sizeof got);
  int rc = th__sized_in(db, "v2", &old, sizeof(v1), sizeof(v2), &got);
  TAP_INT(rc, TH_OK, "an older caller's smaller struct is read");
  TAP_INT(got.a, 7, "its members, as it set them");
  TAP_OK(got.b == old.b, "its pointers too");
  TAP_INT(got.c, 0, "a member it does not have is zero, its default");
  TAP_OK(got.d == NULL, "and so is a pointer it does not have");
  TAP_INT((int64_t)got.size, (int64_t)sizeof(v2), "size is the library's");

  v2 cur = {.size = sizeof cur, .a = 1, .b = "b", .c = 3, .d = "d"};
  rc = th__sized_in(db, "v2", &cur, sizeof(v1), sizeof(v2), &got);
  TAP_INT(rc, TH_OK, "today's struct is read");
  TAP_OK(got.a == 1 && got.c == 3 && got.d == cur.d, "every member of it");

  struct {
    v2 known;
    int64_t later;
  } newer;
  memset(&newer, 0, sizeof newer);
  newer.known.size = sizeof newer;
  newer.known.a = 5;
  rc = th__sized_in(db, "v2", &newer, sizeof(v1), sizeof(v2), &got);
  TAP_INT(rc, TH_OK, "a newer caller's larger struct, its new member zero");
  TAP_INT(got.a, 5, "read");
  newer.later = 1;
  rc = th__sized_in(db, "v2", &newer, sizeof(v1), sizeof(v2), &got);
  TAP_INT(rc, TH_EINVAL, "a member this library does not know, set: refused");
  TAP_OK(strstr(th_errmsg(db), "does not know") != NULL, "says so: %s",
         th_errmsg(db));

  const size_t garbage[] = {0, 1, sizeof(size_t), sizeof(v1) - 1,
                            TH__SIZED_MAX + 1, (size_t)1 << 40, SIZE_MAX};
  for (size_t i = 0; i < TH__ARRAY_SIZE(garbage); i++) {
    v1 bad = {.size = garbage[i], .a = 1};
    rc = th__sized_in(db, "v2", &bad, sizeof(v1), sizeof(v2), &got);
    TAP_INT(rc, TH_EINVAL, "size %zu: TH_EINVAL", garbage[i]);
  }
  TAP_OK(strstr(th_errmsg(db), "v2") != NULL &&
             strstr(th_errmsg(db), "sizeof") != NULL,
         "names the struct and what to set: %s", th_errmsg(db));
  TAP_INT(th__sized_in(NULL, "v2", &old, sizeof(v1), sizeof(v2), &got),
          TH_OK, "without a handle too");
}

static void test_write(th_db *db) {
  v2 val = {.size = sizeof val, .a = 1, .b = "b", .c = 3, .d = "d"};
  struct {
    v1 s;
    int64_t guard;
  } old;
  memset(&old, 0, sizeof old);
  old.s.size = sizeof old.s;
  old.guard = 0x5555;
  int rc = th__sized_out(db, "v2", &old.s, sizeof(v1), sizeof(v2), &val);
  TAP_INT(rc, TH_OK, "written into an older caller's smaller struct");
  TAP_OK(old.s.a == 1 && old.s.b == val.b, "the members it has");
  TAP_INT((int64_t)old.s.size, (int64_t)sizeof(v1), "its size kept");
  TAP_INT(old.guard, 0x5555, "nothing past its end");

  struct {
    v2 known;
    int64_t later;
  } newer;
  memset(&newer, 0x77, sizeof newer);
  newer.known.size = sizeof newer;
  rc = th__sized_out(db, "v2", &newer, sizeof(v1), sizeof(v2), &val);
  TAP_INT(rc, TH_OK, "written into a newer caller's larger struct");
  TAP_OK(newer.known.c == 3 && newer.known.d == val.d, "every member known");
  TAP_INT(newer.later, 0, "and zero in what this library does not know");
  TAP_INT((int64_t)newer.known.size, (int64_t)sizeof newer, "its size kept");

  v1 bad = {.size = 0, .a = 42};
  rc = th__sized_out(db, "v2", &bad, sizeof(v1), sizeof(v2), &val);
  TAP_INT(rc, TH_EINVAL, "a size never set: TH_EINVAL");
  TAP_INT(bad.a, 42, "and nothing written");
  bad.size = (size_t)1 << 40;
  rc = th__sized_out(db, "v2", &bad, sizeof(v1), sizeof(v2), &val);
  TAP_INT(rc, TH_EINVAL, "a garbage size: TH_EINVAL");
}

static void test_open(void) {
  th_db *db = NULL;
  th_open_options none = {0};
  int rc = th_open(&db, t_target("abi-open.db"), &none);
  TAP_INT(rc, TH_EINVAL, "th_open: options whose size was never set");
  TAP_OK(db != NULL && strstr(th_errmsg(db), "th_open_options") != NULL,
         "the handle says which struct: %s", db ? th_errmsg(db) : "(none)");
  th_close(db);
  th_open_options garbage = {.size = (size_t)-3, .now = t_now};
  rc = th_open(&db, t_target("abi-open.db"), &garbage);
  TAP_INT(rc, TH_EINVAL, "th_open: a garbage size");
  th_close(db);
  th_open_options init = TH_OPEN_OPTIONS_INIT;
  init.now = t_now;
  rc = th_open(&db, t_target("abi-open.db"), t_options("abi-open.db", &init));
  TAP_INT(rc, TH_OK, "th_open: TH_OPEN_OPTIONS_INIT");
  th_close(db);
  struct {
    th_open_options known;
    int64_t later;
  } newer;
  memset(&newer, 0, sizeof newer);
  newer.known.size = sizeof newer;
  newer.known.now = t_now;
  rc = th_open(&db, t_target("abi-open.db"),
               t_options("abi-open.db", &newer.known));
  TAP_INT(rc, TH_OK, "th_open: a newer caller's options, new member zero");
  th_close(db);
}

static void test_server(th_db *db) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  th_server *srv = NULL;
  th_server_config none = {0};
  TAP_INT(th_server_new(&srv, db, &loop, &none), TH_EINVAL,
          "th_server_new: a config whose size was never set");
  TAP_OK(srv == NULL, "and no server");
  th_server_config garbage = {.size = SIZE_MAX, .port = -1};
  TAP_INT(th_server_new(&srv, db, &loop, &garbage), TH_EINVAL,
          "th_server_new: a garbage size");
  uv_loop_close(&loop);
}

static void test_open_data(th_db *db) {
  t_site(db, "camden", 1, 0);
  char *csv = NULL;
  th_open_data_options garbage;
  th_open_data_options_init(&garbage);
  garbage.size = (size_t)1 << 40;
  int rc = th_open_data_feedback(db, "camden", &garbage, &csv, NULL);
  TAP_INT(rc, TH_EINVAL, "th_open_data_feedback: a garbage size");
  TAP_OK(csv == NULL, "and no file");
  th_open_data_options init = TH_OPEN_DATA_OPTIONS_INIT;
  rc = th_open_data_ideas(db, "camden", &init, &csv, NULL);
  TAP_INT(rc, TH_OK, "th_open_data_ideas: TH_OPEN_DATA_OPTIONS_INIT");
  th_free(csv);
}

/* Each entry point that reads such a struct, given one whose size was
 * never set (the rest of it valid) and one with a garbage size. */
static void test_entry_points(th_db *db) {
  th_who who = {.resident = "abi-resident"};
  const size_t bad[] = {0, (size_t)1 << 40};
  for (size_t i = 0; i < TH__ARRAY_SIZE(bad); i++) {
    th_idea_new n = {.size = bad[i], .title = "A bench by the pond"};
    int64_t id = 0;
    TAP_INT(th_idea_submit(db, "camden", &who, &n, &id), TH_EINVAL,
            "th_idea_submit: size %zu", bad[i]);
    TAP_OK(strstr(th_errmsg(db), "th_idea_new") != NULL, "says which: %s",
           th_errmsg(db));
    th_idea_query q = {.size = bad[i], .sort = TH_SORT_NEW};
    th_idea_page *page = NULL;
    TAP_INT(th_idea_list(db, "camden", &q, &page), TH_EINVAL,
            "th_idea_list: size %zu", bad[i]);
    TAP_INT(th_idea_list_as(db, NULL, "camden", &q, &page), TH_EINVAL,
            "th_idea_list_as: size %zu", bad[i]);
    th_feedback fb = {.size = bad[i], .page = "https://www.camden.gov.uk/x",
                      .useful = 1};
    TAP_INT(th_feedback_answer(db, "camden", NULL, &fb, NULL, NULL),
            TH_EINVAL, "th_feedback_answer: size %zu", bad[i]);
    TAP_INT(th_feedback_amend(db, "camden", "AAAAAAAAAAAAAAAAAAAAAA", &fb),
            TH_EINVAL, "th_feedback_amend: size %zu", bad[i]);
    th_purge_report r = {.size = bad[i], .comments = 42};
    TAP_INT(th_purge(db, &r), TH_EINVAL, "th_purge: size %zu", bad[i]);
    TAP_INT(r.comments, 42, "and the report untouched");
    th_key_rotation kr = {.size = bad[i]};
    TAP_INT(th_key_rotate(db, NULL, t_path("abi-new.key"), NULL, &kr),
            TH_EINVAL, "th_key_rotate: size %zu, checked first", bad[i]);
  }
  th_idea_new n = TH_IDEA_NEW_INIT;
  n.title = "A bench by the pond";
  int64_t id = 0;
  TAP_INT(th_idea_submit(db, "camden", &who, &n, &id), TH_RECORDED,
          "th_idea_submit: TH_IDEA_NEW_INIT");
  th_idea_query q = TH_IDEA_QUERY_INIT;
  th_idea_page *page = NULL;
  TAP_INT(th_idea_list(db, "camden", &q, &page), TH_OK,
          "th_idea_list: TH_IDEA_QUERY_INIT");
  TAP_OK(page && page->count == 1, "finds it");
  th_idea_page_free(page);
  th_feedback fb = TH_FEEDBACK_INIT;
  fb.page = "https://www.camden.gov.uk/x";
  fb.useful = 1;
  int rc = th_feedback_answer(db, "camden", NULL, &fb, NULL, NULL);
  TAP_INT(rc, TH_RECORDED, "th_feedback_answer: TH_FEEDBACK_INIT: %s",
          th_errmsg(db));
  /* A report from a newer caller, with a count this library does not
   * know: zero there, its size kept. */
  struct {
    th_purge_report r;
    int64_t later;
  } newer;
  memset(&newer, 0x55, sizeof newer);
  newer.r.size = sizeof newer;
  TAP_INT(th_purge(db, &newer.r), TH_OK, "th_purge: a newer, larger report");
  TAP_INT(newer.r.salts, 0, "filled in");
  TAP_INT(newer.later, 0, "zero past what this library knows");
  TAP_INT((int64_t)newer.r.size, (int64_t)sizeof newer, "its size kept");
  th_purge_report r = TH_PURGE_REPORT_INIT;
  TAP_INT(th_purge(db, &r), TH_OK, "th_purge: TH_PURGE_REPORT_INIT");
  TAP_INT((int64_t)r.size, (int64_t)sizeof r, "its size kept");
}

/* th_site and th_consultation, which the caller fills in and the library
 * also returns (alone, and as the items of its lists). */
static void test_site_consultation(th_db *db) {
  /* A caller whose header's th_site ends where this one does, with bytes
   * past its end that are not its own: only its size is read. */
  struct {
    th_site s;
    int64_t not_its_own;
  } older;
  memset(&older, 0x55, sizeof older);
  memset(&older.s, 0, sizeof older.s);
  older.s.size = sizeof older.s;
  older.s.slug = "abi-old";
  older.s.name = "Old header";
  older.s.comment_days = 30;
  TAP_INT(th_site_create(db, "abi", &older.s, NULL), TH_RECORDED,
          "th_site_create: a caller's th_site, garbage past its size: %s",
          th_errmsg(db));
  th_site *got = NULL;
  TAP_INT(th_site_get(db, "abi-old", &got), TH_OK, "read back");
  TAP_OK(got && strcmp(got->name, "Old header") == 0 &&
             got->comment_days == 30 && got->audit_days == 730 &&
             strcmp(got->wards, "") == 0,
         "as it meant it, the rest defaults");
  TAP_INT(got ? (int64_t)got->size : -1, (int64_t)sizeof(th_site),
          "th_site_get: its size is the library's");
  /* What the library returned goes back as it is. */
  TAP_INT(got ? th_site_update(db, "abi", got) : TH_EIO, TH_DUPLICATE,
          "th_site_update: a th_site from th_site_get");
  th_site_free(got);
  /* A newer caller's larger th_site: a zero new member is accepted, a set
   * one refused. */
  struct {
    th_site s;
    int64_t later;
  } newer;
  memset(&newer, 0, sizeof newer);
  newer.s.size = sizeof newer;
  newer.s.slug = "abi-new";
  newer.s.name = "New header";
  TAP_INT(th_site_create(db, "abi", &newer.s, NULL), TH_RECORDED,
          "th_site_create: a newer caller's th_site, its new member zero");
  newer.later = 1;
  TAP_INT(th_site_update(db, "abi", &newer.s), TH_EINVAL,
          "th_site_update: a member this library does not know, set");
  TAP_OK(strstr(th_errmsg(db), "th_site") != NULL, "says which: %s",
         th_errmsg(db));
  char *tok = NULL;
  th_staff *admin = NULL;
  T_CHECK(db, th_token_create(db, "abi", "abi-old", TH_ROLE_ADMIN, "ABI", 0,
                              &tok, NULL));
  T_CHECK(db, th_staff_from_token(db, tok, "abi-old", &admin));
  th_free(tok);
  /* Never set, too small, garbage. (Each struct one byte short of its
   * sizeof, below: a size past the struct would be the caller's lie.) */
  const size_t bad[] = {0, sizeof(size_t), TH__SIZED_MAX + 1, (size_t)1 << 40};
  for (size_t i = 0; i < TH__ARRAY_SIZE(bad); i++) {
    th_site s = {.size = bad[i], .slug = "abi-bad", .name = "Bad"};
    TAP_INT(th_site_create(db, "abi", &s, NULL), TH_EINVAL,
            "th_site_create: size %zu", bad[i]);
    TAP_OK(strstr(th_errmsg(db), "TH_SITE_INIT") != NULL, "says how: %s",
           th_errmsg(db));
    s.slug = "abi-old";
    TAP_INT(th_site_update(db, "abi", &s), TH_EINVAL,
            "th_site_update: size %zu", bad[i]);
    th_consultation c = {.size = bad[i], .slug = "abi-bad", .title = "Bad"};
    TAP_INT(th_consultation_create(db, "abi-old", "abi", &c, NULL), TH_EINVAL,
            "th_consultation_create: size %zu", bad[i]);
    TAP_OK(strstr(th_errmsg(db), "TH_CONSULTATION_INIT") != NULL,
           "says how: %s", th_errmsg(db));
    TAP_INT(th_consultation_create_as(db, admin, "abi-old", &c, NULL),
            TH_EINVAL, "th_consultation_create_as: size %zu", bad[i]);
  }
  th_site short_site = {
      .size = sizeof(th_site) - 1, .slug = "abi-bad", .name = "Bad"};
  TAP_INT(th_site_create(db, "abi", &short_site, NULL), TH_EINVAL,
          "th_site_create: one byte short of any th_site");
  th_consultation short_c = {
      .size = sizeof(th_consultation) - 1, .slug = "abi-bad", .title = "Bad"};
  TAP_INT(th_consultation_create(db, "abi-old", "abi", &short_c, NULL),
          TH_EINVAL, "th_consultation_create: one byte short of any");
  th_consultation_list *none = NULL;
  T_CHECK(db, th_consultation_list_all(db, "abi-old", &none));
  TAP_INT(none ? (int64_t)none->count : -1, 1, "none of them made (the board)");
  th_consultation_list_free(none);
  th_site *bad_site = NULL;
  TAP_INT(th_site_get(db, "abi-bad", &bad_site), TH_ENOTFOUND,
          "nor any of the sites");
  th_site_free(bad_site);
  th_consultation c = TH_CONSULTATION_INIT;
  c.slug = "abi-parks";
  c.title = "Parks";
  TAP_INT(th_consultation_create_as(db, admin, "abi-old", &c, NULL),
          TH_RECORDED, "th_consultation_create_as: TH_CONSULTATION_INIT");
  th_staff_free(admin);
  th_consultation *cg = NULL;
  TAP_INT(th_consultation_get(db, "abi-old", "abi-parks", &cg), TH_OK,
          "th_consultation_get");
  TAP_INT(cg ? (int64_t)cg->size : -1, (int64_t)sizeof(th_consultation),
          "its size is the library's");
  th_consultation_free(cg);
  /* The lists hold pointers: each item a struct of the library's size. */
  th_consultation_list *cl = NULL;
  T_CHECK(db, th_consultation_list_all(db, "abi-old", &cl));
  int ok = cl && cl->count == 2;
  for (size_t i = 0; ok && i < cl->count; i++)
    ok = cl->items[i]->size == sizeof(th_consultation);
  TAP_OK(ok && strcmp(cl->items[0]->slug, "abi-parks") == 0,
         "th_consultation_list: items by pointer, sized");
  th_consultation_list_free(cl);
  th_site_list *sl = NULL;
  T_CHECK(db, th_site_list_all(db, &sl));
  ok = sl && sl->count >= 2;
  for (size_t i = 0; ok && i < sl->count; i++)
    ok = sl->items[i]->size == sizeof(th_site) && sl->items[i]->slug;
  TAP_OK(ok, "th_site_list: items by pointer, sized");
  th_site_list_free(sl);
}

int main(void) {
  th_db *db = t_open("abi.db");
  test_read(db);
  test_write(db);
  test_open();
  test_server(db);
  test_open_data(db);
  test_entry_points(db);
  test_site_consultation(db);
  th_close(db);
  return tap_done();
}
