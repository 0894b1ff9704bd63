/*
 * internal.h: what the library's files share and nothing outside sees.
 * Internal cross-file symbols carry the th__ prefix; the library is built with
 * -fvisibility=hidden so none of them is exported.
 */
#ifndef TH_INTERNAL_H
#define TH_INTERNAL_H

#include "config.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "townhall.h"
#include "store/store.h"

#define TH__ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define TH__DAY_MS INT64_C(86400000)

#if defined(__GNUC__)
#define TH__PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define TH__PRINTF(f, a)
#endif

/* A file compiled into the library (migrations, web assets). */
typedef struct th__blob {
  const char *name;
  const unsigned char *data; /* NUL-terminated */
  size_t len;                /* without the NUL */
} th__blob;

extern const th__blob th__migrations[];
/* The files of web/ (widgets, dashboard, translations), by path under web/. */
extern const th__blob th__assets[];

/* ---- a growable byte buffer (buf.c) -------------------------------------- */
typedef struct th__sbuf {
  char *p; /* NUL-terminated once anything was put, even "" */
  size_t len, cap;
  bool oom; /* an allocation failed: later writes are ignored */
} th__sbuf;
/* Makes room for n more bytes (and the NUL) at once: one allocation for
 * what is about to be appended, instead of a doubling per append. */
void th__sbuf_reserve(th__sbuf *b, size_t n);
void th__sbuf_put(th__sbuf *b, const void *s, size_t n);
void th__sbuf_puts(th__sbuf *b, const char *s);
void th__sbuf_putc(th__sbuf *b, char c);
void th__sbuf_printf(th__sbuf *b, const char *fmt, ...) TH__PRINTF(2, 3);
void th__sbuf_free(th__sbuf *b);

/* ---- CSV (csv.c): UTF-8 with BOM, formula-neutralised text cells --------- */
void th__csv_begin(th__sbuf *b);
void th__csv_text(th__sbuf *b, const char *s, bool last);
void th__csv_int(th__sbuf *b, int64_t v, bool last);
void th__csv_real(th__sbuf *b, double v, bool last);

/* Makes room for one more element in a growing array: returns `items`, or
 * a larger copy (doubling *cap), or NULL when out of memory (then `items`
 * and *cap are unchanged). */
void *th__grow(void *items, size_t count, size_t *cap, size_t elem);

/* 0..15 for a hexadecimal digit, -1 otherwise. */
int th__hex_digit(char c);

/* ---- helpers (util.c) ----------------------------------------------------- */
char *th__strdup(const char *s);
/* The day (days since 1970-01-01 UTC) holding `ms`, rounding down. */
int64_t th__day(th_time ms);
/* The Monday that starts the ISO week holding `day` (days since
 * 1970-01-01, a Thursday). */
int64_t th__monday(int64_t day);
/* The date of `day` (days since 1970-01-01, UTC) as text, "2026-03-02":
 * the year in four digits or more ("10000-01-01"), a minus sign before
 * year 0 ("-001-12-31"). Into out; false, and out "", when it does not fit
 * in cap (16 bytes hold every year from -99,999,999 to 999,999,999). The
 * one date formatter: the API's days, open data, a resident's data. */
bool th__day_text(int64_t day, char *out, size_t cap);
/* fsync()s the directory holding `path`, so a rename or a new file in it
 * survives a power cut. 0 or -1. */
int th__fsync_dir(const char *path);
/* Cursor encoding (shared by ideas and pages). */
typedef struct th__cursor {
  uint8_t kind; /* sort, or 0x80 for pages */
  uint64_t seed;
  double key;
  int64_t key2;
  int64_t id;
} th__cursor;
char *th__cursor_encode(const th__cursor *c);
int th__cursor_decode(const char *s, th__cursor *c);

/* ---- structs that carry their size (util.c; townhall.h, "Structs that
 * grow") ---------------------------------------------------------------- */
/* Above this, a caller's size is garbage, not a struct from a newer
 * townhall.h: no public struct comes near it. */
#define TH__SIZED_MAX 4096
/* Reads the caller's struct `in`, whose first member is the size_t size
 * its townhall.h gave it, into `out` (`name`: the struct and what sets its
 * size, for the message): this library's struct of `known`
 * bytes, zeroed first. `out` gets the bytes the caller's size covers, and
 * zero (the default) for the members added after the caller's header;
 * out's size member is then `known`. `oldest` is the struct's size in the
 * first townhall.h that had it. TH_EINVAL, with a message naming `name`
 * (on db, which may be NULL), for a size below `oldest` or above
 * TH__SIZED_MAX (never set, or garbage), or one that covers a byte past
 * `known` that is not zero (a newer caller set a member this library does
 * not know): `out` is zeroed then. */
