"""Figures of bench/run.sh.

  report.py pglog WORK PGBENCH_OUT [corrected|raw]
                                       JSON fields of one pgbench run (rate, p50, p99; the
                                       latencies corrected as wrk corrects its own, or raw)
  report.py cpu HZ BEFORE AFTER TIME…  the "cpu" JSON field of one run: where the CPU went
  report.py table RESULTS STATEMENTS BURST MEMORY SETTINGS
                                       the tables (Markdown) beside the issue-12 targets
  report.py check RESULTS              exit 1 unless every run did work without errors and
                                       recorded its CPU
"""
import glob
import json
import re
import statistics
import sys
from pathlib import Path


def pct(xs, p):
    xs = sorted(xs)
    return xs[max(0, min(len(xs) - 1, int(round(len(xs) * p / 100 + 0.5)) - 1))] if xs else 0.0


def corrected(lat_us, expected_us):
    """wrk's correction for coordinated omission (stats_correct in its stats.c), applied to a
    list of latencies: each latency of at least twice the expected interval between a client's
    requests also counts as the latencies of the requests the client would have sent meanwhile
    (itself minus 1, 2, … intervals, while above one interval). wrk applies it to every
    percentile it reports; pgbench's are corrected the same way, so that both sides' p50/p99
    say the same thing, and a stall weighs alike on either side."""
    out = list(lat_us)
    if expected_us > 0:
        for v in lat_us:
            if v >= 2 * expected_us:
                m = v - expected_us
                while m > expected_us:
                    out.append(m)
                    m -= expected_us
    return out


