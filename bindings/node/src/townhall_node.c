/*
 * townhall_node.c: the N-API addon under bindings/node (plain C, no
 * node-gyp). index.js is the public API; this file only moves values
 * between JavaScript and libtownhall.
 *
 * Every call on a database handle becomes an "op": its arguments are copied
 * on the JavaScript thread, the library call runs on libuv's thread pool
 * (napi_create_async_work), and the result is turned into JavaScript values
 * back on the JavaScript thread, where the op's promise settles. A th_db may
 * be used by one thread at a time, so each handle runs its ops one after
 * the other: an op is queued on the pool only when the previous one of the
 * same handle has completed. Different handles run in parallel.
 *
 * Errors: a library failure rejects the promise with a TownhallError (the
 * class index.js registers) carrying .code ("TH_ENOTFOUND"), .errno (-3)
 * and the library's message (th_errmsg, copied on the worker thread right
 * after the failing call, while the op still owns the handle). Wrong
 * argument types throw synchronously; index.js calls the addon from async
 * functions, where a throw becomes a rejection too.
 */
#define _GNU_SOURCE /* strdup; and <uv.h>, included by townhall.h, needs       \
                        POSIX types under -std=c11 */
#define NAPI_VERSION 8
#include <node_api.h>
#ifndef NODE_GYP_MODULE_NAME
#define NODE_GYP_MODULE_NAME townhall
#endif

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <townhall.h>

/* ---- handles and ops ----------------------------------------------------- */

typedef struct op op;

typedef struct handle {
  th_db *db;       /* touched only by the op that runs (or the finalizer) */
  op *head, *tail; /* ops waiting for the one in flight */
  bool busy;       /* an op of this handle is queued on the pool or running */
  bool closing;    /* close() was called: every later op is refused */
} handle;

struct op {
  handle *h;
  napi_deferred deferred;
  napi_async_work work;
  napi_ref keep;     /* keeps the handle's external alive while queued */
  int (*exec)(op *); /* pool thread */
  napi_value (*done)(napi_env, op *); /* JavaScript thread, on success */
  void (*cleanup)(op *);              /* JavaScript thread, always */
  bool no_db; /* open and close: runs whether or not a database is open */
  int rc;
  char *errmsg;
  /* Arguments: strings (owned; s[5..7] are who's, or a site's lists),
   * numbers, and
   * structures pointing into the strings. */
  char *s[9];
  int64_t n[6];
  uint64_t seed;
  th_who who;
  bool has_who;
  th_site site;
  th_consultation cons;
  th_idea_new idea_new;
  th_idea_query query;
  th_feedback fb;
  void *buf;
  size_t buf_len;
  /* Results. */
  void *res;
  int64_t out[2];
  size_t out_len;
  th_counts counts;
  th_purge_report purge;
  th_key_rotation rotation;
  /* The _as forms (a trailing staff argument, get_staff): the library's
   * checked function, for `staff` (NULL: the public), kept alive by
   * staff_keep while queued. */
  bool as;
  const th_staff *staff;
  napi_ref staff_keep;
  op *next;
};

/* Per environment (the main thread and each worker thread load the addon
 * separately): the TownhallError class index.js registers. */
typedef struct addon {
  napi_ref error_class;
} addon;

static void addon_free(napi_env env, void *data, void *hint) {
  (void)hint;
  addon *a = data;
  if (a->error_class)
    napi_delete_reference(env, a->error_class);
  free(a);
}

/* ---- errors -------------------------------------------------------------- */

static napi_value make_error(napi_env env, int code, const char *message) {
  napi_value msg, name, num, err = NULL;
  napi_create_string_utf8(env,
                          message && message[0] ? message : th_strerror(code),
                          NAPI_AUTO_LENGTH, &msg);
  napi_create_string_utf8(env, th_err_name(code), NAPI_AUTO_LENGTH, &name);
  napi_create_int32(env, code, &num);
  napi_value cls = NULL;
  addon *a = NULL;
  if (napi_get_instance_data(env, (void **)&a) == napi_ok && a &&
      a->error_class)
    napi_get_reference_value(env, a->error_class, &cls);
  if (cls) {
    napi_value argv[3] = {msg, name, num};
    if (napi_new_instance(env, cls, 3, argv, &err) == napi_ok)
      return err;
  }
  napi_create_error(env, name, msg, &err);
  napi_set_named_property(env, err, "errno", num);
  return err;
}

static void throw_error(napi_env env, int code, const char *message) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending)
    napi_throw(env, make_error(env, code, message));
}

static void throw_type(napi_env env, const char *message) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending)
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
}

/* ---- reading arguments --------------------------------------------------- */

static bool is_nullish(napi_env env, napi_value v) {
  napi_valuetype t;
  return v == NULL || napi_typeof(env, v, &t) != napi_ok || t == napi_null ||
         t == napi_undefined;
}

/* A JavaScript string as a new NUL-terminated UTF-8 string; NULL or
 * undefined as NULL when `optional`. */
static bool get_str(napi_env env, napi_value v, const char *what, bool optional,
                    char **out) {
  *out = NULL;
  if (is_nullish(env, v)) {
    if (optional)
      return true;
    char m[128];
    snprintf(m, sizeof m, "%s is required", what);
    throw_type(env, m);
    return false;
  }
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) {
    char m[128];
    snprintf(m, sizeof m, "%s must be a string", what);
    throw_type(env, m);
    return false;
  }
  char *s = malloc(len + 1);
  if (s == NULL) {
    throw_error(env, TH_ENOMEM, "out of memory");
    return false;
  }
  napi_get_value_string_utf8(env, v, s, len + 1, &len);
  if (strlen(s) != len) {
    free(s);
    char m[128];
    snprintf(m, sizeof m, "%s contains a NUL character", what);
    throw_error(env, TH_EINVAL, m);
    return false;
  }
  *out = s;
  return true;
}

static bool get_i64(napi_env env, napi_value v, const char *what, int64_t dflt,
                    int64_t *out) {
  *out = dflt;
  if (is_nullish(env, v))
    return true;
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t == napi_bigint) {
    bool lossless = false;
    if (napi_get_value_bigint_int64(env, v, out, &lossless) == napi_ok &&
        lossless)
      return true;
    char m[128];
    snprintf(m, sizeof m, "%s is out of range", what);
    throw_type(env, m);
    return false;
  }
  double d;
  if (t != napi_number || napi_get_value_double(env, v, &d) != napi_ok ||
      d != d || d < -9007199254740991.0 || d > 9007199254740991.0 ||
      d != (double)(int64_t)d) {
    char m[128];
    snprintf(m, sizeof m, "%s must be an integer", what);
    throw_type(env, m);
    return false;
  }
  *out = (int64_t)d;
  return true;
}

static bool get_int(napi_env env, napi_value v, const char *what, int dflt,
                    int *out) {
  int64_t x;
  if (!get_i64(env, v, what, dflt, &x))
    return false;
  if (x < INT32_MIN || x > INT32_MAX) {
    char m[128];
    snprintf(m, sizeof m, "%s is out of range", what);
    throw_error(env, TH_ERANGE, m);
    return false;
  }
  *out = (int)x;
  return true;
}

static bool get_bool(napi_env env, napi_value v, bool dflt, int *out) {
  *out = dflt;
  if (is_nullish(env, v))
    return true;
  bool b = false;
  napi_value coerced;
  napi_coerce_to_bool(env, v, &coerced);
  napi_get_value_bool(env, coerced, &b);
  *out = b;
  return true;
}

static napi_value prop(napi_env env, napi_value obj, const char *name) {
  napi_value v = NULL;
  if (is_nullish(env, obj))
    return NULL;
  if (napi_get_named_property(env, obj, name, &v) != napi_ok)
    return NULL;
  return v;
}

static bool get_obj(napi_env env, napi_value v, const char *what) {
  napi_valuetype t;
  if (v == NULL || napi_typeof(env, v, &t) != napi_ok || t != napi_object) {
    char m[128];
    snprintf(m, sizeof m, "%s must be an object", what);
    throw_type(env, m);
    return false;
  }
  return true;
}

/* ---- building results ---------------------------------------------------- */

static void set_str(napi_env env, napi_value o, const char *k, const char *v) {
  napi_value x;
  if (v == NULL)
    napi_get_null(env, &x);
  else
    napi_create_string_utf8(env, v, NAPI_AUTO_LENGTH, &x);
  napi_set_named_property(env, o, k, x);
}

static void set_i64(napi_env env, napi_value o, const char *k, int64_t v) {
  napi_value x;
  napi_create_int64(env, v, &x);
  napi_set_named_property(env, o, k, x);
}

static void set_f64(napi_env env, napi_value o, const char *k, double v) {
  napi_value x;
  napi_create_double(env, v, &x);
  napi_set_named_property(env, o, k, x);
}

static void set_bool(napi_env env, napi_value o, const char *k, bool v) {
  napi_value x;
  napi_get_boolean(env, v, &x);
  napi_set_named_property(env, o, k, x);
}

static napi_value obj(napi_env env) {
  napi_value o;
  napi_create_object(env, &o);
  return o;
}

static napi_value site_js(napi_env env, const th_site *s) {
  napi_value o = obj(env);
  set_i64(env, o, "id", s->id);
  set_str(env, o, "slug", s->slug);
  set_str(env, o, "name", s->name);
  set_str(env, o, "origins", s->origins ? s->origins : "");
  set_str(env, o, "keepParams", s->keep_params ? s->keep_params : "");
  set_bool(env, o, "moderateIdeas", s->moderate_ideas);
  set_bool(env, o, "allowAnonymous", s->allow_anonymous);
  set_bool(env, o, "rankAnonymous", s->rank_anonymous);
  set_i64(env, o, "commentDays", s->comment_days);
  set_i64(env, o, "auditDays", s->audit_days);
  set_i64(env, o, "keyDays", s->key_days);
  set_i64(env, o, "openMin", s->open_min);
  set_i64(env, o, "openRound", s->open_round);
  set_i64(env, o, "created", s->created);
  /* One item per line; index.js makes arrays of them. */
  set_str(env, o, "wards", s->wards ? s->wards : "");
  set_str(env, o, "categories", s->categories ? s->categories : "");
  set_str(env, o, "contacts", s->contacts ? s->contacts : "");
  return o;
}

