/*
 * townhall.h: the public interface of libtownhall.
 *
 * townhall is a library for resident co-production: residents propose ideas
 * and vote on them, rate council web pages, and the council answers. It
 * stores no personal data it can avoid: residents and devices are known only
 * by keyed hashes (see docs/privacy.md).
 *
 * Conventions used throughout (the same as libuv's and SQLite's):
 *
 *  - Every function that can fail returns an int: a negative TH_E* code on
 *    failure. Write functions return TH_RECORDED or TH_DUPLICATE (both >= 0)
 *    on success, so that a caller never mistakes one for the other; other
 *    functions return TH_OK (0).
 *  - After a failure, th_errmsg(db) describes it in a sentence. The message
 *    is owned by the handle and valid until the next call on that handle.
 *  - Strings passed in are copied; the library never keeps a caller's
 *    pointer after a call returns. Strings are UTF-8.
 *  - Anything the library allocates for the caller has its own _free
 *    function (th_free for plain strings). Passing NULL to any _free
 *    function is a no-op.
 *  - Threads: a th_db handle may be used by one thread at a time (any
 *    thread, but not two at once). Open one handle per thread for
 *    concurrency; they may share a database file and key file. Functions
 *    that take no handle (th_strerror, th_version, th_redact, ...) may be
 *    called from any thread at any time.
 *  - Times are milliseconds since the Unix epoch (th_time), UTC.
 *
 * Structs that grow. From 0.2.0 (libtownhall.so.1) the ABI only grows
 * (NEWS): a program built against this header keeps working, unrebuilt,
 * with every later libtownhall.so.1. So:
 *
 *  - A struct the caller fills in and hands over (th_open_options,
 *    th_server_config, th_open_data_options, th_site, th_consultation,
 *    th_idea_new, th_idea_query, th_feedback) or allocates for the
 *    library to fill in (th_purge_report, th_key_rotation) starts with
 *    `size_t size`, which the caller sets to the struct's sizeof: with
 *    its TH_*_INIT macro (`th_feedback fb = TH_FEEDBACK_INIT;`), with its
 *    th_*_init function where it has one, or in a designated initializer
 *    (`{.size = sizeof(th_feedback), .page = url}`). A later townhall.h
 *    only ever adds members at its end, whose zero is the old behaviour.
 *    The library reads (or writes) only the members the caller's size
 *    covers and takes zero for the rest, so an older program's smaller
 *    struct is read as it meant it. A size no townhall.h ever gave the
 *    struct (0: never set; smaller than in 0.2.0; over 4096: garbage) is
 *    TH_EINVAL, and so is a newer program's larger struct that sets a
 *    member this library does not know (zero there is accepted), rather
 *    than ignore what was asked.
 *  - A th_site or th_consultation the library returns (th_site_get,
 *    th_consultation_get, and each item of th_site_list and
 *    th_consultation_list) is allocated by the library, and its size is
 *    the library's sizeof: a program reads only the members its own
 *    header has, and may hand the struct back (th_site_update) as it is.
 *    The lists hold pointers (`th_site **items`), so that the step an
 *    older program indexes them by is a pointer's, whatever the struct
 *    grows to.
 *  - Every other public struct keeps its size and layout for as long as
 *    the soname: th_who, because a new kind of caller gets a type of its
 *    own (as th_staff is); th_counts; and what the library returns
 *    (th_idea, th_page_summary, the lists ...). What such a struct would
 *    need next comes through a new function.
 *  - Functions are only ever added; one that is replaced is deprecated and
 *    stays (the actor-string ones beside the *_as functions).
 */
#ifndef TOWNHALL_H
#define TOWNHALL_H

#include <stddef.h>
#include <stdint.h>

/* The host's libuv loop (th_server_new). Declared here so that including
 * townhall.h does not pull in <uv.h>; C11 allows the same typedef again
 * when the program also includes <uv.h>. */
typedef struct uv_loop_s uv_loop_t;

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && __GNUC__ >= 4
#define TH_EXTERN __attribute__((visibility("default")))
#else
#define TH_EXTERN
#endif

#define TH_VERSION_MAJOR 0
#define TH_VERSION_MINOR 2
#define TH_VERSION_PATCH 0

/* (major << 16) | (minor << 8) | patch of the library actually loaded. */
TH_EXTERN unsigned th_version(void);
/* "0.2.0": a static string. */
TH_EXTERN const char *th_version_string(void);

/* ---------------------------------------------------------------------------
 * Errors
 *
 * One table generates the codes, their names (th_err_name) and their
 * one-line descriptions (th_strerror). Codes are stable across releases;
 * new ones are only ever added.
 */
#define TH_ERRNO_MAP(XX)                                                     \
  XX(EINVAL, -1, "invalid argument")                                         \
  XX(ENOMEM, -2, "out of memory")                                            \
  XX(ENOTFOUND, -3, "not found")                                             \
  XX(EEXIST, -4, "already exists")                                           \
  XX(ETOOLONG, -5, "text too long")                                          \
  XX(EUTF8, -6, "text is not valid UTF-8")                                   \
  XX(ECLOSED, -7, "consultation is not open")                                \
  XX(ESTATE, -8, "not allowed in the current state")                         \
  XX(EPERM, -9, "not permitted")                                             \
  XX(EAUTH, -10, "authentication failed")                                    \
  XX(ENEWER, -11, "database was written by a newer townhall")                \
  XX(ENOTDB, -12, "file is not a townhall database")                         \
  XX(ECORRUPT, -13, "database file is corrupt")                              \
  XX(EKEY, -14, "key file missing, unreadable or unsafe")                    \
  XX(EIO, -15, "input/output error")                                         \
  XX(EFULL, -16, "disk full")                                                \
  XX(EBUSY, -17, "database is busy")                                         \
  XX(EDB, -18, "database error")                                             \
  XX(ERANGE, -19, "value out of range")                                      \
  XX(ELIMIT, -20, "rate limit exceeded")                                     \
  XX(ETOOSHORT, -21, "text too short")                                       \
  XX(EREADONLY, -22, "handle is read-only")                                  \
  XX(ESHUTDOWN, -23, "shutting down")                                        \
  XX(ECONFLICT, -24, "conflicts with an earlier request")

typedef enum th_errno {
#define TH__ERRNO(name, value, text) TH_##name = (value),
  TH_ERRNO_MAP(TH__ERRNO)
#undef TH__ERRNO
} th_errno;

/* Non-negative results. */
enum {
  TH_OK = 0,
  /* The write was applied. Outside a batch it is committed (synchronous=FULL
   * by default: it survives a crash and a power cut). */
  TH_RECORDED = 1,
  /* Nothing changed: the same write was already recorded (same vote, a
   * retried page-feedback answer, same idea from the same author). */
  TH_DUPLICATE = 2
};

/* "invalid argument" for TH_EINVAL; "unknown error" for anything else. Static
 * string. Any thread. */
TH_EXTERN const char *th_strerror(int code);
/* "TH_EINVAL" for TH_EINVAL, "TH_OK", "TH_RECORDED", "TH_DUPLICATE";
 * "TH_EUNKNOWN" otherwise. Static string. Any thread. */
TH_EXTERN const char *th_err_name(int code);

/* Frees memory the library returned as a plain string (char *). */
TH_EXTERN void th_free(void *p);

typedef int64_t th_time; /* milliseconds since 1970-01-01T00:00:00Z */

/* ---------------------------------------------------------------------------
 * Opening a database
 */
typedef struct th_db th_db;

enum th_open_flags {
  TH_OPEN_READONLY = 1 << 0, /* no writes; never creates or migrates */
  TH_OPEN_NOCREATE = 1 << 1, /* fail with TH_ENOTFOUND if the file is absent */
  /* fail with TH_ESTATE if an existing database needs migrating (a new
   * one is still created): for programs that migrate only after a backup */
  TH_OPEN_NOMIGRATE = 1 << 2,
  /* With TH_OPEN_READONLY: open even a schema that needs migrating, for
   * th_backup before a migration. Nothing but th_backup and
   * th_schema_version is meaningful on such a handle. */
  TH_OPEN_ANY_SCHEMA = 1 << 3
};

/* th_open's options. Set size to sizeof(th_open_options) (TH_OPEN_OPTIONS_INIT:
 * every option at its default); members are only ever added at the end
 * ("Structs that grow", above). */
