/*
 * bytes.c: the privacy proof. A resident, a device and an e-mail address go
 * through every write path (feedback, ideas, votes, anonymous votes and
 * ideas, withdrawals, erasure); then every byte of the database, its WAL
 * and shared-memory files and every file beside the key file is scanned for
 * them in every form we can think of: the text (as given, lower and upper
 * case), its hex, its base64 (four variants), its unkeyed SHA-256 and
 * BLAKE2b digests (raw and hex), the unkeyed hashes the library would store
 * were it to forget its key, and the IPv4 address as four raw bytes. None may
 * appear. A control string stored on purpose in several of those forms is
 * found, so the scan is shown able to fail.
 */
#include "helpers.h"
#include "internal.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <sodium.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define IP "203.0.113.77"
#define UA "Mozilla/5.0 (TownhallTest; UniqueAgent/9.1)"
#define EMAIL "jo.bloggs@example.org"
#define RESIDENT "resident-8f3a2c91"
#define CONTROL "TownhallControl7731"
#define SITE "https://www.camden.gov.uk"
#define IDEM_KEY "idem-4d1f0c2b-8e9a-4b7c-a6d5-3f2e1c0b9a87"

/* The answer handles write_everything was given: capabilities, which must
 * not be found at rest either. */
static char handles[4][TH_HANDLE_SIZE];

typedef struct needle {
  char label[64];
  unsigned char *bytes;
  size_t len;
} needle;

static needle needles[512];
static size_t n_needles;

static void add(const char *what, const char *form, const void *b, size_t n) {
  if (n_needles == sizeof needles / sizeof needles[0] || n == 0)
    return;
  needle *x = &needles[n_needles++];
  snprintf(x->label, sizeof x->label, "%s as %s", what, form);
  x->bytes = malloc(n);
  memcpy(x->bytes, b, n);
  x->len = n;
}

static void add_hex(const char *what, const char *form, const unsigned char *b,
                    size_t n) {
  char *hex = malloc(n * 2 + 1);
  sodium_bin2hex(hex, n * 2 + 1, b, n);
  char f[48];
  snprintf(f, sizeof f, "%s, hex", form);
  add(what, f, hex, n * 2);
  for (size_t i = 0; i < n * 2; i++)
    hex[i] = (char)toupper((unsigned char)hex[i]);
  snprintf(f, sizeof f, "%s, HEX", form);
  add(what, f, hex, n * 2);
  free(hex);
}