static napi_value consultation_js(napi_env env, const th_consultation *c) {
  napi_value o = obj(env);
  set_i64(env, o, "id", c->id);
  set_i64(env, o, "siteId", c->site_id);
  set_str(env, o, "slug", c->slug);
  set_str(env, o, "title", c->title);
  set_str(env, o, "description", c->description ? c->description : "");
  set_str(env, o, "ward", c->ward ? c->ward : "");
  set_i64(env, o, "opens", c->opens);
  set_i64(env, o, "closes", c->closes);
  set_bool(env, o, "keyDestroyed", c->key_destroyed);
  set_i64(env, o, "created", c->created);
  return o;
}

static napi_value idea_js(napi_env env, const th_idea *i) {
  napi_value o = obj(env);
  set_i64(env, o, "id", i->id);
  set_i64(env, o, "consultationId", i->consultation_id);
  set_str(env, o, "consultation", i->consultation);
  set_str(env, o, "title", i->title);
  set_str(env, o, "body", i->body);
  set_str(env, o, "category", i->category);
  set_str(env, o, "ward", i->ward);
  const char *st = th_status_name(i->status);
  set_str(env, o, "status", st ? st : "unknown");
  set_i64(env, o, "mergedInto", i->merged_into);
  set_bool(env, o, "public", th_idea_is_public(i));
  set_str(env, o, "response", i->response);
  set_i64(env, o, "responseAt", i->response_at);
  set_i64(env, o, "up", i->up);
  set_i64(env, o, "down", i->down);
  set_i64(env, o, "anonUp", i->anon_up);
  set_i64(env, o, "anonDown", i->anon_down);
  set_f64(env, o, "top", i->top);
  set_f64(env, o, "hot", i->hot);
  set_f64(env, o, "controversial", i->controversial);
  set_i64(env, o, "created", i->created);
  set_i64(env, o, "updated", i->updated);
  return o;
}

/* A count of a page summary: null when withheld (TH_WITHHELD, only ever in
 * published figures). */
static napi_value count_js(napi_env env, const th_page_summary *p,
                           int64_t v) {
  napi_value x;
  if (!p->exact && v == TH_WITHHELD)
    napi_get_null(env, &x);
  else
    napi_create_int64(env, v, &x);
  return x;
}

/* A mean or a bound: null when withheld (a negative double). */
static napi_value figure_js(napi_env env, const th_page_summary *p,
                            double v) {
  napi_value x;
  if (!p->exact && v < 0)
    napi_get_null(env, &x);
  else
    napi_create_double(env, v, &x);
  return x;
}

static napi_value summary_js(napi_env env, const th_page_summary *p) {
  napi_value o = obj(env), r;
  set_str(env, o, "page", p->page);
  napi_set_named_property(env, o, "yes", count_js(env, p, p->yes));
  napi_set_named_property(env, o, "no", count_js(env, p, p->no));
  napi_set_named_property(env, o, "responses", count_js(env, p, p->responses));
  napi_create_array_with_length(env, 5, &r);
  for (uint32_t i = 0; i < 5; i++)
    napi_set_element(env, r, i, count_js(env, p, p->ratings[i]));
  napi_set_named_property(env, o, "ratings", r);
  napi_set_named_property(env, o, "ratingCount",
                          count_js(env, p, p->rating_count));
  napi_set_named_property(env, o, "ratingMean",
                          figure_js(env, p, p->rating_mean));
  napi_set_named_property(env, o, "usefulLower",
                          figure_js(env, p, p->useful_lower));
  napi_set_named_property(env, o, "comments", count_js(env, p, p->comments));
  set_i64(env, o, "first", p->first);
  set_i64(env, o, "last", p->last);
  set_bool(env, o, "exact", p->exact);
  return o;
}

static napi_value token_info_js(napi_env env, const th_token_info *t) {
  napi_value o = obj(env);
  set_i64(env, o, "id", t->id);
  set_str(env, o, "site", t->site);
  const char *role = th_role_name(t->role);
  set_str(env, o, "role", role ? role : "unknown");
  set_str(env, o, "label", t->label);
  set_i64(env, o, "created", t->created);
  set_i64(env, o, "expires", t->expires);
  set_bool(env, o, "revoked", t->revoked);
  return o;
}

static napi_value counts_js(napi_env env, const th_counts *c, bool changed) {
  napi_value o = obj(env);
  set_i64(env, o, "up", c->up);
  set_i64(env, o, "down", c->down);
  set_i64(env, o, "anonUp", c->anon_up);
  set_i64(env, o, "anonDown", c->anon_down);
  set_i64(env, o, "myVote", c->my_vote);
  set_bool(env, o, "changed", changed);
  return o;
}

static napi_value array(napi_env env, size_t n) {
  napi_value a;
  napi_create_array_with_length(env, n, &a);
  return a;
}

static napi_value undefined(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

/* ---- the op queue -------------------------------------------------------- */

static void op_free(op *o) {
  for (size_t i = 0; i < sizeof o->s / sizeof o->s[0]; i++)
    free(o->s[i]);
  free(o->errmsg);
  if (o->buf) {
    memset(o->buf, 0, o->buf_len); /* site secrets */
    free(o->buf);
  }
  free(o);
}

static void op_execute(napi_env env, void *data) {
  (void)env;
  op *o = data;
  if (o->h->db == NULL && !o->no_db) {
    o->rc = TH_ESTATE;
    o->errmsg = strdup("the Townhall handle is closed");
    return;
  }
  o->rc = o->exec(o);
  if (o->rc < 0 && o->errmsg == NULL && o->h->db)
    o->errmsg = strdup(th_errmsg(o->h->db));
}

static void op_start(napi_env env, op *o) {
  o->h->busy = true;
  napi_queue_async_work(env, o->work);
}

static void op_complete(napi_env env, napi_status status, void *data) {
  op *o = data;
  handle *h = o->h;
  /* The next op of this handle may start now: this one is done with it. */
  h->busy = false;
  if (h->head) {
    op *next = h->head;
    h->head = next->next;
    if (h->head == NULL)
      h->tail = NULL;
    op_start(env, next);
  }
  napi_value result = NULL;
  bool ok = false;
  if (status != napi_ok) {
    result = make_error(env, TH_ESHUTDOWN, "the operation was cancelled");
  } else if (o->rc < 0) {
    result = make_error(env, o->rc, o->errmsg);
  } else {
    result = o->done ? o->done(env, o) : undefined(env);
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (pending || result == NULL) {
      napi_value exc = NULL;
      if (pending)
        napi_get_and_clear_last_exception(env, &exc);
      result = exc ? exc : make_error(env, TH_ENOMEM, "out of memory");
    } else {
      ok = true;
    }
  }
  if (o->cleanup)
    o->cleanup(o);
  if (ok)
    napi_resolve_deferred(env, o->deferred, result);
  else
    napi_reject_deferred(env, o->deferred, result);
  napi_delete_async_work(env, o->work);
  napi_delete_reference(env, o->keep);
  if (o->staff_keep)
    napi_delete_reference(env, o->staff_keep);
  op_free(o);
}

/* Queues o behind the handle's other ops and returns its promise. On
 * failure the op is freed and NULL returned with an exception pending. */
static napi_value op_queue(napi_env env, napi_value external, op *o) {
  napi_value promise, name;
  if (napi_create_promise(env, &o->deferred, &promise) != napi_ok) {
    op_free(o);
    return NULL;
  }
  napi_create_string_utf8(env, "townhall", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, op_execute, op_complete, o, &o->work);
  napi_create_reference(env, external, 1, &o->keep);
  handle *h = o->h;
  if (!h->busy) {
    op_start(env, o);
  } else {
    if (h->tail)
      h->tail->next = o;
    else
      h->head = o;
    h->tail = o;
  }
  return promise;
}

static void handle_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  handle *h = data;
  /* Every queued op holds a reference to the external, so nothing runs on
   * this handle now, unless the environment itself is being torn down
   * with work in flight: then leak rather than race. */
  if (h->busy)
    return;
  th_close(h->db);
  free(h);
}

/* Reads argv[0] as a handle and makes a new op for it; NULL (exception
 * pending) for a bad handle or a closed one. */
static op *op_new(napi_env env, napi_value external) {
  handle *h = NULL;
  napi_valuetype t;
  if (external == NULL || napi_typeof(env, external, &t) != napi_ok ||
      t != napi_external ||
      napi_get_value_external(env, external, (void **)&h) != napi_ok ||
      h == NULL) {
    throw_type(env, "not a townhall handle");
    return NULL;
  }
  if (h->closing) {
    throw_error(env, TH_ESTATE, "the Townhall handle is closed");
    return NULL;
  }
  op *o = calloc(1, sizeof *o);
  if (o == NULL) {
    throw_error(env, TH_ENOMEM, "out of memory");
    return NULL;
  }
  o->h = h;
  return o;
}

/* Reads a `who` object ({resident, ip, userAgent}) into the op. */
static bool get_who(napi_env env, napi_value v, op *o) {
  if (!get_obj(env, v, "who"))
    return false;
  if (!get_str(env, prop(env, v, "resident"), "who.resident", true, &o->s[5]) ||
      !get_str(env, prop(env, v, "ip"), "who.ip", true, &o->s[6]) ||
      !get_str(env, prop(env, v, "userAgent"), "who.userAgent", true, &o->s[7]))
    return false;
  o->who.resident = o->s[5];
  o->who.ip = o->s[6];
  o->who.user_agent = o->s[7];
  o->has_who = true;
  return true;
}