typedef struct th_open_options {
  size_t size; /* sizeof(th_open_options), as the caller's header has it */
  /* Path of the 32-byte master key file. NULL: "<database>.key". Created
   * (mode 0600) when absent, unless TH_OPEN_READONLY. Refused with TH_EKEY if
   * its group or others may read or write it, or if it is not 32 bytes. */
  const char *key_file;
  int flags;             /* enum th_open_flags */
  int busy_timeout_ms;   /* 0: 5000 */
  /* SQLite's PRAGMA synchronous: 2 = FULL (the default when 0 is given;
   * survives power loss), 1 = NORMAL (survives a process crash only). */
  int synchronous;
  /* Keep the day's anonymous-rating salts in "<key file>.salts" (mode 0600)
   * so that a restart still recognises the day's retried answers. Salts are
   * never written to the database. Default on; set to -1 to keep them in
   * memory only. */
  int persist_salts;
  /* Clock, for tests and simulations. NULL: the system's real-time clock.
   * Called from whichever thread uses the handle. */
  th_time (*now)(void *clock_data);
  void *clock_data;
} th_open_options;
#define TH_OPEN_OPTIONS_INIT {.size = sizeof(th_open_options)}

/*
 * Opens (creating and migrating as needed) the townhall database at `path`.
 * A `path` beginning with postgresql:// or postgres:// is a PostgreSQL
 * connection URI (libpq's, multi-host and target_session_attrs included):
 * it needs opt->key_file (TH_EKEY otherwise), no message ever names its
 * password, and the schema is made or migrated under an advisory lock
 * (TH_EINVAL in a build without libpq; TH_EAUTH, TH_EIO, TH_ENOTFOUND,
 * TH_ENOTDB, TH_ENEWER as the server answers). `opt` may be NULL for the
 * defaults; TH_EINVAL if its size is not one
 * townhall.h gave it. On success *out is a new handle that
 * the caller owns and must pass to th_close.
 *
 * On failure *out is set to NULL unless a handle could be allocated, in
 * which case it is set to a handle whose th_errmsg explains the failure and
 * which the caller must th_close (as SQLite's own open does); any other
 * call on it fails with TH_ESTATE. Errors:
 * TH_ENOTDB (not a SQLite database, or one that is not townhall's),
 * TH_ENEWER (schema newer than this library: the file is not touched),
 * TH_ECORRUPT, TH_EKEY, TH_ENOTFOUND (TH_OPEN_NOCREATE), TH_EIO,
 * TH_ESTATE (TH_OPEN_NOMIGRATE and the schema is old), TH_ENOMEM.
 */
TH_EXTERN int th_open(th_db **out, const char *path,
                      const th_open_options *opt);

/* Closes the handle and frees everything it owns; wipes keys from memory.
 * Returns TH_OK; a batch still open is rolled back. NULL is a no-op. */
TH_EXTERN int th_close(th_db *db);

/* The detailed message of the last failure on this handle ("" if none).
 * Owned by the handle; valid until the next call on it. */
TH_EXTERN const char *th_errmsg(th_db *db);
/* The code of the last failure on this handle (TH_OK if none). */
TH_EXTERN int th_errcode(th_db *db);

/* Schema version of the open database (PRAGMA user_version), and the
 * newest this library knows. */
TH_EXTERN int th_schema_version(th_db *db);
TH_EXTERN int th_schema_latest(void);

/*
 * Writes a consistent copy of the database to the new file `dest` with
 * SQLite's online backup API: one read transaction, so it is a snapshot even
 * while other handles (a running server) keep committing. The copy is a
 * single self-contained file (no WAL), written to "dest.tmp", synced and
 * renamed into place. It does not include the key file, without which
 * pseudonyms and sealed secrets cannot be used: back that up separately
 * (docs/operations.md). TH_OK, TH_EEXIST (dest exists), TH_EIO, TH_EFULL,
 * TH_EBUSY (locked for longer than the handle's busy timeout), TH_EINVAL.
 * Works on a read-only handle.
 */
TH_EXTERN int th_backup(th_db *db, const char *dest);

/* The handle's clock, for callers that want the same notion of "now". */
TH_EXTERN th_time th_now(th_db *db);

/* ---------------------------------------------------------------------------
 * Batches: many writes in one transaction (importers, generators, the
 * server's writer thread). Each write inside a batch runs in its own
 * savepoint: a write that fails is rolled back alone and the batch goes on.
 * Nothing in a batch is durable until th_batch_commit returns TH_OK; the
 * TH_RECORDED a write returns inside a batch means "will be recorded".
 */
/* TH_ESTATE if a batch is already open; TH_EBUSY if the database stays
 * locked by another writer past the busy timeout. */
TH_EXTERN int th_batch_begin(th_db *db);
/* Commits. On failure (TH_EFULL, TH_EIO, TH_EBUSY) the whole batch is
 * rolled back and none of its writes happened. */
TH_EXTERN int th_batch_commit(th_db *db);
TH_EXTERN int th_batch_rollback(th_db *db);

/* ---------------------------------------------------------------------------
 * Who is acting
 *
 * Residents are named by the identifier the council's own login gives them
 * (a JWT's "sub"); devices by their address and user agent. Neither is ever
 * stored: the library keeps only keyed hashes (pseudonyms) of them, under a
 * key specific to each consultation.
 */
typedef struct th_who {
  /* The council's id for a signed-in resident, taken exactly as given:
   * one with white space at either end or a control character anywhere
   * (or not UTF-8) is refused with TH_EINVAL by every function that takes
   * it (" alice" is never trimmed into "alice"). */
  const char *resident;
  const char *ip;         /* else: the device's address ... */
  const char *user_agent; /* ... and user agent (may be NULL or "") */
} th_who;

/* Staff actions name the acting staff member (an API token's label, a
 * command-line user) in the audit log. Must not be personal data of a
 * resident. */
typedef const char *th_actor;

/* A verified staff member: a staff token's holder, with its role (see
 * "Staff API tokens" below: th_staff_from_token). The functions named
 * *_as take one and check, in the library, that its role may do what is
 * asked (docs/SECURITY.md, "Who may do what"), so a program linking
 * townhall or using a binding is held to the same rules as the HTTP API.
 * Where they accept NULL, NULL is the public: anyone, or a signed-in
 * resident, who has no staff role. */
typedef struct th_staff th_staff;

/* ---------------------------------------------------------------------------
 * Sites
 */
/* Set size to sizeof(th_site) (TH_SITE_INIT); members are only ever
 * added at the end ("Structs that grow", at the top). */
typedef struct th_site {
  size_t size;           /* sizeof(th_site), as the caller's header has it */
  int64_t id;            /* output only */
  const char *slug;      /* [a-z0-9-], 1..40 bytes, unique */
  /* 1..120 characters; stored scrubbed (th_redact), keeping the site's
   * contacts, as everything staff write is */
  const char *name;
  /* Space-separated origins allowed to embed the widgets, post feedback
   * and be redirected to ("https://www.camden.gov.uk"). Empty: any page
   * may be rated, and form posts are never redirected. */
  const char *origins;
  /* Space-separated query parameters kept when a page URL is stored
   * ("id service"); every other parameter and the fragment are dropped. */
  const char *keep_params;
  int moderate_ideas;    /* ideas start "pending" until a moderator publishes */
  int allow_anonymous;   /* devices may vote and propose without signing in */
  int rank_anonymous;    /* ranking keys count devices' votes too */
  /* Retention, in days; 0 means the default given, -1 keeps forever. */
  int comment_days;      /* feedback comments (default 365) */
  int audit_days;        /* audit log entries (default 730) */
  int key_days;          /* consultation keys, after closing (default 365) */
  /* Open data: counts below open_min are published as "*" (default 8), and
   * the rest rounded to a multiple of open_round (default 5). */
  int open_min;
  int open_round;
  th_time created;       /* output only */
  /* Added in 0.2.0 (NEWS: 0.1.0 programs are rebuilt against
   * libtownhall.so.1). Source that fills a th_site with designated
   * initializers ({.size = sizeof(th_site), .slug = ...}) gets NULL, the
   * old behaviour, for the fields it does not name. */
  /* The site's wards and its categories, one per line (1..60 characters
   * each, at most 200 of each; blank lines and surrounding spaces are
   * dropped, duplicates refused). NULL or "": no list, and an idea's ward
   * or category is free text, scrubbed as th_redact does. With a list, an
   * idea's ward (category) must be one of them or empty: anything else is
   * TH_EINVAL, naming the field. Read back in the stored form ("" for
   * none). */
  const char *wards;
  const char *categories;
  /* The council's own published contact details, one per line (a
   * switchboard number, an office's postcode, a public e-mail address;
   * 1..200 characters each, at most 50): what the scrubbing of text staff
   * write (official responses, moderation reasons, consultation and site
   * text) leaves in place. NULL or "": none. */
  const char *contacts;
} th_site;
#define TH_SITE_INIT {.size = sizeof(th_site)}

