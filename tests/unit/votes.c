/*
 * votes.c: one vote per resident (or device) per idea; changes move the
 * counters exactly; which ideas and consultations are open for votes;
 * devices counted apart; the daily history; and the counters against a
 * brute-force recount of thousands of random votes.
 */
#include "helpers.h"
#include "internal.h"

#include <stdlib.h>

#define T0 INT64_C(1772445600000) /* 2026-03-02T10:00:00Z */
#define DAY TH__DAY_MS

static int64_t new_idea(th_db *db, const char *site, const char *cons,
                        const char *title) {
  th_who w = {.resident = "author"};
  th_idea_new n = {.size = sizeof(n), .consultation = cons, .title = title};
  int64_t id = 0;
  if (th_idea_submit(db, site, &w, &n, &id) != TH_RECORDED)
    printf("# submit \"%s\": %s\n", title, th_errmsg(db));
  return id;
}

static int rvote(th_db *db, const char *site, const char *resident,
                 int64_t idea, int value, th_counts *out) {
  th_who w = {.resident = resident};
  return th_vote(db, site, &w, idea, value, out);
}

static int counts_are(const th_counts *c, int64_t up, int64_t down,
                      int64_t anon_up, int64_t anon_down, int my) {
  int ok = c->up == up && c->down == down && c->anon_up == anon_up &&
           c->anon_down == anon_down && c->my_vote == my;
  if (!ok)
    printf("# counts %lld/%lld anon %lld/%lld mine %d; want %lld/%lld anon "
           "%lld/%lld mine %d\n",
           (long long)c->up, (long long)c->down, (long long)c->anon_up,
           (long long)c->anon_down, c->my_vote, (long long)up, (long long)down,
           (long long)anon_up, (long long)anon_down, my);
  return ok;
}

