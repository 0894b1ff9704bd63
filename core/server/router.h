/*
 * router.h: what a handler gets and what it may use. Everything here runs
 * on a loop's thread (a handler never blocks: reads go to the loop's
 * read-only connection, writes to the writer thread as typed commands,
 * write.c), except where a declaration says otherwise.
 *
 *   router.c    the route table (routes.h) made into matching and dispatch
 *   respond.c   responses: JSON, problem+json, HTML, CORS
 *   request.c   decoding: query strings, bodies, forms, times
 *   auth.c      who is asking: staff tokens, residents' tokens, devices
 *   antispam.c  anonymous writes: form timestamps, bots, rate limits
 *   cache.c     the loop's cached answers and sites' rows (cache.h)
 *   write.c     writes through the writer: the part every command shares
 *   html.c      HTML pages and the strings of web/i18n
 *   handlers/   one file per resource, with its handlers (th__handle_<op>)
 *               and its write commands
 */
#ifndef TH_SERVER_ROUTER_H
#define TH_SERVER_ROUTER_H

#include "http.h"

/* ---- an operation (router.c: the table of routes.h) ----------------------- */
typedef struct th__ctx th__ctx;
typedef struct th__op {
  const char *id; /* operationId */
  int method;     /* llhttp_method_t */
  const char *path;
  unsigned creds; /* TH__C_* */
  unsigned roles; /* TH__ROLES_* */
  int body;       /* TH__BODY_* */
  unsigned flags; /* TH__DEMO */
  void (*handle)(th__ctx *x);
} th__op;
/* The table, in routes.h's order (index TH__OP_<name> - 1). Any thread. */
extern const th__op th__ops[];
extern const size_t th__nops;

/* ---- who is asking (auth.c) --------------------------------------------------- */
typedef struct th__auth {
  enum { TH__A_NONE, TH__A_RESIDENT, TH__A_STAFF, TH__A_DEVICE } kind;
  char sub[256];   /* a resident's token's subject: memory only */
  char ip[64];     /* a device's address and user agent: memory only, */
  char ua[512];    /* hashed with the site's salt by the domain */
  /* staff: the token's holder, as the domain's _as functions take it */
  th_staff staff;
} th__auth;

/* ---- what the router hands a handler ---------------------------------------- */
struct th__ctx {
  th__req *req;
  const th__op *op; /* the operation matched */
  const char *path;
  size_t path_len;
  const char *query_str;
  json_t *query; /* decoded query string: an object of strings */
  char site[64]; /* {site} */
  int64_t id;    /* {id} */
  /* Whether the loop's cached answers and sites were found current for
   * this request: 0 not asked yet, 1 yes, -1 the check failed. */
  signed char fresh;
  /* The site {site} names (NULL for the routes outside /v1/sites/{site}). */
  const th__site_row *row;
  /* For operations only staff may use: the staff token's holder, checked
   * by the router before the handler runs. */
  th__auth staff;
};

/* The handlers, one per line of routes.h (handlers/). */
#define TH__HANDLER_DECL(name, m, tmpl, creds, roles, body, flags)           \
  void th__handle_##name(th__ctx *x);
TH__OPS(TH__HANDLER_DECL)
#undef TH__HANDLER_DECL
/* The files of web/ outside the table: /NAME, /dashboard/, the demo page
 * (handlers/static.c). */
void th__handle_static(th__ctx *x);

/* ---- responses (respond.c) -------------------------------------------------- */
/* 405 with Allow: `allow`. */
void th__method_not_allowed(th__req *req, const char *allow);
/* Every HTML answer goes out through here (docs/SECURITY.md, "HTML
 * answers"), with `csp` (TH__*_CSP) ending in frame-ancestors: the origins
 * of `site` (whose pages may frame it), or 'none' for no site. */
void th__respond_html(th__req *req, int status, const char *csp,
                      const th__site_row *site, const char *extra,
                      const char *body, size_t len);
/* Every HTML page of townhall's own: nothing inline, nothing from
 * elsewhere (the dashboard, the demo page, any page of web/). */
#define TH__PAGE_CSP                                                         \
  "default-src 'none'; script-src 'self'; style-src 'self'; "                \
  "connect-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'"
/* The no-script form, whole or as a fragment, and the pages it leads to:
 * no script at all. */
#define TH__FORM_CSP                                                         \
  "default-src 'none'; style-src 'self'; form-action 'self'; base-uri 'none'"
