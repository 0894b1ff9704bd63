/*
 * sites.c: sites (validation, defaults, normalised origins, updates that
 * re-rank), their JWT secrets, consultations and the audit log.
 */
#include "helpers.h"
#include "internal.h"

#include <sodium.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>

/* A string of n copies of `unit` (which may be a multi-byte character). */
static char *repeat(const char *unit, size_t n) {
  size_t u = strlen(unit);
  char *s = malloc(u * n + 1);
  for (size_t i = 0; i < n; i++)
    memcpy(s + i * u, unit, u);
  s[u * n] = '\0';
  return s;
}

static int create(th_db *db, const char *slug, const char *name,
                  const char *origins) {
  th_site s = {
      .size = sizeof(th_site), .slug = slug, .name = name, .origins = origins};
  return th_site_create(db, "tester", &s, NULL);
}

static void test_create_validation(void) {
  th_db *db = t_open("validate.db");
  int64_t id = -1;
  TAP_INT(th_site_create(db, NULL, NULL, &id), TH_EINVAL, "NULL site");
  TAP_INT(id, -1, "id_out untouched on failure");
  TAP_INT(create(db, NULL, "Camden", NULL), TH_EINVAL, "NULL slug");
  TAP_INT(create(db, "", "Camden", NULL), TH_EINVAL, "empty slug");
  TAP_INT(create(db, "Camden", "Camden", NULL), TH_EINVAL,
          "upper case in a slug");
  TAP_INT(create(db, "cam den", "Camden", NULL), TH_EINVAL, "space in a slug");
  TAP_INT(create(db, "cam_den", "Camden", NULL), TH_EINVAL,
          "underscore in a slug");
  TAP_INT(create(db, "cam/den", "Camden", NULL), TH_EINVAL, "slash in a slug");
  TAP_INT(create(db, "-camden", "Camden", NULL), TH_EINVAL,
          "slug starting with '-'");
  TAP_INT(create(db, "camden-", "Camden", NULL), TH_EINVAL,
          "slug ending with '-'");
  TAP_INT(create(db, "caf\xc3\xa9", "Camden", NULL), TH_EINVAL,
          "non-ASCII slug");
  char *s41 = repeat("a", 41);
  TAP_INT(create(db, s41, "Camden", NULL), TH_ETOOLONG, "slug of 41 bytes");
  s41[40] = '\0';
  TAP_INT(create(db, s41, "Camden", NULL), TH_RECORDED, "slug of 40 bytes");
  free(s41);

  TAP_INT(create(db, "n1", NULL, NULL), TH_EINVAL, "NULL name");
  TAP_INT(create(db, "n1", "", NULL), TH_EINVAL, "empty name");
  TAP_INT(create(db, "n1", "   ", NULL), TH_EINVAL, "blank name");
  TAP_INT(create(db, "n1",
                 "Cam\x01"
                 "den",
                 NULL),
          TH_EINVAL, "control character in a name");
  TAP_INT(create(db, "n1", "Cam\nden", NULL), TH_EINVAL,
          "newline in a one-line name");
  TAP_INT(create(db, "n1", "Cam\xc3\x28", NULL), TH_EUTF8,
          "invalid UTF-8 in a name");
  TAP_INT(create(db, "n1", "\xc0\xaf", NULL), TH_EUTF8, "overlong UTF-8");
  TAP_INT(create(db, "n1", "\xed\xa0\x80", NULL), TH_EUTF8,
          "a UTF-16 surrogate");
  char *n121 = repeat("x", 121);
  TAP_INT(create(db, "n1", n121, NULL), TH_ETOOLONG, "name of 121 characters");
  free(n121);
  char *e120 = repeat("\xc3\xa9", 120); /* 240 bytes, 120 characters */
  TAP_INT(create(db, "n2", e120, NULL), TH_RECORDED,
          "120 two-byte characters are 120 characters, not 240");
  free(e120);
  char *e121 = repeat("\xc3\xa9", 121);
  TAP_INT(create(db, "n3", e121, NULL), TH_ETOOLONG,
          "121 two-byte characters are too many");
  free(e121);
  char *k120 = repeat("\xe6\xbc\xa2", 120); /* three-byte characters */
  TAP_INT(create(db, "n4", k120, NULL), TH_RECORDED,
          "120 three-byte characters fit");
  free(k120);

  /* Origins. */
  const char *bad_origins[] = {"camden.gov.uk",
                               "ftp://www.camden.gov.uk",
                               "https://",
                               "https:///",
                               "https://www.camden.gov.uk/bins",
                               "javascript:alert(1)",
                               "https://www.camden.gov.uk?x=1",
                               "https://www.camden.gov.uk#top",
                               "https://jo@www.camden.gov.uk",
                               "https://www.camden.gov.uk:99999",
                               "https://good.org https://bad.org/path"};
  for (size_t i = 0; i < TH__ARRAY_SIZE(bad_origins); i++) {
    int rc = create(db, "o1", "Camden", bad_origins[i]);
    TAP_INT(rc, TH_EINVAL, "origin \"%s\" refused", bad_origins[i]);
  }
  char *long_origin = repeat("a", 400);
  char lo[512];
  snprintf(lo, sizeof lo, "https://%s.org", long_origin);
  TAP_INT(create(db, "o1", "Camden", lo), TH_ETOOLONG, "an over-long origin");
  free(long_origin);

  /* Parameters kept. */
  th_site kp = {.size = sizeof(th_site),
                .slug = "kp",
                .name = "Camden",
                .keep_params = "id;drop"};
  TAP_INT(th_site_create(db, NULL, &kp, NULL), TH_EINVAL,
          "keep_params with a ';'");
  kp.keep_params = "id, service  ref";
  TAP_INT(th_site_create(db, NULL, &kp, NULL), TH_RECORDED, "keep_params ok");
  th_site *got = NULL;
  th_site_get(db, "kp", &got);
  TAP_STR(got ? got->keep_params : NULL, "id service ref",
          "keep_params normalised to single spaces");
  th_site_free(got);

  /* Retention and open-data values. */
  struct {
    int comment, audit, key, min, round, want;
  } ranges[] = {
      {-2, 0, 0, 0, 0, TH_ERANGE},
      {36501, 0, 0, 0, 0, TH_ERANGE},
      {0, -2, 0, 0, 0, TH_ERANGE},
      {0, 36501, 0, 0, 0, TH_ERANGE},
      {0, 0, -2, 0, 0, TH_ERANGE},
      {0, 0, 40000, 0, 0, TH_ERANGE},
      {0, 0, 0, -1, 0, TH_ERANGE},
      {0, 0, 0, 1001, 0, TH_ERANGE},
      {0, 0, 0, 0, -1, TH_ERANGE},
      {0, 0, 0, 0, 1001, TH_ERANGE},
      {-1, -1, -1, 1, 1, TH_RECORDED},
      {36500, 1, 36500, 1000, 1000, TH_RECORDED},
      /* Settings that could not keep a count hidden. */
      {0, 0, 0, 2, 5, TH_ERANGE},  /* withheld would mean exactly 1 */
      {0, 0, 0, 8, 1, TH_ERANGE},  /* exact totals: differences show all */
      {0, 0, 0, 3, 2, TH_RECORDED},
  };
  for (size_t i = 0; i < TH__ARRAY_SIZE(ranges); i++) {
    char slug[16];
    snprintf(slug, sizeof slug, "r%zu", i);
    th_site s = {.size = sizeof(th_site),
                 .slug = slug,
                 .name = "Camden",
                 .comment_days = ranges[i].comment,
                 .audit_days = ranges[i].audit,
                 .key_days = ranges[i].key,
                 .open_min = ranges[i].min,
                 .open_round = ranges[i].round};
    TAP_INT(th_site_create(db, NULL, &s, NULL), ranges[i].want,
            "retention %d/%d/%d open %d/%d", ranges[i].comment, ranges[i].audit,
            ranges[i].key, ranges[i].min, ranges[i].round);
  }
  th_site *keep = NULL;
  TAP_INT(th_site_get(db, "r10", &keep), TH_OK, "site keeping forever");
  TAP_OK(keep && keep->comment_days == -1 && keep->audit_days == -1 &&
             keep->key_days == -1,
         "-1 is kept as -1 (forever)");
  th_site_free(keep);
  th_close(db);
}