static void test_basic(void) {
  t_clock = T0;
  th_db *db = t_open("basic.db");
  t_site(db, "camden", 0, 0);
  int64_t a = new_idea(db, "camden", NULL, "Cycle lanes on Camden Road");
  th_counts c;
  memset(&c, 0x55, sizeof c);
  TAP_INT(rvote(db, "camden", "r1", a, 2, &c), TH_EINVAL, "value 2");
  TAP_INT(rvote(db, "camden", "r1", a, -2, &c), TH_EINVAL, "value -2");
  TAP_INT(th_vote(db, "camden", NULL, a, 1, &c), TH_EINVAL, "NULL who");
  TAP_INT(rvote(db, "nowhere", "r1", a, 1, &c), TH_ENOTFOUND, "unknown site");
  TAP_INT(rvote(db, NULL, "r1", a, 1, &c), TH_EINVAL, "NULL site");
  TAP_INT(rvote(db, "camden", "r1", 9999, 1, &c), TH_ENOTFOUND, "unknown idea");
  TAP_INT(rvote(db, "camden", "r1", 0, 1, &c), TH_ENOTFOUND, "idea 0");
  th_who dev = {.ip = "198.51.100.7", .user_agent = "UA"};
  TAP_INT(th_vote(db, "camden", &dev, a, 1, &c), TH_EPERM,
          "a device where anonymous votes are not allowed: TH_EPERM");
  th_who none = {0};
  TAP_INT(th_vote(db, "camden", &none, a, 1, &c), TH_EPERM, "nobody: TH_EPERM");
  th_who blank = {.resident = " \t "};
  TAP_INT(th_vote(db, "camden", &blank, a, 1, &c), TH_EINVAL,
          "a blank resident id: TH_EINVAL");
  th_idea *i = NULL;
  th_idea_get(db, "camden", a, &i);
  TAP_OK(i && i->up == 0 && i->down == 0, "refused votes counted nothing");
  th_idea_free(i);

  TAP_INT(rvote(db, "camden", "r1", a, 1, &c), TH_RECORDED, "r1 up");
  TAP_OK(counts_are(&c, 1, 0, 0, 0, 1), "1 up, mine +1");
  TAP_INT(rvote(db, "camden", "r1", a, 1, &c), TH_DUPLICATE, "r1 up again");
  TAP_OK(counts_are(&c, 1, 0, 0, 0, 1), "still 1 up");
  TAP_INT(rvote(db, "camden", " r1 ", a, 1, &c), TH_EINVAL,
          "white space around the id: refused, never trimmed into r1");
  TAP_INT(rvote(db, "camden", "R1", a, 1, &c), TH_RECORDED,
          "resident ids are case-sensitive: R1 is another");
  TAP_INT(rvote(db, "camden", "r2", a, -1, &c), TH_RECORDED, "r2 down");
  TAP_OK(counts_are(&c, 2, 1, 0, 0, -1), "2 up 1 down, mine -1");
  t_clock += 1000;
  TAP_INT(rvote(db, "camden", "r1", a, -1, &c), TH_RECORDED, "r1 up -> down");
  TAP_OK(counts_are(&c, 1, 2, 0, 0, -1), "1 up 2 down");
  i = NULL;
  th_idea_get(db, "camden", a, &i);
  TAP_OK(i && i->up == 1 && i->down == 2, "stored counts agree");
  TAP_DBL(i ? i->top : -1, th__wilson_lower(1, 3), 1e-12, "top");
  TAP_DBL(i ? i->hot : -1, th__hot(1, 2, T0), 1e-9, "hot");
  TAP_DBL(i ? i->controversial : -1, th__controversial(1, 2), 1e-12,
          "controversial");
  TAP_INT(i ? i->updated : -1, t_clock, "updated moved with the vote");
  th_idea_free(i);
  TAP_INT(rvote(db, "camden", "r1", a, 0, &c), TH_RECORDED, "r1 withdraws");
  TAP_OK(counts_are(&c, 1, 1, 0, 0, 0), "1 up 1 down, mine 0");
  TAP_INT(rvote(db, "camden", "r1", a, 0, &c), TH_DUPLICATE,
          "withdraw again: TH_DUPLICATE");
  TAP_OK(counts_are(&c, 1, 1, 0, 0, 0), "counts unchanged");
  TAP_INT(rvote(db, "camden", "never", a, 0, &c), TH_DUPLICATE,
          "withdraw without a vote: TH_DUPLICATE");
  TAP_OK(counts_are(&c, 1, 1, 0, 0, 0), "and the counts are reported");
  TAP_INT(rvote(db, "camden", "r1", a, 1, NULL), TH_RECORDED,
          "out may be NULL");
  TAP_INT(rvote(db, "camden", "r2", a, 1, &c), TH_RECORDED, "r2 down -> up");
  TAP_OK(counts_are(&c, 3, 0, 0, 0, 1), "3 up 0 down");
  TAP_DBL(th__controversial(3, 0), 0, 0, "one-sided: not controversial");

  /* Votes on one idea are not votes on another. */
  int64_t b = new_idea(db, "camden", NULL, "Another idea entirely");
  TAP_INT(rvote(db, "camden", "r1", b, 1, &c), TH_RECORDED,
          "r1 votes on another idea");
  TAP_OK(counts_are(&c, 1, 0, 0, 0, 1), "its own counts");

  /* Another site's idea is not found through this one. */
  t_site(db, "barnet", 0, 0);
  TAP_INT(rvote(db, "barnet", "r1", a, 1, &c), TH_ENOTFOUND,
          "camden's idea through barnet: TH_ENOTFOUND");
  th_close(db);
}