/* A staff member (staffFromToken): the library's th_staff in a box that
 * tells it from a handle's external. Never changes once made, so ops on
 * the pool may read it while JavaScript holds it. */
#define STAFF_MAGIC 0x7374616eu
typedef struct staff_box {
  uint32_t magic;
  th_staff *staff;
} staff_box;

static void staff_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  staff_box *b = data;
  th_staff_free(b->staff);
  free(b);
}

/* The trailing argument of the functions that have an _as form: undefined
 * calls the unchecked function; null the checked one for the public; a
 * staff member's box the checked one for them. Read last, after every
 * other argument, so that nothing fails once the reference is taken. */
static bool get_staff(napi_env env, napi_value v, op *o) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t == napi_undefined)
    return true;
  o->as = true;
  if (t == napi_null)
    return true;
  staff_box *b = NULL;
  if (t != napi_external ||
      napi_get_value_external(env, v, (void **)&b) != napi_ok || b == NULL ||
      b->magic != STAFF_MAGIC) {
    throw_type(env, "staff must be a Staff (staffFromToken) or null");
    return false;
  }
  o->staff = b->staff;
  napi_create_reference(env, v, 1, &o->staff_keep);
  return true;
}

#define ARGS(n)                                                                \
  size_t argc = (n);                                                           \
  napi_value argv[(n) > 0 ? (n) : 1] = {0};                                    \
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);                        \
  for (size_t i_ = argc; i_ < (size_t)(n); i_++)                               \
    napi_get_undefined(env, &argv[i_]);

#define NEW_OP()                                                               \
  op *o = op_new(env, argv[0]);                                                \
  if (o == NULL)                                                               \
    return NULL;

#define CHECK(x)                                                               \
  do {                                                                         \
    if (!(x)) {                                                                \
      op_free(o);                                                              \
      return NULL;                                                             \
    }                                                                          \
  } while (0)

/* ---- open and close ------------------------------------------------------ */

static int exec_open(op *o) {
  th_open_options opt = {.size = sizeof(opt), .key_file = o->s[1],
                         .flags = (int)o->n[0],
                         .busy_timeout_ms = (int)o->n[1],
                         .synchronous = (int)o->n[2],
                         .persist_salts = (int)o->n[3]};
  th_db *db = NULL;
  int rc = th_open(&db, o->s[0], &opt);
  if (rc != TH_OK) {
    o->errmsg = strdup(db ? th_errmsg(db) : th_strerror(rc));
    th_close(db);
    return rc;
  }
  o->h->db = db;
  return TH_OK;
}

static napi_value done_open(napi_env env, op *o) {
  napi_value v;
  napi_get_reference_value(env, o->keep, &v);
  return v;
}

/* open(path, keyFile, flags, busyTimeoutMs, synchronous, persistSalts) */
static napi_value js_open(napi_env env, napi_callback_info info) {
  ARGS(6);
  handle *h = calloc(1, sizeof *h);
  if (h == NULL) {
    throw_error(env, TH_ENOMEM, "out of memory");
    return NULL;
  }
  napi_value external;
  if (napi_create_external(env, h, handle_finalize, NULL, &external) !=
      napi_ok) {
    free(h);
    return NULL;
  }
  op *o = calloc(1, sizeof *o);
  if (o == NULL) {
    throw_error(env, TH_ENOMEM, "out of memory");
    return NULL;
  }
  o->h = h;
  o->no_db = true; /* runs with no database yet */
  CHECK(get_str(env, argv[0], "path", false, &o->s[0]));
  CHECK(get_str(env, argv[1], "keyFile", true, &o->s[1]));
  for (int i = 0; i < 4; i++)
    CHECK(get_i64(env, argv[2 + i], "an option", 0, &o->n[i]));
  o->exec = exec_open;
  o->done = done_open;
  return op_queue(env, external, o);
}

static int exec_close(op *o) {
  th_close(o->h->db);
  o->h->db = NULL;
  return TH_OK;
}

/* close(h): queued behind every op already asked for. */
static napi_value js_close(napi_env env, napi_callback_info info) {
  ARGS(1);
  handle *h = NULL;
  napi_valuetype t;
  if (napi_typeof(env, argv[0], &t) != napi_ok || t != napi_external ||
      napi_get_value_external(env, argv[0], (void **)&h) != napi_ok) {
    throw_type(env, "not a townhall handle");
    return NULL;
  }
  if (h->closing) { /* idempotent */
    napi_value p;
    napi_deferred d;
    napi_create_promise(env, &d, &p);
    napi_resolve_deferred(env, d, undefined(env));
    return p;
  }
  NEW_OP();
  h->closing = true;
  o->no_db = true;
  o->exec = exec_close;
  return op_queue(env, argv[0], o);
}

static int exec_backup(op *o) {
  return th_backup(o->h->db, o->s[0]);
}

/* backup(h, dest) */
static napi_value js_backup(napi_env env, napi_callback_info info) {
  ARGS(2);
  NEW_OP();
  CHECK(get_str(env, argv[1], "dest", false, &o->s[0]));
  o->exec = exec_backup;
  return op_queue(env, argv[0], o);
}

/* ---- small reads --------------------------------------------------------- */

static int exec_schema(op *o) {
  o->out[0] = th_schema_version(o->h->db);
  o->out[1] = th_now(o->h->db);
  return TH_OK;
}

static napi_value done_schema(napi_env env, op *o) {
  napi_value v = obj(env);
  set_i64(env, v, "schemaVersion", o->out[0]);
  set_i64(env, v, "now", o->out[1]);
  return v;
}

static napi_value js_info(napi_env env, napi_callback_info info) {
  ARGS(1);
  NEW_OP();
  o->exec = exec_schema;
  o->done = done_schema;
  return op_queue(env, argv[0], o);
}

static int exec_batch(op *o) {
  switch (o->n[0]) {
  case 0:
    return th_batch_begin(o->h->db);
  case 1:
    return th_batch_commit(o->h->db);
  default:
    return th_batch_rollback(o->h->db);
  }
}

/* batch(h, 0 begin | 1 commit | 2 rollback) */
static napi_value js_batch(napi_env env, napi_callback_info info) {
  ARGS(2);
  NEW_OP();
  CHECK(get_i64(env, argv[1], "step", 0, &o->n[0]));
  o->exec = exec_batch;
  return op_queue(env, argv[0], o);
}

/* ---- results used by several ops ----------------------------------------- */

static napi_value done_id(napi_env env, op *o) {
  napi_value v;
  napi_create_int64(env, o->out[0], &v);
  return v;
}

/* true for TH_RECORDED, false for TH_DUPLICATE. */
static napi_value done_changed(napi_env env, op *o) {
  napi_value v;
  napi_get_boolean(env, o->rc == TH_RECORDED, &v);
  return v;
}

/* ---- sites --------------------------------------------------------------- */

static bool get_site_fields(napi_env env, napi_value v, op *o) {
  if (!get_obj(env, v, "site"))
    return false;
  if (!get_str(env, prop(env, v, "slug"), "site.slug", false, &o->s[1]) ||
      !get_str(env, prop(env, v, "name"), "site.name", false, &o->s[2]) ||
      !get_str(env, prop(env, v, "origins"), "site.origins", true, &o->s[3]) ||
      !get_str(env, prop(env, v, "keepParams"), "site.keepParams", true,
               &o->s[4]) ||
      /* A site op has no `who`: its strings' slots hold the lists. */
      !get_str(env, prop(env, v, "wards"), "site.wards", true, &o->s[5]) ||
      !get_str(env, prop(env, v, "categories"), "site.categories", true,
               &o->s[6]) ||
      !get_str(env, prop(env, v, "contacts"), "site.contacts", true,
               &o->s[7]))
    return false;
  th_site *s = &o->site;
  s->size = sizeof *s; /* townhall.h: structs that grow */
  s->slug = o->s[1];
  s->name = o->s[2];
  s->origins = o->s[3];
  s->keep_params = o->s[4];
  s->wards = o->s[5];
  s->categories = o->s[6];
  s->contacts = o->s[7];
  return get_bool(env, prop(env, v, "moderateIdeas"), false,
                  &s->moderate_ideas) &&
         get_bool(env, prop(env, v, "allowAnonymous"), false,
                  &s->allow_anonymous) &&
         get_bool(env, prop(env, v, "rankAnonymous"), false,
                  &s->rank_anonymous) &&
         get_int(env, prop(env, v, "commentDays"), "site.commentDays", 0,
                 &s->comment_days) &&
         get_int(env, prop(env, v, "auditDays"), "site.auditDays", 0,
                 &s->audit_days) &&
         get_int(env, prop(env, v, "keyDays"), "site.keyDays", 0,
                 &s->key_days) &&
         get_int(env, prop(env, v, "openMin"), "site.openMin", 0,
                 &s->open_min) &&
         get_int(env, prop(env, v, "openRound"), "site.openRound", 0,
                 &s->open_round);
}

static int exec_site_create(op *o) {
  return th_site_create(o->h->db, o->s[0], &o->site, &o->out[0]);
}

/* siteCreate(h, actor, site) -> id */
static napi_value js_site_create(napi_env env, napi_callback_info info) {
  ARGS(3);
  NEW_OP();
  CHECK(get_str(env, argv[1], "actor", true, &o->s[0]));
  CHECK(get_site_fields(env, argv[2], o));
  o->exec = exec_site_create;
  o->done = done_id;
  return op_queue(env, argv[0], o);
}

static int exec_site_update(op *o) {
  return th_site_update(o->h->db, o->s[0], &o->site);
}

