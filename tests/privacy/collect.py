#!/usr/bin/env python3
"""Before the privacy scan: makes sure every kind of file the product writes
is among what is scanned, and that the scan has something it must find.

1. A control server (in $TH_ARTIFACTS, like every harness server): a
   resident proposes an idea whose title is recorded as a "control" probe
   (it IS stored, so the scan must find it), a device rates a page through
   a trusted proxy with an e-mail address in its comment, a resident votes;
   then `townhall backup` and `townhall purge` run on it.
2. For every townhall database the tests left in $TH_ARTIFACTS: a backup
   (`townhall backup`), and every export it can give - the staff CSV and
   JSON exports, the open data, the audit log, a few residents' own
   exports - saved beside it under privacy-exports/.

Prints TAP."""
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "api"))

from harness import BIN, ORIGIN, SITE, Server, jwt, probe  # noqa: E402

ART = os.environ["TH_ARTIFACTS"]
CONTROL = "Control idea 7Q4XK9 the privacy scan must find"


def tap(n, ok, msg):
    print(f"{'ok' if ok else 'not ok'} {n} - {msg}", flush=True)
    return ok


def control_server():
    s = Server("--trusted-proxy", "127.0.0.1")
    try:
        probe("control", CONTROL)
        h = {"X-Forwarded-For": "192.0.2.201", "User-Agent": "ControlAgent/1.0 (scan)"}
        r1 = s.request("POST", f"/v1/sites/{SITE}/ideas", json_body={"title": CONTROL},
                       headers=dict(h, Authorization="Bearer " + jwt("control-resident-0001")))
        idea = r1.json().get("id") if r1.status == 201 else 1
        r2 = s.request("PUT", f"/v1/sites/{SITE}/ideas/{idea}/vote", json_body={"value": 1},
                       headers=dict(h, Authorization="Bearer " + jwt("control-voter-0002")))
        r3 = s.request("POST", f"/v1/sites/{SITE}/feedback", headers=h,
                       json_body={"page": ORIGIN + "/control?email=control.person@example.com",
                                  "useful": False, "rating": 2,
                                  "comment": "Ring 020 7946 0999 or control.person@example.com"})
        ok = (r1.status, r2.status, r3.status) == (201, 201, 201)
        s.stop()
        b = subprocess.run([BIN, "backup", os.path.join(s.dir, "control-backup.db"),
                            "--db", s.db], capture_output=True, text=True)
        p = subprocess.run([BIN, "purge", "--db", s.db], capture_output=True, text=True)
        return ok and b.returncode == 0 and p.returncode == 0, \
            f"{r1.status} {r2.status} {r3.status} {b.stderr} {p.stderr}"
    finally:
        s.cleanup()


def subs():
    out = []
    path = os.path.join(ART, "probes.txt")
    if os.path.exists(path):
        import json
        with open(path) as f:
            for line in f:
                p = json.loads(line)
                if p["kind"] == "sub" and p["value"] not in out:
                    out.append(p["value"])
    return out[:3]


def exports(db, dest, residents):
    """Backs up `db` and saves every export it gives into `dest`."""
    os.makedirs(dest, exist_ok=True)
    r = subprocess.run([BIN, "backup", os.path.join(dest, "backup.db"), "--db", db],
                       capture_output=True, text=True)
    if r.returncode != 0:
        return f"backup: {r.stderr.strip()}"
    sites = subprocess.run([BIN, "site", "list", "--db", db], capture_output=True,
                           text=True).stdout.split("\n")
    slugs = [line.split("\t")[0] for line in sites if line.strip()]
    tok = subprocess.run([BIN, "token", "create", "--role", "admin", "--label",
                          "privacy scan", "--db", db], capture_output=True, text=True)
    m = re.search(r"(th_\d+_\S+)", tok.stdout)
    if not m:
        return f"token: {tok.stderr.strip()}"
    token = m.group(1)
    server = Server(site=False, directory=os.path.dirname(db), log_level="info")
    try:
        saved = 0
        for slug in slugs:
            paths = [f"/v1/sites/{slug}/feedback/pages?format=csv",
                     f"/v1/sites/{slug}/feedback/pages",
                     f"/v1/sites/{slug}/ideas?format=csv&status=pending,published,"
                     "under_review,accepted,in_progress,done,declined,hidden,withdrawn,merged",
                     f"/v1/sites/{slug}/ideas?sort=new&limit=100",
                     f"/v1/sites/{slug}/open/feedback.csv?from=2000-01-03",
                     f"/v1/sites/{slug}/open/ideas.csv",
                     f"/v1/sites/{slug}/audit?limit=1000",
                     f"/v1/sites/{slug}/consultations",
                     f"/v1/sites/{slug}"]
            for i, path in enumerate(paths):
                r = server.get(path, token=token)
                if r.status == 200:
                    with open(os.path.join(dest, f"{slug}-{i}.out"), "wb") as f:
                        f.write(r.body)
                    saved += 1
            for k, sub in enumerate(residents):
                r = server.get(f"/v1/sites/{slug}/residents/me", token=jwt(sub, aud=slug))
                if r.status == 200:
                    with open(os.path.join(dest, f"{slug}-resident-{k}.json"), "wb") as f:
                        f.write(r.body)
                    saved += 1
        return saved
    finally:
        server.stop()


def main():
    n = 1
    ok, detail = control_server()
    good = tap(n, ok, "a control server stored a control idea, a vote and a "
                      "comment, then was backed up and purged" + ("" if ok else f": {detail}"))
    dbs = []
    for d, _, names in os.walk(ART):
        if "privacy-exports" in d:
            continue
        dbs += [os.path.join(d, x) for x in names if x == "townhall.db"]
    dbs.sort()
    out = os.path.join(ART, "privacy-exports")
    residents = subs()
    done = 0
    for k, db in enumerate(dbs):
        try:
            r = exports(db, os.path.join(out, f"{k:03d}"), residents)
        except Exception as e:  # a database a test left broken on purpose
            r = f"{type(e).__name__}: {e}"
        if isinstance(r, int):
            done += 1
        else:
            print(f"# {os.path.relpath(db, ART)}: no exports ({r})")
    n += 1
    good &= tap(n, dbs and done >= len(dbs) // 2,
                f"backups and exports of {done} of the {len(dbs)} databases the "
                f"tests left, saved for the scan")
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
