/*
 * fuzz_json: arbitrary bytes as the body of each JSON (and form) write the
 * API decodes, through the real server. The first byte picks the route and
 * the credentials; the rest is the body, sent with a correct Content-Length,
 * so every input reaches json_loadb and the handler's field extraction
 * instead of dying in the HTTP parser.
 */
#include "config.h"

#include "fuzz_server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { NONE, JWT, ADMIN, COUNCILLOR, MODERATOR };

static const struct route {
  const char *method, *path, *ctype;
  int auth;
} routes[] = {
    {"POST", "/v1/sites/camden/feedback", "application/json", NONE},
    {"POST", "/v1/sites/camden/feedback", "application/x-www-form-urlencoded", NONE},
    {"POST", "/v1/sites/camden/ideas", "application/json", JWT},
    {"POST", "/v1/sites/camden/ideas", "application/json", NONE},
    {"PUT", "/v1/sites/camden/ideas/1/vote", "application/json", JWT},
    {"PUT", "/v1/sites/camden/ideas/2/vote", "application/json", NONE},
    {"POST", "/v1/sites/camden/ideas/1/status", "application/json", COUNCILLOR},
    {"POST", "/v1/sites/camden/ideas/2/moderation", "application/json", MODERATOR},
    {"POST", "/v1/sites/camden/consultations", "application/json", ADMIN},
    {"POST", "/v1/sites/islington/ideas", "application/json", JWT},
    {"POST", "/v1/sites/camden/ideas/1/withdraw", "application/json", JWT},
    {"POST", "/v1/sites/camden/feedback", "application/json; charset=utf-8", NONE},
};

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  fuzz_server_init();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  const struct route *r = &routes[data[0] % (sizeof routes / sizeof routes[0])];
  data++;
  size--;
  char auth[1200] = "";
  switch (r->auth) {
  case JWT:
    snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n",
             fuzz_resident_jwt("fuzz-resident"));
    break;
  case ADMIN:
    snprintf(auth, sizeof auth, "Authorization: Bearer th_1_%s\r\n",
             "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    break;
  case COUNCILLOR:
    snprintf(auth, sizeof auth, "Authorization: Bearer th_2_%s\r\n",
             "cccccccccccccccccccccccccccccccc");
    break;
  case MODERATOR:
    snprintf(auth, sizeof auth, "Authorization: Bearer th_3_%s\r\n",
             "mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm");
    break;
  default:
    break;
  }
  char head[2048];
  int n = snprintf(head, sizeof head,
                   "%s %s HTTP/1.1\r\nHost: townhall.example\r\n"
                   "Origin: https://www.camden.gov.uk\r\n"
                   "User-Agent: fuzz/1.0\r\n%sContent-Type: %s\r\n"
                   "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                   r->method, r->path, auth, r->ctype, size);
  uint8_t *req = malloc((size_t)n + size);
  if (req == NULL)
    return 0;
  memcpy(req, head, (size_t)n);
  if (size)
    memcpy(req + n, data, size);
  /* No FE FF splitting here: the body is sent as it is. */
  fuzz_server_feed_raw(req, (size_t)n + size, NULL);
  free(req);
  return 0;
}