/* Creates a site and its always-open ideas board (a consultation with slug
 * "ideas"); `actor` (may be NULL: "system") is named in the audit log.
 * Fields are validated and copied; origins are normalised. *id_out (may be
 * NULL) gets the new id. TH_RECORDED, or TH_EEXIST if the slug is taken;
 * TH_EINVAL, TH_ETOOLONG, TH_EUTF8 for bad fields (TH_EINVAL too if its
 * size is not one townhall.h gave it). */
TH_EXTERN int th_site_create(th_db *db, th_actor actor, const th_site *site,
                             int64_t *id_out);
/* Replaces a site's settings (found by slug; id and created are ignored).
 * Changing rank_anonymous recomputes every ranking key of the site in the
 * same transaction. TH_RECORDED, TH_DUPLICATE if nothing changed,
 * TH_ENOTFOUND; TH_EINVAL as th_site_create. */
TH_EXTERN int th_site_update(th_db *db, th_actor actor, const th_site *site);
/* *out: a new th_site the caller frees with th_site_free. TH_ENOTFOUND. */
TH_EXTERN int th_site_get(th_db *db, const char *slug, th_site **out);
TH_EXTERN void th_site_free(th_site *site);

/* items[i] points to a th_site the list owns; its size is the library's
 * ("Structs that grow", at the top). */
typedef struct th_site_list {
  size_t count;
  th_site **items;
} th_site_list;
/* All sites by slug. Free with th_site_list_free. */
TH_EXTERN int th_site_list_all(th_db *db, th_site_list **out);
TH_EXTERN void th_site_list_free(th_site_list *list);

/* The secret with which the council's app signs resident JWTs (HS256) for
 * this site: at least 32 bytes. Stored only encrypted under the key file.
 * TH_RECORDED; TH_ETOOSHORT; TH_ENOTFOUND. */
TH_EXTERN int th_site_set_secret(th_db *db, const char *slug,
                                 const void *secret, size_t len);
/* Decrypts the site's secret into buf (at most cap bytes); *len_out gets
 * its length. TH_ENOTFOUND if the site has none; TH_ERANGE if cap is too
 * small; TH_EKEY if it was encrypted under another key file. The caller
 * should wipe buf after use. */
TH_EXTERN int th_site_get_secret(th_db *db, const char *slug, void *buf,
                                 size_t cap, size_t *len_out);

/* Signs a resident token (JWT, HS256 with the site's secret) as a council's
 * own login would after signing `resident` in: {"sub": resident, "aud":
 * slug, "iat": now, "exp": now + ttl_seconds}. For hosts that link townhall
 * and do their own sign-in, and for the demo. ttl_seconds is 1 to 3600 (the
 * server refuses tokens that live longer). *out (free with th_free) gets the
 * token. TH_OK; TH_EINVAL (NULL or empty arguments, ttl out of range, a
 * resident id th_who refuses);
 * TH_ENOTFOUND (no such site, or it has no secret); TH_EKEY; TH_ENOMEM.
 * Any thread, on a handle it owns. */
TH_EXTERN int th_resident_token(th_db *db, const char *slug,
                                const char *resident, int ttl_seconds,
                                char **out);

/* ---------------------------------------------------------------------------
 * Consultations. Each has its own random pseudonym key, stored only
 * encrypted under the key file, destroyed key_days after it closes.
 */
/* Set size to sizeof(th_consultation) (TH_CONSULTATION_INIT); members are
 * only ever added at the end ("Structs that grow", at the top). */
typedef struct th_consultation {
  size_t size; /* sizeof(th_consultation), as the caller's header has it */
  int64_t id;              /* output only */
  int64_t site_id;         /* output only */
  const char *slug;        /* [a-z0-9-], 1..60 bytes, unique per site */
  const char *title;       /* 1..200 characters */
  const char *description; /* 0..10000 characters; may be NULL */
  const char *ward;        /* NULL or "": borough-wide */
  th_time opens;           /* 0: now */
  th_time closes;          /* 0: never (an ideas board) */
  int key_destroyed;       /* output only: its votes are anonymous for good */
  th_time created;         /* output only */
} th_consultation;
#define TH_CONSULTATION_INIT {.size = sizeof(th_consultation)}

/* A councillor or an admin (`staff`) opens a consultation. The title and
 * description are stored scrubbed (th_redact), keeping the site's
 * contacts; the ward is one of the site's wards where it has a list (as
 * an idea's), free text scrubbed where it has none. Audited under
 * th_staff_actor(staff). TH_RECORDED, TH_EEXIST (slug taken),
 * TH_ENOTFOUND (site), TH_EINVAL (closes before opens, a ward not in the
 * list), TH_ETOOLONG, TH_EUTF8; TH_EPERM, checked first, for NULL, a
 * moderator, or another site's token; TH_EAUTH once its token has
 * expired. */
TH_EXTERN int th_consultation_create_as(th_db *db, const th_staff *staff,
                                        const char *site_slug,
                                        const th_consultation *c,
                                        int64_t *id_out);
/* Deprecated since 0.2.0: use th_consultation_create_as. The same, audited
 * under `actor` (may be NULL: "system"), with no role checked: whoever
 * calls it may. */
TH_EXTERN int th_consultation_create(th_db *db, const char *site_slug,
                                     th_actor actor, const th_consultation *c,
                                     int64_t *id_out);
/* By site and slug. Free with th_consultation_free. */
TH_EXTERN int th_consultation_get(th_db *db, const char *site_slug,
                                  const char *slug, th_consultation **out);
TH_EXTERN void th_consultation_free(th_consultation *c);

/* items[i] points to a th_consultation the list owns; its size is the
 * library's ("Structs that grow", at the top). */
typedef struct th_consultation_list {
  size_t count;
  th_consultation **items;
} th_consultation_list;
/* A site's consultations, newest first. */
TH_EXTERN int th_consultation_list_all(th_db *db, const char *site_slug,
                                       th_consultation_list **out);
TH_EXTERN void th_consultation_list_free(th_consultation_list *list);

/* ---------------------------------------------------------------------------
 * Ideas
 */
typedef enum th_status {
  TH_PENDING = 0,     /* waiting for a moderator */
  TH_PUBLISHED = 1,   /* visible, open for votes */
  TH_UNDER_REVIEW = 2,/* visible, open for votes, the council is looking */
  TH_ACCEPTED = 3,    /* visible */
  TH_IN_PROGRESS = 4, /* visible */
  TH_DONE = 5,        /* visible */
  TH_DECLINED = 6,    /* visible */
  TH_HIDDEN = 7,      /* moderated away */
  TH_WITHDRAWN = 8,   /* by its author */
  TH_MERGED = 9       /* into another idea (merged_into) */
} th_status;

/* "pending", "published", "under_review", "accepted", "in_progress", "done",
 * "declined", "hidden", "withdrawn", "merged"; NULL if out of range. */
TH_EXTERN const char *th_status_name(int status);
/* The status named (as above), or TH_EINVAL. */
TH_EXTERN int th_status_parse(const char *name);

/* Set size to sizeof(th_idea_new) (TH_IDEA_NEW_INIT); members are only
 * ever added at the end ("Structs that grow", at the top). */
typedef struct th_idea_new {
  size_t size; /* sizeof(th_idea_new), as the caller's header has it */
  /* Consultation by its slug within the site; NULL: the ideas board. */
  const char *consultation;
  const char *title;    /* 3..140 characters */
  const char *body;     /* 0..5000 characters; personal details are scrubbed */
  /* 0..60 characters; NULL or blank: not given. One of the site's
   * categories (wards) where it has a list (th_site), matched ignoring
   * ASCII case and stored as the list spells it; free text scrubbed as the
   * body is where it has none. */
  const char *category;
  const char *ward;
} th_idea_new;
#define TH_IDEA_NEW_INIT {.size = sizeof(th_idea_new)}

