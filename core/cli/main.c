/*
 * townhall: the command-line tool.
 *
 *   townhall serve [options]          run the HTTP server
 *   townhall site add|set|show|list|secret  manage sites
 *   townhall token create|revoke|list manage staff API tokens
 *   townhall migrate                  bring a database's schema up to date
 *   townhall backup DEST              a consistent copy of a live database
 *   townhall key rotate NEW_KEY_FILE  re-seal everything under a new key file
 *   townhall purge                    apply retention settings now
 *   townhall open-data FILE --site S  the site's open data, as the server's
 *   townhall version
 *
 * Every command takes --db PATH (default ./townhall.db, or $TOWNHALL_DB) and
 * --key-file PATH (default PATH.key, or $TOWNHALL_KEY_FILE). --db may be a
 * PostgreSQL connection URI (postgresql://..., issue 15), which has no file
 * beside it for the key: --key-file or $TOWNHALL_KEY_FILE must name one.
 * A password in the URI is shown nowhere: messages name the URI without it
 * (db_shown), and it is blanked in the command line other local users can
 * read (/proc/PID/cmdline) as soon as the option is read.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "townhall.h"

static const char *opt_db;
static const char *opt_key;

/* ---- the database: a file or a PostgreSQL URI ------------------------------- */

static bool is_uri(const char *db) {
  return strncmp(db, "postgresql://", 13) == 0 ||
         strncmp(db, "postgres://", 11) == 0;
}

/* The spans of a URI that hold a password: the userinfo's (user:PW@host)
 * and the values of password= and sslpassword= parameters. Fills at most
 * max [start, end) pairs; returns how many. */
static int password_spans(const char *u, size_t spans[][2], int max) {
  int n = 0;
  const char *auth = strstr(u, "://") + 3;
  size_t alen = strcspn(auth, "/?");
  const char *at = NULL;
  for (const char *p = auth; p < auth + alen; p++)
    if (*p == '@')
      at = p;
  if (at) {
    const char *colon = memchr(auth, ':', (size_t)(at - auth));
    if (colon && n < max) {
      spans[n][0] = (size_t)(colon + 1 - u);
      spans[n][1] = (size_t)(at - u);
      n++;
    }
  }
  const char *q = strchr(auth + alen, '?');
  for (const char *p = q; p && *p && n < max;) {
    p++; /* past '?' or '&' */
    size_t plen = strcspn(p, "&");
    if ((plen > 9 && strncmp(p, "password=", 9) == 0) ||
        (plen > 12 && strncmp(p, "sslpassword=", 12) == 0)) {
      const char *v = strchr(p, '=') + 1;
      spans[n][0] = (size_t)(v - u);
      spans[n][1] = (size_t)(p + plen - u);
      n++;
    }
    p += plen;
  }
  return n;
}

/* --db's value: kept (a copy), and on the command line a URI's password is
 * overwritten with '*', so that other local users reading
 * /proc/PID/cmdline see it only for the moment before this runs. A
 * password belongs in PGPASSWORD, ~/.pgpass or passfile= (docs). */
static const char *take_db(char *arg) {
  if (!is_uri(arg))
    return arg;
  char *copy = strdup(arg);
  if (copy == NULL) {
    fprintf(stderr, "townhall: out of memory\n");
    exit(1);
  }
  size_t spans[8][2];
  int n = password_spans(arg, spans, 8);
  for (int i = 0; i < n; i++)
    memset(arg + spans[i][0], '*', spans[i][1] - spans[i][0]);
  if (n > 0)
    fprintf(stderr,
            "townhall: warning: the --db URI holds a password, which other "
            "local users can read in the command line; prefer PGPASSWORD, "
            "~/.pgpass or passfile=\n");
  return copy;
}

/* opt_db as messages show it: a URI without its password. */
static const char *db_shown(void) {
  static char buf[4096];
  if (!is_uri(opt_db))
    return opt_db;
  size_t spans[8][2];
  int n = password_spans(opt_db, spans, 8);
  size_t at = 0, from = 0;
  for (int i = 0; i <= n && at < sizeof buf - 1; i++) {
    size_t to = i < n ? spans[i][0] : strlen(opt_db);
    /* user:PW@ becomes user@; password=PW becomes password=*** */
    if (i < n && opt_db[to - 1] == ':')
      to--;
    size_t len = to - from;
    if (len > sizeof buf - 1 - at)
      len = sizeof buf - 1 - at;
    memcpy(buf + at, opt_db + from, len);
    at += len;
    if (i < n) {
      if (opt_db[spans[i][0] - 1] == '=' && at + 3 < sizeof buf) {
        memcpy(buf + at, "***", 3);
        at += 3;
      }
      from = spans[i][1];
    }
  }
  buf[at] = '\0';
  return buf;
}

/* Each command's usage, as `townhall COMMAND --help` prints it; `townhall
 * --help` prints them all. */
static const struct {
  const char *name;
  const char *text;
} usages[] = {
    {"serve",
     "  serve [--listen HOST:PORT] [--demo] [--trusted-proxy CIDR]...\n"
     "        [--max-body BYTES] [--max-header BYTES] [--max-connections N]\n"
     "        [--header-timeout MS] [--body-timeout MS] [--idle-timeout MS]\n"
     "        [--body-min-rate BYTES_PER_S]\n"
     "        [--loops N] [--rate-limit N] [--rate-limit-page N]\n"
     "        [--batch-max N] [--min-form-seconds N]\n"
     "        [--synchronous full|normal] [--purge-interval SECONDS]\n"
     "        [--log-level error|warning|info|debug]\n"},
    {"site",
     "  site add SLUG --name NAME [--origin ORIGIN]... [--anonymous]\n"
     "        [--moderate] [--keep-param NAME]... [--generate-secret]\n"
     "  site set SLUG [--name NAME] [--moderation on|off] [--anonymous on|off]\n"
     "        [--origins \"ORIGIN ...\"] [--keep-params \"NAME ...\"]\n"
     "        [--retention-days N] [--audit-days N] [--key-days N]\n"
     "        [--open-data-threshold N] [--open-data-round N]\n"
     "        [--wards \"A,B\"] [--categories \"A,B\"] [--contacts \"A,B\"]\n"
     "        (lists: comma-separated, or one item per line)\n"
     "  site show SLUG\n"
     "  site list\n"
     "  site secret SLUG (--generate | --from-file FILE)\n"},
    {"token",
     "  token create --role moderator|councillor|admin --label TEXT\n"
     "        [--site SLUG] [--days N]\n"
     "  token revoke ID\n"
     "  token list\n"},
    {"migrate",
     "  migrate                       (takes a backup first if the schema changes)\n"},
    {"backup",
     "  backup DEST                   (a consistent copy, even while serving)\n"},
    {"key",
     "  key rotate NEW_KEY_FILE       (server stopped; takes a backup first;\n"
     "                                revokes every staff token)\n"},
    {"purge", "  purge                         (apply retention settings now)\n"},
    {"open-data",
     "  open-data feedback.csv --site SLUG [--from YYYY-MM-DD] [--weeks N]\n"
     "  open-data ideas.csv --site SLUG\n"
     "        (to standard output: the bytes the server publishes at\n"
     "        /v1/sites/SLUG/open/FILE; feedback.csv: complete weeks only,\n"
     "        52 by default, or from the week of --from, at most 104)\n"},
    {"version", "  version\n"},
    {"help", "  help [COMMAND]                (this text, or one command's)\n"},
};

