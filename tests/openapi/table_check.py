#!/usr/bin/env python3
"""The route table (core/server/routes.h) and docs/openapi.yaml, held
against each other both ways, and the document's 405s against a real
server.

  table_check.py ROUTES DOCUMENT [FIRST]

ROUTES is the table as tests/openapi/routes prints it (a JSON array, one
object per operation); DOCUMENT is docs/openapi.yaml. Prints TAP lines
numbered from FIRST (1 by default) and the plan; exits 1 if any failed.

Every check is a function of (table, document[, answers]) that returns
what it found wrong, so that it can also be run on broken copies of the
document: each must find something wrong in its broken copy, or it could
not fail.
"""
import copy
import json
import os
import sys

import yaml

SRC = os.environ.get("TH_SRC") or os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(SRC, "tests", "api"))

SITE_PREFIX = "/v1/sites/{site}"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch",
           "trace")
# Table credentials and the document's security alternatives.
CRED_OF_REQ = {(): "anyone", ("resident",): "resident", ("staff",): "staff"}
# The sentence the document's description gives 405 (it is not
# documentable per operation).
METHOD_NOT_ALLOWED = ("a method a path does not have: 405 with Allow "
                      "listing the path's methods")


def site_scoped(path):
    return path == SITE_PREFIX or path.startswith(SITE_PREFIX + "/")


def operations(doc):
    """(path, method, operation) for every operation of the document."""
    for path, item in (doc.get("paths") or {}).items():
        for method in METHODS:
            if isinstance(item, dict) and method in item:
                yield path, method, item[method]


def security_of(doc, op):
    """The set of credentials an operation's `security` alternatives name
    (the document's default when the operation has none), or a string
    saying what is wrong with them."""
    alts = op.get("security", doc.get("security", [{}]))
    creds = set()
    for alt in alts:
        key = tuple(sorted(alt))
        if key not in CRED_OF_REQ:
            return f"alternative {alt!r} is none of {{}}, resident, staff"
        if CRED_OF_REQ[key] in creds:
            return f"{CRED_OF_REQ[key]} is listed twice"
        creds.add(CRED_OF_REQ[key])
    return creds


def statuses(op):
    return {str(s) for s in (op.get("responses") or {})}


# ---- the checks on the document -------------------------------------------


def check_table_in_document(table, doc):
    """Every operation of the table is in the document, at its path and
    method, with the table's name as its operationId."""
    bad = []
    for t in table:
        item = (doc.get("paths") or {}).get(t["path"])
        op = item.get(t["method"].lower()) if item else None
        if op is None:
            bad.append(f"{t['method']} {t['path']} ({t['operationId']}) "
                       "is not documented")
        elif op.get("operationId") != t["operationId"]:
            bad.append(f"{t['method']} {t['path']}: operationId "
                       f"{op.get('operationId')!r}, the table's name is "
                       f"{t['operationId']!r}")
    return bad


def check_document_in_table(table, doc):
    """Every operation of the document (but head and options) is one of
    the table's; operationIds are unique."""
    bad = []
    ops = {(t["path"], t["method"].lower()) for t in table}
    seen = {}
    for path, method, op in operations(doc):
        oid = op.get("operationId")
        if oid is None:
            continue  # the table's operations: check_table_in_document
        if oid in seen:
            bad.append(f"operationId {oid!r} is used twice ({seen[oid]} "
                       f"and {method.upper()} {path})")
        seen[oid] = f"{method.upper()} {path}"
        if method in ("head", "options"):
            continue
        if (path, method) not in ops:
            bad.append(f"{method.upper()} {path} ({oid}) is not in the "
                       "route table")
    return bad