static void test_states(void) {
  t_clock = T0;
  th_db *db = t_open("states.db");
  t_site(db, "camden", 0, 1);
  int64_t a = new_idea(db, "camden", NULL, "Idea in states");
  TAP_INT(rvote(db, "camden", "r1", a, 1, NULL), TH_ESTATE,
          "pending: TH_ESTATE");
  TAP_INT(rvote(db, "camden", "r1", a, 0, NULL), TH_ESTATE,
          "withdrawing on pending: TH_ESTATE");
  th_idea_moderate(db, "camden", "mod", a, TH_MOD_PUBLISH, 0, "ok");
  TAP_INT(rvote(db, "camden", "r1", a, 1, NULL), TH_RECORDED, "published: ok");
  th_idea_set_status(db, "camden", "c", a, TH_UNDER_REVIEW, NULL);
  TAP_INT(rvote(db, "camden", "r2", a, 1, NULL), TH_RECORDED,
          "under review: ok");
  int closed[] = {TH_ACCEPTED, TH_IN_PROGRESS, TH_DONE, TH_DECLINED};
  for (int k = 0; k < 4; k++) {
    th_idea_set_status(db, "camden", "c", a, closed[k], NULL);
    TAP_INT(rvote(db, "camden", "r3", a, 1, NULL), TH_ESTATE, "%s: TH_ESTATE",
            th_status_name(closed[k]));
    TAP_INT(rvote(db, "camden", "r1", a, 0, NULL), TH_ESTATE,
            "%s: no withdrawing either", th_status_name(closed[k]));
  }
  th_idea_set_status(db, "camden", "c", a, TH_PUBLISHED, NULL);
  th_idea_moderate(db, "camden", "mod", a, TH_MOD_HIDE, 0, "spam");
  TAP_INT(rvote(db, "camden", "r3", a, 1, NULL), TH_ESTATE,
          "hidden: TH_ESTATE");
  th_idea *i = NULL;
  th_idea_get(db, "camden", a, &i);
  TAP_OK(i && i->up == 2 && i->down == 0, "refused votes moved nothing");
  th_idea_free(i);

  /* Consultations that are not open. */
  th_consultation c = {.size = sizeof(th_consultation),
                       .slug = "spring",
                       .title = "Spring",
                       .opens = T0 - DAY,
                       .closes = T0 + DAY};
  th_consultation_create(db, "camden", NULL, &c, NULL);
  th_site *s = NULL;
  th_site_get(db, "camden", &s);
  s->moderate_ideas = 0;
  th_site_update(db, NULL, s);
  th_site_free(s);
  int64_t sp = new_idea(db, "camden", "spring", "Spring idea");
  TAP_INT(rvote(db, "camden", "r1", sp, 1, NULL), TH_RECORDED, "open: ok");
  t_clock = T0 + DAY - 1;
  TAP_INT(rvote(db, "camden", "r2", sp, 1, NULL), TH_RECORDED,
          "a millisecond before closing: ok");
  t_clock = T0 + DAY;
  TAP_INT(rvote(db, "camden", "r3", sp, 1, NULL), TH_ECLOSED,
          "at closing: TH_ECLOSED");
  TAP_INT(rvote(db, "camden", "r1", sp, 0, NULL), TH_ECLOSED,
          "withdrawing after closing: TH_ECLOSED");
  TAP_INT(rvote(db, "camden", "r1", sp, -1, NULL), TH_ECLOSED,
          "changing after closing: TH_ECLOSED");
  t_clock = T0 - 2 * DAY;
  TAP_INT(rvote(db, "camden", "r3", sp, 1, NULL), TH_ECLOSED,
          "before opening: TH_ECLOSED");
  t_clock = T0;
  i = NULL;
  th_idea_get(db, "camden", sp, &i);
  TAP_OK(i && i->up == 2, "two votes counted");
  th_idea_free(i);
  th_close(db);
}