static const char usage_common[] =
    "every command: --db PATH (default ./townhall.db or $TOWNHALL_DB),\n"
    "               or --db postgresql://... (a libpq URI; then --key-file\n"
    "               or $TOWNHALL_KEY_FILE is required),\n"
    "               --key-file PATH (default PATH.key or $TOWNHALL_KEY_FILE),\n"
    "               --help, -h (its usage)\n";

static void usage(FILE *f) {
  fprintf(f, "usage: townhall COMMAND [options]\n\ncommands:\n");
  for (size_t i = 0; i < sizeof usages / sizeof usages[0]; i++)
    fputs(usages[i].text, f);
  fprintf(f, "\n%s", usage_common);
}

/* The command being run ("serve", "site", ...): whose usage --help and a
 * bad option print. */
static const char *command = "";

/* One command's usage; every command's for one townhall does not have. */
static void command_usage(FILE *f, const char *name) {
  for (size_t i = 0; i < sizeof usages / sizeof usages[0]; i++)
    if (strcmp(usages[i].name, name) == 0) {
      fprintf(f, "usage:\n%s\n%s", usages[i].text, usage_common);
      return;
    }
  usage(f);
}

/* A command's subcommands are the words its usage lists after its name
 * ("  site add SLUG ..."): one that is not documented there is refused
 * before anything is opened. */
static bool is_subcommand(const char *cmd, const char *sub) {
  size_t c = strlen(cmd), n = strlen(sub);
  if (n == 0 || sub[strspn(sub, "abcdefghijklmnopqrstuvwxyz-.")] != '\0')
    return false;
  for (size_t i = 0; i < sizeof usages / sizeof usages[0]; i++) {
    if (strcmp(usages[i].name, cmd) != 0)
      continue;
    /* Each line: "  CMD SUB ..." or "  CMD SUB\n" is one. */
    for (const char *t = usages[i].text; t != NULL;) {
      if (strncmp(t, "  ", 2) == 0 && strncmp(t + 2, cmd, c) == 0 &&
          t[2 + c] == ' ' && strncmp(t + 3 + c, sub, n) == 0 &&
          (t[3 + c + n] == ' ' || t[3 + c + n] == '\n'))
        return true;
      t = strchr(t, '\n');
      if (t != NULL)
        t++;
    }
  }
  return false;
}

/* site, token, key, open-data: commands whose usage names subcommands. */
static bool has_subcommands(const char *cmd) {
  for (size_t i = 0; i < sizeof usages / sizeof usages[0]; i++) {
    if (strcmp(usages[i].name, cmd) != 0)
      continue;
    size_t n = strlen(cmd);
    const char *t = usages[i].text + 2 + n;
    return t[0] == ' ' && t[1] >= 'a' && t[1] <= 'z';
  }
  return false;
}