def check_head(table, doc):
    """Every GET is documented with a HEAD too (operationId <name>_head),
    with the GET's security and statuses; no other path has a HEAD."""
    bad = []
    gets = {t["path"]: t for t in table if t["method"] == "GET"}
    for path, method, op in operations(doc):
        if method != "head":
            continue
        if path not in gets:
            bad.append(f"HEAD {path}: the path has no GET")
    for path, t in gets.items():
        item = (doc.get("paths") or {}).get(path) or {}
        head, get = item.get("head"), item.get("get")
        if head is None:
            bad.append(f"GET {path} has no head operation")
            continue
        if head.get("operationId") != t["operationId"] + "_head":
            bad.append(f"HEAD {path}: operationId {head.get('operationId')!r}"
                       f", not {t['operationId'] + '_head'!r}")
        if get is not None:
            if security_of(doc, head) != security_of(doc, get):
                bad.append(f"HEAD {path}: security differs from the GET's")
            if statuses(head) != statuses(get):
                bad.append(f"HEAD {path}: statuses {sorted(statuses(head))}, "
                           f"the GET's are {sorted(statuses(get))}")
        if "requestBody" in head:
            bad.append(f"HEAD {path} has a request body")
    return bad


def check_options(table, doc):
    """Every path under /v1/sites/{site} has an options operation, the CORS
    preflight (204; 403 origin not allowed; 404 unknown site); no other."""
    bad = []
    paths = {t["path"] for t in table}
    for path, item in (doc.get("paths") or {}).items():
        op = item.get("options") if isinstance(item, dict) else None
        if site_scoped(path) and path in paths:
            if op is None:
                bad.append(f"{path} has no options operation")
            elif not {"204", "403", "404"} <= statuses(op):
                bad.append(f"OPTIONS {path} lists {sorted(statuses(op))}, "
                           "not all of 204, 403 and 404")
            elif op.get("security", [{}]) != [{}]:
                bad.append(f"OPTIONS {path}: a preflight takes no "
                           "credentials (security: [{}])")
        elif op is not None:
            bad.append(f"OPTIONS {path}: only the table's paths under "
                       f"{SITE_PREFIX} answer a CORS preflight")
    return bad


def documented_ops(table, doc):
    """(table row, method, the document's operation) for every table
    operation the document has, with the HEAD beside each GET; the ones it
    lacks are reported by the checks above."""
    for t in table:
        for method in (t["method"].lower(),) + (
                ("head",) if t["method"] == "GET" else ()):
            op = ((doc.get("paths") or {}).get(t["path"]) or {}).get(method)
            if op is not None:
                yield t, method, op


def check_security(table, doc):
    """The document's security alternatives ({} anyone, resident, staff;
    the document's default where an operation has none) are the table's
    credentials."""
    bad = []
    for t, method, op in documented_ops(table, doc):
        got = security_of(doc, op)
        if isinstance(got, str):
            bad.append(f"{method.upper()} {t['path']}: {got}")
        elif got != set(t["credentials"]):
            bad.append(f"{method.upper()} {t['path']}: security says "
                       f"{sorted(got)}, the table {t['credentials']}")
    return bad


def implied_statuses(t):
    """What the table says an operation can answer, and why."""
    out = []
    if site_scoped(t["path"]):
        out.append(("404", "unknown site"))
    if "staff" in t["credentials"]:
        out += [("401", "bad staff token"), ("403", "staff role"),
                ("429", "failed sign-ins")]
    if t["body"] in ("json", "json-or-form"):
        out += [("400", "malformed JSON"), ("415", "media type")]
    if t["body"] == "json-or-form":
        out.append(("303", "form post recorded"))
    if "resident" in t["credentials"]:
        out.append(("401", "resident token"))
    return out


def check_statuses(table, doc):
    """The statuses the table implies are documented (for HEAD too)."""
    bad = []
    for t, method, op in documented_ops(table, doc):
        have = statuses(op)
        for status, why in implied_statuses(t):
            if status not in have:
                bad.append(f"{method.upper()} {t['path']} does not list "
                           f"{status} ({why})")
    return bad


def check_405_documented(table, doc):
    """405 is documented once: a response component with an Allow header,
    and in the description of the API."""
    bad = []
    comps = (doc.get("components") or {}).get("responses") or {}
    if not any("Allow" in (c.get("headers") or {}) and "405" in
               c.get("description", "") for c in comps.values()):
        bad.append("no response component describes 405 with its Allow "
                   "header")
    desc = " ".join(((doc.get("info") or {}).get("description") or "")
                   .split()).lower()
    if METHOD_NOT_ALLOWED.lower() not in desc:
        bad.append(f"info.description does not say {METHOD_NOT_ALLOWED!r}")
    return bad