/* siteUpdate(h, actor, site) -> changed */
static napi_value js_site_update(napi_env env, napi_callback_info info) {
  ARGS(3);
  NEW_OP();
  CHECK(get_str(env, argv[1], "actor", true, &o->s[0]));
  CHECK(get_site_fields(env, argv[2], o));
  o->exec = exec_site_update;
  o->done = done_changed;
  return op_queue(env, argv[0], o);
}

static int exec_site_get(op *o) {
  return th_site_get(o->h->db, o->s[0], (th_site **)&o->res);
}
static napi_value done_site_get(napi_env env, op *o) {
  return site_js(env, o->res);
}
static void cleanup_site_get(op *o) {
  th_site_free(o->res);
}

static napi_value js_site_get(napi_env env, napi_callback_info info) {
  ARGS(2);
  NEW_OP();
  CHECK(get_str(env, argv[1], "site", false, &o->s[0]));
  o->exec = exec_site_get;
  o->done = done_site_get;
  o->cleanup = cleanup_site_get;
  return op_queue(env, argv[0], o);
}

static int exec_site_list(op *o) {
  return th_site_list_all(o->h->db, (th_site_list **)&o->res);
}
static napi_value done_site_list(napi_env env, op *o) {
  th_site_list *l = o->res;
  napi_value a = array(env, l->count);
  for (size_t i = 0; i < l->count; i++)
    napi_set_element(env, a, (uint32_t)i, site_js(env, l->items[i]));
  return a;
}
static void cleanup_site_list(op *o) {
  th_site_list_free(o->res);
}

static napi_value js_site_list(napi_env env, napi_callback_info info) {
  ARGS(1);
  NEW_OP();
  o->exec = exec_site_list;
  o->done = done_site_list;
  o->cleanup = cleanup_site_list;
  return op_queue(env, argv[0], o);
}

static int exec_secret_set(op *o) {
  return th_site_set_secret(o->h->db, o->s[0], o->buf, o->buf_len);
}

/* siteSetSecret(h, site, buffer) */
static napi_value js_secret_set(napi_env env, napi_callback_info info) {
  ARGS(3);
  NEW_OP();
  CHECK(get_str(env, argv[1], "site", false, &o->s[0]));
  bool is_buf = false;
  napi_is_buffer(env, argv[2], &is_buf);
  if (!is_buf) {
    throw_type(env, "secret must be a Buffer");
    op_free(o);
    return NULL;
  }
  void *data;
  size_t len;
  napi_get_buffer_info(env, argv[2], &data, &len);
  o->buf = malloc(len ? len : 1);
  if (o->buf == NULL) {
    throw_error(env, TH_ENOMEM, "out of memory");
    op_free(o);
    return NULL;
  }
  memcpy(o->buf, data, len);
  o->buf_len = len;
  o->exec = exec_secret_set;
  return op_queue(env, argv[0], o);
}

static int exec_secret_get(op *o) {
  o->buf_len = 1024;
  o->buf = malloc(o->buf_len);
  if (o->buf == NULL)
    return TH_ENOMEM;
  return th_site_get_secret(o->h->db, o->s[0], o->buf, o->buf_len, &o->out_len);
}
static napi_value done_secret_get(napi_env env, op *o) {
  napi_value b;
  void *copy;
  napi_create_buffer_copy(env, o->out_len, o->buf, &copy, &b);
  return b;
}

static napi_value js_secret_get(napi_env env, napi_callback_info info) {
  ARGS(2);
  NEW_OP();
  CHECK(get_str(env, argv[1], "site", false, &o->s[0]));
  o->exec = exec_secret_get;
  o->done = done_secret_get;
  return op_queue(env, argv[0], o);
}

/* ---- consultations ------------------------------------------------------- */

static int exec_cons_create(op *o) {
  return o->as ? th_consultation_create_as(o->h->db, o->staff, o->s[0],
                                           &o->cons, &o->out[0])
               : th_consultation_create(o->h->db, o->s[0], o->s[1], &o->cons,
                                        &o->out[0]);
}

/* consultationCreate(h, site, actor, {slug, title, description, ward,
 * opens, closes}, staff) -> id */
static napi_value js_cons_create(napi_env env, napi_callback_info info) {
  ARGS(5);
  NEW_OP();
  CHECK(get_str(env, argv[1], "site", false, &o->s[0]));
  CHECK(get_str(env, argv[2], "actor", true, &o->s[1]));
  CHECK(get_obj(env, argv[3], "consultation"));
  napi_value c = argv[3];
  CHECK(get_str(env, prop(env, c, "slug"), "slug", false, &o->s[2]));
  CHECK(get_str(env, prop(env, c, "title"), "title", false, &o->s[3]));
  CHECK(
      get_str(env, prop(env, c, "description"), "description", true, &o->s[4]));
  CHECK(get_str(env, prop(env, c, "ward"), "ward", true, &o->s[5]));
  CHECK(get_i64(env, prop(env, c, "opens"), "opens", 0, &o->cons.opens));
  CHECK(get_i64(env, prop(env, c, "closes"), "closes", 0, &o->cons.closes));
  o->cons.size = sizeof o->cons; /* townhall.h: structs that grow */
  o->cons.slug = o->s[2];
  o->cons.title = o->s[3];
  o->cons.description = o->s[4];
  o->cons.ward = o->s[5];
  CHECK(get_staff(env, argv[4], o));
  o->exec = exec_cons_create;
  o->done = done_id;
  return op_queue(env, argv[0], o);
}

static int exec_cons_get(op *o) {
  return th_consultation_get(o->h->db, o->s[0], o->s[1],
                             (th_consultation **)&o->res);
}
static napi_value done_cons_get(napi_env env, op *o) {
  return consultation_js(env, o->res);
}
static void cleanup_cons_get(op *o) {
  th_consultation_free(o->res);
}

static napi_value js_cons_get(napi_env env, napi_callback_info info) {
  ARGS(3);
  NEW_OP();
  CHECK(get_str(env, argv[1], "site", false, &o->s[0]));
  CHECK(get_str(env, argv[2], "slug", false, &o->s[1]));
  o->exec = exec_cons_get;
  o->done = done_cons_get;
  o->cleanup = cleanup_cons_get;
  return op_queue(env, argv[0], o);
}

static int exec_cons_list(op *o) {
  return th_consultation_list_all(o->h->db, o->s[0],
                                  (th_consultation_list **)&o->res);
}
static napi_value done_cons_list(napi_env env, op *o) {
  th_consultation_list *l = o->res;
  napi_value a = array(env, l->count);
  for (size_t i = 0; i < l->count; i++)
    napi_set_element(env, a, (uint32_t)i, consultation_js(env, l->items[i]));
  return a;
}
static void cleanup_cons_list(op *o) {
  th_consultation_list_free(o->res);
}

static napi_value js_cons_list(napi_env env, napi_callback_info info) {
  ARGS(2);
  NEW_OP();
  CHECK(get_str(env, argv[1], "site", false, &o->s[0]));
  o->exec = exec_cons_list;
  o->done = done_cons_list;
  o->cleanup = cleanup_cons_list;
  return op_queue(env, argv[0], o);
}

/* ---- ideas --------------------------------------------------------------- */

static int exec_idea_submit(op *o) {
  o->idea_new.size = sizeof o->idea_new; /* townhall.h: structs that grow */
  return th_idea_submit(o->h->db, o->s[0], &o->who, &o->idea_new, &o->out[0]);
}
static napi_value done_idea_submit(napi_env env, op *o) {
  napi_value v = obj(env);
  set_i64(env, v, "id", o->out[0]);
  set_bool(env, v, "duplicate", o->rc == TH_DUPLICATE);
  return v;
}

/* ideaSubmit(h, site, who, {consultation, title, body, category, ward}) */
static napi_value js_idea_submit(napi_env env, napi_callback_info info) {
  ARGS(4);
  NEW_OP();
  CHECK(get_str(env, argv[1], "site", false, &o->s[0]));
  CHECK(get_who(env, argv[2], o));
  CHECK(get_obj(env, argv[3], "idea"));
  napi_value i = argv[3];
  CHECK(get_str(env, prop(env, i, "title"), "title", false, &o->s[1]));
  CHECK(get_str(env, prop(env, i, "body"), "body", true, &o->s[2]));
  CHECK(get_str(env, prop(env, i, "category"), "category", true, &o->s[3]));
  CHECK(get_str(env, prop(env, i, "ward"), "ward", true, &o->s[4]));
  o->idea_new.title = o->s[1];
  o->idea_new.body = o->s[2];
  o->idea_new.category = o->s[3];
  o->idea_new.ward = o->s[4];
  CHECK(get_str(env, prop(env, i, "consultation"), "consultation", true,
                &o->s[8]));
  o->idea_new.consultation = o->s[8];
  o->exec = exec_idea_submit;
  o->done = done_idea_submit;
  return op_queue(env, argv[0], o);
}

static int exec_idea_get(op *o) {
  return o->as ? th_idea_get_as(o->h->db, o->staff, o->s[0], o->n[0],
                                (th_idea **)&o->res)
               : th_idea_get(o->h->db, o->s[0], o->n[0], (th_idea **)&o->res);
}
static int exec_idea_get_public(op *o) {
  return th_idea_get_public(o->h->db, o->s[0], o->n[0], (th_idea **)&o->res);
}
static napi_value done_idea_get(napi_env env, op *o) {
  return idea_js(env, o->res);
}
static void cleanup_idea_get(op *o) {
  th_idea_free(o->res);
}

/* ideaGet(h, site, id, staff) */
static napi_value js_idea_get(napi_env env, napi_callback_info info) {
  ARGS(4);
  NEW_OP();
  CHECK(get_str(env, argv[1], "site", false, &o->s[0]));
  CHECK(get_i64(env, argv[2], "id", 0, &o->n[0]));
  CHECK(get_staff(env, argv[3], o));
  o->exec = exec_idea_get;
  o->done = done_idea_get;
  o->cleanup = cleanup_idea_get;
  return op_queue(env, argv[0], o);
}