def pglog(work, out, correction="corrected"):
    lat = []
    for f in glob.glob(f"{work}/pgb_log*"):
        for line in Path(f).read_text().splitlines():
            parts = line.split()
            if len(parts) >= 3 and parts[2].isdigit():
                lat.append(int(parts[2]))
    text = Path(out).read_text()
    tps = float(re.search(r"tps = ([\d.]+) \(without initial", text).group(1))
    done = int(re.search(r"actually processed: (\d+)", text).group(1))
    clients = int(re.search(r"number of clients: (\d+)", text).group(1))
    seconds = float(re.search(r"duration: ([\d.]+) s", text).group(1))
    if correction == "corrected":  # wrk's interval: the run's time ÷ requests per connection
        lat = corrected(lat, int(1e6 * seconds) // max(done // clients, 1))
    lat = [v / 1000 for v in lat]
    failed = re.search(r"number of failed transactions: (\d+)", text)
    return (f'"requests": {done}, "tps": {tps:.1f}, "p50_ms": {pct(lat, 50):.3f}, '
            f'"p99_ms": {pct(lat, 99):.3f}, "bad_status": {int(failed.group(1)) if failed else 0}')


def cpu(hz, before, after, *times):
    """BEFORE and AFTER are run.sh snapshots (wall clock, then the ticks, HZ a second, of the
    machine's busy time, the API processes, paysim, the PostgreSQL cluster, the API
    processes' system time alone and the hypervisor's steal time); each TIME file
    is one load generator's `/usr/bin/time -f '%U %S'` (its last line: a failed command's
    status comes first). rest_s, the busy time left after the generator, the API and paysim,
    is PostgreSQL's and anything else the machine did; postgres_s is the cluster's own."""
    b, a = ([float(x) for x in snap.split()] for snap in (before, after))
    wall, *ticks = (y - x for x, y in zip(b, a))
    busy, api, paysim, postgres, api_sys, *steal = (t / int(hz) for t in ticks)
    gen = sum(float(x) for t in times for x in Path(t).read_text().splitlines()[-1].split())
    out = {"wall_s": wall, "busy_s": busy, "generator_s": gen, "api_s": api,
           "paysim_s": paysim, "rest_s": busy - gen - api - paysim, "postgres_s": postgres,
           "api_sys_s": api_sys, "steal_s": steal[0] if steal else 0.0}
    return f'"cpu": {json.dumps({k: round(v, 3) for k, v in out.items()})}'


def load(path):
    return [json.loads(l) for l in Path(path).read_text().splitlines() if l.strip()]


def api_figures(runs):
    """Several processes' runs of one workload and round combined: rates add up, the p50 is the
    mean of theirs and the p99 the worst of theirs."""
    seconds = max(r["seconds"] for r in runs)
    unit = "loops" if "loops" in runs[0] else "requests"
    out = {"rate": sum(r[unit] for r in runs) / seconds,
           "p50": statistics.mean(r["p50_ms"] for r in runs),
           "p99": max(r["p99_ms"] for r in runs), "load": runs[0]["load"],
           "bad": sum(r["bad_status"] + r.get("socket_errors", 0) for r in runs)}
    if unit == "loops":
        out["confirm"] = (statistics.mean(r["confirm_p50_ms"] for r in runs),
                          max(r["confirm_p99_ms"] for r in runs))
    return out


NAMES = {"catalog": "`GET /catalog/products/search?limit=20`",
         "search": "`GET /catalog/products/search?q=milk`",
         "cart": "`GET /cart` (2 items)",
         "purchase": "purchase loop, 3 items (loops/s)"}


def table(results, statements, burst, memory, settings):
    rows = load(results)
    names = NAMES
    print(f"\nSettings: {settings}\n")
    print("| workload | round | API req/s | pgbench tps | API ÷ pgbench | API p50 / p99 ms "
          "| pgbench p50 / p99 ms | p99 ÷ pgbench's | load (API run; pgbench run) |")
    print("|---|---|---|---|---|---|---|---|---|")
    catalog_p99, confirms = [], []
    for w, name in names.items():
        for r in sorted({x["round"] for x in rows if x["workload"] == w}):
            api = [x for x in rows if (x["workload"], x["side"], x["round"]) == (w, "api", r)]
            pg = [x for x in rows if (x["workload"], x["side"], x["round"]) == (w, "pgbench", r)]
            if not api or not pg:
                continue
            a, p = api_figures(api), pg[0]
            if w == "catalog":
                catalog_p99.append(a["p99"])
            if "confirm" in a:
                confirms.append(a["confirm"])
            bad = f" ({a['bad']} errors)" if a["bad"] else ""
            print(f"| {name} | {r} | {a['rate']:,.0f}{bad} | {p['tps']:,.0f} "
                  f"| {100 * a['rate'] / p['tps']:.0f}% | {a['p50']:.1f} / {a['p99']:.1f} "
                  f"| {p['p50_ms']:.1f} / {p['p99_ms']:.1f} | {a['p99'] / p['p99_ms']:.1f}× "
                  f"| {a['load']}; {p['load']} |")
    for c50, c99 in confirms:
        print(f"\nConfirm alone (API): p50 {c50:.1f} ms, p99 {c99:.1f} ms.", end="")
    print("\n")
    bursts = [api_figures([x]) for x in rows if x["workload"] == "burst"]
    if bursts and catalog_p99:
        b = Path(burst)
        info = json.loads(b.read_text()) if b.exists() else {}
        worst = max(x["p99"] for x in bursts)
        base = statistics.median(catalog_p99)
        print(f"Catalog p99 without logins {base:.1f} ms (median of the rounds), during 200 "
              f"concurrent logins {worst:.1f} ms: {worst / base:.1f}× (target ≤ 2×). Logins: "
              f"{info.get('codes', '?')} in {info.get('seconds', '?')} s; catalog "
              f"{bursts[-1]['rate']:,.0f} req/s during that run.")
    for i, m in enumerate(memory.split("\n")):
        kb = dict(re.findall(r"(Vm\w+): (\d+)", m))
        if kb:
            print(f"API process {i + 1}: peak VmHWM {int(kb['VmHWM']) / 1024:.1f} MiB, "
                  f"VmRSS at the end {int(kb['VmRSS']) / 1024:.1f} MiB (target ≤ 64 MiB).")
    text = Path(statements).read_text()
    loop = re.search(r"3-item purchase loop\*\* \| \*\*(\d+)", text)
    print(f"Statements per 3-item purchase loop: {loop.group(1) if loop else '?'} "
          "(target ≤ 60; bench/pgbench/statements.md).")
    floor_table(rows)
    cpu_table(rows)


def floor_table(rows):
    """The floor's runs (bench/run.sh --floor) beside pgbench's and the API's of the same round."""
    if not any(x["side"] == "floor" for x in rows):
        return
    print("\nThe floor (bench/floor: the same statements behind actix-web, nothing else):\n")
    print("| workload | round | floor req/s | pgbench tps | floor ÷ pgbench | API ÷ floor "
          "| floor p50 / p99 ms | floor p99 ÷ pgbench's |")
    print("|---|---|---|---|---|---|---|---|")
    for w in ("catalog", "search", "cart"):
        for r in sorted({x["round"] for x in rows if x["workload"] == w}):
            side = {k: [x for x in rows if (x["workload"], x["side"], x["round"]) == (w, k, r)]
                    for k in ("api", "floor", "pgbench")}
            if not side["floor"] or not side["pgbench"]:
                continue
            f, p = api_figures(side["floor"]), side["pgbench"][0]
            api = "—"
            if side["api"]:
                api = f"{100 * api_figures(side['api'])['rate'] / f['rate']:.0f}%"
            bad = f" ({f['bad']} errors)" if f["bad"] else ""
            print(f"| {NAMES[w]} | {r} | {f['rate']:,.0f}{bad} | {p['tps']:,.0f} "
                  f"| {100 * f['rate'] / p['tps']:.0f}% | {api} | {f['p50']:.1f} / {f['p99']:.1f} "
                  f"| {f['p99'] / p['p99_ms']:.1f}× |")


def run_cpu(rows, w, side, r):
    """One run's rate, the requests (loops, transactions) it did and its "cpu" field."""
    runs = [x for x in rows if (x["workload"], x["side"], x["round"]) == (w, side, r)]
    if not runs or "cpu" not in runs[0]:
        return None
    if side == "pgbench":
        return runs[0]["tps"], runs[0]["requests"], runs[0]["cpu"]
    unit = "loops" if "loops" in runs[0] else "requests"
    return api_figures(runs)["rate"], sum(x[unit] for x in runs), runs[0]["cpu"]


def cpu_table(rows):
    if not any("cpu" in x for x in rows):
        return
    names = {**NAMES, "burst": "catalog list during 200 logins (login CPU included)"}
    parts = ("generator_s", "api_s", "api_sys_s", "paysim_s", "rest_s", "postgres_s", "busy_s")
    print("\nWhere the CPU went (µs of CPU per request; per loop or transaction for the purchase "
          "loop and pgbench; PostgreSQL + rest = machine busy − generator − API − paysim; "
          "the API's time in the kernel and the PostgreSQL processes' share of the rest measured "
          "alone, in brackets; steal: the hypervisor's, in ms over the whole run):\n")
    print("| workload | round | side | per s | generator | API | (API in the kernel) | paysim "
          "| PostgreSQL + rest | (PostgreSQL processes) | total | cores busy | steal ms |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    pooled = {}
    for w, name in names.items():
        for r in sorted({x["round"] for x in rows if x["workload"] == w}):
            for side in ("api", "floor", "pgbench"):
                run = run_cpu(rows, w, side, r)
                if not run:
                    continue
                rate, n, c = run
                us = [f"{1e6 * c.get(k, 0) / max(n, 1):,.0f}" for k in parts]
                us[2], us[5] = f"({us[2]})", f"({us[5]})"
                label = {"api": "API (wrk)", "floor": "floor (wrk)"}.get(side, side)
                print(f"| {name} | {r} | {label} "
                      f"| {rate:,.0f} | {' | '.join(us)} | {c['busy_s'] / c['wall_s']:.2f} "
                      f"| {1000 * c.get('steal_s', 0):,.0f} |")
                acc = pooled.setdefault((w, side), dict.fromkeys((*parts, "n", "rate"), 0.0))
                for k in parts:
                    acc[k] += c.get(k, 0)
                acc["n"] += n
                acc["rate"] += rate
    print()
    for w in ("catalog", "search", "cart"):
        pg = pooled.get((w, "pgbench"))
        for side in ("api", "floor"):
            served = pooled.get((w, side))
            if served and pg:
                bound(w if side == "api" else f"{w}, floor", served, pg)


def bound(w, api, pg):
    """What API ÷ pgbench could be if both sides kept the machine equally busy: pgbench's CPU per
    transaction over the API side's CPU per request, without the API's own and with it. For the
    floor's runs, "the API" is the floor."""
    pg_us = 1e6 * pg["busy_s"] / pg["n"]
    total_us = 1e6 * api["busy_s"] / api["n"]
    without = total_us - 1e6 * api["api_s"] / api["n"]
    kernel = without + 1e6 * api["api_sys_s"] / api["n"]
    print(f"{w} (rounds pooled): bound for API ÷ pgbench with a zero-cost API = pgbench's "
          f"{pg_us:,.0f} µs per transaction ÷ the API side's {without:,.0f} µs per request "
          f"without the API's own = {100 * pg_us / without:.0f}%; with an API that costs only "
          f"its time in the kernel ({kernel:,.0f} µs) {100 * pg_us / kernel:.0f}%; with the "
          f"API's measured cost ({total_us:,.0f} µs) {100 * pg_us / total_us:.0f}%; measured "
          f"{100 * api['rate'] / pg['rate']:.0f}%.")


def check(results):
    rows = load(results)
    bad = [r for r in rows if r["requests"] == 0 or r["bad_status"] or r.get("socket_errors")
           or r.get("cpu", {}).get("busy_s", 0) <= 0]
    if not rows or bad:
        print(f"bench: smoke check FAILED: {bad or 'no results'}", file=sys.stderr)
        sys.exit(1)
    print("bench: smoke check passed", file=sys.stderr)


if __name__ == "__main__":
    cmd, *args = sys.argv[1:]
    {"pglog": lambda: print(pglog(*args)), "cpu": lambda: print(cpu(*args)),
     "table": lambda: table(*args),
     "check": lambda: check(*args)}[cmd]()
