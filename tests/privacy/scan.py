#!/usr/bin/env python3
"""The privacy scan: nothing the tests used to identify a person is in any
file they left behind.

  scan.py SCANNER PROBES DIR
  scan.py SCANNER --self-test

PROBES is the registry tests/api/harness.py appends to (one JSON object per
line: {"kind": "ua"|"ip"|"sub"|"email"|"handle"|"key"|"control", "value":
...}; a handle is a page-feedback answer's capability, a key an
idempotency key a client sent). Every
file under DIR (databases, their -wal and -shm, backups, key and salts
files, server.log, exports) is searched for every probe, in every form it
could have been stored in:

  - as text, lower- and upper-cased, percent-encoded and JSON-escaped;
  - hex (lower and upper case) of its UTF-8 bytes;
  - base64, standard and URL-safe, at each of the three alignments it
    could have inside a longer encoded string (a JWT, a cookie);
  - its unkeyed digests - SHA-256, BLAKE2b-256, MD5 and SHA-1 - raw, in
    hex (both cases) and in base64 (both alphabets): an unkeyed hash of an
    address or an e-mail is no protection, it can be recomputed;
  - for addresses, the packed bytes (IPv6) and their hex (IPv4 and IPv6);
  - for answer handles, their 16 raw bytes and the 8 of their secret half
    (only a keyed hash of which may be stored).

"control" probes are things that ARE stored (an idea title): only their
text is looked for, and each must be found, so a scan that could not find
anything fails. --self-test plants probes in each of those forms (made by
other code than the scan's own) and checks every one is flagged.

Prints TAP; exits 1 on any failure.
"""
import base64
import hashlib
import ipaddress
import json
import os
import struct
import subprocess
import sys
import tempfile
from urllib.parse import quote, quote_plus

KINDS = {"ua": "user agent", "ip": "IP address", "sub": "resident id",
         "email": "e-mail address", "control": "control"}


