"""Attacks on a real `townhall serve`, beyond what tests/api/test_robust.py
and test_api.py already cover: request smuggling and header injection,
path traversal on static files, forged and malformed resident tokens, staff
token guessing, SQL metacharacters, and hostile JSON. Every answer read
raw is checked to be a well-formed HTTP/1.1 response (common.answers)."""
import base64
import hashlib
import hmac
import json
import os
import sqlite3
import time
import unittest
import urllib.parse

from common import (ORIGIN, SECRET, SITE, Server, answers, b64url, idea_url,
                    jwt, raw)

S = f"/v1/sites/{SITE}"
JSON_POST = (b"POST " + S.encode() + b"/feedback HTTP/1.1\r\nHost: x\r\n"
             b"Content-Type: application/json\r\n")
FEEDBACK = b'{"page":"https://www.camden.gov.uk/attack","useful":true}'


def chunk(*parts):
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n"


def raw_jwt(header, payload, secret=SECRET, sig=None):
    """A token from raw header and payload bytes, signed unless sig given."""
    h = b64url(header if isinstance(header, bytes) else json.dumps(header).encode())
    p = b64url(payload if isinstance(payload, bytes) else json.dumps(payload).encode())
    s = f"{h}.{p}"
    if sig is None:
        sig = b64url(hmac.new(secret, s.encode(), hashlib.sha256).digest())
    return f"{s}.{sig}"


def claims(**kw):
    c = {"sub": "attacker-1", "aud": SITE, "exp": int(time.time()) + 600}
    c.update(kw)
    return {k: v for k, v in c.items() if v is not None}


HS256 = {"alg": "HS256", "typ": "JWT"}