static bool is_help(const char *arg) {
  return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

/* getopt_long for every command: the next option, or -1 after the last.
 * --help and -h print the command's usage to standard output and exit 0;
 * an option the command does not know, or one missing its value, prints
 * what was wrong and the usage to standard error and exits 2 (getopt's
 * own messages would not say which command, nor how to get help). Called
 * before anything is opened, so exiting leaves nothing behind. */
static int next_option(int argc, char **argv, const struct option *longs) {
  opterr = 0;
  int c = getopt_long(argc, argv, ":", longs, NULL);
  if (c != '?' && c != ':')
    return c;
  const char *arg = argv[optind - 1];
  bool is_long = strncmp(arg, "--", 2) == 0;
  if (c == '?' && ((optopt == 'h' && !is_long) || is_help(arg))) {
    command_usage(stdout, command);
    exit(fflush(stdout) == 0 ? 0 : 1);
  }
  if (c == ':')
    fprintf(stderr, "townhall %s: option %s needs a value\n\n", command, arg);
  else if (optopt != 0 && !is_long)
    fprintf(stderr, "townhall %s: unknown option -%c\n\n", command, optopt);
  else if (optopt != 0) /* --demo=1: a known option given a value */
    fprintf(stderr, "townhall %s: option %.*s takes no value\n\n", command,
            (int)strcspn(arg, "="), arg);
  else
    fprintf(stderr, "townhall %s: unknown option %s\n\n", command, arg);
  command_usage(stderr, command);
  exit(2);
}

/* After the options: exactly `want` arguments (0 or 1) left, else what is
 * wrong and the usage on standard error, and 2. `what` names the missing
 * one ("SLUG"), `label` the command ("site add"). Before anything opens. */
static int positional(int argc, char **argv, int want, const char *label,
                      const char *what) {
  if (argc - optind == want)
    return 0;
  if (argc - optind < want)
    fprintf(stderr, "townhall %s: %s missing\n\n", label, what);
  else
    fprintf(stderr, "townhall %s: unexpected argument %s\n\n", label,
            argv[optind + want]);
  command_usage(stderr, command);
  return 2;
}

static int fail(th_db *db, int rc, const char *what) {
  fprintf(stderr, "townhall: %s: %s (%s)\n", what,
          db ? th_errmsg(db) : th_strerror(rc), th_err_name(rc));
  return 1;
}

static th_db *open_db(int flags, int *rc_out) {
  th_open_options o = {.size = sizeof(o), .key_file = opt_key, .flags = flags};
  th_db *db = NULL;
  int rc = th_open(&db, opt_db, &o);
  *rc_out = rc;
  if (rc != TH_OK) {
    fail(db, rc, "cannot open the database");
    th_close(db);
    return NULL;
  }
  return db;
}

/* ---- serve -------------------------------------------------------------------- */

static uv_signal_t sig_term, sig_int;
static th_server *server;

static void on_closed(th_server *s, void *data) {
  (void)s;
  (void)data;
  uv_close((uv_handle_t *)&sig_term, NULL);
  uv_close((uv_handle_t *)&sig_int, NULL);
  server = NULL;
}

static void on_signal(uv_signal_t *h, int signum) {
  (void)h;
  fprintf(stderr, "townhall: %s: finishing requests in flight, then exiting\n",
          signum == SIGTERM ? "SIGTERM" : "SIGINT");
  if (server)
    th_server_close(server, on_closed, NULL);
}

static char *b64url(const void *data, size_t len) {
  size_t n = sodium_base64_encoded_len(len,
                                       sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  char *s = malloc(n);
  if (s)
    sodium_bin2base64(s, n, data, len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  return s;
}

static int demo_setup(th_db *db, int port) {
  th_site *existing = NULL;
  char origins[256];
  snprintf(origins, sizeof origins, "http://127.0.0.1:%d http://localhost:%d",
           port, port);
  if (th_site_get(db, "demo", &existing) == TH_OK) {
    /* Another start, maybe on another port: the demo page is this one. */
    if (strcmp(existing->origins ? existing->origins : "", origins) != 0) {
      const char *was = existing->origins;
      existing->origins = origins;
      int rc = th_site_update(db, "townhall serve --demo", existing);
      existing->origins = was; /* th_site_free frees the site's own */
      if (rc < 0) {
        th_site_free(existing);
        return fail(db, rc, "updating the demo site's origins");
      }
    }
    th_site_free(existing);
  } else {
    th_site s = {.size = sizeof s,
                 .slug = "demo",
                 .name = "Demo Borough Council",
                 .origins = origins,
                 .allow_anonymous = 1};
    int rc = th_site_create(db, "townhall serve --demo", &s, NULL);
    if (rc < 0)
      return fail(db, rc, "creating the demo site");
    unsigned char secret[32];
    randombytes_buf(secret, sizeof secret);
    th_site_set_secret(db, "demo", secret, sizeof secret);
    sodium_memzero(secret, sizeof secret);
    static const char *const ideas[][3] = {
        {"More bins along the canal towpath",
         "The bins near the lock overflow every weekend.", "environment"},
        {"Safer crossing outside the primary school",
         "A zebra crossing would help children and parents.", "transport"},
        {"Longer library opening hours on Saturdays",
         "Many of us work during the week.", "libraries"},
        {"Plant street trees on the high street",
         "Shade in summer and somewhere for birds.", "environment"},
        {"A community fridge at the market",
         "Less food waste and help for neighbours.", "community"}};
    int64_t ids[5] = {0};
    for (int i = 0; i < 5; i++) {
      th_who author = {.resident = "demo-author"};
      th_idea_new n = {.size = sizeof n, .title = ideas[i][0], .body = ideas[i][1],
                       .category = ideas[i][2], .ward = "Central"};
      th_idea_submit(db, "demo", &author, &n, &ids[i]);
    }
    static const int votes[5] = {9, 6, 4, 3, 1};
    for (int i = 0; i < 5; i++)
      for (int v = 0; v < votes[i]; v++) {
        char r[32];
        snprintf(r, sizeof r, "demo-resident-%d", v);
        th_who who = {.resident = r};
        th_vote(db, "demo", &who, ids[i], v % 5 == 4 ? -1 : 1, NULL);
      }
    th_idea_set_status(db, "demo", "townhall serve --demo", ids[1],
                       TH_UNDER_REVIEW,
                       "Highways officers will survey the crossing this month.");
  }
  /* One staff token per role, each named for what it is: the dashboard
   * shows a moderator, a councillor and an admin different things. */
  static const int roles[] = {TH_ROLE_MODERATOR, TH_ROLE_COUNCILLOR,
                              TH_ROLE_ADMIN};
  char *tokens[3] = {NULL, NULL, NULL};
  for (int i = 0; i < 3; i++) {
    char label[48];
    int64_t id = 0;
    snprintf(label, sizeof label, "demo %s", th_role_name(roles[i]));
    int rc = th_token_create(db, "townhall serve --demo", "demo", roles[i],
                             label, th_now(db) + 86400000, &tokens[i], &id);
    if (rc < 0) {
      for (int k = 0; k < i; k++)
        th_free(tokens[k]);
      return fail(db, rc, "creating the demo tokens");
    }
  }
  /* A resident JWT for trying the demo with curl, valid for an hour. */
  char *jwt = NULL;
  th_resident_token(db, "demo", "demo-resident-you", 3600, &jwt);
  printf("townhall demo: http://127.0.0.1:%d/\n"
         "  site:               demo\n",
         port);
  for (int i = 0; i < 3; i++)
    printf("  %s token:%*s%s\n", th_role_name(roles[i]),
           (int)(13 - strlen(th_role_name(roles[i]))), "", tokens[i]);
  printf("  a resident's JWT:   %s\n"
         "  try:  curl -s http://127.0.0.1:%d/v1/sites/demo/ideas?sort=top\n",
         jwt ? jwt : "(none)", port);
  if (fflush(stdout) != 0)
    perror("townhall: writing the demo banner");
  for (int i = 0; i < 3; i++)
    th_free(tokens[i]);
  th_free(jwt);
  return 0;
}

/* A whole decimal number in [lo, hi]: atoi would take "80x" for 80 and
 * "abc" for 0 (a random port). */
static int parse_int(const char *s, long lo, long hi, int *out) {
  char *end = NULL;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
    return -1;
  *out = (int)v;
  return 0;
}

/* A count or a duration for a server limit: 0 (the default) to 2^31-1. */
static int parse_limit(const char *s, unsigned *out) {
  int v = 0;
  if (parse_int(s, 0, INT_MAX, &v) < 0)
    return -1;
  *out = (unsigned)v;
  return 0;
}

static int parse_listen(const char *s, char *host, size_t cap, int *port) {
  const char *colon = strrchr(s, ':');
  if (colon == NULL) {
    snprintf(host, cap, "127.0.0.1");
    return parse_int(s, 0, 65535, port);
  } else {
    size_t n = (size_t)(colon - s);
    if (n >= cap)
      return -1;
    memcpy(host, s, n);
    host[n] = '\0';
    if (host[0] == '[') { /* [::1]:8080 */
      memmove(host, host + 1, n);
      char *rb = strchr(host, ']');
      if (rb)
        *rb = '\0';
    }
    return parse_int(colon + 1, 0, 65535, port);
  }
}

static int cmd_serve(int argc, char **argv) {
  static const struct option longs[] = {
      {"listen", 1, 0, 'l'},          {"demo", 0, 0, 'D'},
      {"trusted-proxy", 1, 0, 'p'},   {"max-body", 1, 0, 'b'},
      {"max-header", 1, 0, 'H'},      {"max-connections", 1, 0, 'c'},
      {"header-timeout", 1, 0, 't'},  {"body-timeout", 1, 0, 'B'},
      {"idle-timeout", 1, 0, 'i'},    {"loops", 1, 0, 'L'},
      {"rate-limit", 1, 0, 'r'},      {"log-level", 1, 0, 'v'},
      {"synchronous", 1, 0, 's'},     {"purge-interval", 1, 0, 'P'},
      {"batch-max", 1, 0, 'm'},       {"min-form-seconds", 1, 0, 'f'},
      {"db", 1, 0, 'd'},              {"key-file", 1, 0, 'k'},
      {"body-min-rate", 1, 0, 'R'},   {"rate-limit-page", 1, 0, 'g'},
      {0, 0, 0, 0}};
  th_server_config cfg = {.size = sizeof(cfg)};
  char host[64] = "127.0.0.1";
  int port = 8080, demo = 0, sync = 2;
  char proxies[1024] = "";
  int c;
  while ((c = next_option(argc, argv, longs)) != -1) {
    switch (c) {
    case 'l':
      if (parse_listen(optarg, host, sizeof host, &port) < 0) {
        fprintf(stderr, "townhall: bad --listen %s\n", optarg);
        return 2;
      }
      break;
    case 'D': demo = 1; break;
    case 'p':
      if (strlen(proxies) + strlen(optarg) + 2 >= sizeof proxies)
        return 2;
      snprintf(proxies + strlen(proxies), sizeof proxies - strlen(proxies),
               " %s", optarg);
      break;
    case 'b':
    case 'H':
    case 'c':
    case 't':
    case 'B':
    case 'R':
    case 'i':
    case 'L':
    case 'r':
    case 'g':
    case 'm': {
      unsigned *field = c == 'b'   ? &cfg.max_body_bytes
                        : c == 'H' ? &cfg.max_header_bytes
                        : c == 'c' ? &cfg.max_connections
                        : c == 't' ? &cfg.header_timeout_ms
                        : c == 'B' ? &cfg.body_timeout_ms
                        : c == 'R' ? &cfg.body_min_rate
                        : c == 'i' ? &cfg.idle_timeout_ms
                        : c == 'L' ? &cfg.extra_loops
                        : c == 'r' ? &cfg.rate_per_minute
                        : c == 'g' ? &cfg.rate_per_page_hour
                                   : &cfg.batch_max;
      if (parse_limit(optarg, field) < 0) {
        fprintf(stderr, "townhall: bad number %s (0 to %d)\n", optarg,
                INT_MAX);
        return 2;
      }
      break;
    }
    case 'f':
    case 'P':
      if (parse_int(optarg, -1, 1000000000,
                    c == 'f' ? &cfg.min_form_seconds : &cfg.purge_interval_s) < 0) {
        fprintf(stderr, "townhall: bad number %s\n", optarg);
        return 2;
      }
      break;
    case 's':
      if (strcmp(optarg, "full") == 0)
        sync = 2;
      else if (strcmp(optarg, "normal") == 0)
        sync = 1;
      else {
        fprintf(stderr, "townhall: --synchronous is full or normal\n");
        return 2;
      }
      break;
    case 'v': {
      static const char *const lv[] = {"error", "warning", "info", "debug"};
      cfg.log_level = 0;
      for (int i = 0; i < 4; i++)
        if (strcmp(optarg, lv[i]) == 0)
          cfg.log_level = i + 1;
      if (cfg.log_level == 0) {
        fprintf(stderr, "townhall: --log-level is error, warning, info or debug\n");
        return 2;
      }
      break;
    }
    case 'd': opt_db = take_db(optarg); break;
    case 'k': opt_key = optarg; break;
    default:
      command_usage(stderr, command);
      return 2;
    }
  }
  if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
    perror("townhall: ignoring SIGPIPE");
    return 1;
  }
  /* An existing database is migrated only by `townhall migrate`, which
   * takes a backup first: serve refuses a schema that needs it. */
  th_open_options o = {.size = sizeof(o), .key_file = opt_key, .synchronous = sync,
                       .flags = TH_OPEN_NOMIGRATE};
  th_db *db = NULL;
  int rc = th_open(&db, opt_db, &o);
  if (rc != TH_OK) {
    int r = fail(db, rc, "cannot open the database");
    th_close(db);
    return r;
  }
  cfg.host = host;
  cfg.demo = demo;
  cfg.port = port == 0 ? -1 : port;
  cfg.trusted_proxies = proxies[0] ? proxies : NULL;
  uv_loop_t *loop = uv_default_loop();
  rc = th_server_new(&server, db, loop, &cfg);
  if (rc != TH_OK) {
    fprintf(stderr, "townhall: cannot start the server: %s\n", th_strerror(rc));
    th_close(db);
    return 1;
  }
  rc = th_server_listen(server);
  if (rc != TH_OK) {
    fprintf(stderr, "townhall: %s\n", th_server_errmsg(server));
    th_server_close(server, NULL, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    th_close(db);
    return 1;
  }
  /* After listening: with port 0 the demo's origins need the real port. */
  if (demo && demo_setup(db, th_server_port(server)) != 0) {
    th_server_close(server, NULL, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    th_close(db);
    return 1;
  }
  uv_signal_init(loop, &sig_term);
  uv_signal_init(loop, &sig_int);
  uv_signal_start(&sig_term, on_signal, SIGTERM);
  uv_signal_start(&sig_int, on_signal, SIGINT);
  uv_run(loop, UV_RUN_DEFAULT);
  rc = uv_loop_close(loop);
  th_close(db);
  if (rc != 0) {
    fprintf(stderr, "townhall: the loop did not close cleanly: %s\n",
            uv_strerror(rc));
    return 1;
  }
  return 0;
}

/* ---- sites ----------------------------------------------------------------------- */

/* A usage error of `townhall site set`: says what, and returns -1 (the
 * caller exits with status 2). */
static int site_usage(const char *what, const char *arg) {
  fprintf(stderr, "townhall site set: %s%s\n\n", what, arg);
  command_usage(stderr, "site");
  return -1;
}

static int site_onoff(const char *opt, const char *v, int *out) {
  if (strcmp(v, "on") == 0)
    *out = 1;
  else if (strcmp(v, "off") == 0)
    *out = 0;
  else {
    fprintf(stderr, "townhall site set: %s takes on or off, not \"%s\"\n",
            opt, v);
    return -1;
  }
  return 0;
}

static int site_number(const char *opt, const char *v, int *out) {
  char *end = NULL;
  errno = 0;
  long n = strtol(v, &end, 10);
  if (v[0] == '\0' || *end != '\0' || errno || n < INT_MIN || n > INT_MAX) {
    fprintf(stderr, "townhall site set: %s takes a whole number, not \"%s\"\n",
            opt, v);
    return -1;
  }
  *out = (int)n;
  return 0;
}

/* "A,B" (or one item per line, for items holding a comma) as the library
 * takes a list: one item per line. NULL when out of memory. */
static char *site_list(const char *v) {
  char *out = strdup(v);
  if (out && strchr(out, '\n') == NULL)
    for (char *p = out; *p; p++)
      if (*p == ',')
        *p = '\n';
  return out;
}

/* th_site_update's message names the C field it refuses ("comment_days
 * must be ..."); `site set` names the option the user typed instead. */
static void site_set_fail(th_db *db, int rc) {
  static const char *const names[][2] = {
      {"comment_days", "--retention-days"},
      {"audit_days", "--audit-days"},
      {"key_days", "--key-days"},
      {"open_min", "--open-data-threshold"},
      {"open_round", "--open-data-round"},
      {"keep_params", "--keep-params"},
      {"origins", "--origins"},
      {"name", "--name"},
      {"wards", "--wards"},
      {"categories", "--categories"},
      {"contacts", "--contacts"}};
  const char *msg = th_errmsg(db);
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    size_t n = strlen(names[i][0]);
    if (strncmp(msg, names[i][0], n) == 0 && (msg[n] == ' ' || msg[n] == ':')) {
      fprintf(stderr, "townhall: setting the site: %s%s (%s)\n", names[i][1],
              msg + n, th_err_name(rc));
      return;
    }
  }
  fail(db, rc, "setting the site");
}

/* townhall site set SLUG [options]: changes the settings named, keeps the
 * rest (th_site_get, then th_site_update). */
static int cmd_site_set(int argc, char **argv) {
  static const struct option longs[] = {
      {"name", 1, 0, 'n'},
      {"moderation", 1, 0, 'm'},
      {"anonymous", 1, 0, 'a'},
      {"origins", 1, 0, 'o'},
      {"keep-params", 1, 0, 'q'},
      {"retention-days", 1, 0, 'r'},
      {"audit-days", 1, 0, 'A'},
      {"key-days", 1, 0, 'K'},
      {"open-data-threshold", 1, 0, 't'},
      {"open-data-round", 1, 0, 'R'},
      {"wards", 1, 0, 'w'},
      {"categories", 1, 0, 'c'},
      {"contacts", 1, 0, 'C'},
      {"db", 1, 0, 'd'},
      {"key-file", 1, 0, 'k'},
      {0, 0, 0, 0}};
  /* What was given; -2 (or NULL) for "keep". */
  const char *name = NULL, *origins = NULL, *params = NULL;
  char *lists[3] = {NULL, NULL, NULL}; /* wards, categories, contacts */
  int moderation = -2, anonymous = -2, days = -2, audit = -2, keys = -2;
  int threshold = -2, round = -2, given = 0, status = 0;
  optind = 2;
  int c;
  /* next_option answers --help, an unknown option and a missing value
   * (exit 0 or 2) itself. */
  while (status == 0 && (c = next_option(argc, argv, longs)) != -1) {
    given += c != 'd' && c != 'k';
    switch (c) {
    case 'n': name = optarg; break;
    case 'o': origins = optarg; break;
    case 'q': params = optarg; break;
    case 'm': status = site_onoff("--moderation", optarg, &moderation); break;
    case 'a': status = site_onoff("--anonymous", optarg, &anonymous); break;
    case 'r': status = site_number("--retention-days", optarg, &days); break;
    case 'A': status = site_number("--audit-days", optarg, &audit); break;
    case 'K': status = site_number("--key-days", optarg, &keys); break;
    case 't':
      status = site_number("--open-data-threshold", optarg, &threshold);
      break;
    case 'R': status = site_number("--open-data-round", optarg, &round); break;
    case 'w':
    case 'c':
    case 'C': {
      int i = c == 'w' ? 0 : c == 'c' ? 1 : 2;
      free(lists[i]);
      if ((lists[i] = site_list(optarg)) == NULL) {
        fprintf(stderr, "townhall: out of memory\n");
        status = 1;
      }
      break;
    }
    case 'd': opt_db = take_db(optarg); break;
    case 'k': opt_key = optarg; break;
    }
  }
  if (status == 0 && optind + 1 != argc)
    status = site_usage(optind >= argc ? "which site?" : "one site at a time",
                        "");
  if (status == 0 && given == 0)
    status = site_usage("nothing to change: name a setting to set", "");
  if (status != 0) {
    for (int i = 0; i < 3; i++)
      free(lists[i]);
    return status < 0 ? 2 : status;
  }
  int rc;
  th_db *db = open_db(TH_OPEN_NOMIGRATE | TH_OPEN_NOCREATE, &rc);
  th_site *s = NULL;
  if (db == NULL) {
    status = 1;
  } else if ((rc = th_site_get(db, argv[optind], &s)) < 0) {
    status = fail(db, rc, "finding the site");
  } else {
    /* th_site_free frees the site's own strings: keep them aside while
     * the struct points at ours. */
    th_site keep = *s;
    if (name) s->name = name;
    if (origins) s->origins = origins;
    if (params) s->keep_params = params;
    if (lists[0]) s->wards = lists[0];
    if (lists[1]) s->categories = lists[1];
    if (lists[2]) s->contacts = lists[2];
    if (moderation != -2) s->moderate_ideas = moderation;
    if (anonymous != -2) s->allow_anonymous = anonymous;
    if (days != -2) s->comment_days = days;
    if (audit != -2) s->audit_days = audit;
    if (keys != -2) s->key_days = keys;
    if (threshold != -2) s->open_min = threshold;
    if (round != -2) s->open_round = round;
    rc = th_site_update(db, "townhall site set", s);
    *s = keep;
    if (rc < 0) {
      site_set_fail(db, rc);
      /* A value the library refuses is a usage error too. */
      status = rc == TH_EINVAL || rc == TH_ERANGE || rc == TH_ETOOLONG ||
                       rc == TH_ETOOSHORT || rc == TH_EUTF8
                   ? 2
                   : 1;
    } else {
      printf(rc == TH_DUPLICATE ? "site %s: nothing changed\n"
                                : "updated site %s\n",
             s->slug);
    }
  }
  th_site_free(s);
  th_close(db);
  for (int i = 0; i < 3; i++)
    free(lists[i]);
  return status;
}

/* A list stored one item per line, printed as "A, B". */
static void site_print_list(const char *label, const char *lines) {
  printf("%-20s ", label);
  for (const char *p = lines; *p; p++)
    if (*p == '\n')
      fputs(", ", stdout);
    else
      putchar(*p);
  putchar('\n');
}

/* townhall site show SLUG: every setting, named as site set names it. */
static int cmd_site_show(int argc, char **argv) {
  static const struct option longs[] = {
      {"db", 1, 0, 'd'}, {"key-file", 1, 0, 'k'}, {0, 0, 0, 0}};
  optind = 2;
  int c;
  while ((c = next_option(argc, argv, longs)) != -1) {
    if (c == 'd')
      opt_db = take_db(optarg);
    else if (c == 'k')
      opt_key = optarg;
  }
  if (optind + 1 != argc) {
    fprintf(stderr, "townhall site show: which site? townhall site show SLUG\n");
    return 2;
  }
  int rc;
  th_db *db = open_db(TH_OPEN_READONLY | TH_OPEN_NOCREATE, &rc);
  if (db == NULL)
    return 1;
  th_site *s = NULL;
  int status = 0;
  if ((rc = th_site_get(db, argv[optind], &s)) < 0) {
    status = fail(db, rc, "finding the site");
  } else {
    printf("%-20s %s\n%-20s %s\n%-20s %s\n%-20s %s\n", "slug", s->slug,
           "name", s->name, "origins", s->origins, "keep-params",
           s->keep_params);
    printf("%-20s %s\n%-20s %s\n%-20s %s\n", "moderation",
           s->moderate_ideas ? "on" : "off", "anonymous",
           s->allow_anonymous ? "on" : "off", "rank-anonymous",
           s->rank_anonymous ? "on" : "off");
    printf("%-20s %d\n%-20s %d\n%-20s %d\n%-20s %d\n%-20s %d\n",
           "retention-days", s->comment_days, "audit-days", s->audit_days,
           "key-days", s->key_days, "open-data-threshold", s->open_min,
           "open-data-round", s->open_round);
    site_print_list("wards", s->wards);
    site_print_list("categories", s->categories);
    site_print_list("contacts", s->contacts);
  }
  th_site_free(s);
  th_close(db);
  return status;
}

static int cmd_site(int argc, char **argv) {
  if (argc < 2) {
    command_usage(stderr, command);
    return 2;
  }
  const char *sub = argv[1];
  if (strcmp(sub, "set") == 0)
    return cmd_site_set(argc, argv);
  if (strcmp(sub, "show") == 0)
    return cmd_site_show(argc, argv);
  static const struct option longs[] = {
      {"name", 1, 0, 'n'},        {"origin", 1, 0, 'o'},
      {"anonymous", 0, 0, 'a'},   {"moderate", 0, 0, 'm'},
      {"keep-param", 1, 0, 'q'},  {"generate-secret", 0, 0, 'g'},
      {"generate", 0, 0, 'g'},    {"from-file", 1, 0, 'F'},
      {"db", 1, 0, 'd'},          {"key-file", 1, 0, 'k'},
      {0, 0, 0, 0}};
  th_site s = TH_SITE_INIT;
  char origins[1024] = "", params[512] = "";
  int gen = 0;
  const char *secret_file = NULL;
  optind = 2;
  int c;
  while ((c = next_option(argc, argv, longs)) != -1) {
    switch (c) {
    case 'n': s.name = optarg; break;
    case 'o':
      if (strlen(origins) + strlen(optarg) + 2 < sizeof origins) {
        snprintf(origins + strlen(origins), sizeof origins - strlen(origins),
                 " %s", optarg);
      }
      break;
    case 'q':
      if (strlen(params) + strlen(optarg) + 2 < sizeof params) {
        snprintf(params + strlen(params), sizeof params - strlen(params),
                 " %s", optarg);
      }
      break;
    case 'a': s.allow_anonymous = 1; break;
    case 'm': s.moderate_ideas = 1; break;
    case 'g': gen = 1; break;
    case 'F': secret_file = optarg; break;
    case 'd': opt_db = take_db(optarg); break;
    case 'k': opt_key = optarg; break;
    default: command_usage(stderr, command); return 2;
    }
  }
  char label[32];
  snprintf(label, sizeof label, "site %s", sub);
  if (positional(argc, argv, strcmp(sub, "list") != 0, label, "SLUG") != 0)
    return 2;
  int rc;
  th_db *db = open_db(TH_OPEN_NOMIGRATE, &rc);
  if (db == NULL)
    return 1;
  int status = 0;
  if (strcmp(sub, "list") == 0) {
    th_site_list *l = NULL;
    if ((rc = th_site_list_all(db, &l)) < 0)
      status = fail(db, rc, "listing sites");
    for (size_t i = 0; l && i < l->count; i++)
      printf("%s\t%s\t%s%s%s\n", l->items[i]->slug, l->items[i]->name,
             l->items[i]->origins,
             l->items[i]->allow_anonymous ? "\tanonymous" : "",
             l->items[i]->moderate_ideas ? "\tmoderated" : "");
    th_site_list_free(l);
  } else if (strcmp(sub, "add") == 0 && optind < argc) {
    s.slug = argv[optind];
    s.origins = origins;
    s.keep_params = params;
    if (s.name == NULL)
      s.name = s.slug;
    rc = th_site_create(db, "townhall site add", &s, NULL);
    if (rc < 0)
      status = fail(db, rc, "adding the site");
    else
      printf("added site %s\n", s.slug);
  } else if (strcmp(sub, "secret") == 0 && optind < argc) {
    s.slug = argv[optind];
    gen = gen || secret_file == NULL;
  } else {
    command_usage(stderr, command);
    status = 2;
  }
  if (status == 0 && s.slug && (gen || secret_file)) {
    unsigned char secret[256];
    size_t len = 32;
    if (secret_file) {
      FILE *f = fopen(secret_file, "rb");
      len = f ? fread(secret, 1, sizeof secret, f) : 0;
      if (f && fclose(f) != 0)
        len = 0; /* refused below, as an unreadable file */
      while (len && (secret[len - 1] == '\n' || secret[len - 1] == '\r'))
        len--;
    } else {
      randombytes_buf(secret, 32);
    }
    rc = th_site_set_secret(db, s.slug, secret, len);
    if (rc < 0) {
      status = fail(db, rc, "setting the site secret");
    } else if (!secret_file) {
      char *b = b64url(secret, len);
      printf("resident-token secret for %s (shown once; give it to the "
             "council's app, base64url):\n%s\n",
             s.slug, b);
      free(b);
    }
    sodium_memzero(secret, sizeof secret);
  }
  th_close(db);
  return status;
}

/* ---- tokens ----------------------------------------------------------------------- */

static int cmd_token(int argc, char **argv) {
  if (argc < 2) {
    command_usage(stderr, command);
    return 2;
  }
  const char *sub = argv[1];
  static const struct option longs[] = {
      {"role", 1, 0, 'r'}, {"label", 1, 0, 'l'},    {"site", 1, 0, 's'},
      {"days", 1, 0, 'n'}, {"db", 1, 0, 'd'},       {"key-file", 1, 0, 'k'},
      {0, 0, 0, 0}};
  const char *role = NULL, *label = NULL, *site = NULL;
  int days = 90;
  optind = 2;
  int c;
  while ((c = next_option(argc, argv, longs)) != -1) {
    switch (c) {
    case 'r': role = optarg; break;
    case 'l': label = optarg; break;
    case 's': site = optarg; break;
    case 'n':
      if (parse_int(optarg, 1, 36500, &days) < 0) {
        fprintf(stderr, "townhall: --days must be 1 to 36500\n");
        return 2;
      }
      break;
    case 'd': opt_db = take_db(optarg); break;
    case 'k': opt_key = optarg; break;
    default: command_usage(stderr, command); return 2;
    }
  }
  char what[32];
  snprintf(what, sizeof what, "token %s", sub);
  bool revoke = strcmp(sub, "revoke") == 0;
  if (positional(argc, argv, revoke, what, "ID") != 0)
    return 2;
  long long revoke_id = 0;
  if (revoke) {
    char *end = NULL;
    errno = 0;
    revoke_id = strtoll(argv[optind], &end, 10);
    if (errno != 0 || end == argv[optind] || *end != '\0' || revoke_id < 1) {
      fprintf(stderr, "townhall token revoke: the ID is a number, as "
                      "townhall token list shows (not %s)\n", argv[optind]);
      return 2;
    }
  }
  int rc;
  th_db *db = open_db(TH_OPEN_NOMIGRATE, &rc);
  if (db == NULL)
    return 1;
  int status = 0;
  if (strcmp(sub, "create") == 0) {
    char *tok = NULL;
    int64_t id = 0;
    int r = role ? th_role_parse(role) : TH_EINVAL;
    rc = th_token_create(db, "townhall token create", site, r,
                         label ? label : "", th_now(db) + (th_time)days * 86400000,
                         &tok, &id);
    if (rc < 0)
      status = fail(db, rc, "creating the token");
    else
      printf("token %" PRId64 " (%s, %s; shown once):\n%s\n", id, role,
             site ? site : "every site", tok);
    th_free(tok);
  } else if (strcmp(sub, "revoke") == 0 && optind < argc) {
    rc = th_token_revoke(db, "townhall token revoke", revoke_id);
    if (rc < 0)
      status = fail(db, rc, "revoking the token");
    else
      printf(rc == TH_DUPLICATE ? "already revoked\n" : "revoked\n");
  } else if (strcmp(sub, "list") == 0) {
    th_token_list *l = NULL;
    if ((rc = th_token_list_all(db, &l)) < 0)
      status = fail(db, rc, "listing tokens");
    for (size_t i = 0; l && i < l->count; i++) {
      const th_token_info *t = &l->items[i];
      time_t e = (time_t)(t->expires / 1000);
      char when[32];
      struct tm tm;
      if (gmtime_r(&e, &tm) == NULL ||
          strftime(when, sizeof when, "%Y-%m-%d", &tm) == 0)
        snprintf(when, sizeof when, "never");
      printf("%" PRId64 "\t%s\t%s\t%s\texpires %s%s\n", t->id,
             t->site[0] ? t->site : "*", th_role_name(t->role), t->label, when,
             t->revoked ? "\trevoked" : "");
    }
    th_token_list_free(l);
  } else {
    command_usage(stderr, command);
    status = 2;
  }
  th_close(db);
  return status;
}

static int parse_common(int argc, char **argv) {
  static const struct option longs[] = {
      {"db", 1, 0, 'd'}, {"key-file", 1, 0, 'k'}, {0, 0, 0, 0}};
  optind = 1;
  int c;
  while ((c = next_option(argc, argv, longs)) != -1) {
    if (c == 'd')
      opt_db = take_db(optarg);
    else if (c == 'k')
      opt_key = optarg;
    else {
      command_usage(stderr, command);
      return -1;
    }
  }
  return 0;
}

static int cmd_backup(int argc, char **argv) {
  if (parse_common(argc, argv) < 0)
    return 2;
  if (optind >= argc) {
    fprintf(stderr, "townhall backup: where to? (DEST)\n\n");
    command_usage(stderr, command);
    return 2;
  }
  if (positional(argc, argv, 1, "backup", "DEST") != 0)
    return 2;
  int rc;
  th_db *db = open_db(TH_OPEN_READONLY | TH_OPEN_ANY_SCHEMA, &rc);
  if (db == NULL)
    return 1;
  rc = th_backup(db, argv[optind]);
  int status = rc < 0 ? fail(db, rc, "backing up") : 0;
  if (status == 0)
    printf("backed up %s to %s (the key file is not in it: back it up "
           "separately)\n",
           db_shown(), argv[optind]);
  th_close(db);
  return status;
}

/* Brings the schema up to date, taking a backup first when it changes. */
static int cmd_migrate(int argc, char **argv) {
  if (parse_common(argc, argv) < 0)
    return 2;
  if (positional(argc, argv, 0, "migrate", "") != 0)
    return 2;
  int rc;
  th_db *db = open_db(TH_OPEN_READONLY | TH_OPEN_ANY_SCHEMA, &rc);
  if (db == NULL)
    return 1;
  int from = th_schema_version(db);
  if (from < th_schema_latest() && is_uri(opt_db)) {
    /* th_backup copies a SQLite file; PostgreSQL's copies are pg_dump's and
     * the provider's. Each migration is one transaction there. */
    printf("schema %d on PostgreSQL: no copy taken by townhall (back it up "
           "with pg_dump or your provider's backups before migrating)\n",
           from);
  } else if (from < th_schema_latest()) {
    char dest[4096];
    snprintf(dest, sizeof dest, "%s.pre-migrate-%d-%lld", opt_db, from,
             (long long)(th_now(db) / 1000));
    rc = th_backup(db, dest);
    if (rc < 0) {
      int r = fail(db, rc, "taking the backup before migrating");
      th_close(db);
      return r;
    }
    printf("backed up schema %d to %s\n", from, dest);
  }
  th_close(db);
  if ((db = open_db(0, &rc)) == NULL)
    return 1;
  printf("schema version %d (was %d; latest %d)\n", th_schema_version(db),
         from, th_schema_latest());
  th_close(db);
  return 0;
}

/* Rotates the key file: a backup under the database's exclusive lock, then
 * everything sealed re-sealed under NEW_KEY_FILE (th_key_rotate). */
static int cmd_key(int argc, char **argv) {
  /* main() let only a subcommand its usage lists ("rotate") through. */
  if (parse_common(argc - 1, argv + 1) < 0 ||
      positional(argc - 1, argv + 1, 1, "key rotate", "NEW_KEY_FILE") != 0)
    return 2;
  const char *new_key = argv[1 + optind];
  int rc;
  th_db *db = open_db(TH_OPEN_NOMIGRATE | TH_OPEN_NOCREATE, &rc);
  if (db == NULL)
    return 1;
  /* A backup file beside a SQLite database; none for a URI (th_backup
   * copies SQLite files: pg_dump is PostgreSQL's). */
  char dest[4096] = "";
  if (!is_uri(opt_db))
    snprintf(dest, sizeof dest, "%s.pre-rotate-%lld", opt_db,
             (long long)(th_now(db) / 1000));
  th_key_rotation r = TH_KEY_ROTATION_INIT;
  rc = th_key_rotate(db, "townhall key rotate", new_key,
                     dest[0] ? dest : NULL, &r);
  if (rc < 0) {
    int status = fail(db, rc, "rotating the key file");
    th_close(db);
    return status;
  }
  th_close(db);
  if (dest[0])
    printf("backed up %s to %s (under the old key file)\n", opt_db, dest);
  else
    printf("no copy of %s taken by townhall (PostgreSQL: pg_dump's and "
           "your provider's backups hold it under the old key file)\n",
           db_shown());
  printf("re-sealed %" PRId64 " site secrets and %" PRId64
         " consultation keys under %s;\n"
         "revoked %" PRId64 " staff tokens (create new ones: townhall token "
         "create)\n"
         "next: install %s in place of the old key file (or point "
         "--key-file or TOWNHALL_KEY_FILE at it), back it up, start the "
         "server; keep the old key file exactly as long as %s%sbackups "
         "made under it, then destroy them together\n",
         r.site_secrets, r.consultation_keys, new_key, r.tokens_revoked,
         new_key, dest, dest[0] ? " and the other " : "the ");
  return 0;
}

static int cmd_purge(int argc, char **argv) {
  if (parse_common(argc, argv) < 0)
    return 2;
  if (positional(argc, argv, 0, "purge", "") != 0)
    return 2;
  int rc;
  th_db *db = open_db(TH_OPEN_NOMIGRATE, &rc);
  if (db == NULL)
    return 1;
  th_purge_report r = TH_PURGE_REPORT_INIT;
  rc = th_purge(db, &r);
  int status = 0;
  if (rc < 0)
    status = fail(db, rc, "purging");
  else
    printf("removed %" PRId64 " comments, %" PRId64
           " audit entries; destroyed %" PRId64 " consultation keys and %" PRId64
           " salts\n",
           r.comments, r.audit, r.keys, r.salts);
  th_close(db);
  return status;
}

/* ---- open data ------------------------------------------------------------------- */

/* Writes a site's open-data file to standard output, byte for byte what
 * the server publishes (th_open_data_feedback, th_open_data_ideas). */
static int cmd_open_data(int argc, char **argv) {
  /* main() let only a subcommand its usage lists through. */
  const char *file = argv[1];
  bool ideas = strcmp(file, "ideas.csv") == 0;
  static const struct option longs[] = {
      {"site", 1, 0, 's'}, {"from", 1, 0, 'f'},     {"weeks", 1, 0, 'w'},
      {"db", 1, 0, 'd'},   {"key-file", 1, 0, 'k'}, {0, 0, 0, 0}};
  const char *site = NULL;
  th_open_data_options o;
  th_open_data_options_init(&o);
  int weeks = 0;
  optind = 2;
  int c;
  while ((c = next_option(argc, argv, longs)) != -1) {
    switch (c) {
    case 's': site = optarg; break;
    case 'f': o.from = optarg; break;
    case 'w':
      if (parse_int(optarg, 1, 104, &weeks) < 0) {
        fprintf(stderr, "townhall open-data: --weeks must be 1 to 104\n\n");
        command_usage(stderr, command);
        return 2;
      }
      o.weeks = weeks;
      break;
    case 'd': opt_db = take_db(optarg); break;
    case 'k': opt_key = optarg; break;
    default: command_usage(stderr, command); return 2;
    }
  }
  char label[48];
  snprintf(label, sizeof label, "open-data %s", file);
  if (positional(argc, argv, 0, label, "") != 0)
    return 2;
  const char *problem = NULL;
  if (site == NULL)
    problem = "which site? (--site SLUG)";
  else if (ideas && (o.from || o.weeks))
    problem = "ideas.csv has no window: --from and --weeks are for "
              "feedback.csv";
  if (problem) {
    fprintf(stderr, "townhall %s: %s\n\n", label, problem);
    command_usage(stderr, command);
    return 2;
  }
  int rc;
  th_db *db = open_db(TH_OPEN_READONLY | TH_OPEN_NOCREATE, &rc);
  if (db == NULL)
    return 1;
  char *csv = NULL;
  size_t len = 0;
  rc = ideas ? th_open_data_ideas(db, site, &o, &csv, &len)
             : th_open_data_feedback(db, site, &o, &csv, &len);
  int status = 0;
  if (rc == TH_EINVAL || rc == TH_ERANGE) {
    /* --from or --weeks the library refuses: a usage error too. */
    fprintf(stderr, "townhall %s: %s\n\n", label, th_errmsg(db));
    command_usage(stderr, command);
    status = 2;
  } else if (rc < 0) {
    char what[64];
    snprintf(what, sizeof what, "building %s", file);
    status = fail(db, rc, what);
  } else if (fwrite(csv, 1, len, stdout) != len || fflush(stdout) != 0) {
    perror("townhall open-data: writing to standard output");
    status = 1;
  }
  th_free(csv);
  th_close(db);
  return status;
}

int main(int argc, char **argv) {
  opt_db = getenv("TOWNHALL_DB");
  if (opt_db == NULL || opt_db[0] == '\0')
    opt_db = "townhall.db";
  opt_key = getenv("TOWNHALL_KEY_FILE");
  if (opt_key && opt_key[0] == '\0')
    opt_key = NULL;
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  const char *cmd = argv[1];
  argc--;
  argv++;
  if (strcmp(cmd, "help") == 0 || is_help(cmd)) {
    if (argc > 1)
      command_usage(stdout, argv[1]);
    else
      usage(stdout);
    return fflush(stdout) == 0 ? 0 : 1;
  }
  if (strcmp(cmd, "--version") == 0)
    cmd = "version";
  bool known = false;
  for (size_t i = 0; i < sizeof usages / sizeof usages[0]; i++)
    known = known || strcmp(usages[i].name, cmd) == 0;
  if (!known) {
    fprintf(stderr, "townhall: unknown command %s\n\n", cmd);
    usage(stderr);
    return 2;
  }
  command = cmd;
  /* `townhall site --help`: before a command looks for its subcommand. */
  if (argc > 1 && is_help(argv[1])) {
    command_usage(stdout, cmd);
    return fflush(stdout) == 0 ? 0 : 1;
  }
  if (has_subcommands(cmd) && (argc < 2 || !is_subcommand(cmd, argv[1]))) {
    if (argc < 2 || argv[1][0] == '-')
      fprintf(stderr, "townhall %s: which %s command?\n\n", cmd, cmd);
    else
      fprintf(stderr, "townhall %s: unknown command %s\n\n", cmd, argv[1]);
    command_usage(stderr, cmd);
    return 2;
  }
  if (strcmp(cmd, "version") == 0) {
    if (argc > 1) {
      fprintf(stderr, "townhall version: unexpected argument %s\n\n", argv[1]);
      command_usage(stderr, cmd);
      return 2;
    }
    printf("townhall %s\n", th_version_string());
    return 0;
  }
  if (sodium_init() < 0)
    return 1;
  if (strcmp(cmd, "serve") == 0)
    return cmd_serve(argc, argv);
  if (strcmp(cmd, "site") == 0)
    return cmd_site(argc, argv);
  if (strcmp(cmd, "token") == 0)
    return cmd_token(argc, argv);
  if (strcmp(cmd, "migrate") == 0)
    return cmd_migrate(argc, argv);
  if (strcmp(cmd, "purge") == 0)
    return cmd_purge(argc, argv);
  if (strcmp(cmd, "backup") == 0)
    return cmd_backup(argc, argv);
  if (strcmp(cmd, "key") == 0)
    return cmd_key(argc, argv);
  if (strcmp(cmd, "open-data") == 0)
    return cmd_open_data(argc, argv);
  usage(stderr); /* a command in the table that main does not run */
  return 2;
}