/* A page that only says something. */
#define TH__MESSAGE_CSP                                                      \
  "default-src 'none'; style-src 'self'; base-uri 'none'; form-action 'none'"
/* A 303 to `location`. */
void th__see_other(th__req *req, const char *location);
/* Whether `origin` is the server's own (the request's Host). */
bool th__origin_same(const th__req *req, const char *origin, size_t len);
/* Sets req->cors: Vary: Origin, and Access-Control-Allow-Origin when the
 * request's Origin is one of `origins`. */
void th__cors(th__req *req, const char *origins);

/* ---- HTML pages (html.c) ------------------------------------------------------ */
/* The file `name` (n bytes) of web/, or NULL. */
const th__blob *th__asset_get(const char *name, size_t n);
void th__html_escape(th__sbuf *b, const char *s);
/* The strings of web/i18n/<tag>.json (English when there is none, or for
 * a missing key); lang_out gets the language used. The caller decrefs. */
json_t *th__strings(const char *tag, char lang_out[8]);
/* Appends the string `key` (escaped; the key itself when missing). */
void th__t(th__sbuf *b, json_t *strings, const char *key);
/* "rtl" or "ltr" for the strings' language. */
const char *th__dir(json_t *strings);
/* The request's Host as a base URL ("http://host"): false if missing or
 * unsafe. */
bool th__host(const th__req *req, char *out, size_t cap);

/* ---- decoding a request (request.c) ------------------------------------------- */
static inline th_db *th__reader(th__ctx *x) { return x->req->lp->reader; }
static inline th_server *th__srv(th__ctx *x) { return x->req->lp->srv; }
/* A query parameter, or NULL. */
const char *th__qs(th__ctx *x, const char *name);
/* A whole number from 0 to max: 1 when given (*out set), 0 absent, -1 when
 * given and not one ("abc", "-1", "1e3", "" are refused, never read as 0). */
int th__qs_whole(th__ctx *x, const char *name, uint64_t max, uint64_t *out);
/* format: 1 for csv, 0 absent, -1 anything else. */
int th__qs_csv(th__ctx *x);
/* ?limit: dflt when absent, -1 unless 1 to max. */
int th__limit(th__ctx *x, int dflt, int max);
/* A string member of a JSON body, or NULL. */
const char *th__str(json_t *body, const char *name);
char *th__dup_or_null(const char *s);
/* "2026-03-02", "2026-03-02T10:00:00Z" or milliseconds; -1 if none. */
th_time th__parse_time(const char *s);
/* Times as JSON: ISO 8601 ("...Z"), or the day ("2026-03-02"); null for a
 * time that has none. */
json_t *th__iso(th_time ms);
json_t *th__iso_day(th_time ms);
/* The request's body as the operation reads it (x->op->body): a JSON
 * object, or a form's fields as an object of strings (*is_form set). On
 * failure the problem has been sent (400, 415) and NULL is returned. */
json_t *th__body(th__ctx *x, bool *is_form);
/* The Idempotency-Key header (a structured-field string) into out; "" when
 * absent; false when malformed. */
bool th__idempotency_key(const th__req *req, char *out, size_t cap);
/* CSV downloads: the header row, and the finished file or the error that
 * stopped it (a download named "<site>-<what>.csv"). */
void th__csv_header(th__sbuf *b, const char *const *names, size_t n);
void th__csv_respond(th__ctx *x, th__sbuf *b, int rc, const char *what);
/* Exports stop after this many rows. */
#define TH__CSV_MAX_ROWS 10000

/* ---- who is asking (auth.c) ------------------------------------------------- */
/* The outcome of th__staff_gate. */
enum { TH__GATE_ANSWERED, TH__GATE_PUBLIC, TH__GATE_STAFF };
/* The one gate for staff tokens (docs/SECURITY.md, "Staff tokens"), for
 * x->site and x->op->roles. `required`: a request without a staff token is
 * refused (401); otherwise it passes as public unless it carries one.
 * TH__GATE_ANSWERED after answering (401, 403, 429). */
int th__staff_gate(th__ctx *x, bool required, th__auth *a);
/* A resident (Bearer JWT signed with the site's secret) or, where the site
 * allows it and `allow_device` and no token is given, a device. false
 * after answering. */
bool th__who(th__ctx *x, bool allow_device, th__auth *a);
/* The caller's device: its address and user agent (memory only). */
void th__device(th__ctx *x, th__auth *a);
/* The bearer token sent, or NULL; *len its length. */
const char *th__bearer(const th__req *req, size_t *len);
bool th__is_loopback(const char *ip);
/* Cross-site form posts only from the site's own origins (or a browser
 * that hides its origin); false after answering 403. */
