#!/usr/bin/env python3
"""Writes the seed corpora of tests/fuzz/corpus/<harness>/ (checked in; run
again after changing it). Every seed is a realistic input: requests as the
widgets, the dashboard and a council's app send them, JWTs, page URLs,
comments with personal details. Tokens and JWTs match what fuzz_server.c
sets up (fixed clock FUZZ_T0, fixed staff tokens, the camden secret)."""
import base64
import hashlib
import hmac
import json
import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
T0 = 1772445600  # 2026-03-02T10:00:00Z, FUZZ_T0 in seconds
SECRET = b"camden-resident-token-secret-0123456789abcdef"
ADMIN = "th_1_" + "a" * 32
COUNCILLOR = "th_2_" + "c" * 32
MODERATOR = "th_3_" + "m" * 32
GLOBAL = "th_4_" + "g" * 32
ORIGIN = "https://www.camden.gov.uk"
SPLIT = b"\xfe\xff"


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def jwt(sub="resident-42", aud="camden", exp=T0 + 3000, header=None,
        extra=None, secret=SECRET, alg="HS256"):
    h = header or {"alg": alg, "typ": "JWT"}
    p = {"sub": sub, "aud": aud, "iat": T0, "exp": exp}
    p.update(extra or {})
    s = b64url(json.dumps(h, separators=(",", ":")).encode()) + "." + \
        b64url(json.dumps(p, separators=(",", ":")).encode())
    if alg == "none":
        return s + "."
    return s + "." + b64url(hmac.new(secret, s.encode(), hashlib.sha256).digest())


def req(method, path, body=None, headers=(), ctype="application/json",
        version="HTTP/1.1", token=None, close=True):
    lines = [f"{method} {path} {version}", "Host: townhall.example"]
    lines += list(headers)
    if token:
        lines.append("Authorization: Bearer " + token)
    if body is not None:
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode()
        lines.append("Content-Type: " + ctype)
        lines.append(f"Content-Length: {len(body)}")
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


def write(harness, name, data):
    d = os.path.join(HERE, "corpus", harness)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def chunked(*parts):
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"


S = "/v1/sites/camden"
O = "Origin: " + ORIGIN
UA = "User-Agent: Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"


