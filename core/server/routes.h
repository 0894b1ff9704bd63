/*
 * routes.h: the server's one route table. Each line is one operation of
 * docs/openapi.yaml:
 *
 *   XX(name, METHOD, "path template", credentials, staff roles, body, flags)
 *
 *  - name: the operationId in docs/openapi.yaml, and the handler's name
 *    (th__handle_<name>, in the file of its resource, handlers/);
 *  - METHOD: llhttp's HTTP_<METHOD>; a GET answers HEAD too;
 *  - path template: literal segments, and {site} (a site's slug), {id} (a
 *    positive whole number) or a last {file} (the rest of the path);
 *  - credentials (TH__C_*): what the operation takes, as the document's
 *    `security` lists it: anyone, a resident's token, a staff token;
 *  - staff roles (TH__ROLES_*): which roles' staff tokens it accepts;
 *  - body (TH__BODY_*): what it reads from the request body;
 *  - flags: TH__DEMO for operations that exist only on a demo server.
 *
 * Everything else comes from this table (router.c): matching, 404 and 405
 * with its Allow header, CORS preflight, the staff gate of operations only
 * staff may use (before their handler runs), and the metrics' route label
 * (the template). tests/openapi/ checks it against docs/openapi.yaml both
 * ways. Adding an operation is one line here and its handler.
 */
#ifndef TH_SERVER_ROUTES_H
#define TH_SERVER_ROUTES_H

/* Credentials an operation accepts: a mask. */
#define TH__C_ANYONE 0x1u   /* none: `{}` in the document */
#define TH__C_RESIDENT 0x2u /* a resident's token: Bearer JWT (`resident`) */
#define TH__C_STAFF 0x4u    /* a staff token: Bearer th_... (`staff`) */

/* Staff roles an operation accepts: masks of 1 << TH_ROLE_*. */
#define TH__ROLES_ADMIN (1u << TH_ROLE_ADMIN)
#define TH__ROLES_COUNCIL ((1u << TH_ROLE_ADMIN) | (1u << TH_ROLE_COUNCILLOR))
#define TH__ROLES_MODERATE ((1u << TH_ROLE_ADMIN) | (1u << TH_ROLE_MODERATOR))
#define TH__ROLES_ANY                                                        \
  ((1u << TH_ROLE_MODERATOR) | (1u << TH_ROLE_COUNCILLOR) |                  \
   (1u << TH_ROLE_ADMIN))

/* What an operation reads from the body. */
#define TH__BODY_NONE 0
#define TH__BODY_JSON 1         /* a JSON object */
#define TH__BODY_JSON_OR_FORM 2 /* or application/x-www-form-urlencoded */

/* Flags. */
#define TH__DEMO 0x1u /* only when the server runs as a demo */

#define TH__C_ANY_STAFF (TH__C_ANYONE | TH__C_STAFF)
#define TH__C_RESIDENT_OR_DEVICE (TH__C_RESIDENT | TH__C_ANYONE)

