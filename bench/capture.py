"""Turns a PostgreSQL log captured by bench/capture.sh (log_statement = all) into pgbench scripts
that replay the statements the API sent for each workload, and a per-request statement count.

Usage: capture.py LOG IDS TABLES CONFIRM_ANSWER OUT_DIR

Between marker statements (`SELECT 'bench-mark:<segment>'`) every logged statement belongs to
that segment; `purchase:*` segments together make the purchase loop. Each statement is
replayed with its own parameters, as pgbench variables (`-M prepared` sends them as bind
parameters of a prepared statement, as the API does); the values that differ per customer or
per loop become variables that the script sets itself:

  :uid :cid :tid    the customer, cart and saved card of pgbench client :client_id
                    (from -D ubase/cbase/tbase, the first bench customer's ids)
  :<table>_id       a row the loop created (\\gset from its INSERT ... RETURNING; capture.sh
                    starts each table's ids at its own multiple of 10^9 to tell them apart)
  :u<n>             a fresh random number for a value that must be unique per loop
                    (idempotency key, order number, provider ids)

Arrays and JSON keep their captured values (an order read names the captured order's id in
`= ANY('{…}')`: the same plan and rows as the new order's).
"""
import json
import re
import sys
from pathlib import Path

PREFIX = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? \S+ \[(\d+)\] (\w+):  (.*)$")
PARAM = re.compile(r"\$(\d+) = (NULL|'(?:[^']|'')*')", re.S)
MARK = re.compile(r"SELECT 'bench-mark:([^']*)'")


def entries(text):
    """(pid, level, message) of every log entry, continuation lines included."""
    out = []
    for line in text.split("\n"):
        m = PREFIX.match(line)
        if m:
            out.append([m.group(1), m.group(2), m.group(3)])
        elif out:
            out[-1][2] += "\n" + line
    return out


def statements(log):
    """[(segment, sql, params)] in order; params maps $n to a value or None (NULL)."""
    out, segment = [], None
    for pid, level, msg in entries(log):
        if level == "LOG":
            m = re.match(r"(?:statement|execute [^:]*): (.*)$", msg, re.S)
            if not m:
                continue
            sql = m.group(1).strip()
            mk = MARK.fullmatch(sql)
            if mk:
                segment = None if mk.group(1) == "end" else mk.group(1)
                continue
            if segment:
                out.append([segment, sql, {}])
        elif level == "DETAIL" and msg.startswith("parameters:") and out and segment:
            out[-1][2] = {int(n): None if v == "NULL" else v[1:-1].replace("''", "'")
                          for n, v in PARAM.findall(msg)}
    return out


def main():
    log, ids, tables, confirm, out_dir = sys.argv[1:6]
    uid, cid, tid = Path(ids).read_text().split()
    table_of = {int(k): t for k, t, _ in
                (line.split() for line in Path(tables).read_text().splitlines())}
    body = json.loads(Path(confirm).read_text())["data"]
    order = str(body["order_id"])
    per_customer = {uid: "uid", cid: "cid", tid: "tid"}
    unique = {str(v) for k, v in body.items() if k in ("order_number", "payment_reference") and v}
    stmts = statements(Path(log).read_text(errors="replace"))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name in ("catalog", "search", "cart", "purchase"):
        write_script(out, name, [s for s in stmts if s[0].split(":")[0] == name],
                     per_customer, order, unique, table_of)
    write_counts(out / "statements.md", stmts)


# The API sends the statements of confirm's first transaction that follow the order's row
# together, without waiting for each answer (crates/postgres/src/checkout/place.rs); the
# replay pipelines the same statements (pgbench \startpipeline … \endpipeline, up to COMMIT).
PIPELINED_AFTER = ("confirm", " \\gset orders_")


def write_script(out, name, stmts, per_customer, order, unique, table_of):
    lines = [f"-- {name}: {len(stmts)} statements captured by bench/capture.sh; do not edit.",
             "\\set uid :ubase + :client_id", "\\set cid :cbase + :client_id",
             "\\set tid :tbase + :client_id"]
    fresh, variables, returned, pipelined = 0, [], set(), False
    for i, (segment, sql, params) in enumerate(stmts):
        for n in sorted(params, reverse=True):
            value = params[n]
            if value is None:
                expr = "NULL"
            elif value == "":
                expr = "''"  # pgbench -D refuses an empty value
            elif value in per_customer:
                expr = ":" + per_customer[value]
            elif value.isdigit() and table_of.get(int(value) // 10**9) in returned:
                expr = f":{table_of[int(value) // 10**9]}_id"
            elif value[:1] not in "{[" and (
                    value in unique or (order in value and value != order) or (
                        len(value) > 16 and re.search(r"[0-9a-f]{16}|capture-", value))):
                fresh += 1
                lines.append(f"\\set u{fresh} random(1, 1000000000000000)")
                expr = f":u{fresh}"
            else:
                var = f"s{i}p{n}"
                variables.append(f"{var}={value}")
                expr = ":" + var
            sql = re.sub(rf"\${n}(?!\d)", expr, sql)
        sql = sql.replace("\n", " ")
        gset = ""
        m = re.match(r'INSERT INTO "?(\w+)"? .* RETURNING ', sql)
        if m and "), (" not in sql:
            gset = f" \\gset {m.group(1)}_"
            returned.add(m.group(1))
        if pipelined and sql.strip().upper().startswith("COMMIT"):
            lines.append("\\endpipeline")
            pipelined = False
        lines.append(f"-- {segment}\n{sql.rstrip(';')}{gset}" + ("" if gset else ";"))
        if segment.endswith(PIPELINED_AFTER[0]) and gset == PIPELINED_AFTER[1]:
            lines.append("\\startpipeline")
            pipelined = True
    (out / f"{name}.pgbench").write_text("\n".join(lines) + "\n")
    (out / f"{name}.vars").write_text("".join(v.replace("\n", " ") + "\n" for v in variables))


def write_counts(path, stmts):
    counts = {}
    for segment, _, _ in stmts:
        counts[segment] = counts.get(segment, 0) + 1
    loop = sum(v for k, v in counts.items() if k.startswith("purchase:"))
    rows = "".join(f"| {k} | {v} |\n" for k, v in counts.items())
    path.write_text("# Statements per request (written by bench/capture.sh)\n\n"
                    "| request | statements |\n|---|---|\n" + rows +
                    f"| **3-item purchase loop** | **{loop}** |\n")


if __name__ == "__main__":
    main()