static void test_create_get_list(void) {
  t_clock = INT64_C(1772445600000);
  th_db *db = t_open("sites.db");
  th_site s = {.size = sizeof(th_site),
               .slug = "camden",
               .name = "London Borough of Camden",
               .origins = "HTTPS://WWW.Camden.gov.uk/",
               .moderate_ideas = 7, /* any non-zero is true */
               .allow_anonymous = 1};
  int64_t id = 0;
  TAP_INT(th_site_create(db, "clerk", &s, &id), TH_RECORDED, "site created");
  TAP_OK(id > 0, "id_out set");
  TAP_INT(th_site_create(db, "clerk", &s, NULL), TH_EEXIST,
          "the same slug again: TH_EEXIST");
  TAP_OK(strstr(th_errmsg(db), "camden") != NULL, "message names the slug: %s",
         th_errmsg(db));
  th_site *g = NULL;
  TAP_INT(th_site_get(db, "camden", &g), TH_OK, "th_site_get");
  if (g) {
    TAP_INT(g->id, id, "same id");
    TAP_STR(g->slug, "camden", "slug");
    TAP_STR(g->name, "London Borough of Camden", "name");
    TAP_STR(g->origins, "https://www.camden.gov.uk",
            "origin normalised: scheme and host lower-cased, no '/'");
    TAP_STR(g->keep_params, "", "no parameters kept by default");
    TAP_INT(g->moderate_ideas, 1, "moderate_ideas stored as 1");
    TAP_INT(g->allow_anonymous, 1, "allow_anonymous");
    TAP_INT(g->rank_anonymous, 0, "rank_anonymous off");
    TAP_INT(g->comment_days, 365, "comment_days default 365");
    TAP_INT(g->audit_days, 730, "audit_days default 730");
    TAP_INT(g->key_days, 365, "key_days default 365");
    TAP_INT(g->open_min, 8, "open_min default 8");
    TAP_INT(g->open_round, 5, "open_round default 5");
    TAP_INT(g->created, t_clock, "created is now");
  }
  th_site_free(g);

  th_site multi = {.size = sizeof(th_site),
                   .slug = "islington",
                   .name = "Islington",
                   .origins = " https://www.islington.gov.uk,HTTP://Democracy"
                              ".Islington.gov.uk:8080/\thttps://www.islington"
                              ".gov.uk:443 "};
  TAP_INT(th_site_create(db, NULL, &multi, NULL), TH_RECORDED,
          "site with several origins");
  g = NULL;
  th_site_get(db, "islington", &g);
  TAP_STR(g ? g->origins : NULL,
          "https://www.islington.gov.uk http://democracy.islington.gov.uk:8080",
          "origins normalised, deduplicated (default port), space-separated");
  th_site_free(g);
  th_site none = {.size = sizeof(th_site),
                  .slug = "barnet",
                  .name = "Barnet",
                  .origins = ""};
  TAP_INT(th_site_create(db, NULL, &none, NULL), TH_RECORDED,
          "site with no origins");

  g = (th_site *)1;
  TAP_INT(th_site_get(db, "nowhere", &g), TH_ENOTFOUND, "unknown site");
  TAP_OK(g == NULL, "*out is NULL on failure");
  TAP_INT(th_site_get(db, NULL, &g), TH_EINVAL, "NULL slug");
  TAP_INT(th_site_get(db, "camden", NULL), TH_EINVAL, "NULL out");

  th_site_list *l = NULL;
  TAP_INT(th_site_list_all(db, NULL), TH_EINVAL, "list: NULL out");
  TAP_INT(th_site_list_all(db, &l), TH_OK, "th_site_list_all");
  TAP_INT(l ? (int)l->count : -1, 3, "three sites");
  if (l && l->count == 3) {
    TAP_STR(l->items[0]->slug, "barnet", "sorted by slug (1)");
    TAP_STR(l->items[1]->slug, "camden", "sorted by slug (2)");
    TAP_STR(l->items[2]->slug, "islington", "sorted by slug (3)");
    TAP_INT(l->items[1]->comment_days, 365, "list items carry settings");
  }
  th_site_list_free(l);
  th_site_list_free(NULL);
  th_site_free(NULL);

  /* Every site has its always-open ideas board. */
  th_consultation *c = NULL;
  TAP_INT(th_consultation_get(db, "barnet", "ideas", &c), TH_OK,
          "a new site has an \"ideas\" board");
  TAP_INT(c ? c->closes : -1, 0, "the board never closes");
  TAP_INT(c ? c->key_destroyed : -1, 0, "and has a key");
  th_consultation_free(c);
  th_close(db);
}

static int64_t submit(th_db *db, const char *resident, const char *title) {
  th_who w = {.resident = resident};
  th_idea_new n = {.size = sizeof(n), .title = title};
  int64_t id = 0;
  if (th_idea_submit(db, "camden", &w, &n, &id) < 0)
    printf("# submit: %s\n", th_errmsg(db));
  return id;
}