class Smuggling(unittest.TestCase):
    """Framing the server could read differently from a proxy in front of
    it is refused with 400 and the connection closed, so nothing after it
    is read as a second request. (test_robust covers CL with TE, two CLs,
    obs-fold, a bad chunk size, TE gzip and LF-only chunks.)"""

    @classmethod
    def setUpClass(cls):
        cls.server = Server("--rate-limit", "100000")

    @classmethod
    def tearDownClass(cls):
        assert cls.server.stop() == 0
        cls.server.cleanup()

    def refused(self, data, name):
        out = answers(raw(self.server, data + b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", timeout=3))
        self.assertTrue(out, f"{name}: no answer")
        self.assertEqual(out[0].status, 400, f"{name}: {out}")
        self.assertEqual(out[0].header("connection"), "close", name)
        self.assertEqual(len(out), 1, f"{name}: a second request was read: {out}")

    def test_transfer_encoding_variants(self):
        cases = {
            "chunked not last": b"Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n",
            "TE twice": b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            "TE identity with CL": b"Transfer-Encoding: identity\r\nContent-Length: 3\r\n\r\nabc",
            "space before colon": b"Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n",
            "xchunked": b"Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n",
            "vertical tab": b"Transfer-Encoding: \x0bchunked\r\n\r\n0\r\n\r\n",
        }
        for name, rest in cases.items():
            with self.subTest(name):
                self.refused(JSON_POST + rest, name)
        with self.subTest("TE in HTTP/1.0"):
            self.refused(b"POST " + S.encode() + b"/feedback HTTP/1.0\r\nHost: x\r\n"
                         b"Content-Type: application/json\r\n"
                         b"Transfer-Encoding: chunked\r\n\r\n" + chunk(FEEDBACK) + b"\r\n",
                         "TE in HTTP/1.0")

    def test_content_length_variants(self):
        for name, cl in {"plus sign": b"+4", "a list": b"4, 4", "hex": b"0x4",
                         "negative": b"-1", "huge": b"99999999999999999999999",
                         "inner space": b"1 0", "empty": b""}.items():
            with self.subTest(name):
                self.refused(JSON_POST + b"Content-Length: " + cl + b"\r\n\r\nabcd", name)
        with self.subTest("the same CL twice"):
            self.refused(JSON_POST + b"Content-Length: 4\r\nContent-Length: 4\r\n\r\nabcd", "same CL twice")
        with self.subTest("space before colon"):
            self.refused(JSON_POST + b"Content-Length : 4\r\n\r\nabcd", "CL space before colon")

    def test_chunk_variants(self):
        te = JSON_POST + b"Transfer-Encoding: chunked\r\n\r\n"
        for name, body in {"size overflow": b"ffffffffffffffffffff\r\nabcd\r\n0\r\n\r\n",
                           "negative size": b"-4\r\nabcd\r\n0\r\n\r\n",
                           "data longer than its size": b"4\r\nabcdX\r\n0\r\n\r\n",
                           "empty extension": b"4;\r\nabcd\r\n0\r\n\r\n"}.items():
            with self.subTest(name):
                self.refused(te + body, name)

    def test_line_ends_and_bytes(self):
        for name, data in {
            "bare LF line ends": b"GET /healthz HTTP/1.1\nHost: x\n\n",
            "one bare LF": b"GET /healthz HTTP/1.1\r\nHost: x\nX-A: b\r\n\r\n",
            "bare CR": b"GET /healthz HTTP/1.1\r\nHost: x\rX-A: b\r\n\r\n",
            "NUL in a value": b"GET /healthz HTTP/1.1\r\nHost: x\x00y\r\n\r\n",
            "space in the target": b"GET /heal thz HTTP/1.1\r\nHost: x\r\n\r\n",
            "header line starting with a space": b"GET /healthz HTTP/1.1\r\n Host: x\r\n\r\n",
            "lower-case method": b"get /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
            "CONNECT": b"CONNECT www.camden.gov.uk:443 HTTP/1.1\r\nHost: x\r\n\r\n",
            "HTTP/2 preface": b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
            "h2c upgrade": b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                           b"Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n",
        }.items():
            with self.subTest(name):
                self.refused(data, name)

    def test_two_host_headers(self):
        """RFC 9112 section 3.2: a request with two Host lines gets a 400;
        otherwise this server and a proxy may pick different hosts."""
        self.refused(b"GET /healthz HTTP/1.1\r\nHost: www.camden.gov.uk\r\nHost: evil.example\r\n\r\n",
                     "two Host headers")

    def test_body_is_not_a_request(self):
        """A GET with a body that looks like a request: the body is read as
        a body (one answer), never as a second request."""
        inner = b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
        out = answers(raw(self.server, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                          b"Content-Length: %d\r\n\r\n%s" % (len(inner), inner)))
        self.assertEqual([a.status for a in out], [200])
        self.assertIn(b'"status"', out[0].body)

    def test_trailers_are_not_headers(self):
        """Fields in a chunked trailer arrive after the header section a
        proxy inspected; the server must not treat them as request
        headers (RFC 9110 section 6.5.1). Here they would authenticate a
        staff request and supply a missing Content-Type."""
        tok = self.server.tokens["admin"].encode()
        out = answers(raw(self.server, b"GET " + S.encode() + b"/audit HTTP/1.1\r\nHost: x\r\n"
                          b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                          b"0\r\nAuthorization: Bearer " + tok + b"\r\n\r\n"))
        self.assertIn(out[0].status, (400, 401), f"a trailer authenticated the request: {out}")
        out = answers(raw(self.server, b"POST " + S.encode() + b"/feedback HTTP/1.1\r\nHost: x\r\n"
                          b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
                          chunk(FEEDBACK) + b"Content-Type: application/json\r\n\r\n"))
        self.assertIn(out[0].status, (400, 415), f"a trailer supplied the Content-Type: {out}")

    def test_chunked_with_extension_and_trailer_still_works(self):
        out = answers(raw(self.server, JSON_POST + b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
                          b"%x;name=value\r\n%s\r\n0\r\nX-Checksum: 1\r\n\r\n" % (len(FEEDBACK), FEEDBACK)))
        self.assertIn(out[0].status, (200, 201), out)


class HeaderInjection(unittest.TestCase):
    """Nothing a client sends reaches a response header with a CR or LF in
    it, and reflected text in pages is escaped. (test_robust covers an
    encoded CRLF in Origin.)"""

    @classmethod
    def setUpClass(cls):
        cls.server = Server("--rate-limit", "100000", "--min-form-seconds", "-1")

    @classmethod
    def tearDownClass(cls):
        assert cls.server.stop() == 0
        cls.server.cleanup()

    def form_post(self, fields, origin=ORIGIN):
        body = urllib.parse.urlencode(fields).encode()
        data = (b"POST " + S.encode() + b"/feedback HTTP/1.1\r\nHost: x\r\n"
                b"Origin: " + origin.encode() + b"\r\n"
                b"Content-Type: application/x-www-form-urlencoded\r\n"
                b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body)) + body
        out = answers(raw(self.server, data))
        self.assertEqual(len(out), 1)
        return out[0]

    def test_form_redirect_fields(self):
        n = [0]

        def page(extra):
            n[0] += 1
            return f"{ORIGIN}/inject-{n[0]}{extra}"
        for name, fields in {
            "CRLF in page": {"page": page("\r\nSet-Cookie: a=1"), "useful": "yes"},
            "encoded CRLF in page": {"page": page("%0d%0aSet-Cookie:%20a=1"), "useful": "yes"},
            "CRLF in lang": {"page": page(""), "useful": "yes", "next": "thanks",
                             "lang": "en\r\nSet-Cookie: a=1"},
            "CRLF in next": {"page": page(""), "useful": "no", "next": "\r\nSet-Cookie: a=1"},
            "LF alone in page": {"page": page("\nX-Injected: 1"), "useful": "yes"},
        }.items():
            with self.subTest(name):
                a = self.form_post(fields)
                # 303 back to the page, or the thank-you page itself (200,
                # with next=thanks), or refused.
                self.assertIn(a.status, (200, 303, 400, 422), a)
                self.assertNotIn("set-cookie", a.names())
                self.assertNotIn("x-injected", a.names())
                loc = a.header("location") or ""
                self.assertFalse(loc.startswith("//") or "://" in loc and not loc.startswith(ORIGIN),
                                 f"redirect off the site's origins: {loc}")
                self.assertNotIn(b"Set-Cookie: a=1", a.body)

    def test_long_page_url_redirect_is_well_formed(self):
        """A page URL near the 2048-byte limit makes a long Location header
        (back to the page) and a long link on the thank-you page: each must
        be sent whole (a header cut short runs the body into the header
        block)."""
        long_page = ORIGIN + "/" + "a/" * 1000
        a = self.form_post({"page": long_page, "useful": "yes", "lang": "en"})
        self.assertEqual(a.status, 303)
        self.assertEqual(a.header("location"), long_page)
        self.assertEqual(a.body, b"See Other\n")
        a = self.form_post({"page": long_page, "useful": "yes", "next": "thanks",
                            "lang": "en"})
        self.assertEqual(a.status, 200)
        self.assertIn(b'href="' + long_page.encode() + b'"', a.body)
        self.assertTrue(a.body.rstrip().endswith(b"</html>"))

    def test_host_header_not_reflected_raw(self):
        for host in (b'evil.example"><script>alert(1)</script>', b"evil.example/%0d%0a"):
            with self.subTest(host=host):
                out = answers(raw(self.server, b"GET /form?site=camden&page=https%3A%2F%2Fwww.camden.gov.uk%2Fa"
                                  b"&fragment=1 HTTP/1.1\r\nHost: " + host + b"\r\nConnection: close\r\n\r\n"))
                self.assertNotIn(b"<script>alert", out[0].body)
                self.assertNotIn(b"evil.example", out[0].body)

    def test_pages_escape_what_they_reflect(self):
        evil = '"><script>alert(1)</script>'
        for path in (f"/form?site={SITE}&page=" + urllib.parse.quote(ORIGIN + "/" + evil, safe="") + "&lang=" +
                     urllib.parse.quote(evil),
                     f"/thanks?site={SITE}&lang=" + urllib.parse.quote(evil) + "&return=" +
                     urllib.parse.quote(ORIGIN + "/" + evil, safe="")):
            with self.subTest(path=path[:40]):
                out = answers(raw(self.server, b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n"
                                  b"Connection: close\r\n\r\n"))
                self.assertNotIn(b"<script>alert", out[0].body)

    def test_thanks_links_only_to_the_site(self):
        for ret in ("javascript:alert(1)", "https://evil.example/", "//evil.example/",
                    "https://www.camden.gov.uk.evil.example/", "https://evil.example\\@www.camden.gov.uk/"):
            with self.subTest(ret=ret):
                out = answers(raw(self.server, b"GET /thanks?site=camden&return=" +
                                  urllib.parse.quote(ret, safe="").encode() +
                                  b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
                self.assertEqual(out[0].status, 200)
                self.assertNotIn(b"evil.example", out[0].body)
                self.assertNotIn(b"javascript:", out[0].body)

    def test_every_header_of_every_route_well_formed(self):
        """One pass over the routes with hostile values in every header the
        server reads: all answers parse strictly."""
        hostile = "x\u00ff%0d%0a\t;\"<>'"
        headers = [f"Origin: {ORIGIN}", f"User-Agent: {hostile}", f"Accept-Language: {hostile}",
                   f"If-None-Match: {hostile}", f"X-Forwarded-For: {hostile}",
                   f"Access-Control-Request-Headers: {hostile}"]
        paths = ["/healthz", S, S + "/ideas", S + "/ideas/1", S + "/feedback/summary?page=x",
                 S + "/form-token", S + "/consultations", "/widget.js", "/v/0.1.0/widget.js",
                 "/form?site=camden", "/thanks?site=camden", "/dashboard", S + "/open/feedback.csv"]
        for method in ("GET", "HEAD", "OPTIONS", "DELETE"):
            for path in paths:
                data = (f"{method} {path} HTTP/1.1\r\nHost: x\r\n" + "\r\n".join(headers) +
                        "\r\nConnection: close\r\n\r\n").encode("latin-1")
                out = answers(raw(self.server, data), head=method == "HEAD")
                self.assertEqual(len(out), 1, f"{method} {path}")


class Traversal(unittest.TestCase):
    """Static files come from a table compiled into the library, so no path
    reaches the file system: every spelling of "up a directory" is a 404
    (or a 400 from the parser), never a file of the host."""

    @classmethod
    def setUpClass(cls):
        cls.server = Server()
        cls.known = {cls.server.get(p).body for p in ("/widget.js", "/widget.css", "/i18n/en.json")}

    @classmethod
    def tearDownClass(cls):
        assert cls.server.stop() == 0
        cls.server.cleanup()

    def test_paths(self):
        db_name = os.path.basename(self.server.db).encode()
        paths = [
            b"/../../../../etc/passwd", b"/v/0.1.0/../../../../etc/passwd",
            b"/%2e%2e/%2e%2e/%2e%2e/etc/passwd", b"/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
            b"/..%2f..%2f..%2fetc%2fpasswd", b"/.%2e/.%2e/etc/passwd", b"/..;/..;/etc/passwd",
            b"/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd", b"/..%5c..%5cetc%5cpasswd",
            b"/\\..\\..\\etc\\passwd", b"//etc/passwd", b"///etc/passwd", b"/./widget.js/../../etc/passwd",
            b"/i18n/../../etc/passwd", b"/dashboard/../../etc/passwd", b"/v/../v/0.1.0/widget.js",
            b"/" + db_name, b"/../" + db_name, b"/v/0.1.0/../" + db_name, b"/%2e%2e/" + db_name,
            b"/" + db_name + b".key", b"/../townhall.db.key", b"/widget.js%00.html", b"/widget.js%00",
            b"/demo.html", b"/v/0.1.0/demo.html", b"/WIDGET.JS", b"/widget.js/", b"/v/9.9.9/widget.js",
            b"/proc/self/environ", b"/%252e%252e/etc/passwd", b"/.git/config", b"/.env",
        ]
        for p in paths:
            with self.subTest(path=p):
                out = answers(raw(self.server, b"GET " + p + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
                a = out[0]
                if a.status == 200:
                    self.assertIn(a.body, self.known, f"{p!r} served something not in web/")
                else:
                    self.assertIn(a.status, (400, 404), f"{p!r}: {a}")
                for secret in (b"root:x:0", b"SQLite format 3", b"[core]", b"PATH="):
                    self.assertNotIn(secret, a.body)

    def test_raw_nul_and_controls_in_the_target(self):
        for p in (b"/widget.js\x00.html", b"/widget\x01.js", b"/widget.js\x7f", b"/\xff\xfe"):
            with self.subTest(path=p):
                out = answers(raw(self.server, b"GET " + p + b" HTTP/1.1\r\nHost: x\r\n\r\n"))
                self.assertIn(out[0].status, (400, 404))


class ResidentTokens(unittest.TestCase):
    """Resident JWTs beyond test_api.test_bad_tokens: header fields that
    name keys are ignored (only the site's secret verifies), sizes and
    encodings are bounded, claims are checked strictly."""

    @classmethod
    def setUpClass(cls):
        cls.server = Server("--rate-limit", "100000")
        r = cls.server.request("POST", S + "/ideas", token=jwt("jwt-author"),
                               json_body={"title": "Tokens: an idea to vote on"})
        assert r.status == 201, r
        cls.iid = r.json()["id"]
        cls.n = 0

    @classmethod
    def tearDownClass(cls):
        assert cls.server.stop() == 0
        cls.server.cleanup()

    def vote(self, token, expect):
        r = self.server.request("PUT", idea_url(self.iid) + "/vote", token=token,
                                json_body={"value": 1})
        if expect == "ok":
            self.assertIn(r.status, (200, 201), r)
        else:
            self.assertEqual(r.status, 401, r)
            self.assertIn("Bearer", r.header("www-authenticate"))
        return r

    def test_key_naming_headers_ignored(self):
        """kid, jku, x5u, jwk and x5c never choose the key: a token signed
        with the site's secret passes whatever they say; one signed with
        the key they point at does not."""
        attacker = b"attacker-controlled-key-0123456789abcdef"
        for name, extra in {
            "kid path": {"kid": "../../../../dev/null"},
            "kid sql": {"kid": "' UNION SELECT 'attacker-controlled-key"},
            "jku": {"jku": "https://evil.example/jwks.json"},
            "x5u": {"x5u": "https://evil.example/cert.pem"},
            "jwk": {"jwk": {"kty": "oct", "k": b64url(attacker)}},
            "x5c": {"x5c": ["MIIB"]},
        }.items():
            with self.subTest(name):
                h = dict(HS256, **extra)
                self.vote(raw_jwt(h, claims(sub=f"kid-{name}")), "ok")
                self.vote(raw_jwt(h, claims(sub=f"kid-{name}"), secret=attacker), "refused")

    def test_algorithms(self):
        for name, h in {
            "lower-case hs256": {"alg": "hs256"}, "HS256 with a space": {"alg": "HS256 "},
            "alg list": {"alg": ["HS256"]}, "no alg": {"typ": "JWT"}, "alg null": {"alg": None},
            "ES256": {"alg": "ES256"}, "PS256": {"alg": "PS256"}, "none upper": {"alg": "NONE"},
            "typ other": {"alg": "HS256", "typ": "at+jwt"},
            "crit": {"alg": "HS256", "crit": ["exp"]},
        }.items():
            with self.subTest(name):
                self.vote(raw_jwt(h, claims()), "refused")
        with self.subTest("alg none, empty signature, signed anyway"):
            self.vote(raw_jwt({"alg": "none"}, claims(), sig=""), "refused")

    def test_encodings(self):
        std = lambda x: x.replace("-", "+").replace("_", "/")  # noqa: E731
        # A subject whose token holds '-' or '_', so that its standard-
        # base64 spelling differs (most do within a few tries).
        for i in range(1000):
            good = raw_jwt(HS256, claims(sub=f"enc-{i}"))
            if std(good) != good:
                break
        self.assertNotEqual(std(good), good)
        h, p, s = good.split(".")
        for name, tok in {
            "padding": f"{h}==.{p}.{s}=", "standard base64": f"{std(h)}.{std(p)}.{std(s)}",
            "bad characters": "!!!.@@@.###", "space inside": f"{h}.{p[:5]} {p[5:]}.{s}",
            "four parts": f"{good}.{s}", "empty parts": "..", "signature cut": f"{h}.{p}.{s[:-2]}",
            "signature longer": f"{h}.{p}.{s}AA", "header not JSON": f"{b64url(b'hello')}.{p}.{s}",
            "header an array": raw_jwt([1, 2], claims()),
            "payload an array": raw_jwt(HS256, [claims()]),
            "payload not JSON": raw_jwt(HS256, b"{\"sub\":"),
            "duplicate sub": raw_jwt(HS256, b'{"sub":"a","sub":"b","aud":"camden","exp":%d}'
                                     % (int(time.time()) + 600)),
            "nested deep": raw_jwt(HS256, b'{"sub":"a","aud":"camden","exp":%d,"x":' % (int(time.time()) + 600)
                                   + b"[" * 3000 + b"]" * 3000 + b"}"),
        }.items():
            with self.subTest(name):
                self.vote(tok, "refused")

    def test_claims(self):
        now = int(time.time())
        for name, c in {
            "exp as text": claims(exp=str(now + 600)), "exp huge": claims(exp=9223372036854775807),
            "exp very negative": claims(exp=-9223372036854775808), "exp real huge": claims(exp=1e300),
            "exp NaN-like": claims(exp=None), "nbf future": claims(nbf=now + 3600),
            "iat future": claims(iat=now + 3600), "sub empty": claims(sub=""),
            "sub number": claims(sub=42), "sub with NUL": claims(sub="a\u0000b"),
            "sub too long": claims(sub="x" * 300), "aud other": claims(aud="islington"),
            "aud list without site": claims(aud=["a", "b"]), "aud missing": claims(aud=None),
            "aud prefix": claims(aud="camden-extra"),
        }.items():
            with self.subTest(name):
                self.vote(raw_jwt(HS256, c), "refused")
        with self.subTest("exp a real number in range"):
            self.vote(raw_jwt(HS256, claims(sub="real-exp", exp=now + 600.5)), "ok")

    def test_huge_tokens(self):
        sig = raw_jwt(HS256, claims(sub="huge", pad="x" * 2900))
        self.assertLess(len(sig), 4096)
        self.vote(sig, "ok")
        for size in (4097, 5000, 9000):
            with self.subTest(size=size):
                pad = "x" * size
                self.vote(raw_jwt(HS256, claims(sub="huge", pad=pad)), "refused")
        with self.subTest("past the header limit"):
            r = self.server.request("PUT", idea_url(self.iid) + "/vote",
                                    token="a" * 20000, json_body={"value": 1})
            self.assertEqual(r.status, 431)


class StaffTokenGuessing(unittest.TestCase):
    """Staff-token failures are limited per address prefix (10 a minute):
    beyond test_api.test_staff_token_guessing_slowed, every kind of
    failure counts, a forged X-Forwarded-For does not reset the bucket,
    and with a trusted proxy the bucket is per /32 and per /64."""

    def setUp(self):
        self.server = None

    def tearDown(self):
        if self.server:
            self.assertEqual(self.server.stop(), 0)
            self.server.cleanup()

    def attempt(self, auth=None, xff=None):
        h = {}
        if auth is not None:
            h["Authorization"] = auth
        if xff:
            h["X-Forwarded-For"] = xff
        return self.server.get(S + "/audit", headers=h)

    def test_every_failure_counts_and_xff_is_not_believed(self):
        self.server = Server()
        shapes = [None, "Basic YWRtaW46YWRtaW4=", "Bearer", "Bearer th_1_short",
                  "Bearer " + jwt("someone"), "Bearer th_1_" + "A" * 32, "bearer th_2_" + "B" * 32,
                  "Bearer th_99999999999999999999_" + "C" * 32, "Bearer th_-1_" + "D" * 32,
                  "Bearer th_1_" + "E" * 32 + "\t"]
        statuses = [self.attempt(auth, xff=f"198.51.100.{i}").status for i, auth in enumerate(shapes)]
        self.assertEqual(statuses, [401] * 10)
        for i in range(3):
            r = self.attempt("Bearer th_1_" + "F" * 32, xff=f"203.0.113.{i}")
            self.assertEqual(r.status, 429, "a forged X-Forwarded-For reset the bucket")
            self.assertGreaterEqual(int(r.header("retry-after")), 1)

    def test_buckets_per_prefix_behind_a_trusted_proxy(self):
        self.server = Server("--trusted-proxy", "127.0.0.1")
        bad = "Bearer th_1_" + "G" * 32
        self.assertEqual([self.attempt(bad, "203.0.113.5").status for _ in range(11)],
                         [401] * 10 + [429])
        self.assertEqual(self.attempt(bad, "203.0.113.6").status, 401, "another /32: its own bucket")
        self.assertEqual([self.attempt(bad, "2001:db8:1:2::1").status for _ in range(10)], [401] * 10)
        self.assertEqual(self.attempt(bad, "2001:db8:1:2::ffff").status, 429,
                         "the same /64 shares one bucket")
        self.assertEqual(self.attempt(bad, "2001:db8:1:3::1").status, 401, "another /64")
        ok = "Bearer " + self.server.tokens["admin"]
        self.assertEqual(self.attempt(ok, "203.0.113.5").status, 429)
        self.assertEqual(self.attempt(ok, "203.0.113.7").status, 200)


class SqlMetacharacters(unittest.TestCase):
    """Text full of SQL is stored and returned byte for byte (everything is
    bound, nothing is pasted into SQL), filters match literally, and the
    database is intact afterwards."""

    TEXTS = [
        "Robert'); DROP TABLE ideas;--",
        "\" OR \"\"=\" ; -- comment",
        "' OR '1'='1' /* */ UNION SELECT * FROM staff_tokens --",
        "x'; DELETE FROM sites WHERE 'a'='a",
        "%_% LIKE '%' ESCAPE '\\' \\\\ back\\slash",
        "`tick` $1 ?2 :name @p ?;",
        "'); ATTACH DATABASE '/tmp/evil.db' AS evil; --",
        "\u00e9\u00e8 \u2019quotes\u2019 \u201c \u201d \U0001F333 ';--",
    ]

    @classmethod
    def setUpClass(cls):
        cls.server = Server("--rate-limit", "100000", "--min-form-seconds", "-1")

    @classmethod
    def tearDownClass(cls):
        assert cls.server.stop() == 0
        db = cls.server.db
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            assert {"ideas", "sites", "staff_tokens"} <= names, names
        finally:
            con.close()
        cls.server.cleanup()

    def test_ideas_verbatim(self):
        for i, text in enumerate(self.TEXTS):
            with self.subTest(text=text):
                body = {"title": text[:140], "body": text + "\n" + text,
                        "category": text[:60], "ward": text[:60]}
                r = self.server.request("POST", S + "/ideas", token=jwt(f"sql-{i}"), json_body=body)
                self.assertEqual(r.status, 201, r)
                got = self.server.get(idea_url(r.json()["id"])).json()
                for k in ("title", "body", "category", "ward"):
                    self.assertEqual(got[k].encode(), body[k].encode(), k)

    def test_comments_and_consultations_verbatim(self):
        admin = self.server.tokens["admin"]
        for i, text in enumerate(self.TEXTS):
            with self.subTest(text=text):
                page = f"{ORIGIN}/sql-{i}"
                r = self.server.request("POST", S + "/feedback", headers={"User-Agent": f"sql/{i}"},
                                        json_body={"page": page, "useful": False, "comment": text})
                self.assertEqual(r.status, 201, r)
                r = self.server.get(S + "/feedback/comments?page=" + urllib.parse.quote(page, safe=""),
                                    token=admin)
                self.assertEqual(r.status, 200, r)
                self.assertEqual([c["text"] for c in r.json()["items"]], [text])
                r = self.server.request("POST", S + "/consultations", token=admin, json_body={
                    "slug": f"sql-{i}", "title": text[:200], "description": text})
                self.assertEqual(r.status, 201, r)
        items = {c["slug"]: c for c in self.server.get(S + "/consultations").json()["items"]}
        for i, text in enumerate(self.TEXTS):
            self.assertEqual(items[f"sql-{i}"]["description"], text)

    def test_filters_match_literally(self):
        self.server.request("POST", S + "/ideas", token=jwt("sql-filter"),
                            json_body={"title": "A plain idea", "category": "parks", "ward": "Holborn"})
        for q in ("category=%25", "category=_", "category=%27%20OR%20%271%27%3D%271",
                  "ward=%25", "ward=%27%20OR%201%3D1%20--"):
            with self.subTest(q=q):
                r = self.server.get(S + "/ideas?" + q)
                self.assertEqual(r.status, 200)
                self.assertEqual(r.json()["items"], [], "a filter matched as a pattern")

    def test_parameters_never_500(self):
        for q in ("sort=top;DROP%20TABLE%20ideas", "limit=1%20OR%201=1", "cursor=%27%20OR%201=1--",
                  "status=published%27--", "seed=1;", "from=2026-01-01%27", "consultation=%27%3B--",
                  "limit=-1", "limit=99999999999999999999", "seed=-1", "sort=random&seed=1e9"):
            with self.subTest(q=q):
                r = self.server.get(S + "/ideas?" + q)
                self.assertLess(r.status, 500, r)
        for path in (f"/v1/sites/camden'--/ideas", "/v1/sites/%27%20OR%201%3D1/ideas",
                     S + "/ideas/1%20OR%201=1", S + "/ideas/0x1", S + "/ideas/-1",
                     S + "/ideas/99999999999999999999"):
            with self.subTest(path=path):
                self.assertIn(self.server.get(path).status, (400, 404))
        self.assertEqual(self.server.get(S + "/ideas").status, 200, "the table is still there")


class HostileJson(unittest.TestCase):
    """Deep nesting, huge values and broken encodings are refused with a
    4xx and never crash the server (jansson stops at 2048 levels rather
    than recursing 100,000 deep)."""

    @classmethod
    def setUpClass(cls):
        cls.server = Server("--rate-limit", "100000", "--max-body", str(1 << 20))

    @classmethod
    def tearDownClass(cls):
        assert cls.server.stop() == 0
        cls.server.cleanup()

    def post(self, body, path="/ideas", token=True):
        return self.server.request("POST", S + path, body=body, token=jwt("json-bomb") if token else None,
                                   headers={"Content-Type": "application/json"})

    def alive(self):
        self.assertEqual(self.server.get("/healthz").status, 200)

    def test_deep_nesting(self):
        for name, body in {
            "100,000 nested arrays": b"[" * 100000 + b"]" * 100000,
            "65,536 unclosed arrays (within 64 KiB)": b"[" * 65536,
            "100,000 nested objects": b'{"a":' * 100000 + b"1" + b"}" * 100000,
            "deep inside a field": b'{"title":' + b"[" * 100000 + b"]" * 100000 + b"}",
            "2049 levels": b"[" * 2049 + b"]" * 2049,
        }.items():
            with self.subTest(name):
                for path in ("/ideas", "/feedback"):
                    r = self.post(body, path)
                    self.assertEqual(r.status, 400, r)
                self.alive()
        r = self.post(b'{"title":"Nested but shallow enough","extra":' + b"[" * 2000 + b"]" * 2000 + b"}")
        self.assertEqual(r.status, 201, r)

    def test_sizes(self):
        with self.subTest("a megabyte of title"):
            self.assertEqual(self.post(json.dumps({"title": "x" * 1000000}).encode()).status, 422)
        with self.subTest("past the body limit"):
            self.assertEqual(self.post(b" " * ((1 << 20) + 1)).status, 413)
        with self.subTest("thousands of keys"):
            obj = {f"k{i}": i for i in range(20000)}
            obj["title"] = "Many keys, one idea"
            self.assertIn(self.post(json.dumps(obj).encode()).status, (200, 201))
        with self.subTest("a long array of strings"):
            self.assertEqual(self.post(json.dumps({"title": ["x"] * 100000}).encode()).status, 422)
        self.alive()

    def test_encodings_and_numbers(self):
        for name, body in {
            "invalid UTF-8": b'{"title":"caf\xc3"}',
            "overlong UTF-8": b'{"title":"\xc0\xaf\xc0\xaf"}',
            "lone surrogate": b'{"title":"\\ud800abc"}',
            "NUL escape": b'{"title":"abc\\u0000def"}',
            "duplicate keys": b'{"title":"one","title":"two"}',
            "huge exponent": b'{"title":"ok title","value":1e999999}',
            "big integer": b'{"value":123456789012345678901234567890}',
            "trailing garbage": b'{"title":"ok title"} x',
            "two documents": b'{"title":"a"}{"title":"b"}',
            "a bare string": b'"just a string"',
            "empty": b"",
            "BOM": b'\xef\xbb\xbf{"title":"with a BOM"}',
        }.items():
            with self.subTest(name):
                r = self.post(body)
                self.assertIn(r.status, (400, 422), r)
        r = self.server.request("PUT", S + "/ideas/1/vote", token=jwt("json-vote"),
                                body=b'{"value":1e999999}', headers={"Content-Type": "application/json"})
        self.assertIn(r.status, (400, 422))
        self.alive()

    def test_form_bodies(self):
        for name, body in {
            "100,000 fields": b"&".join(b"a%d=b" % i for i in range(100000)),
            "a long key": b"k" * 100000 + b"=v",
            "bad escapes": b"page=%zz&useful=%",
            "encoded NUL": b"page=a%00b&useful=yes",
            "invalid UTF-8": b"comment=%c3%28&useful=yes",
        }.items():
            with self.subTest(name):
                r = self.server.request("POST", S + "/feedback", body=body,
                                        headers={"Content-Type": "application/x-www-form-urlencoded"})
                self.assertIn(r.status, (400, 422), r)
        self.alive()


if __name__ == "__main__":
    unittest.main()
