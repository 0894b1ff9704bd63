#!/usr/bin/env python3
"""A council officer's weekly report from a townhall database.

Lists the worst-rated pages that had feedback this week, and the top ideas
in each ward, as text on standard output and, with --csv DIR, as two CSV
files (worst-pages.csv, top-ideas.csv) for a spreadsheet.

    PYTHONPATH=bindings/python python3 examples/python/weekly_report.py \\
        --db /var/lib/townhall/townhall.db --site camden --csv reports/

The database is opened read-only: a report never changes anything, and can
run beside the server.
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import sys
from collections import defaultdict
from typing import Dict, List

import townhall

DAY_MS = 86_400_000


def day(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc).strftime(
        "%Y-%m-%d")


SEPARATORS = ",;\t|\r\n"


def safe_cell(value):
    """Spreadsheets run cells starting with = + - @ as formulas: a resident's
    comment must never become one. And a spreadsheet may split a cell where
    its locale or its user says (at ; a tab or | as well as the comma), so
    each piece it could split off gets the apostrophe too: `x;=1+2` becomes
    `x;'=1+2` (as townhall's own CSV exports write it, core/csv.c).
    The writers below quote every text cell, so a reader that honours
    quotes keeps it whole."""
    if not isinstance(value, str):
        return value
    out = ["'"] if value[:1] in ("\t", "\r") else []
    piece_start = True
    for ch in value:
        if piece_start and ch in "=+-@":
            out.append("'")
        out.append(ch)
        if ch in SEPARATORS:
            piece_start = True
        elif ch != " ":
            piece_start = False
    return "".join(out)


def worst_pages(th: townhall.Townhall, site: str, since: int,
                count: int) -> List[townhall.PageSummary]:
    """The `count` worst pages (lowest share of "yes", then most "no") among
    those with feedback on or after `since`."""
    found: List[townhall.PageSummary] = []
    cursor = None
    while len(found) < count:
        page = th.feedback_pages(site, limit=100, cursor=cursor)
        found += [p for p in page if p.last >= since and p.yes + p.no > 0]
        cursor = page.next_cursor
        if cursor is None:
            break
    return found[:count]


def top_ideas_by_ward(th: townhall.Townhall, site: str,
                      per_ward: int) -> Dict[str, List[townhall.Idea]]:
    """The best `per_ward` visible ideas of each ward (Wilson lower bound
    of up/(up+down): a few unanimous votes do not beat many good ones)."""
    wards: Dict[str, List[townhall.Idea]] = defaultdict(list)
    for idea in th.iter_ideas(site, sort="top", limit=100):
        if len(wards[idea.ward]) < per_ward:
            wards[idea.ward].append(idea)
    return dict(wards)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", required=True, help="the townhall database")
    ap.add_argument("--key-file", help="default: <db>.key")
    ap.add_argument("--site", required=True, help="the site's slug")
    ap.add_argument("--days", type=int, default=7, help="period (7)")
    ap.add_argument("--pages", type=int, default=5,
                    help="worst pages to list (5)")
    ap.add_argument("--ideas", type=int, default=3,
                    help="top ideas per ward (3)")
    ap.add_argument("--csv", metavar="DIR",
                    help="also write worst-pages.csv and top-ideas.csv here")
    args = ap.parse_args(argv)

    try:
        th = townhall.Townhall(args.db, key_file=args.key_file, readonly=True,
                               create=False)
    except townhall.TownhallError as e:
        print(f"weekly_report: {args.db}: {e.message}", file=sys.stderr)
        return 1
    with th:
        try:
            site = th.get_site(args.site)
        except townhall.NotFound as e:
            print(f"weekly_report: {e.message}", file=sys.stderr)
            return 1
        now = th.now()
        # Feedback is counted per day: the period starts at a midnight.
        since = (now // DAY_MS - (args.days - 1)) * DAY_MS
        pages = worst_pages(th, site.slug, since, args.pages)
        comments = {p.page: th.feedback_comments(site.slug, p.page, limit=1)
                    for p in pages if p.comments}
        wards = top_ideas_by_ward(th, site.slug, args.ideas)
        new_ideas = sum(1 for _ in th.iter_ideas(site.slug, sort="new",
                                                 created_from=since,
                                                 limit=100))

    out = sys.stdout
    out.write(f"Weekly report: {site.name} ({site.slug}), "
              f"{day(since)} to {day(now)}\n\n")
    out.write(f"Worst-rated pages with feedback in the last {args.days} "
              "days\n")
    if not pages:
        out.write("  (no feedback this week)\n")
    for n, p in enumerate(pages, 1):
        answers = p.yes + p.no
        rating = (f"mean rating {p.rating_mean:.1f} of {p.rating_count}"
                  if p.rating_count else "no ratings")
        out.write(f"  {n}. {p.page}\n"
                  f"     {p.yes} yes, {p.no} no "
                  f"({100 * p.yes // answers}% found it useful), {rating}, "
                  f"{p.comments} comment{'' if p.comments == 1 else 's'}\n")
        if comments.get(p.page):
            out.write(f"     latest comment: \"{comments[p.page][0].text}\"\n")
    out.write(f"\nTop ideas per ward\n")
    if not wards:
        out.write("  (no ideas yet)\n")
    for ward in sorted(wards, key=lambda w: (w == "", w)):
        out.write(f"  {ward or 'Borough-wide'}\n")
        for n, i in enumerate(wards[ward], 1):
            out.write(f"    {n}. {i.title} (+{i.up + i.anon_up} "
                      f"-{i.down + i.anon_down}, {i.status.label})\n")
    out.write(f"\nNew ideas in the last {args.days} days: {new_ideas}\n")

    if args.csv:
        os.makedirs(args.csv, exist_ok=True)
        with open(os.path.join(args.csv, "worst-pages.csv"), "w",
                  newline="", encoding="utf-8") as f:
            w = csv.writer(f, quoting=csv.QUOTE_NONNUMERIC)
            w.writerow(["rank", "page", "yes", "no", "useful_lower_bound",
                        "ratings", "rating_mean", "comments", "last_day",
                        "latest_comment"])
            for n, p in enumerate(pages, 1):
                latest = comments.get(p.page)
                w.writerow([n, safe_cell(p.page), p.yes, p.no,
                            f"{p.useful_lower:.4f}", p.rating_count,
                            f"{p.rating_mean:.2f}", p.comments, day(p.last),
                            safe_cell(latest[0].text) if latest else ""])
        with open(os.path.join(args.csv, "top-ideas.csv"), "w", newline="",
                  encoding="utf-8") as f:
            w = csv.writer(f, quoting=csv.QUOTE_NONNUMERIC)
            w.writerow(["ward", "rank", "id", "title", "up", "down", "status",
                        "created"])
            for ward in sorted(wards, key=lambda w: (w == "", w)):
                for n, i in enumerate(wards[ward], 1):
                    w.writerow([safe_cell(ward or "Borough-wide"), n, i.id,
                                safe_cell(i.title), i.up + i.anon_up,
                                i.down + i.anon_down, i.status.label,
                                day(i.created)])
    return 0


if __name__ == "__main__":
    sys.exit(main())