static void test_update(void) {
  th_db *db = t_open("update.db");
  t_site(db, "camden", 1, 0);
  th_site *cur = NULL;
  th_site_get(db, "camden", &cur);
  th_site s = *cur; /* the settings as stored, strings borrowed */
  TAP_INT(th_site_update(db, "clerk", &s), TH_DUPLICATE,
          "update with nothing changed: TH_DUPLICATE");
  s.origins = "HTTPS://WWW.CAMDEN.GOV.UK:443/";
  TAP_INT(th_site_update(db, "clerk", &s), TH_DUPLICATE,
          "the same origins spelled differently: TH_DUPLICATE");
  s.comment_days = 365; /* the default given explicitly */
  TAP_INT(th_site_update(db, "clerk", &s), TH_DUPLICATE,
          "the default given explicitly: TH_DUPLICATE");
  s.id = 999;
  s.created = 1;
  s.name = "Camden Council";
  TAP_INT(th_site_update(db, "clerk", &s), TH_RECORDED, "name changed");
  th_site *g = NULL;
  th_site_get(db, "camden", &g);
  TAP_STR(g ? g->name : NULL, "Camden Council", "new name stored");
  TAP_INT(g ? g->id : -1, cur->id, "id ignored");
  TAP_INT(g ? g->created : -1, cur->created, "created ignored");
  th_site_free(g);
  s.comment_days = 30;
  s.audit_days = -1;
  s.key_days = 90;
  s.open_min = 10;
  s.open_round = 10;
  s.keep_params = "service";
  s.moderate_ideas = 1;
  TAP_INT(th_site_update(db, "clerk", &s), TH_RECORDED, "settings changed");
  g = NULL;
  th_site_get(db, "camden", &g);
  TAP_OK(g && g->comment_days == 30 && g->audit_days == -1 &&
             g->key_days == 90 && g->open_min == 10 && g->open_round == 10 &&
             g->moderate_ideas == 1 && strcmp(g->keep_params, "service") == 0,
         "every setting stored");
  th_site_free(g);
  s.comment_days = 0;
  TAP_INT(th_site_update(db, "clerk", &s), TH_RECORDED,
          "0 puts the default back");
  g = NULL;
  th_site_get(db, "camden", &g);
  TAP_INT(g ? g->comment_days : -1, 365, "comment_days back to 365");
  th_site_free(g);

  th_site bad = s;
  bad.slug = "nowhere";
  TAP_INT(th_site_update(db, NULL, &bad), TH_ENOTFOUND, "update unknown site");
  bad = s;
  bad.name = "";
  TAP_INT(th_site_update(db, NULL, &bad), TH_EINVAL, "update to an empty name");
  bad = s;
  bad.origins = "www.camden.gov.uk";
  TAP_INT(th_site_update(db, NULL, &bad), TH_EINVAL, "update to a bad origin");
  bad = s;
  bad.key_days = -5;
  TAP_INT(th_site_update(db, NULL, &bad), TH_ERANGE, "update: bad key_days");
  TAP_INT(th_site_update(db, NULL, NULL), TH_EINVAL, "update NULL");
  s.moderate_ideas = 0;
  th_site_update(db, NULL, &s);

  /* rank_anonymous: 3 residents up, 2 devices down and 1 device up. */
  int64_t idea = submit(db, "author", "Plant more trees on Kentish Town Road");
  int64_t other = submit(db, "author", "A second idea for ordering");
  const char *res[] = {"r1", "r2", "r3"};
  for (int i = 0; i < 3; i++) {
    th_who w = {.resident = res[i]};
    th_vote(db, "camden", &w, idea, 1, NULL);
  }
  const char *uas[] = {"UA one", "UA two", "UA three"};
  for (int i = 0; i < 3; i++) {
    th_who w = {.ip = "198.51.100.20", .user_agent = uas[i]};
    TAP_INT(th_vote(db, "camden", &w, idea, i < 2 ? -1 : 1, NULL), TH_RECORDED,
            "device vote %d", i);
  }
  /* The other idea: 2 resident up, no devices: top wilson(2,2)=0.3424 */
  for (int i = 0; i < 2; i++) {
    th_who w = {.resident = res[i]};
    th_vote(db, "camden", &w, other, 1, NULL);
  }
  th_idea *before = NULL, *after = NULL, *back = NULL;
  th_idea_get(db, "camden", idea, &before);
  TAP_DBL(before ? before->top : -1, th__wilson_lower(3, 3), 1e-12,
          "top counts residents only: wilson(3, 3)");
  TAP_INT(before ? before->anon_down : -1, 2, "device votes counted apart");
  th_vote_history *h0 = NULL;
  th_vote_history_get(db, "camden", idea, &h0);
  th_idea_query q = {.size = sizeof(q), .sort = TH_SORT_TOP};
  th_idea_page *p = NULL;
  th_idea_list(db, "camden", &q, &p);
  TAP_OK(p && p->count == 2 && p->items[0].id == idea,
         "ranked first on residents' votes");
  th_idea_page_free(p);

  t_clock += 3 * TH__DAY_MS;
  s.rank_anonymous = 1;
  TAP_INT(th_site_update(db, "clerk", &s), TH_RECORDED, "rank_anonymous on");
  th_idea_get(db, "camden", idea, &after);
  TAP_DBL(after ? after->top : -1, th__wilson_lower(4, 6), 1e-12,
          "top recomputed with devices: wilson(4, 6)");
  TAP_DBL(after ? after->controversial : -1, th__controversial(4, 2), 1e-12,
          "controversial recomputed");
  TAP_DBL(after ? after->hot : -1, th__hot(4, 2, after->created), 1e-9,
          "hot recomputed");
  TAP_OK(after && after->up == 3 && after->down == 0 && after->anon_up == 1 &&
             after->anon_down == 2,
         "the counters themselves are unchanged");
  p = NULL;
  th_idea_list(db, "camden", &q, &p);
  TAP_OK(p && p->count == 2 && p->items[0].id == other,
         "the order follows the new keys");
  th_idea_page_free(p);
  /* Re-ranking is not voting: the history keeps its days. */
  th_vote_history *h1 = NULL;
  th_vote_history_get(db, "camden", idea, &h1);
  TAP_INT(h1 ? (int)h1->count : -1, h0 ? (int)h0->count : -2,
          "re-ranking adds no day to the vote history");
  th_vote_history_free(h0);
  th_vote_history_free(h1);

  s.rank_anonymous = 0;
  TAP_INT(th_site_update(db, "clerk", &s), TH_RECORDED, "rank_anonymous off");
  th_idea_get(db, "camden", idea, &back);
  TAP_DBL(back ? back->top : -1, before ? before->top : -2, 0,
          "top back to residents only");
  th_idea_free(before);
  th_idea_free(after);
  th_idea_free(back);

  /* Audit: site:update entries. */
  th_audit_list *a = NULL;
  th_audit_list_get(db, "camden", 0, 0, &a);
  int updates = 0;
  for (size_t i = 0; a && i < a->count; i++)
    updates += strcmp(a->items[i].action, "site:update") == 0 &&
               strcmp(a->items[i].actor, "clerk") == 0;
  TAP_INT(updates, 5, "each applied update is audited, no-ops are not");
  th_audit_list_free(a);
  th_site_free(cur);
  th_close(db);
}