int th__sized_in(th_db *db, const char *name, const void *in, size_t oldest,
                 size_t known, void *out);
/* Writes this library's struct `val` (`known` bytes) into the caller's
 * struct `out`, whose first member is its size: the bytes that size
 * covers, zero past `known`, keeping the caller's size. TH_EINVAL as
 * th__sized_in for a size out of range, and nothing is written. */
int th__sized_out(th_db *db, const char *name, void *out, size_t oldest,
                  size_t known, const void *val);
/* The sizes of the structs in the first townhall.h that gave them a size
 * (0.2.0). When a member is appended, the struct's line here becomes
 * offsetof(type, that member): what the 0.2.0 header's sizeof was.
 * th_open_data_options has always accepted the size member alone. And
 * what sets each one's size, for the message. */
#define TH__OLDEST_th_open_options sizeof(th_open_options)
#define TH__INIT_th_open_options "TH_OPEN_OPTIONS_INIT"
#define TH__OLDEST_th_server_config sizeof(th_server_config)
#define TH__INIT_th_server_config "TH_SERVER_CONFIG_INIT"
#define TH__OLDEST_th_open_data_options offsetof(th_open_data_options, from)
#define TH__INIT_th_open_data_options "th_open_data_options_init"
#define TH__OLDEST_th_site sizeof(th_site)
#define TH__INIT_th_site "TH_SITE_INIT"
#define TH__OLDEST_th_consultation sizeof(th_consultation)
#define TH__INIT_th_consultation "TH_CONSULTATION_INIT"
#define TH__OLDEST_th_idea_new sizeof(th_idea_new)
#define TH__INIT_th_idea_new "TH_IDEA_NEW_INIT"
#define TH__OLDEST_th_idea_query sizeof(th_idea_query)
#define TH__INIT_th_idea_query "TH_IDEA_QUERY_INIT"
#define TH__OLDEST_th_feedback sizeof(th_feedback)
#define TH__INIT_th_feedback "TH_FEEDBACK_INIT"
#define TH__OLDEST_th_purge_report sizeof(th_purge_report)
#define TH__INIT_th_purge_report "TH_PURGE_REPORT_INIT"
#define TH__OLDEST_th_key_rotation sizeof(th_key_rotation)
#define TH__INIT_th_key_rotation "TH_KEY_ROTATION_INIT"
#define TH__SIZED_IN(db, type, in, out)                                       \
  th__sized_in((db), #type " (" TH__INIT_##type ")", (in),                   \
               TH__OLDEST_##type, sizeof(type), (out))
#define TH__SIZED_OUT(db, type, out, val)                                     \
  th__sized_out((db), #type " (" TH__INIT_##type ")", (out),                 \
                TH__OLDEST_##type, sizeof(type), (val))

/* ---- keys (privacy.c) ---------------------------------------------------- */

#define TH__KEY_BYTES 32
#define TH__SALT_BYTES 16    /* crypto_shorthash_KEYBYTES */
#define TH__PSEUDONYM_BYTES 16
#define TH__SEALED_OVERHEAD (24 + 16) /* XChaCha20-Poly1305 nonce + tag */
#define TH__SECRET_MAX 256 /* bytes of a site secret, at most */

typedef struct th__keyring th__keyring;

/* Loads (or creates, when `create`) the key file and returns a keyring shared
 * by every handle of this process that opened the same file. Sets
 * db->errmsg on failure. */
int th__keyring_acquire(th_db *db, const char *path, bool create,
                        bool persist_salts, th__keyring **out);
void th__keyring_release(th__keyring *kr);
/* TH_OK if the file `sb` describes (`what` at `path`, for the message) is
 * a regular file that only its owner (this user, or anyone for root) may
 * read or write; TH_EKEY with a message on db otherwise. The key file's
 * check, and that of every other secret file (an OIDC client's private
 * key, core/auth/jose.c). */
struct stat;
int th__check_private(th_db *db, const char *what, const char *path,
                      const struct stat *sb);
/* Creates a key file of 32 random bytes (mode 0600, O_EXCL, synced with its
 * directory). TH_OK; TH_EEXIST without a message if the file exists (the
 * caller decides what that means); TH_EKEY with one otherwise. */
int th__key_file_create(th_db *db, const char *path);

/* Seals `len` bytes under the encryption subkey, bound to `ad` (e.g.
 * "consultation:12") so a sealed value cannot be moved to another row. out
 * must hold len + TH__SEALED_OVERHEAD bytes. */
void th__seal(th__keyring *kr, const char *ad, const void *in, size_t len,
              unsigned char *out);
/* TH_OK, or TH_EKEY if the value does not open under this key file. */
int th__unseal(th__keyring *kr, const char *ad, const unsigned char *in,
               size_t len, unsigned char *out);

/* The day's anonymous-rating salt (created on first use of that day and
 * persisted if configured); salts older than 48 h are destroyed first.
 * Returns TH_OK or TH_EIO. */
int th__salt_for_day(th__keyring *kr, int64_t day, int64_t now_ms,
                     unsigned char salt[TH__SALT_BYTES]);
/* Destroys every salt older than 48 h at now_ms; returns how many. */
int th__salts_expire(th__keyring *kr, int64_t now_ms);
/* For tests of the privacy promise: how many salts are held in memory, and
 * whether one for `day` is. */
int th__salts_held(th__keyring *kr, int64_t day);

/* Keyed hash of a staff token, a subkey of the master key. */
void th__token_hash(th__keyring *kr, const char *token, size_t len,
                    unsigned char out[32]);
/* Derives a 32-byte subkey for a purpose named by an 8-character context. */
void th__subkey(th__keyring *kr, uint64_t id, const char ctx[8],
                unsigned char out[32]);

/* Pseudonym of `who` under a consultation's (plaintext) key. kind_out gets
 * 0 for a resident, 1 for a device. TH_EINVAL if who names neither, or
 * names a resident by an id th__resident_id_problem refuses. */
int th__pseudonym(const unsigned char key[TH__KEY_BYTES], const th_who *who,
                  unsigned char out[TH__PSEUDONYM_BYTES], int *kind_out);

/* ---- the handle (db.c) --------------------------------------------------- */

struct th_db {
  th__conn *conn; /* the store's connection (core/store/); NULL unopened */
  th__keyring *keys;
  char *path;
  th_open_options opt; /* as opened; opt.key_file points at key_path */
  char *key_path;
  int flags;
  th_time (*now)(void *);
  void *clock_data;
  int errcode;
  char errmsg[512];
  int in_batch;       /* a th_batch_begin transaction is open */
  int write_depth;    /* nesting of th__write_begin inside one call */
};

/* Records a failure on the handle and returns `code`. */
int th__err(th_db *db, int code, const char *fmt, ...) TH__PRINTF(3, 4);
void th__clear_err(th_db *db);

/* Opens another handle on the same database and key file, with the same
 * clock and settings, and `flags` (e.g. TH_OPEN_READONLY): how the server
 * gets its writer and reader connections. */
int th__db_open_like(th_db *db, int flags, th_db **out);
/* TH_ESTATE, for a handle whose connection could not be reopened: it can
 * only be closed (every statement on it fails with this). */
int th__lost(th_db *db);

/* ---- text (text.c) ------------------------------------------------------- */

enum {
  TH__TEXT_MULTILINE = 1 << 0, /* allow \n, \r and \t */
  TH__TEXT_OPTIONAL = 1 << 1   /* NULL is the empty string */
};
/* Validates a text field: UTF-8, no control characters (tab and newlines
 * allowed in multiline fields), min..max code points. Records a message
 * naming `field` on failure. */
int th__text_check(th_db *db, const char *field, const char *s, int min,
                   int max, int flags);
/* [a-z0-9-], 1..max bytes, not starting or ending with '-'. */
int th__slug_check(th_db *db, const char *field, const char *s, int max);
/* Number of code points in valid UTF-8. */
size_t th__utf8_count(const char *s, size_t len);
/* Number of code points in s[0..len) that show something: not spaces of
 * any kind, controls, format characters (zero-width, joiners, direction
 * controls) or default-ignorable code points. */
size_t th__visible_count(const char *s, size_t len);
/* Whether `origin` ("https://host[:port]") is in the space-separated list. */
bool th__origin_listed(const char *list, const char *origin, size_t len);
/* The origin of a normalised URL: its length in bytes. */
size_t th__url_origin_len(const char *url);
/* A URL made by th_url_normalize with the personal data th_redact finds in
 * its path segments and kept query values replaced by the placeholder,
 * percent-encoded ("/users/%5Bemail%5D/profile"); the rest as it was. Run
 * th_url_normalize on the result again to sort the query as it sorts it.
 * *out freed with free. TH_OK, TH_ENOMEM. */
int th__url_scrub(const char *url, char **out);
/* A page address as the library stores it: th_url_normalize with the
 * site's keep_params, scrubbed (th__url_scrub) and normalised again (a
 * changed query value may sort elsewhere; a stored address given back must
 * find itself). *out freed with free. TH_OK, TH_EINVAL, TH_ETOOLONG,
 * TH_ENOMEM. Any thread. */
int th__page_normalize(const char *page, const char *keep_params, char **out);

/* ---- the redactor (redact.c) --------------------------------------------- */

/* th_redact, except that a matched span equal to one of the entries of
 * `allow` (newline-separated; NULL or "" = none) is kept as written.
 * "Equal" compares the normalised forms: digits only for phone/NHS/NI/card
 * numbers, upper-cased with spaces removed for postcodes, case-folded for
 * e-mail addresses. *out freed with th_free. TH_OK, TH_EINVAL, TH_ENOMEM.
 * (A UK phone number compares in its national form, so "+44 20 7946 0000"
 * equals "020 7946 0000"; an NI number compares its letters too.) Any
 * thread. */
int th__redact_allowing(const char *text, const char *allow, char **out);

/* ---- disclosure control (disclosure.c) ------------------------------------ */

/* A site's rules for what the public may see of counts of people: counts
 * from 1 to min - 1 are withheld, others rounded to a multiple of round. */
typedef struct th__disclosure {
  int64_t min, round;
} th__disclosure;
/* Clamps stored settings to meaningful ones (min >= 0, round >= 1). */
void th__disclosure_fix(th__disclosure *r);
/* A count as published: 0, TH_WITHHELD, or rounded to the nearest multiple
 * of r->round (halves up), never down to 0. */
int64_t th__publish_count(const th__disclosure *r, int64_t v);
/* The published figures of a page (or of one page's week) from its exact
 * counters: every count published alone, every other figure computed from
 * published counts only and withheld when any of them is (townhall.h,
 * th_feedback_summary_public). `ex` and `pub` may be the same struct. */
void th__publish_page(const th__disclosure *r, const th_page_summary *ex,
                      th_page_summary *pub);
/* Mean rating and Wilson bound from a page's counters (exact or
 * published, none withheld). */
void th__page_derive(th_page_summary *s);

/* ---- open data (opendata.c) ---------------------------------------------- */

/* A site's open-data rules as stored now, and when the site was created
 * (to tell a site from a later one with its id, in the server's cache). */
typedef struct th__open_rules {
  int64_t min, round;
  int64_t created;
} th__open_rules;
int th__open_rules_get(th_db *db, int64_t site_id, th__open_rules *r);
/* feedback.csv's weeks [from, to) (days of their Mondays) and the Monday
 * of the week in progress, by db's clock, from th_open_data_options' from
 * and weeks. TH_OK, TH_EINVAL (from), TH_ERANGE (weeks), with a message. */
typedef struct th__open_window {
  int64_t from, to, this_monday;
} th__open_window;
int th__open_window_get(th_db *db, const char *from, int64_t weeks,
                        th__open_window *w);
/* The files into `b` (b->oom on a failed allocation). TH_OK, or an error
 * with db's message. Any thread, with a handle of its own. */
int th__open_feedback_build(th_db *db, int64_t site_id,
                            const th__open_window *w,
                            const th__open_rules *rules, th__sbuf *b);
int th__open_ideas_build(th_db *db, int64_t site_id, int64_t this_monday,
                         const th__open_rules *rules, th__sbuf *b);

/* ---- staff: who may do what (staff.c) ------------------------------------ */

/* A verified staff member (townhall.h, th_staff). Only th__staff_check
 * fills one, from a token th_token_check accepts: nothing else in the
 * library makes a th_staff, so no role is ever taken on a caller's word.
 * The server keeps one by value in its request (router.h, th__auth). */
struct th_staff {
  int64_t token_id;
  int role;          /* th_role */
  th_time expires;   /* the token's */
  char site[48];     /* the token's site's slug; "" for every site */
  char label[328];   /* 1..80 characters */
  char actor[360];   /* "token ID (label)": the audit log's actor */
};
/* Checks `token` for `site_slug` (NULL: any) as th_token_check does, with
 * its errors and messages, and fills *out. */
int th__staff_check(th_db *db, const char *token, const char *site_slug,
                    th_staff *out);

/* Who may do what (docs/SECURITY.md, "Who may do what"): masks of
 * 1 << TH_ROLE_*. The _as functions check them; the server's route table
 * (routes.h) gives its gate the same masks, so that the gate's 403 comes
 * first with the same answer (handlers/staff.c asserts they agree). */
#define TH__ROLE_BIT(r) (1u << (r))
#define TH__MAY_STAFF_READ                                                   \
  (TH__ROLE_BIT(TH_ROLE_MODERATOR) | TH__ROLE_BIT(TH_ROLE_COUNCILLOR) |      \
   TH__ROLE_BIT(TH_ROLE_ADMIN))
#define TH__MAY_SET_STATUS                                                   \
  (TH__ROLE_BIT(TH_ROLE_COUNCILLOR) | TH__ROLE_BIT(TH_ROLE_ADMIN))
#define TH__MAY_MODERATE                                                     \
  (TH__ROLE_BIT(TH_ROLE_MODERATOR) | TH__ROLE_BIT(TH_ROLE_ADMIN))
#define TH__MAY_CREATE_CONSULTATION                                          \
  (TH__ROLE_BIT(TH_ROLE_COUNCILLOR) | TH__ROLE_BIT(TH_ROLE_ADMIN))
#define TH__MAY_READ_AUDIT TH__ROLE_BIT(TH_ROLE_ADMIN)
/* TH_OK if `staff` may do `what` ("moderate ideas") on the site
 * `site_slug`: one of `roles`, a token for that site or every site, not
 * expired. Otherwise TH_EPERM (no staff member, another site's token, a
 * role not in `roles`) or TH_EAUTH (expired since it was checked), with a
 * message naming `what`. */
int th__staff_may(th_db *db, const th_staff *staff, const char *site_slug,
                  unsigned roles, const char *what);

/* ---- domain helpers shared across files ---------------------------------- */

typedef struct th__site_row {
  int64_t id;
  char origins[1024];
  char keep_params[512];
  int moderate_ideas, allow_anonymous, rank_anonymous;
  th__disclosure disclosure;
} th__site_row;
/* Looks a site up by slug; TH_ENOTFOUND (with a message) if absent. */
int th__site_lookup(th_db *db, const char *slug, th__site_row *out);

/* A site's lists as stored (townhall.h, th_site): one item per line, ""
 * for none. Read on the caller's connection, so always current (unlike a
 * cached th__site_row). Free with th__site_lists_free. */
typedef struct th__site_lists {
  char *wards, *categories, *contacts;
} th__site_lists;
int th__site_lists_get(th_db *db, int64_t site_id, th__site_lists *out);
void th__site_lists_free(th__site_lists *l);
/* What to store for `value` in a field with the site's list `list`: ""
 * when value is NULL or blank; value scrubbed (th_redact) when the list is
 * empty; else the list's own spelling of the item it names (exactly, or
 * ignoring ASCII case), or TH_EINVAL naming `field` and the choices
 * (`plural`: "wards"). *out is malloc'd. */
int th__vocab_pick(th_db *db, const char *field, const char *plural,
                   const char *list, const char *value, char **out);
/* Text staff write (a response, a moderation reason), scrubbed as
 * th__redact_allowing does with the site's contacts as the allowlist.
 * *out is malloc'd. TH_OK, or an error with a message. */
int th__staff_scrub(th_db *db, int64_t site_id, const char *text,
                    char **out);

/* Inserts a consultation with a new random pseudonym key, sealed; inside
 * the caller's write transaction (th_site_create makes a site's ideas
 * board with it). TH_EEXIST if the slug is taken. */
int th__consultation_insert(th_db *db, int64_t site_id,
                            const th_consultation *c, th_time opens,
                            int64_t *id_out);
/* The plaintext pseudonym key of a consultation; TH_EKEY (with a message)
 * if it was destroyed. */
int th__consultation_key(th_db *db, int64_t consultation_id,
                         unsigned char key[TH__KEY_BYTES]);
/* The participant id of `who` in a consultation, creating it if `create`.
 * *id_out is 0 when absent and not created. */
int th__participant(th_db *db, int64_t consultation_id, const th_who *who,
                    bool create, int64_t *id_out, int *kind_out);
/* NULL if `id` (len bytes) may name a resident; otherwise why not, as a
 * static sentence. An id is taken exactly as given, never trimmed: with
 * white space or a control character around it, " alice" would be another
 * spelling of "alice" (residents.c). */
const char *th__resident_id_problem(const char *id, size_t len);
/* TH_OK, or TH_EINVAL with that sentence in th_errmsg. */
int th__resident_id_check(th_db *db, const char *id);

typedef struct th__idea_state {
  int64_t consultation_id;
  int status;
  th_time opens, closes;
  th_counts counts;
  th_time created;
  int64_t author_id;
  char *response; /* the caller frees it */
  double keys[3]; /* the ranking keys as stored: top, hot, controversial */
} th__idea_state;
/* Reads what a write needs to decide; run inside the write transaction so
 * that it sees what it will change. TH_ENOTFOUND with a message. */
int th__idea_state_get(th_db *db, int64_t site_id, int64_t id,
                       th__idea_state *s);

/* Ranking keys (rank.c). */
double th__wilson_lower(int64_t pos, int64_t n);
double th__hot(int64_t up, int64_t down, th_time created);
double th__controversial(int64_t up, int64_t down);
uint64_t th__random_key(uint64_t seed, int64_t id);
/* Recomputes one idea's stored counts-derived keys from its counters. */
int th__idea_rerank(th_db *db, int64_t idea_id, int rank_anonymous);
/* Stores an idea's new counters, the ranking keys derived from them, and
 * the day's totals for its vote history. `stored`: the idea's ranking keys
 * as they are in its row, so that only those that change are written; NULL
 * writes all three. */
int th__idea_store_counts(th_db *db, int64_t idea_id, const th_counts *c,
                          th_time created, int rank_anonymous,
                          const double stored[3]);
/* Sets a participant's vote on an idea to `value` and moves the counters;
 * *changed is false when it already was that. `kind` is the participant's
 * (0 resident, 1 device). `known`: the idea as th__idea_state_get read it
 * in this transaction, or NULL to read it here. */
int th__vote_apply(th_db *db, int64_t idea_id, const th__idea_state *known,
                   int64_t participant_id, int kind, int value,
                   int rank_anonymous, bool *changed, th_counts *out);
/* The 0.1.0 widget's protocol (the server's feedback route, for posts that
 * carry neither an idempotency key nor a handle): a first post is a new
 * answer that keeps its device token; a follow-up (`follow_up`: the post
 * carries a rating or a comment) amends the newest answer from the same
 * device on the page today with the same "useful" and no rating or comment
 * yet, else is a retry of one equal to it (TH_DUPLICATE), else a new
 * answer. Counts stay exact either way: two people behind one device may
 * at worst see their ratings attached to each other's identical "yes".
 * handle_out as th_feedback_answer's (a new answer only). */
int th__feedback_legacy(th_db *db, const char *site_slug, const th_who *who,
                        const th_feedback *fb, bool follow_up,
                        char *handle_out);
int th__device_token(th_db *db, int64_t site_id, int64_t page_id,
                     const th_who *who, int64_t day, unsigned char out[8]);
/* The two halves of a new answer's handle (privacy.c): the selector, stored
 * and indexed, and the secret, of which only th__answer_verifier is
 * stored. With an idempotency key both are derived from the key, the
 * device token `device` (of the page) and the answer `fb` under the day's
 * salt, so that a retry derives the same handle and another answer with
 * the same key does not; without one (key NULL) they are random. TH_OK or
 * TH_EIO. */
int th__answer_tags(th_db *db, int64_t day, const unsigned char device[8],
                    const char *key, const th_feedback *fb,
                    unsigned char sel[8], unsigned char secret[8]);
/* SipHash of a handle's secret under a subkey of the master key: a
 * database alone cannot test a guessed handle. */
void th__answer_verifier(th__keyring *kr, const unsigned char secret[8],
                         unsigned char out[8]);

int th__audit(th_db *db, int64_t site_id, th_actor actor, const char *action,
              int64_t idea_id, const char *detail);
/* The associated data a sealed site secret and a sealed consultation key
 * are bound to (site.c, consultation.c), so a sealed value cannot be moved to another row. */
void th__secret_ad(char *ad, size_t cap, int64_t site_id);
void th__pkey_ad(char *ad, size_t cap, int64_t site_id, const char *slug);


/* ---- resident tokens (jwt.c) ----------------------------------------------- */
/* Verifies an HS256 JWT for `site` with `secret`; on success copies `sub`
 * into sub_out. TH_OK or TH_EAUTH with a reason in why (a static string). */
int th__jwt_verify(const char *jwt, size_t len, const char *site,
                   const unsigned char *secret, size_t secret_len,
                   int64_t now_s, char *sub_out, size_t sub_cap,
                   const char **why);

#endif /* TH_INTERNAL_H */