/* Proposes an idea as `who` (a resident, or a device where the site allows
 * anonymous participation). The title and body are stored scrubbed
 * (th_redact), and so are a free-text ward and category. The
 * idea starts pending if the site moderates ideas, else published.
 * TH_RECORDED and *id_out the new id; TH_DUPLICATE and *id_out the earlier
 * idea's id when the same author already proposed the same title in this
 * consultation. Errors: TH_ENOTFOUND (site or consultation), TH_ECLOSED,
 * TH_EPERM (anonymous, not allowed), TH_ETOOLONG, TH_ETOOSHORT, TH_EUTF8,
 * TH_EINVAL (among others, a ward or category not in the site's list: the
 * message starts with the field's name, "ward: ..."), TH_EKEY (the
 * consultation's key was destroyed). */
TH_EXTERN int th_idea_submit(th_db *db, const char *site_slug,
                             const th_who *who, const th_idea_new *idea,
                             int64_t *id_out);

typedef struct th_idea {
  int64_t id;
  int64_t consultation_id;
  const char *consultation; /* its slug */
  const char *title;
  const char *body;
  const char *category; /* "" if none */
  const char *ward;     /* "" if none */
  int status;           /* th_status */
  int64_t merged_into;  /* 0 unless merged */
  const char *response; /* the council's official response; "" if none */
  th_time response_at;  /* 0 if none */
  int64_t up, down;           /* signed-in residents' votes */
  int64_t anon_up, anon_down; /* devices' votes (anonymous sites) */
  double top, hot, controversial; /* the stored ranking keys */
  th_time created;
  th_time updated;
  /* The status a merged idea had when it was merged (a moderator may merge
   * a pending idea into a public one); -1 unless merged. */
  int merged_from;
} th_idea;

/* One idea of a site, any status: what staff see. Free with th_idea_free.
 * TH_ENOTFOUND. Any thread, on a handle it owns. Unchecked: for the
 * program itself (an importer, the command line); for a person, use
 * th_idea_get_as. */
TH_EXTERN int th_idea_get(th_db *db, const char *site_slug, int64_t id,
                          th_idea **out);
/* Whether the public may see `idea`: its status is one of
 * TH_STATUS_PUBLIC, or it was merged and was public before the merge. A
 * pending (or hidden, or withdrawn) idea merged into another stays private:
 * merging never publishes what a moderator has not approved. 1 or 0 (0 for
 * NULL). */
TH_EXTERN int th_idea_is_public(const th_idea *idea);
/* One idea as the public may see it (th_idea_is_public): what the server
 * answers anyone without a staff token, and what a host application should
 * show residents. An idea the public may not see is TH_ENOTFOUND with the
 * same message as one that does not exist, so that sequential ids tell
 * nothing. Free with th_idea_free. Any thread, on a handle it owns. */
TH_EXTERN int th_idea_get_public(th_db *db, const char *site_slug, int64_t id,
                                 th_idea **out);
/* One idea as `staff` may see it: any status for a staff member of any
 * role (th_idea_get); for NULL, the public, as th_idea_get_public (an idea
 * the public may not see is TH_ENOTFOUND, like a missing one). TH_EPERM
 * for another site's token; TH_EAUTH once its token has expired. Free
 * with th_idea_free. Any thread, on a handle it owns. */
TH_EXTERN int th_idea_get_as(th_db *db, const th_staff *staff,
                             const char *site_slug, int64_t id, th_idea **out);
TH_EXTERN void th_idea_free(th_idea *idea);

typedef enum th_sort {
  TH_SORT_TOP = 0,          /* Wilson lower bound of up/(up+down) */
  TH_SORT_HOT = 1,          /* Reddit's hot: log10 of the score + age */
  TH_SORT_NEW = 2,          /* newest first */
  TH_SORT_CONTROVERSIAL = 3,/* (up+down)^(min/max) */
  TH_SORT_RANDOM = 4        /* a stable shuffle for a given seed */
} th_sort;
/* "top", "hot", "new", "controversial", "random"; NULL if out of range. */
TH_EXTERN const char *th_sort_name(int sort);
TH_EXTERN int th_sort_parse(const char *name);

/* Status filter: a bit mask of (1 << th_status). */
#define TH_STATUS_BIT(s) (1u << (s))
/* Every status the public may see. */
#define TH_STATUS_PUBLIC                                                     \
  (TH_STATUS_BIT(TH_PUBLISHED) | TH_STATUS_BIT(TH_UNDER_REVIEW) |            \
   TH_STATUS_BIT(TH_ACCEPTED) | TH_STATUS_BIT(TH_IN_PROGRESS) |              \
   TH_STATUS_BIT(TH_DONE) | TH_STATUS_BIT(TH_DECLINED))

/* Set size to sizeof(th_idea_query) (TH_IDEA_QUERY_INIT: the first page of
 * the public's ideas, top first); members are only ever added at the end
 * ("Structs that grow", at the top). */
typedef struct th_idea_query {
  size_t size;              /* sizeof(th_idea_query), as the caller has it */
  const char *consultation; /* slug; NULL: every consultation of the site */
  int sort;                 /* th_sort */
  uint64_t seed;            /* TH_SORT_RANDOM only */
  unsigned statuses;        /* mask; 0: TH_STATUS_PUBLIC */
  const char *ward;         /* NULL: any */
  const char *category;     /* NULL: any */
  th_time created_from;     /* 0: no lower bound (inclusive) */
  th_time created_to;       /* 0: no upper bound (exclusive) */
  int limit;                /* 1..100; 0: 20 */
  /* An opaque cursor from a previous page (its next_cursor) of the same
   * query, or NULL for the first page. TH_EINVAL if it is malformed or
   * belongs to another sort or seed. */
  const char *cursor;
} th_idea_query;
#define TH_IDEA_QUERY_INIT {.size = sizeof(th_idea_query)}

typedef struct th_idea_page {
  size_t count;
  th_idea *items;
  char *next_cursor; /* NULL on the last page */
} th_idea_page;

/* A page of a site's ideas. Free with th_idea_page_free. Unchecked: any
 * statuses are listed; for a person, use th_idea_list_as. */
TH_EXTERN int th_idea_list(th_db *db, const char *site_slug,
                           const th_idea_query *q, th_idea_page **out);
/* As th_idea_list, for `staff` (NULL: the public): statuses the public may
 * not see (anything outside TH_STATUS_PUBLIC) are listed only for a staff
 * member of any role; for NULL they are TH_EPERM, never silently dropped.
 * TH_EPERM also for another site's token; TH_EAUTH once its token has
 * expired. */
TH_EXTERN int th_idea_list_as(th_db *db, const th_staff *staff,
                              const char *site_slug, const th_idea_query *q,
                              th_idea_page **out);
TH_EXTERN void th_idea_page_free(th_idea_page *page);

/* A councillor or an admin (`staff`) sets a visible idea's status and, if
 * `response` is not NULL, its official response (an empty string clears
 * it). The response is published: it is stored scrubbed (th_redact),
 * keeping the site's contacts (th_site), so a resident's address pasted
 * into it is not published and the council's own switchboard is. Allowed
 * from and to published, under_review, accepted, in_progress, done and
 * declined. Audited under th_staff_actor(staff). TH_RECORDED,
 * TH_DUPLICATE, TH_ENOTFOUND, TH_ESTATE, TH_EINVAL, TH_ETOOLONG (response
 * over 5000 characters), TH_EUTF8; TH_EPERM, checked first, for NULL, a
 * moderator, or another site's token; TH_EAUTH once its token has
 * expired. */
TH_EXTERN int th_idea_set_status_as(th_db *db, const th_staff *staff,
                                    const char *site_slug, int64_t id,
                                    int status, const char *response);
/* Deprecated since 0.2.0: use th_idea_set_status_as. The same, audited
 * under `actor`, with no role checked: whoever calls it may. */
TH_EXTERN int th_idea_set_status(th_db *db, const char *site_slug,
                                 th_actor actor, int64_t id, int status,
                                 const char *response);

typedef enum th_moderation {
  TH_MOD_PUBLISH = 0, /* pending or hidden -> published */
  TH_MOD_HIDE = 1,    /* any visible status -> hidden */
  TH_MOD_REJECT = 2,  /* pending -> hidden */
  TH_MOD_MERGE = 3    /* -> merged into another idea of the consultation */
} th_moderation;
TH_EXTERN const char *th_moderation_name(int action);
TH_EXTERN int th_moderation_parse(const char *name);