static void test_secret(void) {
  th_db *db = t_open("secret.db");
  t_site(db, "camden", 0, 0);
  unsigned char secret[40], buf[64];
  size_t len = 0;
  for (size_t i = 0; i < sizeof secret; i++)
    secret[i] = (unsigned char)(0xA0 + i);
  TAP_INT(th_site_get_secret(db, "camden", buf, sizeof buf, &len), TH_ENOTFOUND,
          "no secret yet: TH_ENOTFOUND");
  TAP_INT(th_site_set_secret(db, "camden", secret, 31), TH_ETOOSHORT,
          "31 bytes: TH_ETOOSHORT");
  TAP_INT(th_site_set_secret(db, "camden", NULL, 40), TH_ETOOSHORT,
          "NULL secret refused");
  unsigned char big[300] = {0};
  TAP_INT(th_site_set_secret(db, "camden", big, 257), TH_ETOOLONG,
          "257 bytes: TH_ETOOLONG");
  TAP_INT(th_site_set_secret(db, "nowhere", secret, 40), TH_ENOTFOUND,
          "unknown site");
  TAP_INT(th_site_set_secret(db, NULL, secret, 40), TH_EINVAL, "NULL site");
  TAP_INT(th_site_set_secret(db, "camden", secret, 40), TH_RECORDED,
          "40-byte secret stored");
  memset(buf, 0, sizeof buf);
  TAP_INT(th_site_get_secret(db, "camden", buf, sizeof buf, &len), TH_OK,
          "read back");
  TAP_INT(len, 40, "length");
  TAP_OK(memcmp(buf, secret, 40) == 0, "round trip");
  len = 0;
  TAP_INT(th_site_get_secret(db, "camden", buf, 39, &len), TH_ERANGE,
          "a 39-byte buffer: TH_ERANGE");
  TAP_INT(len, 40, "and *len_out says how much is needed");
  TAP_INT(th_site_get_secret(db, "camden", buf, 40, &len), TH_OK,
          "an exact buffer is enough");
  TAP_INT(th_site_get_secret(db, "camden", NULL, 40, &len), TH_EINVAL,
          "NULL buffer");
  TAP_INT(th_site_get_secret(db, "camden", buf, 40, NULL), TH_EINVAL,
          "NULL len_out");
  TAP_INT(th_site_get_secret(db, "nowhere", buf, 40, &len), TH_ENOTFOUND,
          "unknown site");
  TAP_INT(th_site_get_secret(db, NULL, buf, 40, &len), TH_EINVAL, "NULL site");
  unsigned char s2[32];
  memset(s2, 0x5a, sizeof s2);
  TAP_INT(th_site_set_secret(db, "camden", s2, 32), TH_RECORDED,
          "a 32-byte secret replaces it");
  TAP_INT(th_site_get_secret(db, "camden", buf, sizeof buf, &len), TH_OK,
          "read the new one");
  TAP_OK(len == 32 && memcmp(buf, s2, 32) == 0, "the new secret");
  th_close(db);

  /* Stored only encrypted. */
  if (t_on_sqlite("test_secret: the file's bytes",
                  "reads the SQLite file and its WAL; the stored value "
                  "is checked below on both engines")) {
    size_t flen = 0;
    unsigned char *file = t_read_file(t_path("secret.db"), &flen);
    unsigned char *wal = t_read_file(t_path("secret.db-wal"), &len);
    TAP_OK(file && !t_contains(file, flen, s2, sizeof s2) &&
               !t_contains(file, flen, secret, sizeof secret) &&
               (wal == NULL || (!t_contains(wal, len, s2, sizeof s2) &&
                                !t_contains(wal, len, secret, sizeof secret))),
           "no secret in the database file or its WAL");
    free(file);
    free(wal);
  }
  unsigned char stored[512];
  size_t slen = t_blob("secret.db", "SELECT secret FROM sites WHERE slug = "
                       "'camden'", stored, sizeof stored);
  TAP_OK(slen > sizeof s2 && !t_contains(stored, slen, s2, sizeof s2),
         "the stored secret is sealed: %zu bytes, not the secret's", slen);

  /* Under another key file it does not open. */
  FILE *f = fopen(t_path("other.key"), "wb");
  unsigned char k[32];
  randombytes_buf(k, sizeof k);
  fwrite(k, 1, sizeof k, f);
  fclose(f);
  chmod(t_path("other.key"), 0600);
  th_open_options o = {.size = sizeof(o), .key_file = t_path("other.key"), .now = t_now};
  TAP_INT(th_open(&db, t_target("secret.db"), &o), TH_OK,
          "open with another key file");
  TAP_INT(th_site_get_secret(db, "camden", buf, sizeof buf, &len), TH_EKEY,
          "the secret does not open: TH_EKEY");
  th_close(db);
}