/* Every form of one secret string. */
static void add_text(const char *what, const char *text) {
  size_t n = strlen(text);
  add(what, "text", text, n);
  char *c = malloc(n + 1);
  for (size_t i = 0; i <= n; i++)
    c[i] = (char)tolower((unsigned char)text[i]);
  add(what, "lower-case text", c, n);
  for (size_t i = 0; i <= n; i++)
    c[i] = (char)toupper((unsigned char)text[i]);
  add(what, "upper-case text", c, n);
  free(c);
  add_hex(what, "text", (const unsigned char *)text, n);
  static const struct {
    int variant;
    const char *name;
  } b64[] = {
      {sodium_base64_VARIANT_ORIGINAL, "base64"},
      {sodium_base64_VARIANT_ORIGINAL_NO_PADDING, "base64 (no padding)"},
      {sodium_base64_VARIANT_URLSAFE, "base64url"},
      {sodium_base64_VARIANT_URLSAFE_NO_PADDING, "base64url (no padding)"},
  };
  for (size_t i = 0; i < sizeof b64 / sizeof b64[0]; i++) {
    size_t cap = sodium_base64_encoded_len(n, b64[i].variant);
    char *s = malloc(cap);
    sodium_bin2base64(s, cap, (const unsigned char *)text, n, b64[i].variant);
    /* The last group may differ with what follows; its body may not. */
    size_t len = strlen(s);
    while (len > 4 && s[len - 1] == '=')
      len--;
    add(what, b64[i].name, s, len > 4 ? len - 2 : len);
    free(s);
  }
  unsigned char d[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(d, (const unsigned char *)text, n);
  add(what, "SHA-256", d, sizeof d);
  add_hex(what, "SHA-256", d, sizeof d);
  unsigned char g[32];
  crypto_generichash(g, 32, (const unsigned char *)text, n, NULL, 0);
  add(what, "BLAKE2b-256", g, 32);
  add_hex(what, "BLAKE2b-256", g, 32);
  crypto_generichash(g, 16, (const unsigned char *)text, n, NULL, 0);
  add(what, "BLAKE2b-128", g, 16);
  add_hex(what, "BLAKE2b-128", g, 16);
}

/* What th__pseudonym hashes, hashed without the consultation's key: were
 * the library to drop its key, these would be what it stored. */
static void add_unkeyed_pseudonyms(void) {
  unsigned char in[256], out[16];
  size_t n = 0;
  memcpy(in, "r", 2);
  n = 2;
  memcpy(in + n, RESIDENT, strlen(RESIDENT));
  n += strlen(RESIDENT);
  crypto_generichash(out, 16, in, n, NULL, 0);
  add("resident id", "an unkeyed pseudonym", out, 16);
  n = 0;
  memcpy(in, "d", 2);
  n = 2;
  inet_pton(AF_INET, IP, in + n);
  n += 4;
  in[n++] = 0;
  memcpy(in + n, UA, strlen(UA));
  n += strlen(UA);
  crypto_generichash(out, 16, in, n, NULL, 0);
  add("device", "an unkeyed pseudonym", out, 16);
}

/* Scans every file in the test directory; returns how many (file, needle)
 * pairs matched among needles[from..to), printing each. */
static int scan(size_t from, size_t to, int *files_out, int quiet) {
  DIR *d = opendir(t_dir());
  int hits = 0, files = 0;
  struct dirent *e;
  while (d && (e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.')
      continue;
    const char *p = t_path(e->d_name);
    struct stat sb;
    if (stat(p, &sb) != 0 || !S_ISREG(sb.st_mode))
      continue;
    size_t len = 0;
    unsigned char *buf = t_read_file(p, &len);
    if (buf == NULL)
      continue;
    files++;
    for (size_t i = from; i < to; i++) {
      if (t_contains(buf, len, needles[i].bytes, needles[i].len)) {
        hits++;
        if (!quiet)
          printf("# found %s in %s\n", needles[i].label, e->d_name);
      }
    }
    free(buf);
  }
  if (d)
    closedir(d);
  if (files_out)
    *files_out = files;
  return hits;
}

static int found_label(size_t from, size_t to, const char *form) {
  DIR *d = opendir(t_dir());
  int found = 0;
  struct dirent *e;
  while (d && (e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.')
      continue;
    size_t len = 0;
    unsigned char *buf = t_read_file(t_path(e->d_name), &len);
    if (buf == NULL)
      continue;
    for (size_t i = from; i < to; i++)
      if (strstr(needles[i].label, form) &&
          t_contains(buf, len, needles[i].bytes, needles[i].len))
        found = 1;
    free(buf);
  }
  if (d)
    closedir(d);
  return found;
}

static void write_everything(th_db *db) {
  th_site s = {.size = sizeof(th_site),
               .slug = "camden",
               .name = "London Borough of Camden",
               .origins = SITE,
               .allow_anonymous = 1};
  T_CHECK(db, th_site_create(db, "clerk", &s, NULL));
  th_consultation c = {
      .size = sizeof(th_consultation), .slug = "parks", .title = "Parks"};
  T_CHECK(db, th_consultation_create(db, "camden", "planner", &c, NULL));
  th_who res = {.resident = RESIDENT};
  th_who dev = {.ip = IP, .user_agent = UA};
  th_who both = {.resident = RESIDENT, .ip = IP, .user_agent = UA};

  /* Feedback, with the address in the comment, the query and the
   * fragment. */
  th_feedback fb = {.size = sizeof(fb), .page = SITE "/parking?email=" EMAIL "&utm_source=x#" EMAIL,
                    .useful = 0,
                    .rating = 2,
                    .comment = "Please reply to " EMAIL " about my permit"};
  T_CHECK(db, th_feedback_answer(db, "camden", &dev, &fb, IDEM_KEY,
                                 handles[0]));
  T_CHECK(db, th_feedback_answer(db, "camden", &dev, &fb, IDEM_KEY,
                                 handles[1])); /* a retry */
  th_feedback change = {.size = sizeof(change),
      .rating = 3, .useful = -1,
      .comment = "Amended: write to " EMAIL " or call 020 7974 4444"};
  T_CHECK(db, th_feedback_amend(db, "camden", handles[0], &change));
  th_feedback fb2 = {.size = sizeof(fb2), .page = SITE "/bins", .useful = 1};
  T_CHECK(db, th_feedback_answer(db, "camden", &both, &fb2, NULL, handles[2]));
  /* And the 0.1.0 widget's protocol, which keeps a device token. */
  T_CHECK(db, th__feedback_legacy(db, "camden", &dev, &fb2, false, handles[3]));
  fb2.rating = 4;
  T_CHECK(db, th__feedback_legacy(db, "camden", &dev, &fb2, true, NULL));
  fb2.rating = 0;

  /* Ideas: a resident's and a device's, the address in the body. */
  th_idea_new n = {.size = sizeof(n), .title = "Pedestrianise Queen's Crescent on market day",
                   .body = "Contact me: " EMAIL ".\nThanks!",
                   .category = "transport",
                   .ward = "Gospel Oak"};
  int64_t a = 0, b = 0, ctl = 0;
  T_CHECK(db, th_idea_submit(db, "camden", &res, &n, &a));
  th_idea_new dn = {.size = sizeof(dn), .consultation = "parks",
                    .title = "Water fountains in the parks",
                    .body = "From a device; mail " EMAIL};
  T_CHECK(db, th_idea_submit(db, "camden", &dev, &dn, &b));
  /* The control, stored on purpose in several forms. */
  unsigned char d[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(d, (const unsigned char *)CONTROL, strlen(CONTROL));
  char hex[65], body[256];
  sodium_bin2hex(hex, sizeof hex, d, sizeof d);
  snprintf(body, sizeof body, "digest %s", hex);
  th_idea_new cn = {.size = sizeof(cn), .title = "Control idea " CONTROL, .body = body};
  T_CHECK(db, th_idea_submit(db, "camden", &res, &cn, &ctl));
  th_idea *got = NULL;
  th_idea_get(db, "camden", ctl, &got);
  TAP_STR(got ? got->body : NULL, body, "the control digest is stored as is");
  th_idea_free(got);

  /* Votes: the resident's and the device's, changed and withdrawn. */
  T_CHECK(db, th_vote(db, "camden", &res, a, 1, NULL));
  T_CHECK(db, th_vote(db, "camden", &res, b, -1, NULL));
  T_CHECK(db, th_vote(db, "camden", &dev, a, 1, NULL));
  T_CHECK(db, th_vote(db, "camden", &dev, b, 1, NULL));
  T_CHECK(db, th_vote(db, "camden", &dev, b, -1, NULL));
  T_CHECK(db, th_vote(db, "camden", &both, b, 0, NULL));

  /* Staff actions and the resident's rights. */
  T_CHECK(db, th_idea_set_status(db, "camden", "cllr-smith", a, TH_UNDER_REVIEW,
                                 "Thank you, we will look."));
  char *js = NULL;
  T_CHECK(db, th_resident_export(db, "camden", RESIDENT, &js));
  TAP_OK(js && strstr(js, RESIDENT) == NULL && strstr(js, EMAIL) == NULL,
         "the export itself names neither the resident nor the address");
  th_free(js);
  unsigned char secret[48];
  randombytes_buf(secret, sizeof secret);
  T_CHECK(db, th_site_set_secret(db, "camden", secret, sizeof secret));
  /* The next day: more feedback (a new salt) and a purge. */
  t_clock += TH__DAY_MS;
  T_CHECK(db, th_feedback_answer(db, "camden", &dev, &fb2, IDEM_KEY, NULL));
  th_purge_report r = TH_PURGE_REPORT_INIT;
  T_CHECK(db, th_purge(db, &r));
  T_CHECK(db, th_vote(db, "camden", &dev, a, -1, NULL));
  T_CHECK(db, th_idea_withdraw(db, "camden", &dev, b));
}

int main(void) {
  t_sqlite_program("scans the bytes of every file in the test's directory, "
                   "the SQLite database and its WAL among them; on "
                   "PostgreSQL the privacy scan reads the data directory, "
                   "its WAL and a pg_dump (issue 15)");
  if (sodium_init() < 0)
    return 99;
  add_text("IP address", IP);
  add_text("user agent", UA);
  add_text("e-mail address", EMAIL);
  add_text("resident id", RESIDENT);
  /* The distinctive part of the user agent on its own. */
  add_text("user agent token", "UniqueAgent/9.1");
  unsigned char ip4[4];
  inet_pton(AF_INET, IP, ip4);
  add("IP address", "4 raw bytes", ip4, 4);
  add_unkeyed_pseudonyms();
  add_text("idempotency key", IDEM_KEY);

  th_db *db = t_open("bytes.db");
  write_everything(db);
  for (int i = 0; i < 4; i++) {
    char what[32];
    snprintf(what, sizeof what, "answer handle %d", i);
    TAP_INT((int)strlen(handles[i]), 22, "%s was given", what);
    add_text(what, handles[i]);
    unsigned char raw[16];
    size_t len = 0;
    sodium_base642bin(raw, sizeof raw, handles[i], 22, NULL, &len, NULL,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    add(what, "raw secret half", raw + 8, 8);
    add(what, "raw 16 bytes", raw, 16);
  }
  TAP_STR(handles[1], handles[0], "the retry was given the first handle");
  size_t secrets = n_needles;
  add_text("control", CONTROL);
  size_t controls = n_needles;
  TAP_OK(secrets > 80, "%zu forms of the personal data to look for", secrets);

  /* While the handle is open the WAL holds the recent writes. */
  int files = 0;
  TAP_OK(access(t_path("bytes.db-wal"), F_OK) == 0,
         "a WAL exists while the database is open");
  TAP_INT(scan(0, secrets, &files, 0), 0,
          "open: no form of any of them in any file");
  TAP_OK(files >= 4, "open: scanned %d files (db, wal, shm, key, salts)",
         files);

  th_close(db);
  TAP_OK(access(t_path("bytes.db.key"), F_OK) == 0 &&
             access(t_path("bytes.db.key.salts"), F_OK) == 0,
         "the key and salts files are there to be scanned");
  TAP_INT(scan(0, secrets, &files, 0), 0,
          "closed: no form of any of them in any file");
  TAP_OK(files >= 3, "closed: scanned %d files", files);

  /* Reopen and erase the resident; still nothing. */
  db = t_open("bytes.db");
  int64_t erased = 0;
  T_CHECK(db, th_resident_erase(db, "camden", RESIDENT, &erased));
  TAP_OK(erased > 0, "the resident was erased (%lld)", (long long)erased);
  TAP_INT(scan(0, secrets, &files, 0), 0, "after erasure: nothing");
  th_close(db);

  /* The control: the scan finds what is stored, in each form stored. */
  TAP_OK(scan(secrets, controls, NULL, 1) > 0, "control: the scan finds it");
  TAP_OK(found_label(secrets, controls, "as text"),
         "control: found as text (the title)");
  TAP_OK(found_label(secrets, controls, "SHA-256, hex"),
         "control: found as a SHA-256 hex digest (the body)");
  TAP_OK(!found_label(secrets, controls, "SHA-256, HEX"),
         "control: not in a form it was not stored in");

  for (size_t i = 0; i < n_needles; i++)
    free(needles[i].bytes);
  return tap_done();
}