/* A moderator's or an admin's (`staff`) action on an idea, with a reason
 * for the audit log (required, 1..500 characters; stored scrubbed as a
 * response is). For TH_MOD_MERGE, `into` names the target, a visible idea
 * of the same consultation: the source's votes move to it, except where
 * the same voter voted on both, where the target's vote stands. Audited
 * under th_staff_actor(staff). TH_RECORDED, TH_DUPLICATE (already in that
 * state), TH_ENOTFOUND, TH_ESTATE, TH_EINVAL; TH_EPERM, checked first,
 * for NULL, a councillor, or another site's token; TH_EAUTH once its
 * token has expired. */
TH_EXTERN int th_idea_moderate_as(th_db *db, const th_staff *staff,
                                  const char *site_slug, int64_t id,
                                  int action, int64_t into,
                                  const char *reason);
/* Deprecated since 0.2.0: use th_idea_moderate_as. The same, audited
 * under `actor`, with no role checked: whoever calls it may. */
TH_EXTERN int th_idea_moderate(th_db *db, const char *site_slug,
                               th_actor actor, int64_t id, int action,
                               int64_t into, const char *reason);

/* The author withdraws their own idea (pending, published or under review).
 * TH_RECORDED, TH_DUPLICATE (already withdrawn), TH_EPERM (not the
 * author), TH_ENOTFOUND, TH_ESTATE. */
TH_EXTERN int th_idea_withdraw(th_db *db, const char *site_slug,
                               const th_who *who, int64_t id);

/* ---------------------------------------------------------------------------
 * Votes
 */
typedef struct th_counts {
  int64_t up, down, anon_up, anon_down;
  int my_vote; /* the voter's vote now: 1, -1 or 0 */
} th_counts;

/* Votes +1 (up), -1 (down) or 0 (withdraw) on an idea as `who`: one vote per
 * resident (or device, on anonymous sites) per idea; changing a vote adjusts
 * the counts and ranking keys in the same transaction. `out` (may be NULL)
 * gets the idea's counts after the vote. TH_RECORDED, TH_DUPLICATE (the vote
 * was already that), TH_ENOTFOUND, TH_ECLOSED (consultation not open),
 * TH_ESTATE (idea not open for votes), TH_EPERM (anonymous, not allowed),
 * TH_EINVAL (value), TH_EKEY. */
TH_EXTERN int th_vote(th_db *db, const char *site_slug, const th_who *who,
                      int64_t idea_id, int value, th_counts *out);

/* The votes `who` has cast on the ideas ids[0..n): out[i] gets 1, -1 or 0
 * (no vote, or no such idea on the site, or a consultation whose key was
 * destroyed). Reads only: never records a participant. `ids` and `out` are
 * the caller's (n elements each). TH_OK, TH_ENOTFOUND (no such site),
 * TH_EINVAL (NULL arguments, or `who` neither a resident nor a device),
 * TH_EKEY, TH_EDB. Any thread, under the handle's rule. */
TH_EXTERN int th_vote_mine(th_db *db, const char *site_slug, const th_who *who,
                           const int64_t *ids, size_t n, int *out);

/* The votes cast on an idea each day: a row per day on which anything
 * changed, with the totals at the end of that day. Free with
 * th_vote_history_free. */
typedef struct th_vote_day {
  th_time day; /* midnight UTC */
  int64_t up, down;
} th_vote_day;
typedef struct th_vote_history {
  size_t count;
  th_vote_day *days;
} th_vote_history;
/* Unchecked: any idea's history; for a person, use th_vote_history_get_as. */
TH_EXTERN int th_vote_history_get(th_db *db, const char *site_slug,
                                  int64_t idea_id, th_vote_history **out);
/* As th_vote_history_get, for an idea `staff` may see (th_idea_get_as:
 * NULL, the public, gets TH_ENOTFOUND for an idea it may not see). */
TH_EXTERN int th_vote_history_get_as(th_db *db, const th_staff *staff,
                                     const char *site_slug, int64_t idea_id,
                                     th_vote_history **out);
TH_EXTERN void th_vote_history_free(th_vote_history *h);

/* ---------------------------------------------------------------------------
 * Page feedback
 */
/* Set size to sizeof(th_feedback) (TH_FEEDBACK_INIT); members are only
 * ever added at the end ("Structs that grow", at the top). */
typedef struct th_feedback {
  size_t size;         /* sizeof(th_feedback), as the caller's header has it */
  const char *page;    /* absolute http(s) URL of the page rated */
  int useful;          /* 1 yes, 0 no (th_feedback_amend: -1 keeps it) */
  int rating;          /* 1..5, or 0 for none (th_feedback_amend: 0 keeps it) */
  const char *comment; /* 0..2000 characters, scrubbed; may be NULL */
} th_feedback;
#define TH_FEEDBACK_INIT {.size = sizeof(th_feedback)}

/* An answer handle: the capability through which, and only through which,
 * the answer it was returned for can be amended the same day (UTC). 22
 * base64url characters and a NUL. The database keeps only a keyed hash of
 * its secret half: a handle that is lost cannot be recovered, and one
 * that leaks lets its holder amend that one answer until midnight. */
#define TH_HANDLE_SIZE 24

/*
 * Records one resident's answer on a page: every call that succeeds is an
 * answer of its own (no two people's answers are ever merged), unless it
 * is a retry of an earlier call (below). The URL is normalised
 * (th_url_normalize) and must be on one of the site's origins, if it has
 * any; its path and kept query values are scrubbed like the comment
 * (th_redact), the placeholder percent-encoded ("/users/%5Bemail%5D"),
 * and any run of eight or more digits becomes "%5Bnumber%5D" (an account
 * or case number); lookups by page (th_feedback_summary, ...) scrub the same way.
 *
 * `who` is the device (who->ip, who->user_agent; who->resident is ignored:
 * feedback is anonymous), used only to tell a retry from a stranger; it may
 * be NULL (an importer). `idempotency_key` (may be NULL: no retry is ever
 * folded) is what the caller made for this one answer, 1..255 printable
 * ASCII characters: a call with the same key, the same device and the same
 * page, answer, rating and comment the same day is the same answer again,
 * and returns TH_DUPLICATE with the first call's handle; the same key from
 * another device is another answer (a key may be shared by a cached page);
 * the same key and device with a different answer is TH_ECONFLICT.
 *
 * `handle_out` (may be NULL) gets the answer's handle (TH_HANDLE_SIZE
 * bytes, NUL-terminated). TH_RECORDED, TH_DUPLICATE; TH_ENOTFOUND (site),
 * TH_EINVAL, TH_ERANGE (rating), TH_ETOOLONG, TH_EUTF8, TH_ECONFLICT,
 * TH_EIO (the day's salt cannot be kept). Any thread, under the handle's
 * rule.
 */
TH_EXTERN int th_feedback_answer(th_db *db, const char *site_slug,
                                 const th_who *who, const th_feedback *fb,
                                 const char *idempotency_key,
                                 char *handle_out);

/*
 * Amends the answer `handle` names, on the day it was given: `change`'s
 * useful (-1 keeps it), rating (0 keeps it) and comment (NULL, or white
 * space only, keeps it) replace the answer's, and the page's counters move
 * exactly. change->page may be NULL; when it is given it must be the
 * answer's page. TH_RECORDED, TH_DUPLICATE (nothing changed);
 * TH_ENOTFOUND for a handle that is malformed, unknown, of another site or
 * page, or of an earlier day (one answer for all, so a guesser learns
 * nothing); TH_EINVAL, TH_ERANGE, TH_ETOOLONG, TH_EUTF8.
 */
TH_EXTERN int th_feedback_amend(th_db *db, const char *site_slug,
                                const char *handle, const th_feedback *change);

/* Deprecated since 0.2.0: th_feedback_answer without a key or a handle.
 * Every call records a new answer. */
TH_EXTERN int th_feedback_record(th_db *db, const char *site_slug,
                                 const th_who *who, const th_feedback *fb);

/* A figure the public may not see: see th_feedback_summary_public. */
#define TH_WITHHELD (-1)

typedef struct th_page_summary {
  char *page; /* normalised URL */
  int64_t yes, no;
  int64_t responses;  /* yes + no */
  int64_t ratings[5]; /* ratings[0] counts 1-star ratings ... */
  int64_t rating_count;
  double rating_mean;   /* 0 when rating_count is 0 */
  double useful_lower;  /* Wilson lower bound (95%) of yes/(yes+no) */
  int64_t comments;
  /* Exact counters: the first and last days with feedback. Published
   * figures: the first day of the first week and the last day of the last
   * week they cover. */
  th_time first, last;
  /* 1: the exact counters (staff); 0: published figures, where any count
   * or figure may be TH_WITHHELD. */
  int exact;
} th_page_summary;