static void test_devices(void) {
  t_clock = T0;
  th_db *db = t_open("devices.db");
  t_site(db, "anon", 1, 0);
  int64_t a = new_idea(db, "anon", NULL, "Anonymous votes idea");
  th_counts c;
  th_who d1 = {.ip = "198.51.100.7", .user_agent = "Mozilla/5.0 A"};
  th_who d1_again = {.ip = "198.51.100.7", .user_agent = "Mozilla/5.0 A"};
  th_who d1_ua = {.ip = "198.51.100.7", .user_agent = "Mozilla/5.0 B"};
  th_who d1_ip = {.ip = "198.51.100.8", .user_agent = "Mozilla/5.0 A"};
  th_who d1_mapped = {.ip = "::ffff:198.51.100.7",
                      .user_agent = "Mozilla/5.0 A"};
  th_who noua = {.ip = "198.51.100.9"};
  th_who emptyua = {.ip = "198.51.100.9", .user_agent = ""};
  th_who v6a = {.ip = "2001:db8:1:2::10", .user_agent = "UA"};
  th_who v6b = {.ip = "2001:db8:1:2:ffff::99", .user_agent = "UA"};
  TAP_INT(th_vote(db, "anon", &d1, a, 1, &c), TH_RECORDED, "device up");
  TAP_OK(counts_are(&c, 0, 0, 1, 0, 1), "counted apart: anon_up 1");
  TAP_INT(th_vote(db, "anon", &d1_again, a, 1, &c), TH_DUPLICATE,
          "same address and user agent: the same device");
  TAP_INT(th_vote(db, "anon", &d1_mapped, a, 1, &c), TH_DUPLICATE,
          "the IPv4-mapped address is the same device");
  TAP_INT(th_vote(db, "anon", &d1_ua, a, 1, &c), TH_RECORDED,
          "another user agent: another device");
  TAP_INT(th_vote(db, "anon", &d1_ip, a, -1, &c), TH_RECORDED,
          "another address: another device");
  TAP_OK(counts_are(&c, 0, 0, 2, 1, -1), "2 anon up, 1 anon down");
  TAP_INT(th_vote(db, "anon", &noua, a, 1, &c), TH_RECORDED, "no user agent");
  TAP_INT(th_vote(db, "anon", &emptyua, a, 1, &c), TH_DUPLICATE,
          "NULL and empty user agents are the same");
  TAP_INT(th_vote(db, "anon", &v6a, a, 1, &c), TH_RECORDED, "an IPv6 device");
  TAP_INT(th_vote(db, "anon", &v6b, a, 1, &c), TH_DUPLICATE,
          "the same /64 is the same device");
  TAP_INT(rvote(db, "anon", "resident-1", a, 1, &c), TH_RECORDED,
          "a signed-in resident on an anonymous site");
  TAP_OK(counts_are(&c, 1, 0, 4, 1, 1), "residents counted in up");
  th_idea *i = NULL;
  th_idea_get(db, "anon", a, &i);
  TAP_DBL(i ? i->top : -1, th__wilson_lower(1, 1), 1e-12,
          "ranking counts residents only (rank_anonymous off)");
  th_idea_free(i);

  /* Tomorrow the device is still known: the consultation's key, not a
   * daily salt. */
  t_clock += 3 * DAY;
  TAP_INT(th_vote(db, "anon", &d1, a, 1, &c), TH_DUPLICATE,
          "three days later the device cannot vote again");
  TAP_INT(th_vote(db, "anon", &d1, a, -1, &c), TH_RECORDED,
          "but can change its vote");
  TAP_OK(counts_are(&c, 1, 0, 3, 2, -1), "anon up -> anon down");
  TAP_INT(th_vote(db, "anon", &d1, a, 0, &c), TH_RECORDED, "and withdraw it");
  TAP_OK(counts_are(&c, 1, 0, 3, 1, 0), "anon down withdrawn");

  /* rank_anonymous on: new votes rank with devices counted. */
  th_site *s = NULL;
  th_site_get(db, "anon", &s);
  s->rank_anonymous = 1;
  th_site_update(db, NULL, s);
  th_site_free(s);
  th_vote(db, "anon", &d1, a, -1, &c);
  i = NULL;
  th_idea_get(db, "anon", a, &i);
  TAP_DBL(i ? i->top : -1, th__wilson_lower(4, 6), 1e-12,
          "with rank_anonymous a vote ranks on everyone: wilson(4, 6)");
  th_idea_free(i);
  th_close(db);
}