static void test_consultations(void) {
  t_clock = INT64_C(1772445600000);
  th_db *db = t_open("cons.db");
  t_site(db, "camden", 0, 0);
  t_site(db, "barnet", 0, 0);
  th_time day = TH__DAY_MS;
  th_consultation c = {.size = sizeof(th_consultation),
                       .slug = "parks-2026",
                       .title = "Parks strategy 2026",
                       .description = "What should our parks be like?\n\nTell "
                                      "us.",
                       .ward = "Kentish Town",
                       .opens = t_clock - day,
                       .closes = t_clock + 30 * day};
  int64_t id = 0;
  TAP_INT(th_consultation_create(db, "camden", "planner", &c, &id), TH_RECORDED,
          "consultation created");
  TAP_OK(id > 0, "id_out");
  TAP_INT(th_consultation_create(db, "camden", NULL, &c, NULL), TH_EEXIST,
          "the same slug again: TH_EEXIST");
  TAP_INT(th_consultation_create(db, "barnet", NULL, &c, NULL), TH_RECORDED,
          "the same slug on another site is fine");
  th_consultation ideas = {.size = sizeof(th_consultation),
                           .slug = "ideas",
                           .title = "Another board"};
  TAP_INT(th_consultation_create(db, "camden", NULL, &ideas, NULL), TH_EEXIST,
          "\"ideas\" is taken by the board");
  TAP_INT(th_consultation_create(db, "nowhere", NULL, &c, NULL), TH_ENOTFOUND,
          "unknown site");
  TAP_INT(th_consultation_create(db, NULL, NULL, &c, NULL), TH_EINVAL,
          "NULL site");
  TAP_INT(th_consultation_create(db, "camden", NULL, NULL, NULL), TH_EINVAL,
          "NULL consultation");

  th_consultation b = c;
  b.slug = "closes-first";
  b.closes = b.opens - 1;
  TAP_INT(th_consultation_create(db, "camden", NULL, &b, NULL), TH_EINVAL,
          "closes before opens: TH_EINVAL");
  b.closes = b.opens;
  TAP_INT(th_consultation_create(db, "camden", NULL, &b, NULL), TH_EINVAL,
          "closes at the moment it opens: TH_EINVAL");
  b.opens = 0;
  b.closes = t_clock - 1;
  TAP_INT(th_consultation_create(db, "camden", NULL, &b, NULL), TH_EINVAL,
          "opens now (0) but closed already: TH_EINVAL");
  b.opens = -5;
  b.closes = 0;
  TAP_INT(th_consultation_create(db, "camden", NULL, &b, NULL), TH_EINVAL,
          "negative opens");
  b = c;
  b.slug = "Bad Slug";
  TAP_INT(th_consultation_create(db, "camden", NULL, &b, NULL), TH_EINVAL,
          "bad slug");
  char *s61 = repeat("s", 61);
  b.slug = s61;
  TAP_INT(th_consultation_create(db, "camden", NULL, &b, NULL), TH_ETOOLONG,
          "slug of 61 bytes");
  s61[60] = '\0';
  TAP_INT(th_consultation_create(db, "camden", NULL, &b, NULL), TH_RECORDED,
          "slug of 60 bytes");
  free(s61);
  b = c;
  b.slug = "t1";
  b.title = "";
  TAP_INT(th_consultation_create(db, "camden", NULL, &b, NULL), TH_EINVAL,
          "empty title");
  b.title = NULL;
  TAP_INT(th_consultation_create(db, "camden", NULL, &b, NULL), TH_EINVAL,
          "NULL title");
  char *t201 = repeat("\xc3\xa9", 201);
  b.title = t201;
  TAP_INT(th_consultation_create(db, "camden", NULL, &b, NULL), TH_ETOOLONG,
          "title of 201 characters");
  t201[400] = '\0';
  TAP_INT(th_consultation_create(db, "camden", NULL, &b, NULL), TH_RECORDED,
          "title of 200 two-byte characters");
  free(t201);
  b = c;
  b.slug = "t2";
  b.title = "Bad \xc3\x28";
  TAP_INT(th_consultation_create(db, "camden", NULL, &b, NULL), TH_EUTF8,
          "title not UTF-8");
  b.title = "Tab\there";
  TAP_INT(th_consultation_create(db, "camden", NULL, &b, NULL), TH_EINVAL,
          "control character in a title");
  b.title = "Fine";
  char *d = repeat("d", 10001);
  b.description = d;
  TAP_INT(th_consultation_create(db, "camden", NULL, &b, NULL), TH_ETOOLONG,
          "description of 10001 characters");
  free(d);
  b.description = "Bad \xff";
  TAP_INT(th_consultation_create(db, "camden", NULL, &b, NULL), TH_EUTF8,
          "description not UTF-8");
  b.description = NULL;
  char *w = repeat("w", 61);
  b.ward = w;
  TAP_INT(th_consultation_create(db, "camden", NULL, &b, NULL), TH_ETOOLONG,
          "ward of 61 characters");
  free(w);
  b.ward = NULL;
  b.opens = 0;
  b.closes = 0;
  TAP_INT(th_consultation_create(db, "camden", NULL, &b, NULL), TH_RECORDED,
          "no description, no ward, opens now, never closes");

  th_consultation *g = NULL;
  TAP_INT(th_consultation_get(db, "camden", "parks-2026", &g), TH_OK,
          "th_consultation_get");
  if (g) {
    TAP_INT(g->id, id, "id");
    TAP_STR(g->slug, "parks-2026", "slug");
    TAP_STR(g->title, "Parks strategy 2026", "title");
    TAP_STR(g->description, c.description, "description, newlines kept");
    TAP_STR(g->ward, "Kentish Town", "ward");
    TAP_INT(g->opens, c.opens, "opens");
    TAP_INT(g->closes, c.closes, "closes");
    TAP_INT(g->key_destroyed, 0, "key held");
    TAP_INT(g->created, t_clock, "created");
    th_site *site = NULL;
    th_site_get(db, "camden", &site);
    TAP_INT(g->site_id, site ? site->id : -1, "site_id");
    th_site_free(site);
  }
  th_consultation_free(g);
  g = NULL;
  th_consultation_get(db, "camden", "t2", &g);
  TAP_OK(g && g->opens == t_clock && g->closes == 0 && g->description[0] == 0 &&
             g->ward[0] == 0,
         "defaults: opens now, never closes, empty description and ward");
  th_consultation_free(g);
  g = (th_consultation *)1;
  TAP_INT(th_consultation_get(db, "camden", "nope", &g), TH_ENOTFOUND,
          "unknown consultation");
  TAP_OK(g == NULL, "*out NULL on failure");
  TAP_INT(th_consultation_get(db, "nowhere", "ideas", &g), TH_ENOTFOUND,
          "unknown site");
  TAP_INT(th_consultation_get(db, "camden", NULL, &g), TH_ENOTFOUND,
          "NULL slug finds nothing");
  TAP_INT(th_consultation_get(db, "camden", "ideas", NULL), TH_EINVAL,
          "NULL out");

  /* Newest first. */
  t_clock += 1000;
  th_consultation later = {
      .size = sizeof(th_consultation), .slug = "later", .title = "Later"};
  th_consultation_create(db, "camden", NULL, &later, NULL);
  th_consultation_list *l = NULL;
  TAP_INT(th_consultation_list_all(db, "camden", &l), TH_OK, "list");
  TAP_INT(l ? (int)l->count : -1, 6,
          "ideas, parks-2026, 60-byte slug, t1, t2, later");
  if (l && l->count == 6) {
    TAP_STR(l->items[0]->slug, "later", "newest first");
    TAP_STR(l->items[5]->slug, "ideas", "the board (oldest) last");
    int ordered = 1;
    for (size_t i = 1; i < l->count; i++)
      ordered &= l->items[i - 1]->created > l->items[i]->created ||
                 (l->items[i - 1]->created == l->items[i]->created &&
                  l->items[i - 1]->id > l->items[i]->id);
    TAP_OK(ordered, "ordered by created, then id, descending");
  }
  th_consultation_list_free(l);
  th_consultation_list_free(NULL);
  th_consultation_free(NULL);
  TAP_INT(th_consultation_list_all(db, "nowhere", &l), TH_ENOTFOUND,
          "list: unknown site");
  TAP_INT(th_consultation_list_all(db, "camden", NULL), TH_EINVAL,
          "list: NULL out");
  l = NULL;
  th_consultation_list_all(db, "barnet", &l);
  TAP_INT(l ? (int)l->count : -1, 2, "other site: its board and one");
  th_consultation_list_free(l);
  th_close(db);
}