# ---- the server ------------------------------------------------------------

PROBE = ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS")


def concrete(path, site):
    return (path.replace("{site}", site).replace("{id}", "1")
            .replace("{version}", "0").replace("{file}", "widget.js"))


def ask(server, table, site, origin=None, probe=PROBE):
    """The server's answers to the methods of `probe` that a path of the
    table lacks, on every path of the table: {(template, method): (status,
    Allow, Access-Control-Allow-Methods)}."""
    out = {}
    paths = list(dict.fromkeys(t["path"] for t in table))
    for path in paths:
        have = {t["method"] for t in table if t["path"] == path}
        for m in probe:
            if m in have or (m == "HEAD" and "GET" in have):
                continue  # the operation itself
            h = {"Origin": origin} if origin and m == "OPTIONS" else {}
            if m == "OPTIONS":
                h["Access-Control-Request-Method"] = "GET"
            r = server.request(m, concrete(path, site), headers=h)
            out[(path, m)] = (r.status, r.header("Allow"),
                              r.header("Access-Control-Allow-Methods"))
    return out


def expected_allow(table, doc, path):
    """The document's methods of `path` (but head and options), in the
    table's order ("Allow" as the server is to send it)."""
    item = (doc.get("paths") or {}).get(path) or {}
    order = [t["method"] for t in table if t["path"] == path]
    ms = [m.upper() for m in METHODS
          if m in item and m not in ("head", "options")]
    ms.sort(key=lambda m: order.index(m) if m in order else len(order))
    return ", ".join(ms)


def check_405_served(table, doc, answers):
    """Every path answers a method it lacks with 405 and Allow listing the
    document's methods for it, in the table's order (HEAD where there is
    no GET; OPTIONS outside /v1/sites/{site})."""
    bad = []
    for (path, m), (status, allow, _) in sorted(answers.items()):
        if m == "OPTIONS" and site_scoped(path):
            continue
        want = expected_allow(table, doc, path)
        if status != 405 or allow != want:
            bad.append(f"{m} {path}: {status} with Allow {allow!r}, the "
                       f"document says 405 with Allow {want!r}")
    return bad


def check_preflight_served(table, doc, answers, other, unknown):
    """A site's path answers a preflight from its origin 204 with the
    document's methods, from another origin 403, for an unknown site 404."""
    bad = []
    for (path, m), (status, _, methods) in sorted(answers.items()):
        if m != "OPTIONS" or not site_scoped(path):
            continue
        want = expected_allow(table, doc, path)
        if status != 204 or methods != want:
            bad.append(f"OPTIONS {path} from the site's origin: {status}, "
                       f"methods {methods!r}; the document says 204 with "
                       f"{want!r}")
        if other[(path, m)][0] != 403:
            bad.append(f"OPTIONS {path} from another origin: "
                       f"{other[(path, m)][0]}, not 403")
        if unknown[(path, m)][0] != 404:
            bad.append(f"OPTIONS {path} of an unknown site: "
                       f"{unknown[(path, m)][0]}, not 404")
    return bad


# ---- broken copies ---------------------------------------------------------


def first(table, **kw):
    return next(t for t in table
                if all(t[k] == v for k, v in kw.items()))


def op_of(doc, t, method=None):
    return doc["paths"][t["path"]][(method or t["method"]).lower()]


def break_rename(table, doc):
    t = first(table, method="POST")
    op = op_of(doc, t)
    op["operationId"] = f"{op.get('operationId')}_renamed"


def break_extra(table, doc):
    t = first(table, method="GET")
    doc["paths"][t["path"]]["patch"] = {"operationId": "patched",
                                        "responses": {"200": {}}}


def break_head(table, doc):
    t = first(table, method="GET")
    del doc["paths"][t["path"]]["head"]


def break_options(table, doc):
    t = next(t for t in table if site_scoped(t["path"]))
    del doc["paths"][t["path"]]["options"]


def break_security(table, doc):
    t = next(t for t in table if len(t["credentials"]) > 1)
    op_of(doc, t).pop("security", None)
    doc.pop("security", None)