static void test_history(void) {
  t_clock = T0;
  th_db *db = t_open("history.db");
  t_site(db, "anon", 1, 0);
  int64_t a = new_idea(db, "anon", NULL, "History idea");
  th_vote_history *h = NULL;
  TAP_INT(th_vote_history_get(db, "anon", a, &h), TH_OK, "history");
  TAP_INT(h ? (int)h->count : -1, 0, "no votes, no days");
  th_vote_history_free(h);
  th_vote_history_free(NULL);
  /* Day 0: r1 up, r2 up, r3 down, device up. */
  rvote(db, "anon", "r1", a, 1, NULL);
  rvote(db, "anon", "r2", a, 1, NULL);
  rvote(db, "anon", "r3", a, -1, NULL);
  th_who d = {.ip = "203.0.113.1", .user_agent = "UA"};
  th_vote(db, "anon", &d, a, 1, NULL);
  /* Day 1: r2 withdraws, r4 down. */
  t_clock = T0 + DAY;
  rvote(db, "anon", "r2", a, 0, NULL);
  rvote(db, "anon", "r4", a, -1, NULL);
  /* Day 2: nothing.  Day 3, 23:59:59.999: r3 down -> up. Then a duplicate on
   * day 4 changes nothing. */
  t_clock = (th__day(T0) + 4) * DAY - 1;
  rvote(db, "anon", "r3", a, 1, NULL);
  t_clock += 1;
  rvote(db, "anon", "r3", a, 1, NULL);
  h = NULL;
  TAP_INT(th_vote_history_get(db, "anon", a, &h), TH_OK, "history");
  TAP_INT(h ? (int)h->count : -1, 3, "three days on which votes changed");
  if (h && h->count == 3) {
    int64_t d0 = th__day(T0) * DAY;
    TAP_INT(h->days[0].day, d0, "day 0 at midnight UTC");
    TAP_OK(h->days[0].up == 3 && h->days[0].down == 1,
           "day 0 totals 3 up (devices too) 1 down");
    TAP_INT(h->days[1].day, d0 + DAY, "day 1");
    TAP_OK(h->days[1].up == 2 && h->days[1].down == 2, "day 1 totals 2 / 2");
    TAP_INT(h->days[2].day, d0 + 3 * DAY, "day 3 (day 2 had no change)");
    TAP_OK(h->days[2].up == 3 && h->days[2].down == 1, "day 3 totals 3 / 1");
  }
  th_vote_history_free(h);
  h = (th_vote_history *)1;
  TAP_INT(th_vote_history_get(db, "anon", 9999, &h), TH_ENOTFOUND,
          "unknown idea");
  TAP_OK(h == NULL, "*out NULL on failure");
  TAP_INT(th_vote_history_get(db, "nowhere", a, &h), TH_ENOTFOUND,
          "unknown site");
  TAP_INT(th_vote_history_get(db, "anon", a, NULL), TH_EINVAL, "NULL out");
  th_close(db);
}

/* Many residents and devices cast random votes on a few ideas; the stored
 * counters must equal a recount of the model after every step. */