static napi_value js_idea_get_public(napi_env env, napi_callback_info info) {
  ARGS(3);
  NEW_OP();
  CHECK(get_str(env, argv[1], "site", false, &o->s[0]));
  CHECK(get_i64(env, argv[2], "id", 0, &o->n[0]));
  o->exec = exec_idea_get_public;
  o->done = done_idea_get;
  o->cleanup = cleanup_idea_get;
  return op_queue(env, argv[0], o);
}

static int exec_idea_list(op *o) {
  o->query.size = sizeof o->query; /* townhall.h: structs that grow */
  return o->as ? th_idea_list_as(o->h->db, o->staff, o->s[0], &o->query,
                                 (th_idea_page **)&o->res)
               : th_idea_list(o->h->db, o->s[0], &o->query,
                              (th_idea_page **)&o->res);
}
static napi_value done_idea_list(napi_env env, op *o) {
  th_idea_page *p = o->res;
  napi_value v = obj(env), a = array(env, p->count);
  for (size_t i = 0; i < p->count; i++)
    napi_set_element(env, a, (uint32_t)i, idea_js(env, &p->items[i]));
  napi_set_named_property(env, v, "items", a);
  set_str(env, v, "nextCursor", p->next_cursor);
  return v;
}
static void cleanup_idea_list(op *o) {
  th_idea_page_free(o->res);
}

/* ideaList(h, site, {consultation, sort, seed, statuses, ward, category,
 * createdFrom, createdTo, limit, cursor}, staff) */
static napi_value js_idea_list(napi_env env, napi_callback_info info) {
  ARGS(4);
  NEW_OP();
  CHECK(get_str(env, argv[1], "site", false, &o->s[0]));
  CHECK(get_obj(env, argv[2], "query"));
  napi_value q = argv[2];
  th_idea_query *iq = &o->query;
  CHECK(get_str(env, prop(env, q, "consultation"), "consultation", true,
                &o->s[1]));
  CHECK(get_str(env, prop(env, q, "ward"), "ward", true, &o->s[2]));
  CHECK(get_str(env, prop(env, q, "category"), "category", true, &o->s[3]));
  CHECK(get_str(env, prop(env, q, "cursor"), "cursor", true, &o->s[4]));
  CHECK(get_int(env, prop(env, q, "sort"), "sort", 0, &iq->sort));
  CHECK(get_int(env, prop(env, q, "limit"), "limit", 0, &iq->limit));
  int64_t mask = 0;
  CHECK(get_i64(env, prop(env, q, "statuses"), "statuses", 0, &mask));
  iq->statuses = (unsigned)mask;
  CHECK(get_i64(env, prop(env, q, "createdFrom"), "createdFrom", 0,
                &iq->created_from));
  CHECK(
      get_i64(env, prop(env, q, "createdTo"), "createdTo", 0, &iq->created_to));
  napi_value seed = prop(env, q, "seed");
  if (!is_nullish(env, seed)) {
    napi_valuetype t;
    napi_typeof(env, seed, &t);
    if (t == napi_bigint) {
      bool lossless;
      napi_get_value_bigint_uint64(env, seed, &iq->seed, &lossless);
    } else {
      int64_t s64;
      CHECK(get_i64(env, seed, "seed", 0, &s64));
      iq->seed = (uint64_t)s64;
    }
  }
  iq->consultation = o->s[1];
  iq->ward = o->s[2];
  iq->category = o->s[3];
  iq->cursor = o->s[4];
  CHECK(get_staff(env, argv[3], o));
  o->exec = exec_idea_list;
  o->done = done_idea_list;
  o->cleanup = cleanup_idea_list;
  return op_queue(env, argv[0], o);
}

static int exec_idea_status(op *o) {
  return o->as ? th_idea_set_status_as(o->h->db, o->staff, o->s[0], o->n[0],
                                       (int)o->n[1], o->s[2])
               : th_idea_set_status(o->h->db, o->s[0], o->s[1], o->n[0],
                                    (int)o->n[1], o->s[2]);
}

/* ideaSetStatus(h, site, actor, id, status, response, staff) -> changed */
static napi_value js_idea_status(napi_env env, napi_callback_info info) {
  ARGS(7);
  NEW_OP();
  CHECK(get_str(env, argv[1], "site", false, &o->s[0]));
  CHECK(get_str(env, argv[2], "actor", true, &o->s[1]));
  CHECK(get_i64(env, argv[3], "id", 0, &o->n[0]));
  CHECK(get_i64(env, argv[4], "status", -1, &o->n[1]));
  CHECK(get_str(env, argv[5], "response", true, &o->s[2]));
  CHECK(get_staff(env, argv[6], o));
  o->exec = exec_idea_status;
  o->done = done_changed;
  return op_queue(env, argv[0], o);
}

static int exec_idea_moderate(op *o) {
  return o->as ? th_idea_moderate_as(o->h->db, o->staff, o->s[0], o->n[0],
                                     (int)o->n[1], o->n[2], o->s[2])
               : th_idea_moderate(o->h->db, o->s[0], o->s[1], o->n[0],
                                  (int)o->n[1], o->n[2], o->s[2]);
}

/* ideaModerate(h, site, actor, id, action, into, reason, staff) -> changed */
static napi_value js_idea_moderate(napi_env env, napi_callback_info info) {
  ARGS(8);
  NEW_OP();
  CHECK(get_str(env, argv[1], "site", false, &o->s[0]));
  CHECK(get_str(env, argv[2], "actor", true, &o->s[1]));
  CHECK(get_i64(env, argv[3], "id", 0, &o->n[0]));
  CHECK(get_i64(env, argv[4], "action", -1, &o->n[1]));
  CHECK(get_i64(env, argv[5], "into", 0, &o->n[2]));
  CHECK(get_str(env, argv[6], "reason", true, &o->s[2]));
  CHECK(get_staff(env, argv[7], o));
  o->exec = exec_idea_moderate;
  o->done = done_changed;
  return op_queue(env, argv[0], o);
}

static int exec_idea_withdraw(op *o) {
  return th_idea_withdraw(o->h->db, o->s[0], &o->who, o->n[0]);
}

/* ideaWithdraw(h, site, who, id) -> changed */
static napi_value js_idea_withdraw(napi_env env, napi_callback_info info) {
  ARGS(4);
  NEW_OP();
  CHECK(get_str(env, argv[1], "site", false, &o->s[0]));
  CHECK(get_who(env, argv[2], o));
  CHECK(get_i64(env, argv[3], "id", 0, &o->n[0]));
  o->exec = exec_idea_withdraw;
  o->done = done_changed;
  return op_queue(env, argv[0], o);
}

/* ---- votes --------------------------------------------------------------- */

static int exec_vote(op *o) {
  return th_vote(o->h->db, o->s[0], &o->who, o->n[0], (int)o->n[1], &o->counts);
}
static napi_value done_vote(napi_env env, op *o) {
  return counts_js(env, &o->counts, o->rc == TH_RECORDED);
}

/* vote(h, site, who, id, value) -> counts */
static napi_value js_vote(napi_env env, napi_callback_info info) {
  ARGS(5);
  NEW_OP();
  CHECK(get_str(env, argv[1], "site", false, &o->s[0]));
  CHECK(get_who(env, argv[2], o));
  CHECK(get_i64(env, argv[3], "id", 0, &o->n[0]));
  CHECK(get_i64(env, argv[4], "value", 0, &o->n[1]));
  if (o->n[1] < INT32_MIN || o->n[1] > INT32_MAX)
    o->n[1] = 2; /* out of range: let the library say so */
  o->exec = exec_vote;
  o->done = done_vote;
  return op_queue(env, argv[0], o);
}

/* myVotes: o->buf holds n ids (int64) then n answers (int). */
static int exec_vote_mine(op *o) {
  size_t n = (size_t)o->n[0];
  return th_vote_mine(o->h->db, o->s[0], &o->who, (const int64_t *)o->buf, n,
                      (int *)(void *)((char *)o->buf + n * sizeof(int64_t)));
}
static napi_value done_vote_mine(napi_env env, op *o) {
  size_t n = (size_t)o->n[0];
  const int *mine =
      (const int *)(const void *)((char *)o->buf + n * sizeof(int64_t));
  napi_value a = array(env, n);
  for (size_t i = 0; i < n; i++) {
    napi_value v;
    napi_create_int32(env, mine[i], &v);
    napi_set_element(env, a, (uint32_t)i, v);
  }
  return a;
}

/* voteMine(h, site, who, ids) -> [1 | -1 | 0, ...] in the order of ids */
static napi_value js_vote_mine(napi_env env, napi_callback_info info) {
  ARGS(4);
  NEW_OP();
  CHECK(get_str(env, argv[1], "site", false, &o->s[0]));
  CHECK(get_who(env, argv[2], o));
  bool is_array = false;
  napi_is_array(env, argv[3], &is_array);
  if (!is_array) {
    throw_type(env, "ids must be an array of idea ids");
    op_free(o);
    return NULL;
  }
  uint32_t n = 0;
  napi_get_array_length(env, argv[3], &n);
  o->buf_len = (size_t)n * (sizeof(int64_t) + sizeof(int)) + 1;
  o->buf = calloc(1, o->buf_len);
  if (o->buf == NULL) {
    o->buf_len = 0;
    throw_error(env, TH_ENOMEM, "out of memory");
    op_free(o);
    return NULL;
  }
  int64_t *ids = (int64_t *)(void *)o->buf;
  for (uint32_t i = 0; i < n; i++) {
    napi_value e;
    napi_get_element(env, argv[3], i, &e);
    CHECK(get_i64(env, e, "an idea id", 0, &ids[i]));
  }
  o->n[0] = n;
  o->exec = exec_vote_mine;
  o->done = done_vote_mine;
  return op_queue(env, argv[0], o);
}