def http_seeds():
    J = jwt()
    seeds = {
        "healthz": req("GET", "/healthz"),
        "healthz-head": req("HEAD", "/healthz"),
        "healthz-http10": req("GET", "/healthz", version="HTTP/1.0", close=False),
        "metrics": req("GET", "/metrics", token=GLOBAL),
        "site": req("GET", S, headers=[O]),
        "feedback-json": req("POST", S + "/feedback", {
            "page": ORIGIN + "/bins-and-recycling?id=4&utm_source=x#top",
            "useful": False, "rating": 2,
            "comment": "Nobody came. Call me on 020 7946 0958 or jo@example.org"},
            headers=[O, UA]),
        "feedback-form": req("POST", S + "/feedback",
            "page=https%3A%2F%2Fwww.camden.gov.uk%2Fparking&useful=yes&rating=5"
            "&comment=Great+page%21&next=thanks&lang=cy&website=&ts=",
            ctype="application/x-www-form-urlencoded", headers=[O, UA]),
        "feedback-form-return": req("POST", S + "/feedback",
            "page=https%3A%2F%2Fwww.camden.gov.uk%2Fcouncil-tax&useful=no",
            ctype="application/x-www-form-urlencoded", headers=["Origin: null"]),
        "feedback-cross-site": req("POST", S + "/feedback",
            {"page": ORIGIN + "/x", "useful": True}, headers=["Origin: https://evil.example"]),
        "feedback-summary": req("GET", S + "/feedback/summary?page=https%3A%2F%2Fwww.camden.gov.uk%2Fbins", headers=[O]),
        "feedback-pages": req("GET", S + "/feedback/pages?limit=5", token=ADMIN),
        "feedback-pages-csv": req("GET", S + "/feedback/pages?format=csv", token=COUNCILLOR, headers=["Accept: text/csv"]),
        "feedback-comments": req("GET", S + "/feedback/comments?page=https%3A%2F%2Fwww.camden.gov.uk%2Fbins&limit=10", token=MODERATOR),
        "form-token": req("GET", S + "/form-token", headers=[O]),
        "consultations": req("GET", S + "/consultations"),
        "consultation-new": req("POST", S + "/consultations", {
            "slug": "libraries", "title": "Our libraries", "description": "Tell us",
            "ward": "Camden Town", "opens": "2026-03-02", "closes": "2026-04-01T17:00:00Z"},
            token=ADMIN),
        "ideas-list": req("GET", S + "/ideas?sort=hot&limit=5&consultation=park", headers=[O]),
        "ideas-random": req("GET", S + "/ideas?sort=random&seed=12345&limit=3&ward=Kentish%20Town&category=streets"),
        "ideas-staff": req("GET", S + "/ideas?status=pending,hidden&sort=new&from=2026-01-01&to=2026-12-31", token=MODERATOR),
        "ideas-csv": req("GET", S + "/ideas?format=csv", token=COUNCILLOR),
        "idea-new": req("POST", S + "/ideas", {
            "title": "Plant trees on Kentish Town Road", "body": "It is too hot in summer.",
            "category": "environment", "ward": "Kentish Town", "consultation": "park"},
            token=J, headers=[O]),
        "idea-anonymous": req("POST", S + "/ideas", {
            "title": "A bench by the bus stop", "body": "My mum can't stand for long",
            "website": "", "ts": ""}, headers=[O, UA, "X-Forwarded-For: 203.0.113.9"]),
        "idea-get": req("GET", S + "/ideas/1"),
        "idea-history": req("GET", S + "/ideas/1/history"),
        "vote": req("PUT", S + "/ideas/1/vote", {"value": 1}, token=J, headers=[O]),
        "vote-anonymous": req("PUT", S + "/ideas/2/vote", {"value": -1}, headers=[O, UA]),
        "status": req("POST", S + "/ideas/1/status", {
            "status": "accepted", "response": "We will do this in the spring."}, token=COUNCILLOR),
        "moderation": req("POST", S + "/ideas/3/moderation", {"action": "merge", "into": 1,
            "reason": "Same as idea 1"}, token=MODERATOR),
        "withdraw": req("POST", S + "/ideas/2/withdraw", token=J),
        "resident-export": req("GET", S + "/residents/me", token=J),
        "resident-erase": req("DELETE", S + "/residents/me", token=jwt("resident-erase")),
        "audit": req("GET", S + "/audit?limit=10&before=100", token=ADMIN),
        "open-feedback": req("GET", S + "/open/feedback.csv"),
        "open-ideas": req("GET", S + "/open/ideas.csv"),
        "preflight": req("OPTIONS", S + "/ideas", headers=[O, "Access-Control-Request-Method: POST",
                                                         "Access-Control-Request-Headers: content-type, authorization"]),
        "widget": req("GET", "/v/0.1.0/widget.js", headers=['If-None-Match: "0011223344556677"']),
        "widget-css": req("GET", "/widget.css"),
        "i18n": req("GET", "/i18n/cy.json"),
        "dashboard": req("GET", "/dashboard/"),
        "dashboard-redirect": req("GET", "/dashboard"),
        "form": req("GET", "/form?site=camden&page=https%3A%2F%2Fwww.camden.gov.uk%2Fbins&lang=ar"),
        "form-fragment": req("GET", "/form?site=camden&page=https%3A%2F%2Fwww.camden.gov.uk%2Fbins&fragment=1&lang=bn"),
        "thanks": req("GET", "/thanks?site=camden&lang=so&return=https%3A%2F%2Fwww.camden.gov.uk%2Fbins"),
        "demo": req("GET", "/"),
        "demo-sign-in": req("POST", "/demo/sign-in", {"name": "Ada"}),
        "traversal": req("GET", "/v/0.1.0/..%2f..%2fetc%2fpasswd"),
        "robots": req("GET", "/robots.txt"),
        "not-found": req("GET", "/v1/sites/nowhere/ideas"),
        "islington-idea": req("POST", "/v1/sites/islington/ideas", {"title": "Cycle lanes please"}, token=J),
        "bad-jwt-none": req("PUT", S + "/ideas/1/vote", {"value": 1}, token=jwt(alg="none")),
        "bad-jwt-expired": req("PUT", S + "/ideas/1/vote", {"value": 0}, token=jwt(exp=T0 - 7200)),
        "pipelined": req("GET", "/healthz", close=False) + req("GET", S, close=False) +
                     req("GET", S + "/ideas?limit=2"),
        "keepalive-then-post": req("GET", S + "/form-token", close=False) +
                     req("POST", S + "/feedback", {"page": ORIGIN + "/a", "useful": 1}, headers=[O]),
        "chunked": (b"POST " + S.encode() + b"/feedback HTTP/1.1\r\nHost: x\r\n"
                    b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
                    b"Connection: close\r\n\r\n" + chunked(
                        b'{"page":"https:/', b'/www.camden.gov.uk/chunked","useful":1}')),
        "split-headers": req("GET", "/healthz", headers=["X-A: a"])[:30] + SPLIT +
                         req("GET", "/healthz", headers=["X-A: a"])[30:],
        "split-fold": b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n" + SPLIT + b" folded\r\n\r\n",
        "smuggle-cl-te": (b"POST " + S.encode() + b"/feedback HTTP/1.1\r\nHost: x\r\n"
                          b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
                          b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"),
        "two-cl": (b"POST " + S.encode() + b"/feedback HTTP/1.1\r\nHost: x\r\n"
                   b"Content-Length: 4\r\nContent-Length: 40\r\n\r\nabcd"),
        "expect": req("POST", S + "/feedback", {"page": ORIGIN + "/e", "useful": True},
                      headers=["Expect: 100-continue", O]),
        "proxy-chain": req("POST", S + "/feedback", {"page": ORIGIN + "/p", "useful": "no", "rating": "3"},
                           headers=["X-Forwarded-For: 198.51.100.1, 2001:db8::7", UA]),
        "upgrade": req("GET", "/healthz", headers=["Connection: Upgrade", "Upgrade: websocket"], close=False),
    }
    for name, data in seeds.items():
        write("http", name, data)


JSON_ROUTES = ["feedback", "feedback-form", "idea", "idea-anon", "vote", "vote-anon",
               "status", "moderation", "consultation", "islington-idea", "withdraw",
               "feedback-charset"]


def json_seeds():
    bodies = {
        "feedback": {"page": ORIGIN + "/bins?id=3", "useful": True, "rating": 4,
                     "comment": "Email me at a.resident@example.com, NI QQ 12 34 56 C"},
        "feedback-form": "page=https%3A%2F%2Fwww.camden.gov.uk%2Fx&useful=no&rating=1&comment=My+postcode+is+NW1+2DB",
        "idea": {"title": "Safer crossing at Camden Road", "body": "Cars go too fast",
                 "category": "roads", "ward": "Camden Town", "consultation": "park"},
        "idea-anon": {"title": "Longer library hours", "body": "Open until 8pm please",
                      "website": "", "ts": "1772445500000.AAAAAAAAAAAAAAAAAAAAAA"},
        "vote": {"value": -1},
        "vote-anon": {"value": 1},
        "status": {"status": "in_progress", "response": None},
        "moderation": {"action": "hide", "reason": "Personal attack"},
        "consultation": {"slug": "budget-2027", "title": "Budget 2027", "opens": "1772445600000",
                         "closes": "2026-12-31"},
        "islington-idea": {"title": "More buses"},
        "withdraw": {},
        "feedback-charset": {"page": ORIGIN, "useful": "yes", "rating": None, "comment": ""},
    }
    for i, name in enumerate(JSON_ROUTES):
        b = bodies[name]
        data = (b if isinstance(b, str) else json.dumps(b)).encode()
        write("json", name, bytes([i]) + data)
    write("json", "nested", bytes([2]) + b"[" * 100 + b"]" * 100)
    write("json", "duplicate-keys", bytes([0]) + b'{"page":"a","page":"b","useful":true}')
    write("json", "unicode", bytes([2]) + json.dumps(
        {"title": "Caf\u00e9 \u0645\u0642\u0647\u0649 \U0001F333", "body": "\\u0000 and \u2028"}).encode())
    write("json", "sql", bytes([2]) + json.dumps(
        {"title": "Robert'); DROP TABLE ideas;--", "body": "\" OR 1=1 /* */"}).encode())


def form_seeds():
    for name, data in {
        "feedback": "page=https%3A%2F%2Fwww.camden.gov.uk%2Fbins&useful=yes&rating=4&comment=Thanks+a+lot%21",
        "query": "sort=hot&limit=20&cursor=AQEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAQ&consultation=park",
        "utf8": "comment=%E2%9C%93+caf%C3%A9&lang=cy",
        "repeated": "a=1&a=2&&b&=c&d=",
        "bad-escape": "a=%zz&b=%e2%82",
        "nul": "a=%00b",
    }.items():
        write("form", name, data)


def url_seeds():
    for name, data in {
        "simple": "https://www.camden.gov.uk/bins-and-recycling",
        "query": "https://www.camden.gov.uk/parking?id=42&email=jo%40example.org&utm_source=x#top\nid service",
        "port": "HTTP://WWW.Camden.GOV.uk:80/a/./b/../c?b=2&a=1\na b",
        "userinfo": "https://user:pass@www.camden.gov.uk:8443/%7Euser/",
        "ipv6": "http://[2001:db8::1]:8080/x",
        "idn": "https://b\u00fccher.example/stra\u00dfe",
        "dots": "https://www.camden.gov.uk./a/%2e%2e/b",
        "backslash": "https://evil.example\\@www.camden.gov.uk/",
        "encoded": "https://www.camden.gov.uk/a b/%41%zz/\u00e9",
    }.items():
        write("url", name, data)


def redact_seeds():
    for name, data in {
        "email": "Please email jo.bloggs+council@example.co.uk about it",
        "phone": "Call 020 7946 0958 or +44 7700 900123 or 07700900123",
        "ni": "My NI number is QQ 12 34 56 C",
        "nhs": "NHS number 943 476 5919 and 401 023 2137",
        "card": "card 4111 1111 1111 1111 exp 12/27",
        "postcode": "I live at 12 High St, NW1 2DB and work in EC1A 1BB",
        "numbers": "In 2024 we paid \u00a31,250.00 for 3 bins on 12/03",
        "mixed": "\u09e6\u09e8\u09e6 \u09ed\u09ef\u09ea\u09ec \u09e6\u09ef\u09eb\u09ee \u2014 \u0661\u0662 jo@x.org\u060c",
        "intl": "ring 0033 1 23 45 67 89 or +1 (202) 555-0143",
        # Seen unscrubbed before the redactor read a normalised copy.
        "spaced": "NW1  2DB, 447700900461, 7700 900461, 943 4765 919",
        "invisible": "07700\u200b900461 jo\uff20example.com \u00ad\u200d\u200c",
        "fullwidth": "\uff10\uff17\uff17\uff10\uff10 \uff19\uff10\uff10\uff14\uff16\uff11 \ufb01 \u00bd",
        "bidi": "\u202egnp.exe\u202c \u2066x\u2069 \u200f07700 900461\u200e",
        "joiners": "\u09b0\u200d\u09cd\u09af \u0645\u06cc\u200c\u062e 2024",
        # After a NUL: an allowlist.
        "allow": "Call 020 7946 0000, NW1 2DB or 07700 900461\0"
                 "020 7946 0000\nnw1 2db\npress@example.org",
        # A page address (and after the NUL, the parameters kept).
        "page": "https://www.camden.gov.uk/users/jo%40example.org/07700%20900461"
                "?ref=NW1+2DB&q=jo@x.org&z=%00%25\0ref q",
    }.items():
        write("redact", name, data)


def cursor_seeds():
    import struct
    def cur(kind, seed, key, key2, id_):
        raw = bytes([1, kind]) + struct.pack("<QdqQ", seed, key, key2, id_)
        return b64url(raw)
    write("cursor", "top", cur(0, 0, 0.25, 0, 12))
    write("cursor", "hot", cur(1, 0, 12345.678, 0, 3))
    write("cursor", "new", cur(2, 0, 0.0, 1772445600000, 7))
    write("cursor", "random", cur(4, 7, 0.0, 123456789, 9))
    write("cursor", "pages", cur(0x80, 0, 0.1, 3, 5))
    write("cursor", "raw", b"R\x01\x00" + b"\x00" * 32)
    write("cursor", "garbage", "not-a-cursor")


def jwt_seeds():
    write("jwt", "valid", jwt())
    write("jwt", "aud-list", jwt(aud=["islington", "camden"]))
    write("jwt", "none", jwt(alg="none"))
    write("jwt", "hs512", jwt(header={"alg": "HS512", "typ": "JWT"}))
    write("jwt", "rs256-kid-jku", jwt(header={"alg": "RS256", "kid": "1", "jku": "https://evil.example/k"}))
    write("jwt", "expired", jwt(exp=T0 - 100))
    write("jwt", "wrong-secret", jwt(secret=b"x" * 40))
    write("jwt", "padded", jwt() + "==")
    hdr = '{"alg":"HS256","typ":"JWT"}'
    for name, payload in {
        "signed-valid": {"sub": "r-1", "aud": "camden", "exp": T0 + 600, "nbf": T0 - 5, "iat": T0},
        "signed-real-exp": {"sub": "r-2", "aud": "camden", "exp": T0 + 600.5},
        "signed-huge-exp": {"sub": "r-3", "aud": "camden", "exp": 9223372036854775807},
        "signed-no-sub": {"aud": "camden", "exp": T0 + 60},
        "signed-crit": None,
    }.items():
        if payload is None:
            write("jwt", name, "S" + '{"alg":"HS256","crit":["exp"]}' + "\n" +
                  json.dumps({"sub": "r", "aud": "camden", "exp": T0}))
        else:
            write("jwt", name, "S" + hdr + "\n" + json.dumps(payload))


def jose_seeds():
    """The provider's ID tokens (fuzz_jose): header and payload the harness
    signs ES256 ('S'), key sets ('K'), and tokens as they arrive."""
    iss, client, nonce = "https://id.camden.example", "townhall-camden", "n-0S6_WzA2Mj"
    good = {"iss": iss, "sub": "248289761001", "aud": client, "nonce": nonce,
            "iat": T0 - 5, "exp": T0 + 300}
    hdr = {"alg": "ES256", "kid": "e1", "typ": "JWT"}
    for name, h, p in [
        ("signed-valid", hdr, good),
        ("signed-no-kid", {"alg": "ES256"}, good),
        ("signed-aud-list", hdr, dict(good, aud=[client, "other"], azp=client)),
        ("signed-groups", hdr, dict(good, groups=["moderator", "ward:kentish-town"],
                                    tid="9188040d-6c67-4c5b-b112-36a304b66dad",
                                    hd="camden.gov.uk")),
        ("signed-expired", hdr, dict(good, exp=T0 - 3600)),
        ("signed-real-times", hdr, dict(good, exp=T0 + 0.5, iat=T0 - 0.5, nbf=T0 - 1.5)),
        ("signed-huge-exp", hdr, dict(good, exp=9223372036854775807)),
        ("signed-crit", dict(hdr, crit=["b64"], b64=False), good),
        ("signed-rs256-header", dict(hdr, alg="RS256"), good),
        ("signed-unknown-kid", dict(hdr, kid="rotated"), good),
    ]:
        write("jose", name, "S" + json.dumps(h, separators=(",", ":")) + "\n" +
              json.dumps(p, separators=(",", ":")))
    body = b64url(json.dumps(good).encode())
    write("jose", "none", b64url(b'{"alg":"none"}') + "." + body + ".")
    write("jose", "hs256", b64url(b'{"alg":"HS256","kid":"e1"}') + "." + body + "." +
          b64url(hmac.new(b"public-key", body.encode(), hashlib.sha256).digest()))
    write("jose", "es256-junk-sig", b64url(json.dumps(hdr).encode()) + "." + body + "." +
          b64url(b"\x01" * 64))
    rsa = {"kty": "RSA", "kid": "r1", "use": "sig", "alg": "RS256",
           "n": b64url(b"\xc3" + b"\x17" * 255), "e": "AQAB"}
    ec = {"kty": "EC", "kid": "e1", "crv": "P-256",
          "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
          "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}
    write("jose", "jwks-rsa-ec", "K" + json.dumps({"keys": [rsa, ec]}))
    write("jose", "jwks-oct-enc", "K" + json.dumps({"keys": [
        {"kty": "oct", "k": "c2VjcmV0"}, dict(rsa, use="enc"), dict(ec, crv="P-384")]}))
    write("jose", "jwks-dup", 'K{"keys":[],"keys":[]}')


def main():
    shutil.rmtree(os.path.join(HERE, "corpus"), ignore_errors=True)
    http_seeds()
    json_seeds()
    form_seeds()
    url_seeds()
    redact_seeds()
    cursor_seeds()
    jwt_seeds()
    jose_seeds()


if __name__ == "__main__":
    main()