static int audit_find(th_audit_list *a, const char *action) {
  for (size_t i = 0; a && i < a->count; i++)
    if (strcmp(a->items[i].action, action) == 0)
      return (int)i;
  return -1;
}

static void test_audit(void) {
  t_clock = INT64_C(1772445600000);
  th_db *db = t_open("audit.db");
  th_site s = {.size = sizeof(th_site),
               .slug = "camden",
               .name = "Camden",
               .moderate_ideas = 1};
  th_site_create(db, NULL, &s, NULL);
  t_site(db, "barnet", 0, 0);
  t_clock += 1000;
  th_consultation c = {
      .size = sizeof(th_consultation), .slug = "parks", .title = "Parks"};
  th_consultation_create(db, "camden", "planner", &c, NULL);
  th_who w = {.resident = "res-1"};
  th_idea_new n = {.size = sizeof(n), .title = "Benches by the pond"};
  int64_t idea = 0;
  th_idea_submit(db, "camden", &w, &n, &idea);
  t_clock += 1000;
  T_CHECK(db, th_idea_moderate(db, "camden", "mod", idea, TH_MOD_PUBLISH, 0,
                               "Fine"));
  T_CHECK(db, th_idea_set_status(db, "camden", "councillor", idea,
                                 TH_UNDER_REVIEW, "We are looking at it."));
  T_CHECK(db, th_idea_moderate(db, "camden", "mod", idea, TH_MOD_HIDE, 0,
                               "Off topic after all"));

  th_audit_list *a = NULL;
  TAP_INT(th_audit_list_get(db, "camden", 0, 0, &a), TH_OK, "audit list");
  TAP_INT(a ? (int)a->count : -1, 5, "five entries");
  int i;
  if ((i = audit_find(a, "site:create")) >= 0) {
    TAP_STR(a->items[i].actor, "system", "a NULL actor is \"system\"");
    TAP_STR(a->items[i].detail, "camden", "site:create names the slug");
    TAP_INT(a->items[i].idea_id, 0, "no idea");
  } else {
    TAP_OK(0, "site:create entry");
  }
  if ((i = audit_find(a, "consultation:create")) >= 0) {
    TAP_STR(a->items[i].actor, "planner", "consultation:create actor");
    TAP_STR(a->items[i].detail, "parks", "consultation:create detail");
    TAP_INT(a->items[i].at, INT64_C(1772445601000), "at: the clock");
  } else {
    TAP_OK(0, "consultation:create entry");
  }
  if ((i = audit_find(a, "status")) >= 0) {
    TAP_STR(a->items[i].actor, "councillor", "status actor");
    TAP_INT(a->items[i].idea_id, idea, "status names the idea");
    TAP_OK(strstr(a->items[i].detail, "published -> under_review") != NULL,
           "status detail: %s", a->items[i].detail);
  } else {
    TAP_OK(0, "status entry");
  }
  TAP_OK(audit_find(a, "moderate:publish") >= 0, "moderate:publish entry");
  if ((i = audit_find(a, "moderate:hide")) >= 0) {
    TAP_STR(a->items[i].detail, "Off topic after all", "the reason kept");
    TAP_INT(a->items[i].idea_id, idea, "the idea");
  } else {
    TAP_OK(0, "moderate:hide entry");
  }
  int desc = 1;
  for (size_t k = 1; a && k < a->count; k++)
    desc &= a->items[k - 1].id > a->items[k].id;
  TAP_OK(desc, "newest first");
  TAP_STR(a && a->count ? a->items[0].action : NULL, "moderate:hide",
          "the newest entry first");

  /* Paging with before_id. */
  th_audit_list *p1 = NULL, *p2 = NULL, *p3 = NULL;
  TAP_INT(th_audit_list_get(db, "camden", 0, 2, &p1), TH_OK, "page 1");
  TAP_INT(p1 ? (int)p1->count : -1, 2, "limit 2");
  th_audit_list_get(db, "camden", p1 ? p1->items[1].id : 0, 2, &p2);
  TAP_INT(p2 ? (int)p2->count : -1, 2, "page 2");
  th_audit_list_get(db, "camden", p2 ? p2->items[1].id : 0, 2, &p3);
  TAP_INT(p3 ? (int)p3->count : -1, 1, "page 3: the last one");
  int same = a && p1 && p2 && p3 && a->count == 5;
  for (int k = 0; same && k < 5; k++) {
    th_audit_list *pg = k < 2 ? p1 : k < 4 ? p2 : p3;
    same = pg->count > (size_t)(k % 2) && pg->items[k % 2].id == a->items[k].id;
  }
  TAP_OK(same, "pages join up with no gap or repeat");
  th_audit_list_free(p1);
  th_audit_list_free(p2);
  th_audit_list_free(p3);
  th_audit_list_free(a);
  th_audit_list_free(NULL);

  a = NULL;
  th_audit_list_get(db, "barnet", 0, 0, &a);
  TAP_INT(a ? (int)a->count : -1, 1, "another site's log is its own");
  th_audit_list_free(a);
  a = (th_audit_list *)1;
  TAP_INT(th_audit_list_get(db, "camden", 0, -1, &a), TH_ERANGE, "limit -1");
  TAP_OK(a == NULL, "*out NULL on failure");
  TAP_INT(th_audit_list_get(db, "camden", 0, 1001, &a), TH_ERANGE,
          "limit 1001");
  TAP_INT(th_audit_list_get(db, "camden", 0, 1000, &a), TH_OK, "limit 1000");
  th_audit_list_free(a);
  TAP_INT(th_audit_list_get(db, "nowhere", 0, 0, &a), TH_ENOTFOUND,
          "unknown site");
  TAP_INT(th_audit_list_get(db, "camden", 0, 0, NULL), TH_EINVAL, "NULL out");
  th_close(db);
}