def b64_cores(data, urlsafe):
    """The base64 characters that depend only on `data`, whatever bytes
    surround it, for each of the three alignments."""
    enc = base64.urlsafe_b64encode if urlsafe else base64.b64encode
    out = []
    for shift in range(3):
        e = enc(b"\0" * shift + data).rstrip(b"=")
        start = -(-shift * 8 // 6)               # first char free of padding
        end = (shift + len(data)) * 8 // 6        # last char fully inside
        core = e[start:end]
        if len(core) >= 6:
            out.append((f"base64{'url' if urlsafe else ''}+{shift}", core))
    return out


def forms(kind, value):
    """(form name, bytes) pairs under which `value` might be stored."""
    t = value.encode("utf-8")
    if kind == "control":
        return [("text", t)]
    out = [("text", t)]
    for name, v in (("lower", value.lower()), ("upper", value.upper()),
                    ("percent", quote(value, safe="")),
                    ("form", quote_plus(value, safe="")),
                    ("json", json.dumps(value)[1:-1])):
        b = v.encode("utf-8")
        if b != t:
            out.append((name, b))
    out.append(("hex", t.hex().encode()))
    out.append(("HEX", t.hex().upper().encode()))
    out += b64_cores(t, False) + b64_cores(t, True)
    texts = {t}
    if kind == "email":
        texts.add(value.lower().encode())
    for x in texts:
        for hname, h in (("sha256", hashlib.sha256(x).digest()),
                         ("blake2b256", hashlib.blake2b(x, digest_size=32).digest()),
                         ("md5", hashlib.md5(x).digest()),
                         ("sha1", hashlib.sha1(x).digest())):
            out.append((f"{hname}-raw", h))
            out.append((f"{hname}-hex", h.hex().encode()))
            out.append((f"{hname}-HEX", h.hex().upper().encode()))
            out.append((f"{hname}-base64", base64.b64encode(h).rstrip(b"=")))
            out.append((f"{hname}-base64url",
                        base64.urlsafe_b64encode(h).rstrip(b"=")))
    if kind == "handle":
        try:
            raw = base64.urlsafe_b64decode(value + "==")
            out.append(("raw", raw))
            out.append(("secret half", raw[8:]))
            out.append(("secret half hex", raw[8:].hex().encode()))
        except ValueError:
            pass
    if kind == "ip":
        try:
            packed = ipaddress.ip_address(value).packed
            if len(packed) == 16:
                out.append(("packed", packed))
            out.append(("packed-hex", packed.hex().encode()))
            out.append(("packed-HEX", packed.hex().upper().encode()))
        except ValueError:
            pass
    # Identical forms (a lower-case value's "lower") once each.
    seen, uniq = set(), []
    for name, b in out:
        if b and b not in seen:
            seen.add(b)
            uniq.append((name, b))
    return uniq


def load_probes(path):
    probes = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            p = json.loads(line)
            probes.setdefault((p["kind"], p["value"]), None)
    return sorted(probes)


def search(scanner, probes, files):
    """{probe index: [(form, path, offset)]} for every probe found."""
    needles = []   # (probe index, form name)
    with tempfile.NamedTemporaryFile(delete=False, suffix=".needles") as nf:
        for i, (kind, value) in enumerate(probes):
            for name, b in forms(kind, value):
                nf.write(struct.pack("<II", len(needles), len(b)) + b)
                needles.append((i, name))
        needles_path = nf.name
    found = {}
    try:
        for k in range(0, len(files), 200):
            r = subprocess.run([scanner, needles_path, *files[k:k + 200]],
                               capture_output=True, check=True)
            for line in r.stdout.decode("utf-8", "replace").splitlines():
                nid, off, path = line.split("\t", 2)
                i, form = needles[int(nid)]
                found.setdefault(i, []).append((form, path, int(off)))
    finally:
        os.unlink(needles_path)
    return found, len(needles)


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = False

    def __call__(self, ok, msg):
        self.n += 1
        self.failed |= not ok
        print(f"{'ok' if ok else 'not ok'} {self.n} - {msg}", flush=True)


def self_test(scanner, tap):
    """Plants each probe the way a careless program would store it, each in
    a file of its own among unrelated bytes, with encoders independent of
    forms() above; every planted file must be flagged, a clean one not."""
    import binascii
    import random
    import sqlite3
    ua = "Mozilla/5.0 (planted; self-test) Gecko/20100101"
    ip4, ip6 = "198.51.100.203", "2001:db8::7:42"
    sub, email = "resident-planted-0042", "Planted.Person@example.org"
    handle = "Zm9vYmFyYmF6cXV4MTIzNA"
    probes = sorted({("ua", ua), ("ip", ip4), ("ip", ip6), ("sub", sub),
                     ("email", email), ("handle", handle)})
    rnd = random.Random(7)
    noise = lambda n: bytes(rnd.randrange(256) for _ in range(n))
    d = tempfile.mkdtemp(prefix="privacy-selftest-")
    jwt_payload = json.dumps({"sub": sub, "aud": "camden", "exp": 1}).encode()
    plants = {
        "ua text in a SQLite row": ("ua", None),
        "ua sha256 blob in a SQLite row": ("ua", None),
        "email md5 HEX in a log line": (
            "email", b"user=" + hashlib.md5(email.encode()).hexdigest().upper().encode()),
        "email lower-cased": ("email", email.lower().encode()),
        "email percent-encoded in a URL": (
            "email", b"GET /x?to=" + email.replace("@", "%40").encode()),
        "email base64 at offset 1": (
            "email", base64.b64encode(b"<" + email.encode() + b">")),
        "sub in a JWT payload (base64url)": (
            "sub", b"Bearer x." + base64.urlsafe_b64encode(jwt_payload).rstrip(b"=") + b".y"),
        "sub blake2b-256 hex": (
            "sub", binascii.hexlify(hashlib.blake2b(sub.encode(), digest_size=32).digest())),
        "sub sha1 base64url": (
            "sub", base64.urlsafe_b64encode(hashlib.sha1(sub.encode()).digest())),
        "sub hex": ("sub", binascii.hexlify(sub.encode())),
        "ip4 text": ("ip", f"client={ip4};".encode()),
        "ip4 packed hex": ("ip", ipaddress.ip_address(ip4).packed.hex().encode()),
        "ip4 sha256 base64": ("ip", base64.b64encode(hashlib.sha256(ip4.encode()).digest())),
        "ip6 packed": ("ip", ipaddress.ip_address(ip6).packed),
        "ua upper-cased": ("ua", ua.upper().encode()),
        "ua json-escaped": ("ua", json.dumps({"ua": ua}).encode()),
        "handle's secret half raw": (
            "handle", base64.urlsafe_b64decode(handle + "==")[8:]),
        "handle as text in a hidden field": (
            "handle", b'<input name="answer" value="' + handle.encode() + b'">'),
    }
    files = {}
    for i, (name, (kind, data)) in enumerate(plants.items()):
        path = os.path.join(d, f"plant-{i:02d}")
        if data is None:
            db = sqlite3.connect(path)
            db.execute("CREATE TABLE t (a BLOB)")
            v = ua if "text" in name else hashlib.sha256(ua.encode()).digest()
            db.execute("INSERT INTO t VALUES (?)", (v,))
            db.commit()
            db.close()
        else:
            with open(path, "wb") as f:
                f.write(noise(3000) + data + noise(3000))
        files[path] = (name, kind)
    clean = os.path.join(d, "clean")
    with open(clean, "wb") as f:
        f.write(noise(1 << 20))
    found, _ = search(scanner, probes, list(files) + [clean])
    flagged = {}
    for i, where in found.items():
        for form, path, off in where:
            flagged.setdefault(path, set()).add(probes[i][0])
    for path, (name, kind) in files.items():
        tap(kind in flagged.get(path, ()), f"self-test: finds a {name}")
    tap(clean not in flagged, "self-test: a megabyte of random bytes is clean")
    import shutil
    shutil.rmtree(d, ignore_errors=True)


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    tap = Tap()
    if "--self-test" in sys.argv:
        self_test(args[0], tap)
        print(f"1..{tap.n}")
        return 1 if tap.failed else 0
    scanner, probes_path, root = args
    probes = load_probes(probes_path)
    files = []
    total = 0
    for d, _, names in os.walk(root):
        for n in names:
            p = os.path.join(d, n)
            if os.path.abspath(p) == os.path.abspath(probes_path) or \
                    not os.path.isfile(p) or os.path.islink(p):
                continue
            files.append(p)
            total += os.path.getsize(p)
    found, nneedles = search(scanner, probes, files)
    by_kind = {}
    for i, (kind, _) in enumerate(probes):
        by_kind.setdefault(kind, []).append(i)
    print(f"# {len(probes)} probes, {nneedles} needles, {len(files)} files, "
          f"{total / 1e6:.1f} MB under {root}")
    tap(len(files) > 0, f"there are files to scan ({len(files)}, "
                        f"{total / 1e6:.1f} MB)")
    for kind in ("ua", "ip", "sub", "email"):
        idx = by_kind.get(kind, [])
        leaked = [i for i in idx if i in found]
        for i in leaked[:10]:
            for form, path, off in found[i][:3]:
                print(f"#   {KINDS[kind]} {probes[i][1]!r} found as {form} in "
                      f"{os.path.relpath(path, root)} at byte {off}")
        tap(not leaked and idx,
            f"no {KINDS[kind]} the tests used is in any file "
            f"({len(idx)} probes" + (f"; {len(leaked)} FOUND)" if leaked else ")"))
    controls = by_kind.get("control", [])
    missing = [probes[i][1] for i in controls if i not in found]
    for v in missing:
        print(f"#   control not found: {v!r}")
    tap(controls and not missing,
        f"control: every stored control string is found ({len(controls)}), "
        f"so the scan can fail")
    print(f"1..{tap.n}")
    return 1 if tap.failed else 0


if __name__ == "__main__":
    sys.exit(main())