/* The exact counters of one page (the URL is normalised first), for staff.
 * Read from counters kept at write time. Free with th_page_summary_free.
 * TH_ENOTFOUND if the page has no feedback. Unchecked: for a person, use
 * th_feedback_summary_as. */
TH_EXTERN int th_feedback_summary(th_db *db, const char *site_slug,
                                  const char *page, th_page_summary **out);
/* A page's figures as `staff` may see them: the exact counters
 * (th_feedback_summary) for a staff member of any role; for NULL, the
 * public, the published figures (th_feedback_summary_public; exact is 0).
 * TH_EPERM for another site's token; TH_EAUTH once its token has
 * expired. */
TH_EXTERN int th_feedback_summary_as(th_db *db, const th_staff *staff,
                                     const char *site_slug, const char *page,
                                     th_page_summary **out);

/*
 * What anyone may be shown of a page, under the site's disclosure rules
 * (docs/privacy.md, "What is published"), the same as open data:
 *
 *  - only answers given before the current ISO week (Monday, UTC): the
 *    figures change once a week, so two looks a day apart cannot be
 *    subtracted to isolate a day's answers;
 *  - a count from 1 to open_min - 1 is TH_WITHHELD; other counts are
 *    rounded to a multiple of open_round (0 stays 0);
 *  - every other figure is computed from the published counts alone, and
 *    is TH_WITHHELD (a negative double, for rating_mean and useful_lower)
 *    when any count it would be computed from is withheld: responses and
 *    useful_lower from yes and no, rating_count and rating_mean from the
 *    five ratings. Comments are never counted in public (the retention
 *    purge removes them, and a count that drops would show how many went):
 *    comments is TH_WITHHELD.
 *
 * TH_ENOTFOUND if the page has no feedback before this week (the same
 * answer as for a page with none at all). Free with th_page_summary_free.
 */
TH_EXTERN int th_feedback_summary_public(th_db *db, const char *site_slug,
                                         const char *page,
                                         th_page_summary **out);
TH_EXTERN void th_page_summary_free(th_page_summary *s);

typedef struct th_page_list {
  size_t count;
  th_page_summary *items;
  char *next_cursor; /* NULL on the last page */
} th_page_list;
/* A site's pages, worst first (lowest useful_lower, then most "no"
 * answers). limit 1..100 (0: 20); cursor from a previous page or NULL. Free
 * with th_page_list_free. Unchecked: for a person, use
 * th_feedback_pages_as. */
TH_EXTERN int th_feedback_pages(th_db *db, const char *site_slug, int limit,
                                const char *cursor, th_page_list **out);
/* As th_feedback_pages, for a staff member of any role: TH_EPERM for NULL
 * (the public sees published figures only, page by page) or another
 * site's token; TH_EAUTH once its token has expired. */
TH_EXTERN int th_feedback_pages_as(th_db *db, const th_staff *staff,
                                   const char *site_slug, int limit,
                                   const char *cursor, th_page_list **out);
TH_EXTERN void th_page_list_free(th_page_list *list);

typedef struct th_comment {
  th_time day;
  int useful;
  int rating; /* 0: none */
  const char *text;
} th_comment;
typedef struct th_comment_list {
  size_t count;
  th_comment *items;
} th_comment_list;
/* The newest comments on a page (at most limit, 1..500; 0: 50). Free with
 * th_comment_list_free. Unchecked: for a person, use
 * th_feedback_comments_as. */
TH_EXTERN int th_feedback_comments(th_db *db, const char *site_slug,
                                   const char *page, int limit,
                                   th_comment_list **out);
/* As th_feedback_comments, for a staff member of any role: TH_EPERM for
 * NULL or another site's token; TH_EAUTH once its token has expired. */
TH_EXTERN int th_feedback_comments_as(th_db *db, const th_staff *staff,
                                      const char *site_slug, const char *page,
                                      int limit, th_comment_list **out);
TH_EXTERN void th_comment_list_free(th_comment_list *list);

/* ---------------------------------------------------------------------------
 * Open data (Open Government Licence v3.0): the files the server publishes
 * at /v1/sites/{site}/open/feedback.csv and ideas.csv, byte for byte, under
 * the site's disclosure rules (docs/privacy.md, "Open data"): counts from 1
 * to open_min - 1 written "*", the others rounded to a multiple of
 * open_round; no total beside a withheld part; complete ISO weeks (Monday
 * to Sunday, UTC) only, never the week in progress. CSV as spreadsheets
 * read it: UTF-8 with a byte-order mark, CRLF line ends, text cells
 * neutralised against formula injection.
 */

/* Which file to build. Made by th_open_data_options_init (or filled with
 * .size = sizeof(th_open_data_options)): later versions only add fields at
 * the end, which a zero leaves at their default, and a library older than
 * the caller's header refuses (TH_EINVAL) a field it does not know that is
 * set, rather than ignore it. Every field is 8 bytes wide (int64_t, a
 * pointer, size_t), so the struct has no padding a newer field could fall
 * into unseen. The caller owns the struct and its strings; nothing is kept
 * after the call. */
typedef struct th_open_data_options {
  size_t size; /* sizeof(th_open_data_options), as the caller knows it */
  /* feedback.csv's first week: the ISO week holding this day,
   * "YYYY-MM-DD" (the server's ?from=); NULL: `weeks` weeks before the
   * week in progress. */
  const char *from;
  /* feedback.csv's number of weeks, 1 to 104, never past the last
   * complete week; 0: 52 weeks when from is NULL, else every complete week
   * from `from`, at most 104. */
  int64_t weeks;
} th_open_data_options;

#define TH_OPEN_DATA_OPTIONS_INIT {.size = sizeof(th_open_data_options)}

/* Sets every option to its default and opt->size. Any thread. */
TH_EXTERN void th_open_data_options_init(th_open_data_options *opt);

/*
 * feedback.csv for the site `site_slug`: one row per page and ISO week in
 * the window where a published running total moved. opt may be NULL (the
 * defaults). *csv gets the file (NUL-terminated; free with th_free) and
 * *len (may be NULL) its length in bytes; on failure *csv is NULL.
 * TH_OK; TH_ENOTFOUND (no such site); TH_EINVAL (site_slug or csv NULL,
 * from not a date such as 2026-01-05, options not made by
 * th_open_data_options_init or setting a field this version does not
 * know); TH_ERANGE (weeks not 0 to 104); TH_ENOMEM; a database error. A
 * window with no complete week gives the header row alone. Reads only, so
 * a handle opened TH_OPEN_READONLY will do; on a large site it reads every
 * answer of the window (seconds): any thread, on a handle it owns.
 */
TH_EXTERN int th_open_data_feedback(th_db *db, const char *site_slug,
                                    const th_open_data_options *opt,
                                    char **csv, size_t *len);

/*
 * ideas.csv for the site `site_slug`: every idea of a public status created
 * before the week in progress, with its votes as they stood at the end of
 * the last complete week and the council's response. opt may be NULL;
 * ideas.csv has no window, so from and weeks must be unset (TH_EINVAL).
 * *csv, *len and the errors as th_open_data_feedback's. Any thread, on a
 * handle it owns.
 */
TH_EXTERN int th_open_data_ideas(th_db *db, const char *site_slug,
                                 const th_open_data_options *opt, char **csv,
                                 size_t *len);

/* ---------------------------------------------------------------------------
 * Residents' rights (UK GDPR articles 15 and 17)
 */
/* Everything held about a resident on a site, as a JSON document (votes and
 * ideas per consultation; consultations whose key was destroyed hold nothing
 * that can be linked to them). *json_out is freed with th_free. TH_EINVAL
 * for a resident id th_who refuses (white space around it, a control
 * character), as th_resident_erase. */
TH_EXTERN int th_resident_export(th_db *db, const char *site_slug,
                                 const char *resident, char **json_out);
/* Erases a resident: their votes are withdrawn (counts adjusted) and their
 * ideas kept but detached from them. *erased (may be NULL) gets the number
 * of votes and ideas affected. TH_RECORDED, or TH_DUPLICATE if nothing was
 * held. */