/* A site's wards, categories and contacts: normalised, validated, stored
 * and read back. */
static void test_lists(void) {
  th_db *db = t_open("lists.db");
  th_site s = {.size = sizeof(th_site),
               .slug = "camden",
               .name = "Camden",
               .wards = " Kentish Town \r\n\n\tHighgate\n",
               .categories = "Parks",
               .contacts = "020 7974 4444"};
  TAP_INT(th_site_create(db, NULL, &s, NULL), TH_RECORDED, "created with lists");
  th_site *got = NULL;
  TAP_INT(th_site_get(db, "camden", &got), TH_OK, "read back");
  TAP_STR(got ? got->wards : NULL, "Kentish Town\nHighgate",
          "trimmed, blank lines dropped, one per line");
  TAP_STR(got ? got->categories : NULL, "Parks", "categories");
  TAP_STR(got ? got->contacts : NULL, "020 7974 4444", "contacts");
  th_site_free(got);
  th_site plain = {.size = sizeof(th_site), .slug = "barnet", .name = "Barnet"};
  TAP_INT(th_site_create(db, NULL, &plain, NULL), TH_RECORDED,
          "no lists (NULL, as an older caller's initializer leaves them)");
  th_site_list *l = NULL;
  TAP_INT(th_site_list_all(db, &l), TH_OK, "listed");
  TAP_STR(l && l->count == 2 ? l->items[0]->wards : NULL, "", "none: \"\"");
  TAP_STR(l && l->count == 2 ? l->items[1]->wards : NULL,
          "Kentish Town\nHighgate", "the list in th_site_list_all too");
  th_site_list_free(l);

  TAP_INT(t_site_lists(db, "camden", "Kentish Town\nHighgate", "Parks",
                    "020 7974 4444"),
          TH_DUPLICATE, "the same lists: nothing changed");
  TAP_INT(t_site_lists(db, "camden", "Highgate\nkentish town\nHIGHGATE", NULL,
                    NULL),
          TH_EINVAL, "an item twice (ignoring case)");
  TAP_OK(strstr(th_errmsg(db), "wards") && strstr(th_errmsg(db), "twice"),
         "%s", th_errmsg(db));
  TAP_INT(t_site_lists(db, "camden", "Highgate\nBad\x01ward", NULL, NULL),
          TH_EINVAL, "a control character");
  char *w61 = repeat("w", 61);
  TAP_INT(t_site_lists(db, "camden", w61, NULL, NULL), TH_ETOOLONG,
          "a ward of 61 characters");
  w61[60] = '\0';
  TAP_INT(t_site_lists(db, "camden", w61, NULL, NULL), TH_RECORDED,
          "a ward of 60 characters");
  free(w61);
  TAP_INT(t_site_lists(db, "camden", "x\xff", NULL, NULL), TH_EUTF8, "not UTF-8");
  th__sbuf many = {0};
  for (int i = 0; i < 201; i++)
    th__sbuf_printf(&many, "Ward %d\n", i);
  TAP_INT(t_site_lists(db, "camden", NULL, many.p, NULL), TH_ETOOLONG,
          "201 categories");
  many.p[many.len - sizeof "Ward 200\n" + 1] = '\0';
  TAP_INT(t_site_lists(db, "camden", NULL, many.p, NULL), TH_RECORDED,
          "200 categories");
  th__sbuf_free(&many);
  TAP_INT(t_site_lists(db, "camden", "", "", ""), TH_RECORDED, "lists dropped");
  TAP_INT(th_site_get(db, "camden", &got), TH_OK, "read back");
  TAP_STR(got ? got->wards : NULL, "", "no wards");
  TAP_STR(got ? got->name : NULL, "Camden", "other settings kept");
  th_site_free(got);
  th_close(db);
}

/* A database an older townhall wrote, with an e-mail address and a phone
 * number stored as an idea's category and ward: migrating to schema 8
 * scrubs them in place. */
static void test_migration_scrubs(void) {
  T_SQLITE_ONLY("makes a schema 7 SQLite database by hand; PostgreSQL's "
                "schema begins at version 10, so there is no older "
                "PostgreSQL database to migrate");
  th_db *db = t_open("old7.db");
  th_site s = {.size = sizeof(th_site), .slug = "camden", .name = "Camden"};
  th_site_create(db, NULL, &s, NULL);
  th_who w = {.resident = "res-m"};
  th_idea_new n = {.size = sizeof(n), .title = "Fix the lights", .category = "Lighting"};
  int64_t id = 0;
  T_CHECK(db, th_idea_submit(db, "camden", &w, &n, &id));
  th_close(db);
  sqlite3 *raw = NULL;
  sqlite3_open(t_path("old7.db"), &raw);
  char sql[700];
  snprintf(sql, sizeof sql,
           "UPDATE ideas SET category = 'canary@example.org',"
           " ward = 'Call 07700 900461' WHERE id = %lld;"
           " INSERT INTO ideas (site_id, consultation_id, title, category,"
           " ward, status, created, updated) SELECT site_id, consultation_id,"
           " 'Clean idea', 'Parks', 'Highgate', 1, created, updated FROM ideas"
           " WHERE id = %lld;"
           " UPDATE consultations SET ward = 'ward@example.org';"
           " ALTER TABLE sites DROP COLUMN wards;"
           " ALTER TABLE sites DROP COLUMN categories;"
           " ALTER TABLE sites DROP COLUMN contacts; DROP TABLE probe;"
           " PRAGMA user_version=7;",
           (long long)id, (long long)id);
  char *err = NULL;
  TAP_INT(sqlite3_exec(raw, sql, NULL, NULL, &err), SQLITE_OK,
          "made a schema 7 database holding personal data: %s",
          err ? err : "ok");
  sqlite3_free(err);
  sqlite3_close(raw);
  db = t_open("old7.db");
  TAP_INT(th_schema_version(db), th_schema_latest(), "migrated");
  th_idea *i = NULL;
  TAP_INT(th_idea_get(db, "camden", id, &i), TH_OK, "the idea is kept");
  TAP_STR(i ? i->category : NULL, "[email]", "its category scrubbed");
  TAP_STR(i ? i->ward : NULL, "Call [phone]", "its ward scrubbed, the rest kept");
  TAP_STR(i ? i->title : NULL, "Fix the lights", "nothing else touched");
  th_idea_free(i);
  TAP_INT(th_idea_get(db, "camden", id + 1, &i), TH_OK, "a clean idea");
  TAP_STR(i ? i->category : NULL, "Parks", "left as it was");
  TAP_STR(i ? i->ward : NULL, "Highgate", "left as it was");
  th_idea_free(i);
  th_consultation *c = NULL;
  TAP_INT(th_consultation_get(db, "camden", "ideas", &c), TH_OK, "board");
  TAP_STR(c ? c->ward : NULL, "[email]", "a consultation's ward scrubbed");
  th_consultation_free(c);
  th_close(db);
  size_t len = 0;
  unsigned char *file = t_read_file(t_path("old7.db"), &len);
  TAP_OK(file && !t_contains(file, len, "canary@", 7) &&
             !t_contains(file, len, "900461", 6),
         "the old values are gone from the file");
  free(file);
}

