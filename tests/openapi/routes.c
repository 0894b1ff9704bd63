/*
 * routes.c: the server's route table (core/server/routes.h, compiled into
 * th__ops[]) as JSON on standard output, one object per operation in the
 * table's order, for tests/openapi/table_check.py to hold against
 * docs/openapi.yaml. Linked with the convenience library, as the unit tests
 * are, to reach th__ internals; it reads the table the server itself
 * dispatches from, not a copy of it.
 *
 *   {"operationId": "ideas_list", "method": "GET",
 *    "path": "/v1/sites/{site}/ideas",
 *    "credentials": ["anyone", "resident", "staff"],
 *    "roles": ["moderator", "councillor", "admin"],
 *    "body": "none", "demo": false}
 */
#include "router.h"

#include <stdio.h>
#include <stdlib.h>

static json_t *th__creds_json(unsigned creds) {
  json_t *a = json_array();
  if (creds & TH__C_ANYONE)
    json_array_append_new(a, json_string("anyone"));
  if (creds & TH__C_RESIDENT)
    json_array_append_new(a, json_string("resident"));
  if (creds & TH__C_STAFF)
    json_array_append_new(a, json_string("staff"));
  if (creds & ~(TH__C_ANYONE | TH__C_RESIDENT | TH__C_STAFF))
    json_array_append_new(a, json_string("unknown"));
  return a;
}

static json_t *th__roles_json(unsigned roles) {
  json_t *a = json_array();
  const int all[] = {TH_ROLE_MODERATOR, TH_ROLE_COUNCILLOR, TH_ROLE_ADMIN};
  unsigned known = 0;
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
    known |= 1u << all[i];
    if (roles & (1u << all[i]))
      json_array_append_new(a, json_string(th_role_name(all[i])));
  }
  if (roles & ~known)
    json_array_append_new(a, json_string("unknown"));
  return a;
}

static const char *th__body_name(int body) {
  switch (body) {
  case TH__BODY_NONE:
    return "none";
  case TH__BODY_JSON:
    return "json";
  case TH__BODY_JSON_OR_FORM:
    return "json-or-form";
  default:
    return "unknown";
  }
}

int main(void) {
  /* One operation a line: a diff of two dumps reads as one of the table. */
  int bad = 0;
  bad |= fputs("[\n", stdout) == EOF;
  for (size_t i = 0; i < th__nops; i++) {
    const th__op *op = &th__ops[i];
    json_t *o =
        json_pack("{s:s,s:s,s:s,s:o,s:o,s:s,s:b}", "operationId", op->id,
                  "method", llhttp_method_name((llhttp_method_t)op->method),
                  "path", op->path, "credentials", th__creds_json(op->creds),
                  "roles", th__roles_json(op->roles), "body",
                  th__body_name(op->body), "demo", (op->flags & TH__DEMO) != 0);
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    bad |= s == NULL || printf("%s%s\n", s, i + 1 < th__nops ? "," : "") < 0;
    free(s);
  }
  bad |= fputs("]\n", stdout) == EOF || fflush(stdout) != 0;
  if (bad) {
    fprintf(stderr, "routes: could not write the table\n");
    return 1;
  }
  return 0;
}