bool th__origin_ok(th__ctx *x);

/* ---- anonymous writes (antispam.c) -------------------------------------------- */
/* A no-script form post's way back: the language of the pages it is shown,
 * and the page it came from when that is on one of the site's origins. */
typedef struct th__formret {
  bool form;
  char lang[16];
  char *back; /* normalised; owned (th__formret_free) */
} th__formret;
void th__formret_init(th__formret *f, const th__site_row *site,
                      const char *page, const char *lang);
void th__formret_free(th__formret *f);
/* Where a successful form post returns (the page, unless next=thanks), or
 * NULL (then the thank-you page answers it). The caller frees it. */
char *th__form_location(const th__formret *f, const char *next);
/* An error for a JSON client (problem+json), or for a person who posted a
 * form (a page in their language). */
void th__fail(th__req *req, const th__formret *f, int status,
              const char *title, const char *detail, const char *extra);
/* NULL if the submission looks human; otherwise the spam reason. */
const char *th__spam_reason(th__ctx *x, json_t *body, const char *text_a,
                            const char *text_b);
/* Rate limits of anonymous writes, per address prefix, and of new answers
 * on one page; false after answering 429. */
bool th__rate_ok(th__ctx *x, const th__auth *a, const th__formret *f);
bool th__page_rate_ok(th__ctx *x, const th__auth *a, const char *page,
                      const th__formret *f);
/* The 200 a bot gets: the shape of a duplicate, never "recorded". */
void th__discard(th__ctx *x, const char *reason, const th__formret *fr,
                 const char *location);

/* ---- writes (write.c) ----------------------------------------------------------- */
/* What every write command holds: the writer's command, the site, who
 * asked, and a form post's way back. A typed command (struct vote_cmd ...)
 * begins with one, in the file of its resource, with its run function
 * (writer thread) and its answer function (loop thread) beside it. */
typedef struct th__write th__write;
struct th__write {
  th__cmd cmd; /* first: cmd.run runs on the writer thread */
  char site[64];
  th__auth who;
  th__formret fr; /* form posts: where the resident goes back to */
  char *location; /* form posts: 303 target */
  /* Loop thread, after the commit, when it succeeded and the client is
   * there (and no 303 is due): answers the request. */
  void (*answer)(th__write *w, th__req *req);
  /* Frees what the typed command owns beyond this (may be NULL). */
  void (*fini)(th__write *w);
};
/* A zeroed command of `size` bytes for x's site and request; NULL when out
 * of memory (answered 500 then). */
th__write *th__write_new(th__ctx *x, size_t size,
                         void (*run)(th__cmd *cmd, th_db *w),
                         void (*answer)(th__write *w, th__req *req),
                         void (*fini)(th__write *w));
/* Sends it to the writer; it answers after the commit (or failure). */
void th__write_submit(th__ctx *x, th__write *w);
/* Frees a command not submitted. */
void th__write_free(th__write *w);
/* The domain's th_who for the command's asker. Writer thread. */
th_who th__write_who(th__write *w);
/* The usual answer: {"recorded": ...} plus `doc`'s members (taking doc,
 * which may be NULL), with `status`, or when it is 0: 201 when recorded,
 * else 200. */
void th__write_answer_json(th__write *w, th__req *req, json_t *doc,
                           int status);

/* ---- shared between handlers ----------------------------------------------------- */
/* An idea as JSON (handlers/ideas.c). */
json_t *th__idea_json(const th_idea *i);
/* A page's figures as JSON (handlers/feedback.c). */
json_t *th__summary_json(const th_page_summary *s);
/* The no-script form (handlers/form.c): a failed post's page with the
 * status (`back`: a page on the site's origins, or NULL); a recorded
 * post's thank-you page, with a follow-up form carrying `handle` when it
 * is not NULL. */
void th__form_failed(th__req *req, int status, const char *extra,
                     const char *lang_tag, const char *back);
void th__thanks_answer(th__req *req, const char *site, const char *lang_tag,
                       const char *back, const char *page,
                       const char *handle);
/* The form itself, for `slug` and the page `page`, posting to `base`
 * (handlers/form.c; the demo page includes it too). */
void th__form_html(th__sbuf *b, th__ctx *x, json_t *s, const char *lang,
                   const char *base, const char *slug, const char *page);

#endif