TH_EXTERN int th_resident_erase(th_db *db, const char *site_slug,
                                const char *resident, int64_t *erased);

/* ---------------------------------------------------------------------------
 * Retention
 */
/* The caller sets size to sizeof(th_purge_report) (TH_PURGE_REPORT_INIT)
 * and the library fills in the members that size covers; members are only
 * ever added at the end ("Structs that grow", at the top). */
typedef struct th_purge_report {
  size_t size;          /* sizeof(th_purge_report), as the caller has it */
  int64_t comments;     /* feedback comments removed */
  int64_t audit;        /* audit entries removed */
  int64_t keys;         /* consultation keys destroyed */
  /* day-old answers' selectors, verifiers and device tokens cleared */
  int64_t dedup_tokens;
  int64_t salts;        /* daily salts destroyed */
} th_purge_report;
#define TH_PURGE_REPORT_INIT {.size = sizeof(th_purge_report)}
/* Applies every site's retention settings as of th_now(db), destroys daily
 * salts older than 48 h, then checkpoints the WAL so removed data leaves it
 * too. `report` may be NULL. Safe to run at any time (the server runs it
 * daily). TH_OK; TH_EINVAL, before anything is purged, if `report` has a
 * size townhall.h never gave it. */
TH_EXTERN int th_purge(th_db *db, th_purge_report *report);

/* ---------------------------------------------------------------------------
 * The key file
 */
/* The caller sets size to sizeof(th_key_rotation) (TH_KEY_ROTATION_INIT)
 * and the library fills in the members that size covers; members are only
 * ever added at the end ("Structs that grow", at the top). */
typedef struct th_key_rotation {
  size_t size;               /* sizeof(th_key_rotation), as the caller has it */
  int64_t site_secrets;      /* site secrets re-sealed */
  int64_t consultation_keys; /* consultation keys re-sealed */
  int64_t tokens_revoked;    /* staff tokens revoked */
} th_key_rotation;
#define TH_KEY_ROTATION_INIT {.size = sizeof(th_key_rotation)}
/*
 * Rotates the master key: creates the new key file `new_key_file` (32
 * random bytes, mode 0600, created exclusively and synced with its
 * directory) and, in one transaction, re-seals every site secret and every
 * consultation key still held under it. Pseudonyms do not change (they are
 * keyed with the consultation keys, which are random). Staff token hashes
 * cannot be recomputed without the tokens, so every staff token is revoked
 * in the same transaction: create new ones afterwards. Each site's audit
 * log records the rotation under `actor`. After the commit the WAL is
 * checkpointed and truncated, so values sealed under the old key remain
 * only in backups, and the handle uses the new key from then on (with
 * the day's anonymous-rating salts starting afresh on this handle, in memory
 * only).
 *
 * Runs only while nothing else has the database open, a running server
 * included: it takes SQLite's exclusive lock on the file (waiting at most
 * the handle's busy timeout) and releases it before returning, on every
 * path (when refused, by reopening the handle's connection; should that
 * reopening fail, TH_ESTATE says so and the handle can only be closed). When
 * `backup_dest` is not NULL, a backup (as th_backup) is written there under
 * that lock first, so it holds exactly what was rotated.
 *
 * Nothing changes unless it returns TH_OK: on failure the transaction is
 * rolled back and the new key file and the backup are removed. `report` (may be NULL) gets what
 * was done. The caller then installs the new key file in place of the old
 * one (or opens the database with it), and keeps the old key file exactly
 * as long as the backups made under it (docs/operations.md).
 *
 * TH_OK; TH_EBUSY (the database is open elsewhere); TH_EEXIST
 * (new_key_file or backup_dest exists); TH_EKEY (the new key file cannot be
 * created, or a stored secret does not open under the current key file);
 * TH_EINVAL (no new_key_file, or a `report` whose size townhall.h never
 * gave it: checked first); TH_ESTATE (a read-only handle, or a batch is
 * open); TH_EIO, TH_EFULL, TH_ENOMEM. Call it from the thread that uses the
 * handle.
 */
TH_EXTERN int th_key_rotate(th_db *db, th_actor actor, const char *new_key_file,
                            const char *backup_dest, th_key_rotation *report);

/* ---------------------------------------------------------------------------
 * Audit log
 */
typedef struct th_audit_entry {
  int64_t id;
  th_time at;
  const char *actor;
  const char *action; /* "status", "moderate:hide", "site:update", ... */
  int64_t idea_id;    /* 0 if none */
  const char *detail;
} th_audit_entry;
typedef struct th_audit_list {
  size_t count;
  th_audit_entry *items;
} th_audit_list;
/* The newest entries of a site, at most limit (1..1000; 0: 100), older than
 * before_id when it is not 0. Free with th_audit_list_free. Unchecked:
 * for a person, use th_audit_list_get_as. */
TH_EXTERN int th_audit_list_get(th_db *db, const char *site_slug,
                                int64_t before_id, int limit,
                                th_audit_list **out);
/* As th_audit_list_get, for an admin: TH_EPERM for NULL, a moderator, a
 * councillor, or another site's token; TH_EAUTH once its token has
 * expired. */
TH_EXTERN int th_audit_list_get_as(th_db *db, const th_staff *staff,
                                   const char *site_slug, int64_t before_id,
                                   int limit, th_audit_list **out);
TH_EXTERN void th_audit_list_free(th_audit_list *list);

/* ---------------------------------------------------------------------------
 * Staff API tokens. A token ("th_<id>_<secret>") is returned once, when it
 * is created; the database keeps only a keyed hash of it.
 */
typedef enum th_role {
  TH_ROLE_MODERATOR = 1,  /* publishes, hides, rejects and merges ideas */
  TH_ROLE_COUNCILLOR = 2, /* sets statuses and official responses */
  TH_ROLE_ADMIN = 3       /* everything, including the audit log */
} th_role;
/* "moderator", "councillor", "admin"; NULL if out of range. */
TH_EXTERN const char *th_role_name(int role);
TH_EXTERN int th_role_parse(const char *name);

/* Creates a token for one site (site_slug) or every site (NULL), valid
 * until `expires` (0: 90 days from now; at most 2 years ahead). *token_out
 * (freed with th_free) is the only copy of the token. TH_RECORDED,
 * TH_ENOTFOUND (site), TH_EINVAL (role, label 1..80 characters, expiry in
 * the past). */
TH_EXTERN int th_token_create(th_db *db, th_actor actor, const char *site_slug,
                              int role, const char *label, th_time expires,
                              char **token_out, int64_t *id_out);
/* TH_RECORDED, TH_DUPLICATE (already revoked), TH_ENOTFOUND. */
TH_EXTERN int th_token_revoke(th_db *db, th_actor actor, int64_t id);

typedef struct th_token_info {
  int64_t id;
  const char *site; /* "" for every site */
  int role;         /* th_role */
  const char *label;
  th_time created, expires;
  int revoked;
} th_token_info;
/* Checks a presented token for a site (NULL: any) in constant time. *out
 * (may be NULL; free with th_token_info_free) describes it. TH_OK;
 * TH_EAUTH if it is malformed, unknown, wrong, revoked or expired (one
 * message for all, so a guesser learns nothing); TH_EPERM if it is valid
 * but for another site. */
TH_EXTERN int th_token_check(th_db *db, const char *token,
                             const char *site_slug, th_token_info **out);
TH_EXTERN void th_token_info_free(th_token_info *info);

/*
 * The staff member a token proves: the only way to obtain a th_staff, so
 * that a role is never taken on a caller's word. Checks `token` for the
 * site `site_slug` (NULL: any site) exactly as th_token_check does, with
 * the same errors: TH_OK and *out (the caller's; free with
 * th_staff_free); TH_EAUTH (malformed, unknown, wrong, revoked or
 * expired: one message for all); TH_EPERM (valid, but for another site);
 * TH_EINVAL (out is NULL); TH_ENOMEM. *out is NULL on failure.
 *
 * A th_staff is what the token was when checked: its role, its site, its
 * label. The *_as functions refuse it with TH_EAUTH once the token has
 * expired, but do not see a later revocation: make one for each request
 * or session, not one for the life of the process. It never changes, so
 * any thread may read it, several at once; it does not belong to the
 * handle it was made with, and may be used with another handle on the
 * same database.
 *
 * The role check of the *_as functions is for consistency: every caller,
 * HTTP or in-process, gets the same answer for the same staff member. It
 * is not a security boundary against the process itself, which holds the
 * key file and the database and could call the unchecked functions, or
 * write the file (docs/SECURITY.md).
 */
