#!/usr/bin/env python3
"""Prints bench/instructions.sh's table: instructions per request of the API and the floor, by
layer, from `callgrind_annotate --inclusive=yes` listings (argument: the run's index file, lines
"side workload requests listing")."""

import re
import sys
from collections import defaultdict

LINE = re.compile(r"^\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(.*)$")

# Each layer: patterns matched against a function's name (a listing line of one object file,
# "file:function [object]"), one for the API and one for the floor. A layer's figure is the sum
# over the distinct functions that match, each counted inclusively; the patterns are chosen so
# that no matched function calls another. The database calls include the task that drives each
# connection's socket (spawned, so outside the calls themselves).
def fns(*names):
    return re.compile(r":(" + "|".join(names) + r") \[")


LAYERS = [
    ("database calls: diesel-async adapters (API), tokio-postgres (floor)",
     fns(r"<mami_postgres::[\w:]+ as mami_domain::[\w:]+>::\w+::\{\{closure\}\}",
         r"diesel_async::pg::drive_connection::\{\{closure\}\}"),
     fns(r"mami_bench_floor::run::\{\{closure\}\}",
         r"mami_bench_floor::connect::\{\{closure\}\}::\{\{closure\}\}")),
    ("JSON body (serde_json; the floor sends fixed bytes)",
     fns(r"mami_api::http::envelope::respond"), None),
    ("bearer token check (jsonwebtoken)",
     fns(r"mami_api::auth::jwt::TokenIssuer::verify"),
     fns(r"jsonwebtoken::decoding::verify_signature",
         r"jsonwebtoken::serialization::DecodedJwtPartClaims::deserialize")),
]


def read(path, side):
    """Total and {layer: instructions} of one listing of `side` ("api" or "floor")."""
    total, found = 0, defaultdict(dict)
    for raw in open(path, encoding="utf-8", errors="replace"):
        m = LINE.match(raw)
        if not m:
            continue
        count, what = int(m.group(1).replace(",", "")), m.group(2)
        if "PROGRAM TOTALS" in what:
            total = count
            continue
        for name, api, floor in LAYERS:
            pattern = api if side == "api" else floor
            f = pattern.search(what) if pattern else None
            if f:
                found[name][f.group(1)] = max(found[name].get(f.group(1), 0), count)
    return total, {name: sum(found[name].values()) for name, _, _ in LAYERS}


def main():
    runs = defaultdict(dict)
    for line in open(sys.argv[1], encoding="utf-8"):
        side, workload, requests, listing = line.split()
        total, layers = read(listing, side)
        n = max(int(requests), 1)
        runs[workload][side] = (n, total / n, {k: v / n for k, v in layers.items()})
    print("Instructions per request (thousands), user space, one worker each, under callgrind:\n")
    for workload, sides in runs.items():
        api, floor = sides.get("api"), sides.get("floor")
        if not api or not floor:
            continue
        print(f"### {workload} ({api[0]} API requests, {floor[0]} floor requests)\n")
        print("| layer | API | floor | API − floor |")
        print("|---|---:|---:|---:|")
        rest_api, rest_floor = api[1], floor[1]
        for name, _, _ in LAYERS:
            a, f = api[2][name], floor[2][name]
            rest_api -= a
            rest_floor -= f
            print(f"| {name} | {a / 1e3:.1f} | {f / 1e3:.1f} | {(a - f) / 1e3:+.1f} |")
        print(f"| the rest: HTTP, middleware, routing, extractors, domain | {rest_api / 1e3:.1f} "
              f"| {rest_floor / 1e3:.1f} | {(rest_api - rest_floor) / 1e3:+.1f} |")
        print(f"| **total** | **{api[1] / 1e3:.1f}** | **{floor[1] / 1e3:.1f}** "
              f"| **{(api[1] - floor[1]) / 1e3:+.1f}** |\n")


if __name__ == "__main__":
    main()