static int exec_vote_history(op *o) {
  return o->as ? th_vote_history_get_as(o->h->db, o->staff, o->s[0], o->n[0],
                                        (th_vote_history **)&o->res)
               : th_vote_history_get(o->h->db, o->s[0], o->n[0],
                                     (th_vote_history **)&o->res);
}
static napi_value done_vote_history(napi_env env, op *o) {
  th_vote_history *h = o->res;
  napi_value a = array(env, h->count);
  for (size_t i = 0; i < h->count; i++) {
    napi_value d = obj(env);
    set_i64(env, d, "day", h->days[i].day);
    set_i64(env, d, "up", h->days[i].up);
    set_i64(env, d, "down", h->days[i].down);
    napi_set_element(env, a, (uint32_t)i, d);
  }
  return a;
}
static void cleanup_vote_history(op *o) {
  th_vote_history_free(o->res);
}

/* voteHistory(h, site, id, staff) */
static napi_value js_vote_history(napi_env env, napi_callback_info info) {
  ARGS(4);
  NEW_OP();
  CHECK(get_str(env, argv[1], "site", false, &o->s[0]));
  CHECK(get_i64(env, argv[2], "id", 0, &o->n[0]));
  CHECK(get_staff(env, argv[3], o));
  o->exec = exec_vote_history;
  o->done = done_vote_history;
  o->cleanup = cleanup_vote_history;
  return op_queue(env, argv[0], o);
}

/* ---- feedback ------------------------------------------------------------ */

/* Reads a feedback object ({page, useful, rating, comment}) into o->fb, its
 * strings into s[1] (page) and s[2] (comment). `amend`: the page may be
 * absent, and useful absent (null or undefined) is -1, "keep it". */
static bool get_feedback(napi_env env, napi_value f, op *o, bool amend) {
  if (!get_obj(env, f, "feedback") ||
      !get_str(env, prop(env, f, "page"), "page", amend, &o->s[1]) ||
      !get_str(env, prop(env, f, "comment"), "comment", true, &o->s[2]))
    return false;
  napi_value useful = prop(env, f, "useful");
  if (amend && is_nullish(env, useful))
    o->fb.useful = -1;
  else if (!get_bool(env, useful, false, &o->fb.useful))
    return false;
  if (!get_int(env, prop(env, f, "rating"), "rating", 0, &o->fb.rating))
    return false;
  o->fb.size = sizeof o->fb; /* townhall.h: structs that grow */
  o->fb.page = o->s[1];
  o->fb.comment = o->s[2];
  return true;
}

static int exec_fb_answer(op *o) {
  return th_feedback_answer(o->h->db, o->s[0], o->has_who ? &o->who : NULL,
                            &o->fb, o->s[3], o->buf);
}
static napi_value done_fb_answer(napi_env env, op *o) {
  napi_value v = obj(env);
  set_bool(env, v, "recorded", o->rc == TH_RECORDED);
  set_str(env, v, "handle", o->buf);
  return v;
}

/* feedbackAnswer(h, site, who, {page, useful, rating, comment}, key)
 * -> {recorded, handle}. who may be null (an importer). The handle is
 * wiped from the op's buffer when the op is freed. */
static napi_value js_fb_answer(napi_env env, napi_callback_info info) {
  ARGS(5);
  NEW_OP();
  CHECK(get_str(env, argv[1], "site", false, &o->s[0]));
  if (!is_nullish(env, argv[2]))
    CHECK(get_who(env, argv[2], o));
  CHECK(get_feedback(env, argv[3], o, false));
  CHECK(get_str(env, argv[4], "key", true, &o->s[3]));
  o->buf_len = TH_HANDLE_SIZE;
  o->buf = calloc(1, o->buf_len);
  if (o->buf == NULL) {
    op_free(o);
    throw_error(env, TH_ENOMEM, "out of memory");
    return NULL;
  }
  o->exec = exec_fb_answer;
  o->done = done_fb_answer;
  return op_queue(env, argv[0], o);
}

static int exec_fb_amend(op *o) {
  return th_feedback_amend(o->h->db, o->s[0], o->s[3], &o->fb);
}

/* feedbackAmend(h, site, handle, {page, useful, rating, comment})
 * -> changed. useful null: kept; rating 0: kept; comment null: kept. */
static napi_value js_fb_amend(napi_env env, napi_callback_info info) {
  ARGS(4);
  NEW_OP();
  CHECK(get_str(env, argv[1], "site", false, &o->s[0]));
  CHECK(get_str(env, argv[2], "handle", false, &o->s[3]));
  CHECK(get_feedback(env, argv[3], o, true));
  o->exec = exec_fb_amend;
  o->done = done_changed;
  return op_queue(env, argv[0], o);
}

static int exec_fb_record(op *o) {
  return th_feedback_record(o->h->db, o->s[0], &o->who, &o->fb);
}

/* feedbackRecord(h, site, who, {page, useful, rating, comment}) -> changed
 * (deprecated in the library since 0.2.0: always a new answer) */
static napi_value js_fb_record(napi_env env, napi_callback_info info) {
  ARGS(4);
  NEW_OP();
  CHECK(get_str(env, argv[1], "site", false, &o->s[0]));
  CHECK(get_who(env, argv[2], o));
  CHECK(get_feedback(env, argv[3], o, false));
  o->exec = exec_fb_record;
  o->done = done_changed;
  return op_queue(env, argv[0], o);
}

static int exec_fb_summary(op *o) {
  if (o->as)
    return th_feedback_summary_as(o->h->db, o->staff, o->s[0], o->s[1],
                                  (th_page_summary **)&o->res);
  return o->n[0] ? th_feedback_summary_public(o->h->db, o->s[0], o->s[1],
                                              (th_page_summary **)&o->res)
                 : th_feedback_summary(o->h->db, o->s[0], o->s[1],
                                       (th_page_summary **)&o->res);
}
static napi_value done_fb_summary(napi_env env, op *o) {
  return summary_js(env, o->res);
}
static void cleanup_fb_summary(op *o) {
  th_page_summary_free(o->res);
}

/* feedbackSummary(h, site, page, public, staff): the exact counters, or
 * (public) the published figures, withheld ones null; with staff (or
 * null), what they may see. */
static napi_value js_fb_summary(napi_env env, napi_callback_info info) {
  ARGS(5);
  NEW_OP();
  CHECK(get_str(env, argv[1], "site", false, &o->s[0]));
  CHECK(get_str(env, argv[2], "page", false, &o->s[1]));
  int pub;
  CHECK(get_bool(env, argv[3], false, &pub));
  o->n[0] = pub;
  CHECK(get_staff(env, argv[4], o));
  o->exec = exec_fb_summary;
  o->done = done_fb_summary;
  o->cleanup = cleanup_fb_summary;
  return op_queue(env, argv[0], o);
}

static int exec_fb_pages(op *o) {
  return o->as ? th_feedback_pages_as(o->h->db, o->staff, o->s[0],
                                      (int)o->n[0], o->s[1],
                                      (th_page_list **)&o->res)
               : th_feedback_pages(o->h->db, o->s[0], (int)o->n[0], o->s[1],
                                   (th_page_list **)&o->res);
}
static napi_value done_fb_pages(napi_env env, op *o) {
  th_page_list *l = o->res;
  napi_value v = obj(env), a = array(env, l->count);
  for (size_t i = 0; i < l->count; i++)
    napi_set_element(env, a, (uint32_t)i, summary_js(env, &l->items[i]));
  napi_set_named_property(env, v, "items", a);
  set_str(env, v, "nextCursor", l->next_cursor);
  return v;
}
static void cleanup_fb_pages(op *o) {
  th_page_list_free(o->res);
}

/* feedbackPages(h, site, limit, cursor, staff) */
static napi_value js_fb_pages(napi_env env, napi_callback_info info) {
  ARGS(5);
  NEW_OP();
  CHECK(get_str(env, argv[1], "site", false, &o->s[0]));
  int limit;
  CHECK(get_int(env, argv[2], "limit", 0, &limit));
  o->n[0] = limit;
  CHECK(get_str(env, argv[3], "cursor", true, &o->s[1]));
  CHECK(get_staff(env, argv[4], o));
  o->exec = exec_fb_pages;
  o->done = done_fb_pages;
  o->cleanup = cleanup_fb_pages;
  return op_queue(env, argv[0], o);
}

static int exec_fb_comments(op *o) {
  return o->as ? th_feedback_comments_as(o->h->db, o->staff, o->s[0], o->s[1],
                                         (int)o->n[0],
                                         (th_comment_list **)&o->res)
               : th_feedback_comments(o->h->db, o->s[0], o->s[1],
                                      (int)o->n[0],
                                      (th_comment_list **)&o->res);
}
static napi_value done_fb_comments(napi_env env, op *o) {
  th_comment_list *l = o->res;
  napi_value a = array(env, l->count);
  for (size_t i = 0; i < l->count; i++) {
    napi_value c = obj(env);
    set_i64(env, c, "day", l->items[i].day);
    set_bool(env, c, "useful", l->items[i].useful);
    set_i64(env, c, "rating", l->items[i].rating);
    set_str(env, c, "text", l->items[i].text);
    napi_set_element(env, a, (uint32_t)i, c);
  }
  return a;
}
static void cleanup_fb_comments(op *o) {
  th_comment_list_free(o->res);
}

/* feedbackComments(h, site, page, limit) */
/* feedbackComments(h, site, page, limit, staff) */
static napi_value js_fb_comments(napi_env env, napi_callback_info info) {
  ARGS(5);
  NEW_OP();
  CHECK(get_str(env, argv[1], "site", false, &o->s[0]));
  CHECK(get_str(env, argv[2], "page", false, &o->s[1]));
  int limit;
  CHECK(get_int(env, argv[3], "limit", 0, &limit));
  o->n[0] = limit;
  CHECK(get_staff(env, argv[4], o));
  o->exec = exec_fb_comments;
  o->done = done_fb_comments;
  o->cleanup = cleanup_fb_comments;
  return op_queue(env, argv[0], o);
}