/* The first column of the first row of `sql` on t_path(name), read with
 * SQLite directly, into out (at most cap bytes); "" if there is none. */
static const char *raw_text(const char *name, const char *sql, char *out,
                            size_t cap) {
  sqlite3 *raw = NULL;
  sqlite3_stmt *st = NULL;
  out[0] = '\0';
  sqlite3_open(t_path(name), &raw);
  if (sqlite3_prepare_v2(raw, sql, -1, &st, NULL) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
    snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  sqlite3_close(raw);
  return out;
}

/* Schema 10 scrubs again, with today's redactor, every free-text column an
 * older townhall stored: residents' text, staff text (keeping the site's
 * contacts) and page addresses, two of which become one. */
static void test_migration_rescrubs(void) {
  T_SQLITE_ONLY("makes a schema 9 SQLite database by hand; PostgreSQL's "
                "schema begins at version 10 (see test_migration_scrubs)");
  th_db *db = t_open("old9.db");
  t_site(db, "camden", 1, 0);
  T_CHECK(db, t_site_lists(db, "camden", NULL, NULL, "020 7974 4444"));
  th_who w = {.resident = "res-r"};
  th_idea_new n = {.size = sizeof(n), .title = "Fix the lights", .body = "Please."};
  int64_t id = 0;
  T_CHECK(db, th_idea_submit(db, "camden", &w, &n, &id));
  T_CHECK(db, th_idea_set_status(db, "camden", "cllr", id, TH_UNDER_REVIEW,
                                 "We will look."));
  th_feedback fb = {.size = sizeof(fb), .page = "https://www.camden.gov.uk/users/one/profile",
                    .useful = 1, .comment = "Fine."};
  T_CHECK(db, th_feedback_answer(db, "camden", NULL, &fb, NULL, NULL));
  fb.page = "https://www.camden.gov.uk/users/two/profile";
  fb.useful = 0;
  T_CHECK(db, th_feedback_answer(db, "camden", NULL, &fb, NULL, NULL));
  th_close(db);
  sqlite3 *raw = NULL;
  sqlite3_open(t_path("old9.db"), &raw);
  char sql[1200];
  snprintf(sql, sizeof sql,
           "UPDATE ideas SET title = 'Lights \xe2\x80\xaegnp.exe',"
           " body = 'Ring 07700\xe2\x80\x8b""900461 or NW1  2DB',"
           " response = 'Call jo@example.org or us on 020 7974 4444'"
           " WHERE id = %lld;"
           " UPDATE feedback SET comment = 'NHS 943 4765 919';"
           " UPDATE pages SET url = 'https://www.camden.gov.uk/users/'"
           "   || CASE WHEN url LIKE '%%one%%' THEN 'a@example.org'"
           "      ELSE 'b@example.org' END || '/profile';"
           " UPDATE sites SET name = 'Camden (canary\xef\xbc\xa0" "example.org)';"
           " PRAGMA user_version=9;",
           (long long)id);
  char *err = NULL;
  TAP_INT(sqlite3_exec(raw, sql, NULL, NULL, &err), SQLITE_OK,
          "made a schema 9 database holding personal data: %s",
          err ? err : "ok");
  sqlite3_free(err);
  sqlite3_close(raw);
  db = t_open("old9.db");
  TAP_INT(th_schema_version(db), th_schema_latest(), "migrated");
  th_close(db);
  char v[512];
  TAP_STR(raw_text("old9.db", "SELECT title FROM ideas", v, sizeof v),
          "Lights gnp.exe", "a title's bidi override dropped");
  TAP_STR(raw_text("old9.db", "SELECT body FROM ideas", v, sizeof v),
          "Ring [phone] or NW1 [postcode]", "a body scrubbed again");
  TAP_STR(raw_text("old9.db", "SELECT response FROM ideas", v, sizeof v),
          "Call [email] or us on 020 7974 4444",
          "a response scrubbed, the council's contacts kept");
  TAP_STR(raw_text("old9.db", "SELECT comment FROM feedback WHERE comment"
                              " IS NOT NULL ORDER BY id LIMIT 1", v, sizeof v),
          "NHS [nhs number]", "a comment scrubbed again");
  TAP_STR(raw_text("old9.db", "SELECT name FROM sites", v, sizeof v),
          "Camden ([email])", "a site's name scrubbed");
  TAP_STR(raw_text("old9.db", "SELECT group_concat(url, ' ') FROM"
                              " (SELECT url FROM pages ORDER BY id)", v,
                   sizeof v),
          "https://www.camden.gov.uk/users/%5Bemail%5D/profile "
          "https://www.camden.gov.uk/users/%5Bemail%5D/profile"
          "?townhall-duplicate=2",
          "two page addresses that scrub alike: one takes it, the other "
          "keeps its counts beside it");
  TAP_STR(raw_text("old9.db", "SELECT sum(yes) || ' ' || sum(no) FROM pages",
                   v, sizeof v),
          "1 1", "no answer lost");
  db = t_open("old9.db");
  th_page_summary *ps = NULL;
  TAP_INT(th_feedback_summary(db, "camden",
                              "https://www.camden.gov.uk/users/c@example.org/"
                              "profile", &ps),
          TH_OK, "the scrubbed page is found by an address like it");
  th_page_summary_free(ps);
  th_close(db);
  size_t len = 0;
  unsigned char *file = t_read_file(t_path("old9.db"), &len);
  TAP_OK(file && !t_contains(file, len, "@example.org", 12) &&
             !t_contains(file, len, "900461", 6) &&
             !t_contains(file, len, "4765", 4),
         "the old values are gone from the file");
  free(file);
}

int main(void) {
  test_create_validation();
  test_create_get_list();
  test_update();
  test_secret();
  test_consultations();
  test_audit();
  test_lists();
  test_migration_scrubs();
  test_migration_rescrubs();
  return tap_done();
}
