#!/usr/bin/env python3
"""Runs scenario.json through townhall's Python binding and prints what
happened as JSON (the same shape as scenario.c and scenario.js print).

    PYTHONPATH=bindings/python python3 scenario.py scenario.json /tmp/s.db
"""
import json
import sys

import townhall
from townhall import Who


def rc_of(fn, changed=lambda r: True):
    """The C name of what fn() returned: TH_RECORDED, TH_DUPLICATE or the
    error's code."""
    try:
        result = fn()
    except townhall.TownhallError as e:
        return e.name, None
    return ("TH_RECORDED" if changed(result) else "TH_DUPLICATE"), result


def main(scenario_path: str, db_path: str) -> None:
    with open(scenario_path, encoding="utf-8") as f:
        sc = json.load(f)
    out = {}
    with townhall.Townhall(db_path) as th:
        s = sc["site"]
        site = s["slug"]
        out["site"] = rc_of(lambda: th.create_site(site, s["name"],
                                                   origins=s["origins"]))[0]
        out["site_again"] = rc_of(lambda: th.create_site(
            site, s["name"], origins=s["origins"]))[0]

        i = sc["idea"]
        rc, sub = rc_of(lambda: th.submit_idea(
            site, i["author"], i["title"], body=i["body"],
            category=i["category"], ward=i["ward"]),
            changed=lambda r: not r.duplicate)
        out["idea"] = {"rc": rc, "id": sub.id,
                       "body": th.get_idea(site, sub.id).body}

        votes = []
        for v in sc["votes"]:
            rc, c = rc_of(lambda: th.vote(site, v["resident"],
                                          v.get("idea", sub.id), v["value"]),
                          changed=lambda r: r.changed)
            votes.append({"rc": rc} if c is None else
                         {"rc": rc, "up": c.up, "down": c.down,
                          "my_vote": c.my_vote})
        out["votes"] = votes
        idea = th.get_idea(site, sub.id)
        out["after_votes"] = {"up": idea.up, "down": idea.down}

        out["feedback"] = [
            rc_of(lambda: th.answer_feedback(
                site, Who.device(f["ip"], f["user_agent"]), f["page"],
                useful=f["useful"], rating=f.get("rating"),
                comment=f.get("comment"), key=f["key"]),
                changed=lambda a: a.recorded)[0]
            for f in sc["feedback"]]

        page = sc["summary_page"]
        p = th.feedback_summary(site, page)
        out["summary"] = {
            "page": p.page, "yes": p.yes, "no": p.no,
            "ratings": list(p.ratings), "rating_count": p.rating_count,
            "rating_mean": p.rating_mean, "comments": p.comments,
            "comment_texts": [c.text
                              for c in th.feedback_comments(site, page)]}

        gone = sc["erase"]
        c0 = th.export_resident(site, gone)["consultations"][0]
        out["export_before"] = {"votes": len(c0["votes"]),
                                "ideas": len(c0["ideas"])}
        out["erased"] = th.erase_resident(site, gone)
        idea = th.get_idea(site, sub.id)
        out["after_erase"] = {"up": idea.up, "down": idea.down}
        out["export_after"] = {"consultations": len(
            th.export_resident(site, gone)["consultations"])}
        out["top"] = [x.id for x in th.list_ideas(site, sort="top")]
    json.dump(out, sys.stdout, indent=2, sort_keys=True)
    print()


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(f"usage: {sys.argv[0]} SCENARIO.json DATABASE")
    main(sys.argv[1], sys.argv[2])