/* ---- open data ------------------------------------------------------------ */

/* s[0] the site, s[1] feedback.csv's from (or NULL), n[0] its weeks, n[1]
 * 1 for ideas.csv; the file comes back in res (out_len bytes). */
static int exec_open_data(op *o) {
  th_open_data_options opt;
  th_open_data_options_init(&opt);
  opt.from = o->s[1];
  opt.weeks = o->n[0];
  if (o->n[1])
    return th_open_data_ideas(o->h->db, o->s[0], &opt, (char **)&o->res,
                              &o->out_len);
  return th_open_data_feedback(o->h->db, o->s[0], &opt, (char **)&o->res,
                               &o->out_len);
}
static napi_value done_open_data(napi_env env, op *o) {
  napi_value b;
  void *copy;
  napi_create_buffer_copy(env, o->out_len, o->res, &copy, &b);
  return b;
}
static void cleanup_open_data(op *o) {
  th_free(o->res);
}

/* openDataFeedback(h, site, from, weeks) -> Buffer (feedback.csv) */
static napi_value js_open_data_feedback(napi_env env,
                                        napi_callback_info info) {
  ARGS(4);
  NEW_OP();
  CHECK(get_str(env, argv[1], "site", false, &o->s[0]));
  CHECK(get_str(env, argv[2], "from", true, &o->s[1]));
  CHECK(get_i64(env, argv[3], "weeks", 0, &o->n[0]));
  o->exec = exec_open_data;
  o->done = done_open_data;
  o->cleanup = cleanup_open_data;
  return op_queue(env, argv[0], o);
}

/* openDataIdeas(h, site) -> Buffer (ideas.csv) */
static napi_value js_open_data_ideas(napi_env env, napi_callback_info info) {
  ARGS(2);
  NEW_OP();
  CHECK(get_str(env, argv[1], "site", false, &o->s[0]));
  o->n[1] = 1;
  o->exec = exec_open_data;
  o->done = done_open_data;
  o->cleanup = cleanup_open_data;
  return op_queue(env, argv[0], o);
}

/* ---- residents' rights --------------------------------------------------- */

static int exec_export(op *o) {
  return th_resident_export(o->h->db, o->s[0], o->s[1], (char **)&o->res);
}
static napi_value done_export(napi_env env, op *o) {
  napi_value v;
  napi_create_string_utf8(env, o->res, NAPI_AUTO_LENGTH, &v);
  return v;
}
static void cleanup_export(op *o) {
  th_free(o->res);
}

/* residentExport(h, site, resident) -> JSON text */
static napi_value js_export(napi_env env, napi_callback_info info) {
  ARGS(3);
  NEW_OP();
  CHECK(get_str(env, argv[1], "site", false, &o->s[0]));
  CHECK(get_str(env, argv[2], "resident", false, &o->s[1]));
  o->exec = exec_export;
  o->done = done_export;
  o->cleanup = cleanup_export;
  return op_queue(env, argv[0], o);
}

static int exec_erase(op *o) {
  return th_resident_erase(o->h->db, o->s[0], o->s[1], &o->out[0]);
}

/* residentErase(h, site, resident) -> votes and ideas affected */
static napi_value js_erase(napi_env env, napi_callback_info info) {
  ARGS(3);
  NEW_OP();
  CHECK(get_str(env, argv[1], "site", false, &o->s[0]));
  CHECK(get_str(env, argv[2], "resident", false, &o->s[1]));
  o->exec = exec_erase;
  o->done = done_id;
  return op_queue(env, argv[0], o);
}

/* ---- retention and audit ------------------------------------------------- */

static int exec_purge(op *o) {
  o->purge.size = sizeof o->purge; /* townhall.h: structs that grow */
  return th_purge(o->h->db, &o->purge);
}
static napi_value done_purge(napi_env env, op *o) {
  napi_value v = obj(env);
  set_i64(env, v, "comments", o->purge.comments);
  set_i64(env, v, "audit", o->purge.audit);
  set_i64(env, v, "keys", o->purge.keys);
  set_i64(env, v, "dedupTokens", o->purge.dedup_tokens);
  set_i64(env, v, "salts", o->purge.salts);
  return v;
}

static napi_value js_purge(napi_env env, napi_callback_info info) {
  ARGS(1);
  NEW_OP();
  o->exec = exec_purge;
  o->done = done_purge;
  return op_queue(env, argv[0], o);
}

static int exec_key_rotate(op *o) {
  o->rotation.size = sizeof o->rotation; /* townhall.h: structs that grow */
  return th_key_rotate(o->h->db, o->s[0], o->s[1], o->s[2], &o->rotation);
}
static napi_value done_key_rotate(napi_env env, op *o) {
  napi_value v = obj(env);
  set_i64(env, v, "siteSecrets", o->rotation.site_secrets);
  set_i64(env, v, "consultationKeys", o->rotation.consultation_keys);
  set_i64(env, v, "tokensRevoked", o->rotation.tokens_revoked);
  return v;
}

/* keyRotate(h, actor, newKeyFile, backup) */
static napi_value js_key_rotate(napi_env env, napi_callback_info info) {
  ARGS(4);
  NEW_OP();
  CHECK(get_str(env, argv[1], "actor", true, &o->s[0]));
  CHECK(get_str(env, argv[2], "newKeyFile", false, &o->s[1]));
  CHECK(get_str(env, argv[3], "backup", true, &o->s[2]));
  o->exec = exec_key_rotate;
  o->done = done_key_rotate;
  return op_queue(env, argv[0], o);
}

static int exec_audit(op *o) {
  return o->as ? th_audit_list_get_as(o->h->db, o->staff, o->s[0], o->n[0],
                                      (int)o->n[1], (th_audit_list **)&o->res)
               : th_audit_list_get(o->h->db, o->s[0], o->n[0], (int)o->n[1],
                                   (th_audit_list **)&o->res);
}
static napi_value done_audit(napi_env env, op *o) {
  th_audit_list *l = o->res;
  napi_value a = array(env, l->count);
  for (size_t i = 0; i < l->count; i++) {
    const th_audit_entry *e = &l->items[i];
    napi_value v = obj(env);
    set_i64(env, v, "id", e->id);
    set_i64(env, v, "at", e->at);
    set_str(env, v, "actor", e->actor);
    set_str(env, v, "action", e->action);
    set_i64(env, v, "ideaId", e->idea_id);
    set_str(env, v, "detail", e->detail);
    napi_set_element(env, a, (uint32_t)i, v);
  }
  return a;
}
static void cleanup_audit(op *o) {
  th_audit_list_free(o->res);
}

/* auditList(h, site, beforeId, limit, staff) */
static napi_value js_audit(napi_env env, napi_callback_info info) {
  ARGS(5);
  NEW_OP();
  CHECK(get_str(env, argv[1], "site", false, &o->s[0]));
  CHECK(get_i64(env, argv[2], "beforeId", 0, &o->n[0]));
  CHECK(get_i64(env, argv[3], "limit", 0, &o->n[1]));
  if (o->n[1] < INT32_MIN || o->n[1] > INT32_MAX)
    o->n[1] = -1;
  CHECK(get_staff(env, argv[4], o));
  o->exec = exec_audit;
  o->done = done_audit;
  o->cleanup = cleanup_audit;
  return op_queue(env, argv[0], o);
}

/* ---- staff tokens -------------------------------------------------------- */

static int exec_token_create(op *o) {
  return th_token_create(o->h->db, o->s[0], o->s[1], (int)o->n[0], o->s[2],
                         o->n[1], (char **)&o->res, &o->out[0]);
}
static napi_value done_token_create(napi_env env, op *o) {
  napi_value v = obj(env);
  set_i64(env, v, "id", o->out[0]);
  set_str(env, v, "token", o->res);
  return v;
}
static void cleanup_token_create(op *o) {
  if (o->res)
    memset(o->res, 0, strlen(o->res));
  th_free(o->res);
}

/* tokenCreate(h, actor, site, role, label, expires) -> {id, token} */
static napi_value js_token_create(napi_env env, napi_callback_info info) {
  ARGS(6);
  NEW_OP();
  CHECK(get_str(env, argv[1], "actor", true, &o->s[0]));
  CHECK(get_str(env, argv[2], "site", true, &o->s[1]));
  CHECK(get_i64(env, argv[3], "role", 0, &o->n[0]));
  CHECK(get_str(env, argv[4], "label", false, &o->s[2]));
  CHECK(get_i64(env, argv[5], "expires", 0, &o->n[1]));
  o->exec = exec_token_create;
  o->done = done_token_create;
  o->cleanup = cleanup_token_create;
  return op_queue(env, argv[0], o);
}

static int exec_resident_token(op *o) {
  return th_resident_token(o->h->db, o->s[0], o->s[1], (int)o->n[0],
                           (char **)&o->res);
}
static napi_value done_resident_token(napi_env env, op *o) {
  napi_value v;
  napi_create_string_utf8(env, o->res, NAPI_AUTO_LENGTH, &v);
  return v;
}

/* residentToken(h, site, resident, ttl) -> JWT; cleanup as for tokenCreate */
static napi_value js_resident_token(napi_env env, napi_callback_info info) {
  ARGS(4);
  NEW_OP();
  CHECK(get_str(env, argv[1], "site", false, &o->s[0]));
  CHECK(get_str(env, argv[2], "resident", false, &o->s[1]));
  CHECK(get_i64(env, argv[3], "ttl", 3600, &o->n[0]));
  if (o->n[0] < INT32_MIN || o->n[0] > INT32_MAX)
    o->n[0] = 0; /* out of range: let the library say so */
  o->exec = exec_resident_token;
  o->done = done_resident_token;
  o->cleanup = cleanup_token_create;
  return op_queue(env, argv[0], o);
}