static void test_model(void) {
  t_clock = T0;
  th_db *db = t_open("model.db");
  t_site(db, "anon", 1, 0);
  enum { IDEAS = 8, RES = 50, DEV = 10, ROUNDS = 200 };
  int64_t ids[IDEAS];
  for (int k = 0; k < IDEAS; k++) {
    char t[32];
    snprintf(t, sizeof t, "Model idea %d", k);
    ids[k] = new_idea(db, "anon", NULL, t);
  }
  static int model[RES + DEV][IDEAS];
  memset(model, 0, sizeof model);
  srand(20260302);
  int mismatched_rc = 0, mismatched_out = 0;
  th_batch_begin(db);
  for (int round = 0; round < ROUNDS; round++) {
    if (round % 50 == 49) {
      /* Cross a day now and then, committing as we go. */
      th_batch_commit(db);
      t_clock += DAY / 2;
      th_batch_begin(db);
    }
    for (int p = 0; p < RES + DEV; p++) {
      int k = rand() % IDEAS;
      int v = rand() % 3 - 1;
      char name[32];
      th_who w = {0};
      if (p < RES) {
        snprintf(name, sizeof name, "resident-%d", p);
        w.resident = name;
      } else {
        snprintf(name, sizeof name, "198.51.100.%d", p);
        w.ip = name;
        w.user_agent = "Model UA";
      }
      th_counts c;
      int rc = th_vote(db, "anon", &w, ids[k], v, &c);
      int want = model[p][k] == v ? TH_DUPLICATE : TH_RECORDED;
      mismatched_rc += rc != want;
      model[p][k] = v;
      int64_t up = 0, down = 0, aup = 0, adown = 0;
      for (int q = 0; q < RES + DEV; q++) {
        if (q < RES) {
          up += model[q][k] == 1;
          down += model[q][k] == -1;
        } else {
          aup += model[q][k] == 1;
          adown += model[q][k] == -1;
        }
      }
      mismatched_out += c.up != up || c.down != down || c.anon_up != aup ||
                        c.anon_down != adown || c.my_vote != v;
    }
  }
  TAP_INT(th_batch_commit(db), TH_OK, "12,000 votes committed");
  TAP_INT(mismatched_rc, 0,
          "every vote returned RECORDED or DUPLICATE as "
          "the model says");
  TAP_INT(mismatched_out, 0, "every vote reported the model's counts");
  int bad = 0;
  for (int k = 0; k < IDEAS; k++) {
    int64_t up = 0, down = 0, aup = 0, adown = 0;
    for (int q = 0; q < RES + DEV; q++) {
      if (q < RES) {
        up += model[q][k] == 1;
        down += model[q][k] == -1;
      } else {
        aup += model[q][k] == 1;
        adown += model[q][k] == -1;
      }
    }
    th_idea *i = NULL;
    th_idea_get(db, "anon", ids[k], &i);
    int ok = i && i->up == up && i->down == down && i->anon_up == aup &&
             i->anon_down == adown;
    ok = ok && i->top == th__wilson_lower(up, up + down) &&
         i->controversial == th__controversial(up, down);
    th_vote_history *h = NULL;
    th_vote_history_get(db, "anon", ids[k], &h);
    ok = ok && h && h->count > 0 && h->days[h->count - 1].up == up + aup &&
         h->days[h->count - 1].down == down + adown;
    if (!ok)
      printf("# idea %d: stored %lld/%lld anon %lld/%lld, model %lld/%lld "
             "anon %lld/%lld\n",
             k, i ? (long long)i->up : -1, i ? (long long)i->down : -1,
             i ? (long long)i->anon_up : -1, i ? (long long)i->anon_down : -1,
             (long long)up, (long long)down, (long long)aup, (long long)adown);
    bad += !ok;
    th_vote_history_free(h);
    th_idea_free(i);
  }
  TAP_INT(bad, 0, "every idea's counters, keys and history equal the model");

  /* Reopened, the counters are what was committed. */
  th_close(db);
  db = t_open("model.db");
  int64_t total = 0, want = 0;
  for (int k = 0; k < IDEAS; k++) {
    th_idea *i = NULL;
    th_idea_get(db, "anon", ids[k], &i);
    total += i ? i->up + i->down + i->anon_up + i->anon_down : 0;
    th_idea_free(i);
    for (int q = 0; q < RES + DEV; q++)
      want += model[q][k] != 0;
  }
  TAP_INT(total, want, "after reopening: every vote held once");

  /* A failed vote inside a batch is rolled back alone. */
  th_batch_begin(db);
  th_who w = {.resident = "resident-0"};
  th_counts c0;
  th_vote(db, "anon", &w, ids[0], 1, &c0);
  TAP_INT(th_vote(db, "anon", &w, ids[0], 5, NULL), TH_EINVAL,
          "a bad vote in a batch");
  TAP_INT(th_vote(db, "anon", &w, 999999, 1, NULL), TH_ENOTFOUND,
          "a vote on no idea in a batch");
  th_batch_commit(db);
  th_idea *i = NULL;
  th_idea_get(db, "anon", ids[0], &i);
  TAP_OK(i && i->up == c0.up && i->down == c0.down,
         "the batch kept the good vote's counts");
  th_idea_free(i);
  th_close(db);
}

/* th_vote_mine: a resident's own votes on a list of ideas, across two
 * consultations (two pseudonym keys); reads only. */
