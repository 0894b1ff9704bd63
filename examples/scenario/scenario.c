/*
 * scenario.c: runs scenario.json through townhall's C API and prints what
 * happened as JSON. scenario.py and scenario.js do the same through the
 * Python and Node.js bindings; the test suite checks all three agree.
 *
 *   cc scenario.c $(pkg-config --cflags --libs townhall jansson) -o scenario
 *   ./scenario scenario.json /tmp/scenario.db
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <townhall.h>

static const char *str(json_t *o, const char *k) {
  return json_string_value(json_object_get(o, k)); /* NULL if absent */
}

static int num(json_t *o, const char *k) {
  return (int)json_integer_value(json_object_get(o, k)); /* 0 if absent */
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s SCENARIO.json DATABASE\n", argv[0]);
    return 2;
  }
  json_error_t jerr;
  json_t *sc = json_load_file(argv[1], 0, &jerr);
  if (sc == NULL) {
    fprintf(stderr, "%s:%d: %s\n", argv[1], jerr.line, jerr.text);
    return 1;
  }
  th_db *db = NULL;
  int rc = th_open(&db, argv[2], NULL);
  if (rc != TH_OK) {
    fprintf(stderr, "cannot open %s: %s\n", argv[2],
            db ? th_errmsg(db) : th_strerror(rc));
    th_close(db);
    return 1;
  }
  json_t *out = json_object();

  /* The site, twice: the second time is refused. */
  json_t *s = json_object_get(sc, "site");
  const char *site = str(s, "slug");
  th_site def = {.size = sizeof(th_site),
                 .slug = site,
                 .name = str(s, "name"),
                 .origins = str(s, "origins")};
  json_object_set_new(
      out, "site",
      json_string(th_err_name(th_site_create(db, NULL, &def, NULL))));
  json_object_set_new(
      out, "site_again",
      json_string(th_err_name(th_site_create(db, NULL, &def, NULL))));

  /* One idea. */
  json_t *i = json_object_get(sc, "idea");
  th_who author = {.resident = str(i, "author")};
  th_idea_new n = {.size = sizeof(n), .title = str(i, "title"),
                   .body = str(i, "body"),
                   .category = str(i, "category"),
                   .ward = str(i, "ward")};
  int64_t idea_id = 0;
  rc = th_idea_submit(db, site, &author, &n, &idea_id);
  th_idea *idea = NULL;
  th_idea_get(db, site, idea_id, &idea);
  json_object_set_new(out, "idea",
                      json_pack("{s:s,s:I,s:s}", "rc", th_err_name(rc), "id",
                                (json_int_t)idea_id, "body",
                                idea ? idea->body : ""));
  th_idea_free(idea);

  /* Votes, in order. */
  json_t *votes = json_array();
  size_t k;
  json_t *v;
  json_array_foreach(json_object_get(sc, "votes"), k, v) {
    th_who who = {.resident = str(v, "resident")};
    int64_t target = json_object_get(v, "idea") ? num(v, "idea") : idea_id;
    th_counts c;
    rc = th_vote(db, site, &who, target, num(v, "value"), &c);
    if (rc < 0)
      json_array_append_new(votes, json_pack("{s:s}", "rc", th_err_name(rc)));
    else
      json_array_append_new(
          votes, json_pack("{s:s,s:I,s:I,s:i}", "rc", th_err_name(rc), "up",
                           (json_int_t)c.up, "down", (json_int_t)c.down,
                           "my_vote", c.my_vote));
  }
  json_object_set_new(out, "votes", votes);
  th_idea_get(db, site, idea_id, &idea);
  json_object_set_new(out, "after_votes",
                      json_pack("{s:I,s:I}", "up", (json_int_t)idea->up, "down",
                                (json_int_t)idea->down));
  th_idea_free(idea);

  /* Page feedback from devices, each answer with its idempotency key (a
   * key sent again with the same answer from the same device is a retry). */
  json_t *fbs = json_array();
  json_array_foreach(json_object_get(sc, "feedback"), k, v) {
    th_who dev = {.ip = str(v, "ip"), .user_agent = str(v, "user_agent")};
    th_feedback fb = {.size = sizeof(fb), .page = str(v, "page"),
                      .useful = json_is_true(json_object_get(v, "useful")),
                      .rating = num(v, "rating"),
                      .comment = str(v, "comment")};
    json_array_append_new(
        fbs, json_string(th_err_name(
                 th_feedback_answer(db, site, &dev, &fb, str(v, "key"), NULL))));
  }
  json_object_set_new(out, "feedback", fbs);

  /* The page's summary and comments. */
  const char *page = str(sc, "summary_page");
  th_page_summary *sum = NULL;
  th_comment_list *cl = NULL;
  if (th_feedback_summary(db, site, page, &sum) == TH_OK &&
      th_feedback_comments(db, site, page, 0, &cl) == TH_OK) {
    json_t *texts = json_array();
    for (size_t c = 0; c < cl->count; c++)
      json_array_append_new(texts, json_string(cl->items[c].text));
    json_object_set_new(
        out, "summary",
        json_pack("{s:s,s:I,s:I,s:[I,I,I,I,I],s:I,s:f,s:I,s:o}", "page",
                  sum->page, "yes", (json_int_t)sum->yes, "no",
                  (json_int_t)sum->no, "ratings", (json_int_t)sum->ratings[0],
                  (json_int_t)sum->ratings[1], (json_int_t)sum->ratings[2],
                  (json_int_t)sum->ratings[3], (json_int_t)sum->ratings[4],
                  "rating_count", (json_int_t)sum->rating_count, "rating_mean",
                  sum->rating_mean, "comments", (json_int_t)sum->comments,
                  "comment_texts", texts));
  } else {
    json_object_set_new(out, "summary", json_string(th_errmsg(db)));
  }
  th_page_summary_free(sum);
  th_comment_list_free(cl);

  /* Erase one resident: what was held before, how much was erased, what
   * is left. */
  const char *gone = str(sc, "erase");
  char *doc = NULL;
  th_resident_export(db, site, gone, &doc);
  json_t *before = json_loads(doc ? doc : "{}", 0, NULL);
  th_free(doc);
  json_t *c0 = json_array_get(json_object_get(before, "consultations"), 0);
  json_object_set_new(
      out, "export_before",
      json_pack("{s:I,s:I}", "votes",
                (json_int_t)json_array_size(json_object_get(c0, "votes")),
                "ideas",
                (json_int_t)json_array_size(json_object_get(c0, "ideas"))));
  json_decref(before);
  int64_t erased = -1;
  th_resident_erase(db, site, gone, &erased);
  json_object_set_new(out, "erased", json_integer(erased));
  th_idea_get(db, site, idea_id, &idea);
  json_object_set_new(out, "after_erase",
                      json_pack("{s:I,s:I}", "up", (json_int_t)idea->up, "down",
                                (json_int_t)idea->down));
  th_idea_free(idea);
  th_resident_export(db, site, gone, &doc);
  json_t *after = json_loads(doc ? doc : "{}", 0, NULL);
  th_free(doc);
  json_object_set_new(out, "export_after",
                      json_pack("{s:I}", "consultations",
                                (json_int_t)json_array_size(
                                    json_object_get(after, "consultations"))));
  json_decref(after);

  /* The ranked list. */
  th_idea_query q = {.size = sizeof(q), .sort = TH_SORT_TOP};
  th_idea_page *pg = NULL;
  json_t *top = json_array();
  if (th_idea_list(db, site, &q, &pg) == TH_OK)
    for (size_t c = 0; c < pg->count; c++)
      json_array_append_new(top, json_integer(pg->items[c].id));
  th_idea_page_free(pg);
  json_object_set_new(out, "top", top);

  json_dumpf(out, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
  putchar('\n');
  json_decref(out);
  json_decref(sc);
  th_close(db);
  return 0;
}