static int exec_token_revoke(op *o) {
  return th_token_revoke(o->h->db, o->s[0], o->n[0]);
}

/* tokenRevoke(h, actor, id) -> changed */
static napi_value js_token_revoke(napi_env env, napi_callback_info info) {
  ARGS(3);
  NEW_OP();
  CHECK(get_str(env, argv[1], "actor", true, &o->s[0]));
  CHECK(get_i64(env, argv[2], "id", 0, &o->n[0]));
  o->exec = exec_token_revoke;
  o->done = done_changed;
  return op_queue(env, argv[0], o);
}

static int exec_token_check(op *o) {
  return th_token_check(o->h->db, o->s[0], o->s[1], (th_token_info **)&o->res);
}
static napi_value done_token_check(napi_env env, op *o) {
  return token_info_js(env, o->res);
}
static void cleanup_token_check(op *o) {
  th_token_info_free(o->res);
}

/* tokenCheck(h, token, site) -> info */
static napi_value js_token_check(napi_env env, napi_callback_info info) {
  ARGS(3);
  NEW_OP();
  CHECK(get_str(env, argv[1], "token", false, &o->s[0]));
  CHECK(get_str(env, argv[2], "site", true, &o->s[1]));
  o->exec = exec_token_check;
  o->done = done_token_check;
  o->cleanup = cleanup_token_check;
  return op_queue(env, argv[0], o);
}

static int exec_staff_from_token(op *o) {
  return th_staff_from_token(o->h->db, o->s[0], o->s[1],
                             (th_staff **)&o->res);
}
/* {staff, role, tokenId, label, site, actor}: `staff` is the box the _as
 * forms take; the rest describe it. */
static napi_value done_staff_from_token(napi_env env, op *o) {
  th_staff *st = o->res;
  staff_box *b = malloc(sizeof *b);
  napi_value ext;
  if (b == NULL)
    return NULL;
  b->magic = STAFF_MAGIC;
  b->staff = st;
  if (napi_create_external(env, b, staff_finalize, NULL, &ext) != napi_ok) {
    free(b);
    return NULL;
  }
  o->res = NULL; /* the box owns it now */
  napi_value v = obj(env);
  napi_set_named_property(env, v, "staff", ext);
  set_i64(env, v, "role", th_staff_role(st));
  set_i64(env, v, "tokenId", th_staff_token_id(st));
  set_str(env, v, "label", th_staff_label(st));
  set_str(env, v, "site", th_staff_site(st));
  set_str(env, v, "actor", th_staff_actor(st));
  return v;
}
static void cleanup_staff_from_token(op *o) {
  th_staff_free(o->res);
}

/* staffFromToken(h, token, site) */
static napi_value js_staff_from_token(napi_env env, napi_callback_info info) {
  ARGS(3);
  NEW_OP();
  CHECK(get_str(env, argv[1], "token", false, &o->s[0]));
  CHECK(get_str(env, argv[2], "site", true, &o->s[1]));
  o->exec = exec_staff_from_token;
  o->done = done_staff_from_token;
  o->cleanup = cleanup_staff_from_token;
  return op_queue(env, argv[0], o);
}

static int exec_token_list(op *o) {
  return th_token_list_all(o->h->db, (th_token_list **)&o->res);
}
static napi_value done_token_list(napi_env env, op *o) {
  th_token_list *l = o->res;
  napi_value a = array(env, l->count);
  for (size_t i = 0; i < l->count; i++)
    napi_set_element(env, a, (uint32_t)i, token_info_js(env, &l->items[i]));
  return a;
}
static void cleanup_token_list(op *o) {
  th_token_list_free(o->res);
}

static napi_value js_token_list(napi_env env, napi_callback_info info) {
  ARGS(1);
  NEW_OP();
  o->exec = exec_token_list;
  o->done = done_token_list;
  o->cleanup = cleanup_token_list;
  return op_queue(env, argv[0], o);
}

/* ---- functions without a handle (synchronous) ---------------------------- */

static napi_value js_set_error_class(napi_env env, napi_callback_info info) {
  ARGS(1);
  addon *a = NULL;
  napi_get_instance_data(env, (void **)&a);
  if (a == NULL)
    return NULL;
  if (a->error_class)
    napi_delete_reference(env, a->error_class);
  napi_create_reference(env, argv[0], 1, &a->error_class);
  return undefined(env);
}

static napi_value js_version(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value v = obj(env);
  set_str(env, v, "string", th_version_string());
  set_i64(env, v, "number", th_version());
  set_i64(env, v, "schemaLatest", th_schema_latest());
  return v;
}

/* names(kind): the library's names for statuses, sorts, moderation
 * actions, roles or error codes, index by value. */
static napi_value js_names(napi_env env, napi_callback_info info) {
  ARGS(1);
  char *kind = NULL;
  if (!get_str(env, argv[0], "kind", false, &kind))
    return NULL;
  napi_value a = array(env, 0);
  uint32_t n = 0;
  if (strcmp(kind, "errors") == 0) {
    napi_value o = obj(env);
    for (int code = -1; code > -100; code--) {
      const char *name = th_err_name(code);
      if (strcmp(name, "TH_EUNKNOWN") == 0)
        continue;
      napi_value e = obj(env);
      set_i64(env, e, "errno", code);
      set_str(env, e, "description", th_strerror(code));
      napi_set_named_property(env, o, name, e);
    }
    free(kind);
    return o;
  }
  for (int i = 0; i < 64; i++) {
    const char *name = strcmp(kind, "status") == 0       ? th_status_name(i)
                       : strcmp(kind, "sort") == 0       ? th_sort_name(i)
                       : strcmp(kind, "moderation") == 0 ? th_moderation_name(i)
                       : strcmp(kind, "role") == 0       ? th_role_name(i)
                                                         : NULL;
    napi_value x;
    if (name)
      napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &x);
    else
      napi_get_null(env, &x);
    napi_set_element(env, a, n++, x);
  }
  free(kind);
  return a;
}

static napi_value js_redact(napi_env env, napi_callback_info info) {
  ARGS(1);
  char *text = NULL, *out = NULL;
  if (!get_str(env, argv[0], "text", false, &text))
    return NULL;
  int rc = th_redact(text, &out);
  free(text);
  if (rc < 0) {
    throw_error(env, rc, NULL);
    return NULL;
  }
  napi_value v;
  napi_create_string_utf8(env, out, NAPI_AUTO_LENGTH, &v);
  th_free(out);
  return v;
}

static napi_value js_normalize_url(napi_env env, napi_callback_info info) {
  ARGS(2);
  char *url = NULL, *keep = NULL, *out = NULL;
  if (!get_str(env, argv[0], "url", false, &url))
    return NULL;
  if (!get_str(env, argv[1], "keepParams", true, &keep)) {
    free(url);
    return NULL;
  }
  int rc = th_url_normalize(url, keep, &out);
  free(url);
  free(keep);
  if (rc < 0) {
    throw_error(env, rc,
                rc == TH_EINVAL ? "not an absolute http(s) URL" : NULL);
    return NULL;
  }
  napi_value v;
  napi_create_string_utf8(env, out, NAPI_AUTO_LENGTH, &v);
  th_free(out);
  return v;
}

/* ---- module -------------------------------------------------------------- */

static napi_value init(napi_env env, napi_value exports) {
  addon *a = calloc(1, sizeof *a);
  if (a == NULL ||
      napi_set_instance_data(env, a, addon_free, NULL) != napi_ok) {
    free(a);
    throw_error(env, TH_ENOMEM, "out of memory");
    return NULL;
  }
  static const struct {
    const char *name;
    napi_callback fn;
  } fns[] = {
      {"setErrorClass", js_set_error_class},
      {"version", js_version},
      {"names", js_names},
      {"redact", js_redact},
      {"normalizeUrl", js_normalize_url},
      {"open", js_open},
      {"close", js_close},
      {"info", js_info},
      {"batch", js_batch},
      {"backup", js_backup},
      {"siteCreate", js_site_create},
      {"siteUpdate", js_site_update},
      {"siteGet", js_site_get},
      {"siteList", js_site_list},
      {"siteSetSecret", js_secret_set},
      {"siteGetSecret", js_secret_get},
      {"consultationCreate", js_cons_create},
      {"consultationGet", js_cons_get},
      {"consultationList", js_cons_list},
      {"ideaSubmit", js_idea_submit},
      {"ideaGet", js_idea_get},
      {"ideaGetPublic", js_idea_get_public},
      {"ideaList", js_idea_list},
      {"ideaSetStatus", js_idea_status},
      {"ideaModerate", js_idea_moderate},
      {"ideaWithdraw", js_idea_withdraw},
      {"vote", js_vote},
      {"voteHistory", js_vote_history},
      {"voteMine", js_vote_mine},
      {"feedbackAnswer", js_fb_answer},
      {"feedbackAmend", js_fb_amend},
      {"feedbackRecord", js_fb_record},
      {"feedbackSummary", js_fb_summary},
      {"feedbackPages", js_fb_pages},
      {"feedbackComments", js_fb_comments},
      {"openDataFeedback", js_open_data_feedback},
      {"openDataIdeas", js_open_data_ideas},
      {"residentExport", js_export},
      {"residentErase", js_erase},
      {"purge", js_purge},
      {"keyRotate", js_key_rotate},
      {"auditList", js_audit},
      {"tokenCreate", js_token_create},
      {"tokenRevoke", js_token_revoke},
      {"residentToken", js_resident_token},
      {"tokenCheck", js_token_check},
      {"staffFromToken", js_staff_from_token},
      {"tokenList", js_token_list},
  };
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value f;
    napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL,
                         &f);
    napi_set_named_property(env, exports, fns[i].name, f);
  }
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