/* clang-format off */
#define TH__OPS(XX)                                                              \
  XX(livez_get, GET, "/livez", TH__C_ANYONE, 0, TH__BODY_NONE, 0)                \
  XX(readyz_get, GET, "/readyz", TH__C_ANYONE, 0, TH__BODY_NONE, 0)              \
  XX(healthz_get, GET, "/healthz", TH__C_ANYONE, 0, TH__BODY_NONE, 0)            \
  XX(metrics_get, GET, "/metrics", TH__C_ANY_STAFF, TH__ROLES_ADMIN,             \
     TH__BODY_NONE, 0)                                                           \
  XX(form_get, GET, "/form", TH__C_ANYONE, 0, TH__BODY_NONE, 0)                  \
  XX(thanks_get, GET, "/thanks", TH__C_ANYONE, 0, TH__BODY_NONE, 0)              \
  XX(demo_sign_in, POST, "/demo/sign-in", TH__C_ANYONE, 0, TH__BODY_NONE,        \
     TH__DEMO)                                                                   \
  XX(asset_get, GET, "/v/{version}/{file}", TH__C_ANYONE, 0, TH__BODY_NONE, 0)   \
  XX(site_get, GET, "/v1/sites/{site}", TH__C_ANYONE, 0, TH__BODY_NONE, 0)       \
  XX(form_token_get, GET, "/v1/sites/{site}/form-token", TH__C_ANYONE, 0,        \
     TH__BODY_NONE, 0)                                                           \
  XX(feedback_post, POST, "/v1/sites/{site}/feedback", TH__C_ANYONE, 0,          \
     TH__BODY_JSON_OR_FORM, 0)                                                   \
  XX(feedback_summary_get, GET, "/v1/sites/{site}/feedback/summary",             \
     TH__C_ANY_STAFF, TH__ROLES_ANY, TH__BODY_NONE, 0)                           \
  XX(feedback_pages_get, GET, "/v1/sites/{site}/feedback/pages", TH__C_STAFF,    \
     TH__ROLES_ANY, TH__BODY_NONE, 0)                                            \
  XX(feedback_comments_get, GET, "/v1/sites/{site}/feedback/comments",           \
     TH__C_STAFF, TH__ROLES_ANY, TH__BODY_NONE, 0)                               \
  XX(consultations_list, GET, "/v1/sites/{site}/consultations", TH__C_ANYONE,    \
     0, TH__BODY_NONE, 0)                                                        \
  XX(consultation_create, POST, "/v1/sites/{site}/consultations", TH__C_STAFF,   \
     TH__ROLES_COUNCIL, TH__BODY_JSON, 0)                                        \
  XX(ideas_list, GET, "/v1/sites/{site}/ideas",                                  \
     TH__C_ANYONE | TH__C_RESIDENT | TH__C_STAFF, TH__ROLES_ANY, TH__BODY_NONE,  \
     0)                                                                          \
  XX(idea_create, POST, "/v1/sites/{site}/ideas", TH__C_RESIDENT_OR_DEVICE, 0,   \
     TH__BODY_JSON, 0)                                                           \
  XX(idea_get, GET, "/v1/sites/{site}/ideas/{id}", TH__C_ANY_STAFF,              \
     TH__ROLES_ANY, TH__BODY_NONE, 0)                                            \
  XX(idea_history_get, GET, "/v1/sites/{site}/ideas/{id}/history",               \
     TH__C_ANY_STAFF, TH__ROLES_ANY, TH__BODY_NONE, 0)                           \
  XX(vote_put, PUT, "/v1/sites/{site}/ideas/{id}/vote",                          \
     TH__C_RESIDENT_OR_DEVICE, 0, TH__BODY_JSON, 0)                              \
  XX(idea_status_set, POST, "/v1/sites/{site}/ideas/{id}/status", TH__C_STAFF,   \
     TH__ROLES_COUNCIL, TH__BODY_JSON, 0)                                        \
  XX(idea_moderate, POST, "/v1/sites/{site}/ideas/{id}/moderation",              \
     TH__C_STAFF, TH__ROLES_MODERATE, TH__BODY_JSON, 0)                          \
  XX(idea_withdraw, POST, "/v1/sites/{site}/ideas/{id}/withdraw",                \
     TH__C_RESIDENT_OR_DEVICE, 0, TH__BODY_NONE, 0)                              \
  XX(resident_get, GET, "/v1/sites/{site}/residents/me", TH__C_RESIDENT, 0,      \
     TH__BODY_NONE, 0)                                                           \
  XX(resident_erase, DELETE, "/v1/sites/{site}/residents/me", TH__C_RESIDENT,    \
     0, TH__BODY_NONE, 0)                                                        \
  XX(audit_list, GET, "/v1/sites/{site}/audit", TH__C_STAFF, TH__ROLES_ADMIN,    \
     TH__BODY_NONE, 0)                                                           \
  XX(open_feedback_get, GET, "/v1/sites/{site}/open/feedback.csv",               \
     TH__C_ANYONE, 0, TH__BODY_NONE, 0)                                          \
  XX(open_ideas_get, GET, "/v1/sites/{site}/open/ideas.csv", TH__C_ANYONE, 0,    \
     TH__BODY_NONE, 0)
/* clang-format on */

/* A route: where a request went, for metrics and logs. 0 is a path no
 * operation has ("other"); then one per operation (a path's route is its
 * first operation's); TH__ROUTE_STATIC the files of web/ outside the
 * table (the widgets, the dashboard). */
enum {
  TH__ROUTE_NONE = 0,
#define TH__OP_ENUM(name, m, tmpl, creds, roles, body, flags) TH__OP_##name,
  TH__OPS(TH__OP_ENUM)
#undef TH__OP_ENUM
  TH__ROUTE_STATIC,
  TH__ROUTE_COUNT
};

#endif