def break_status(table, doc):
    t = next(t for t in table if "staff" in t["credentials"]
             and t["body"] == "json")
    del op_of(doc, t)["responses"]["415"]


def break_405(table, doc):
    doc["info"]["description"] = doc["info"]["description"].replace(
        "405", "406")


def break_allow(table, doc):
    t = next(t for t in table if site_scoped(t["path"])
             and t["method"] == "GET")
    doc["paths"][t["path"]]["delete"] = {"operationId": "deleted",
                                         "responses": {"200": {}}}


# ---- TAP --------------------------------------------------------------------


class Tap:
    def __init__(self, first_number):
        self.n = first_number - 1
        self.failed = 0

    def ok(self, problems, name):
        self.n += 1
        if isinstance(problems, bool):
            problems = [] if problems else ["no"]
        print(f"{'not ok' if problems else 'ok'} {self.n} - {name}",
              flush=True)
        for p in problems[:40]:
            print(f"#   {p}")
        if len(problems) > 40:
            print(f"#   ... and {len(problems) - 40} more")
        self.failed += bool(problems)


def main(argv):
    routes, document = argv[1], argv[2]
    tap = Tap(int(argv[3]) if len(argv) > 3 else 1)
    with open(routes) as f:
        table = json.load(f)
    with open(document) as f:
        doc = yaml.safe_load(f)

    doc_checks = [
        (check_table_in_document, break_rename,
         "every operation of the route table is documented, "
         "operationId = its name"),
        (check_document_in_table, break_extra,
         "every documented operation (but head, options) is in the table"),
        (check_head, break_head,
         "every GET has a head operation <name>_head, and nothing else"),
        (check_options, break_options,
         "every path under /v1/sites/{site} has an options preflight "
         "(204, 403, 404), and nothing else"),
        (check_security, break_security,
         "each operation's security is the table's credentials"),
        (check_statuses, break_status,
         "the statuses the table implies are documented (404 unknown site; "
         "401/403/429 staff; 400/415 JSON; 303 form; 401 resident)"),
        (check_405_documented, break_405,
         "405 with Allow is documented once (a component, the "
         "description)"),
    ]
    for check, _, name in doc_checks:
        tap.ok(check(table, doc), name)

    from harness import ORIGIN, SITE, Server
    server = Server("--demo")
    plain = None
    try:
        answers = ask(server, table, SITE, ORIGIN)
        sites = [t for t in table if site_scoped(t["path"])]
        other = ask(server, sites, SITE, "https://elsewhere.example",
                    ("OPTIONS",))
        unknown = ask(server, sites, "no-such-site", ORIGIN, ("OPTIONS",))
        tap.ok(check_405_served(table, doc, answers),
               "the server answers a method a path lacks 405, Allow = the "
               "document's methods in table order")
        tap.ok(check_preflight_served(table, doc, answers, other, unknown),
               "the server answers a site's preflight 204 with the "
               "document's methods, 403 another origin, 404 unknown site")
        # Outside demo mode a demo operation is not there at all.
        plain = Server()
        demo = [t for t in table if t["demo"]]
        got = [(t["path"], plain.request(t["method"], t["path"]).status)
               for t in demo]
        tap.ok([f"{t['method']} {p}: {s}" for t, (p, s) in zip(demo, got)
                if s != 404],
               "outside demo mode the demo operations answer 404")
    finally:
        for s in (server, plain):
            if s is not None:
                s.cleanup()

    # Each check must be able to fail: a broken copy it must refuse.
    def refuses(check, breaker, *args):
        broken = copy.deepcopy(doc)
        try:
            breaker(table, broken)
            problems = [] if check(table, broken, *args) else [
                "the broken copy passes"]
        except (KeyError, StopIteration, TypeError, AttributeError) as e:
            problems = [f"the document could not be broken: {e!r}"]
        tap.ok(problems, f"{check.__name__} refuses a copy broken by "
               f"{breaker.__name__}")

    for check, breaker, _ in doc_checks:
        refuses(check, breaker)
    refuses(check_405_served, break_allow, answers)
    refuses(check_preflight_served, break_allow, answers, other, unknown)

    print(f"1..{tap.n}")
    return 1 if tap.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