static void test_mine(void) {
  t_clock = T0;
  th_db *db = t_open("mine.db");
  t_site(db, "anon", 1, 0);
  th_consultation c = {.size = sizeof(th_consultation),
                       .slug = "spring",
                       .title = "Spring",
                       .opens = T0 - DAY};
  TAP_OK(th_consultation_create(db, "anon", NULL, &c, NULL) >= 0,
         "a second consultation");
  int64_t a = new_idea(db, "anon", NULL, "Board idea");
  int64_t b = new_idea(db, "anon", "spring", "Spring idea");
  int64_t e = new_idea(db, "anon", NULL, "Nobody votes here");
  rvote(db, "anon", "r1", a, 1, NULL);
  rvote(db, "anon", "r1", b, -1, NULL);
  rvote(db, "anon", "r2", a, -1, NULL);
  th_who dev = {.ip = "203.0.113.9", .user_agent = "UA"};
  th_vote(db, "anon", &dev, e, 1, NULL);
  int64_t ids[] = {a, b, e, 9999};
  int out[4];
  memset(out, 0x55, sizeof out);
  th_who r1 = {.resident = "r1"};
  TAP_INT(th_vote_mine(db, "anon", &r1, ids, 4, out), TH_OK, "r1's votes");
  TAP_OK(out[0] == 1 && out[1] == -1 && out[2] == 0 && out[3] == 0,
         "up on the board idea, down on the spring idea, none elsewhere, "
         "0 for an unknown idea");
  th_who r2 = {.resident = "r2"};
  TAP_INT(th_vote_mine(db, "anon", &r2, ids, 4, out), TH_OK, "r2's votes");
  TAP_OK(out[0] == -1 && out[1] == 0 && out[2] == 0, "r2: down on one");
  TAP_INT(th_vote_mine(db, "anon", &dev, ids, 4, out), TH_OK, "a device");
  TAP_OK(out[0] == 0 && out[2] == 1, "the device's own vote");
  int64_t before = t_sql_i64("mine.db", "SELECT count(*) FROM participants");
  th_who r9 = {.resident = "never-voted"};
  TAP_INT(th_vote_mine(db, "anon", &r9, ids, 4, out), TH_OK, "a stranger");
  TAP_OK(out[0] == 0 && out[1] == 0 && out[2] == 0, "a stranger: no votes");
  int64_t after = t_sql_i64("mine.db", "SELECT count(*) FROM participants");
  TAP_OK(before > 0 && before == after, "reading records no participant");
  TAP_INT(th_vote_mine(db, "anon", &r1, ids, 0, NULL), TH_OK, "no ideas");
  TAP_INT(th_vote_mine(db, "nowhere", &r1, ids, 4, out), TH_ENOTFOUND,
          "unknown site");
  TAP_INT(th_vote_mine(db, "anon", NULL, ids, 4, out), TH_EINVAL, "NULL who");
  TAP_INT(th_vote_mine(db, "anon", &r1, NULL, 4, out), TH_EINVAL, "NULL ids");
  th_who nobody = {0};
  TAP_INT(th_vote_mine(db, "anon", &nobody, ids, 4, out), TH_EINVAL,
          "neither a resident nor a device");
  th_close(db);
}

/* A handle whose th_open failed is for th_errmsg and th_close only; a
 * caller who votes on it anyway gets TH_ESTATE, not a crash on the key
 * ring it never acquired (here: the key file is not the database's). */
static void test_failed_open(void) {
  t_clock = T0;
  th_db *db = t_open("failed-open.db");
  t_site(db, "camden", 0, 0);
  int64_t a = new_idea(db, "camden", NULL, "Benches by the canal");
  th_close(db);
  th_open_options o = TH_OPEN_OPTIONS_INIT;
  o.now = t_now;
  o.key_file = t_path("failed-open.not-its.key");
  db = NULL;
  TAP_INT(th_open(&db, t_target("failed-open.db"), &o), TH_EKEY,
          "failed open: a key file that does not exist is TH_EKEY");
  th_counts c;
  TAP_INT(rvote(db, "camden", "r1", a, 1, &c), TH_ESTATE,
          "failed open: a vote on the handle anyway is TH_ESTATE");
  TAP_OK(strstr(th_errmsg(db), "th_open failed") != NULL, "saying why: %s",
         th_errmsg(db));
  th_close(db);
}

int main(void) {
  test_failed_open();
  test_basic();
  test_states();
  test_devices();
  test_history();
  test_mine();
  test_model();
  return tap_done();
}