TH_EXTERN int th_staff_from_token(th_db *db, const char *token,
                                  const char *site_slug, th_staff **out);
TH_EXTERN void th_staff_free(th_staff *staff);
/* The staff member's th_role; TH_EINVAL for NULL. */
TH_EXTERN int th_staff_role(const th_staff *staff);
/* The id of the token that proved it; 0 for NULL. */
TH_EXTERN int64_t th_staff_token_id(const th_staff *staff);
/* The token's label, its site's slug ("" for a token for every site),
 * and the name the audit log gives the staff member's actions ("token 7
 * (Jo Bloggs, parks)"). Owned by `staff`; NULL for NULL. */
TH_EXTERN const char *th_staff_label(const th_staff *staff);
TH_EXTERN const char *th_staff_site(const th_staff *staff);
TH_EXTERN const char *th_staff_actor(const th_staff *staff);

typedef struct th_token_list {
  size_t count;
  th_token_info *items;
} th_token_list;
/* Every token, newest first (never the secrets). */
TH_EXTERN int th_token_list_all(th_db *db, th_token_list **out);
TH_EXTERN void th_token_list_free(th_token_list *list);

/* ---------------------------------------------------------------------------
 * The HTTP server: townhall's JSON API, widgets and dashboard on a libuv
 * loop, embeddable beside a host application's own handles.
 *
 * Threads: th_server_new, th_server_listen and th_server_close must be
 * called on the thread that runs `loop`. The server adds, besides the
 * handles it keeps on `loop`: one writer thread (the only read-write
 * connection; group commit), and `extra_loops` threads each running a loop
 * of its own that shares the listening port (SO_REUSEPORT).
 */
typedef struct th_server th_server;

/* Set size to sizeof(th_server_config) (TH_SERVER_CONFIG_INIT: every
 * setting at its default); members are only ever added at the end
 * ("Structs that grow", at the top). */
typedef struct th_server_config {
  size_t size; /* sizeof(th_server_config), as the caller's header has it */
  const char *host; /* address to listen on; NULL: "127.0.0.1" */
  int port;         /* 0: 8080; -1: any free port (see th_server_port) */
  /* Space-separated addresses or CIDR blocks of reverse proxies whose
   * X-Forwarded-For is believed ("127.0.0.1 10.0.0.0/8"). NULL: none. */
  const char *trusted_proxies;
  /* Limits; 0 means the default given. */
  unsigned max_header_bytes;  /* 16384 -> 431 */
  unsigned max_body_bytes;    /* 65536 -> 413 */
  unsigned max_headers;       /* 64 -> 431 */
  unsigned max_connections;   /* 10000 per loop -> 503 with Retry-After */
  unsigned max_pipelined;     /* 16 requests queued per connection */
  unsigned max_requests;      /* 1000 requests per keep-alive connection */
  /* Timeouts, in milliseconds; 0 means the default given. */
  unsigned header_timeout_ms; /* 10000, from a request's first byte */
  unsigned body_timeout_ms;   /* 5000, between body reads */
  /* And on average: a body has body_timeout_ms, plus a second for every
   * this many bytes that arrived, to come in whole (a client that trickles
   * a byte every few seconds is cut off). 0: 500 bytes/s. */
  unsigned body_min_rate;
  unsigned idle_timeout_ms;   /* 5000, between keep-alive requests */
  unsigned write_timeout_ms;  /* 10000, for a response to drain */
  unsigned extra_loops;       /* more loops, on threads of their own */
  unsigned batch_max;         /* writes per transaction, at most: 1024 */
  /* Anonymous writes allowed per client address prefix (/32, /64) per
   * minute, with a burst of the same size; 0: 30. And staff-token
   * failures per prefix per minute before 429; 0: 10. */
  unsigned rate_per_minute;
  unsigned auth_failures_per_minute;
  /* Seconds a form must have been on screen before a post is believed;
   * 0: 2; -1 disables the check. */
  int min_form_seconds;
  /* Structured log sink: one JSON object per line, never holding an
   * address, a user agent or a resident id. NULL: standard error. */
  void (*log)(void *log_data, const char *line);
  void *log_data;
  int log_level; /* 1 errors, 2 warnings, 3 info, 4 debug; 0: info */
  /* Run the retention purge every this many seconds (0: daily; -1: never). */
  int purge_interval_s;
  /* Serve the demo council page at "/" and let it sign demo residents in
   * (townhall serve --demo). Never for production. */
  int demo;
  /* New page-feedback answers allowed per client address prefix per page
   * per hour, with a burst of the same size (docs/SECURITY.md, "Stuffing
   * page feedback"); 0: 10. */
  unsigned rate_per_page_hour;
} th_server_config;
#define TH_SERVER_CONFIG_INIT {.size = sizeof(th_server_config)}

/*
 * Creates a server for the database `db` was opened on (same file, key file,
 * clock and settings; the server opens connections of its own and never
 * uses `db` itself, which stays the caller's). `cfg` is copied; NULL means
 * every default. TH_OK and *out; TH_EINVAL (bad configuration, or a size
 * townhall.h never gave th_server_config: the message
 * from th_server_errmsg(NULL) is not available, so it goes to the log),
 * TH_ENOMEM, or any error of th_open.
 */
TH_EXTERN int th_server_new(th_server **out, th_db *db, uv_loop_t *loop,
                            const th_server_config *cfg);
/* Binds and listens (and starts the extra loops). TH_OK, or TH_EIO with
 * the reason in th_server_errmsg (address in use, permission). */
TH_EXTERN int th_server_listen(th_server *server);
/* The port actually bound (after th_server_listen). */
TH_EXTERN int th_server_port(th_server *server);
/* The last error's message. Owned by the server. */
TH_EXTERN const char *th_server_errmsg(th_server *server);

typedef void (*th_server_close_cb)(th_server *server, void *data);
/*
 * Stops gracefully and asynchronously: stops accepting, lets requests in
 * flight finish and their responses drain, commits every queued write,
 * stops the extra loops and the writer, closes every handle it opened on
 * `loop`, then calls `cb` (may be NULL) on the loop's thread and frees the
 * server. Never calls uv_stop: the host's loop goes on running the host's
 * own handles, and returns from uv_run once nothing else is active.
 * TH_OK; TH_ESTATE if already closing (cb will not be called twice).
 */
TH_EXTERN int th_server_close(th_server *server, th_server_close_cb cb,
                              void *data);

/* ---------------------------------------------------------------------------
 * Text utilities (any thread, no handle)
 */
/* Replaces personal details in UTF-8 text with placeholders: e-mail
 * addresses ("[email]"), UK phone numbers ("[phone]"), National Insurance
 * numbers ("[ni number]"), NHS numbers passing the mod-11 check ("[nhs
 * number]"), card numbers passing the Luhn check ("[card number]"), and UK
 * postcodes, which keep their outward code ("NW1 [postcode]"). Matching
 * reads the text as NFKC with format characters (zero-width space, joiners,
 * soft hyphen) removed, so "０７７００<ZWSP>900123" is a phone number; the
 * placeholders replace the matched spans of the original text, and the rest
 * comes out byte for byte (Bengali and Arabic keep their joiners), except
 * the bidirectional embedding, override and isolate controls (U+202A to
 * U+202E, U+2066 to U+2069), which are dropped. *out is a new string freed
 * with th_free. TH_OK, TH_EINVAL (NULL), TH_ENOMEM. */
TH_EXTERN int th_redact(const char *text, char **out);

/* Normalises a page URL as the library stores it: http(s) only, scheme and
 * host lower-cased, default port, user info and fragment dropped, query
 * parameters dropped except those named in keep_params (space-separated,
 * may be NULL), kept ones sorted; "/" for an empty path. *out is freed with
 * th_free. TH_OK, TH_EINVAL (not an absolute http(s) URL), TH_ETOOLONG
 * (over 2048 bytes). */
TH_EXTERN int th_url_normalize(const char *url, const char *keep_params,
                               char **out);

/* TH_OK if `text` is valid UTF-8 (no overlong forms, surrogates or code
 * points past U+10FFFF) of `len` bytes; TH_EUTF8 otherwise. */
TH_EXTERN int th_utf8_check(const char *text, size_t len);

#ifdef __cplusplus
}
#endif
#endif /* TOWNHALL_H */
