#!/usr/bin/env python3
"""Median table of a bench/run.sh run, with dialbook's ratio to each peer.

    python3 bench/report.py out/RUN/results.jsonl out/RUN/env.json [--write bench/RESULTS.md]

Ratio = dialbook's median / the peer's median, for every metric; the arrow says which
direction is better (so a throughput ratio of 60 and a time ratio of 0.2 are both wins).
"""
import json
import statistics
import sys
from collections import defaultdict

PEERS = ["radicale", "xandikos"]
SERVERS = ["dialbook"] + PEERS

# (label, scenario, field, better: "up" | "down" | None)
METRICS = [
    ("S1 PUT c=1, contacts/s", "S1c1", "contacts_per_s", "up"),
    ("S1 PUT c=1, p50 ms", "S1c1", "p50_ms", "down"),
    ("S1 PUT c=1, p99 ms", "S1c1", "p99_ms", "down"),
    ("S1 PUT c=16, contacts/s", "S1c16", "contacts_per_s", "up"),
    ("S1 PUT c=16, p50 ms", "S1c16", "p50_ms", "down"),
    ("S1 PUT c=16, p99 ms", "S1c16", "p99_ms", "down"),
    ("S2 initial sync, s", "S2", "seconds", "down"),
    ("S2 initial sync, bytes", "S2", "bytes", "down"),
    ("S3 sync-collection initial, ms", "S3", "initial_ms", "down"),
    ("S3 initial, bytes", "S3", "initial_bytes", "down"),
    ("S3 incremental (10 changes), ms", "S3", "incremental_ms", "down"),
    ("S3 incremental, bytes", "S3", "incremental_bytes", "down"),
    ("S4 PROPFIND D0, req/s", "S4", "req_per_s", "up"),
    ("S4 p99 ms", "S4", "p99_ms", "down"),
    ("S5 64 clients, ops/s", "S5", "ops_per_s", "up"),
    ("S5 p50 ms", "S5", "p50_ms", "down"),
    ("S5 p99 ms", "S5", "p99_ms", "down"),
    ("S5 errors", "S5", "errors", "down"),
    ("S5 412 conflicts", "S5", "conflicts_412", None),
    ("race: trials", "race", "trials", None),
    ("race: both edits accepted", "race", "both_accepted", None),
    ("race: one refused with 412", "race", "one_refused_412", None),
    ("race: lost updates", "race", "lost_updates", "down"),
    ("race: other errors", "race", "errors", "down"),
    ("S6 peak RSS, MiB", "S6", "peak_rss_mib", "down"),
    ("S6 disk bytes/contact, N cards at rest", "S6load", "disk_bytes_per_contact", "down"),
    ("S6 disk bytes/contact, after S2–race", "S6", "disk_bytes_per_contact", "down"),
    ("uplink POST, s", "uplink", "first_s", "down"),
    ("uplink again (no-op), s", "uplink", "second_s", "down"),
]

ARROW = {"up": "↑", "down": "↓", None: ""}


def load(path):
    rows = defaultdict(list)  # (server, n, scenario) -> [line]
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        if not line.startswith("{"):
            continue
        d = json.loads(line)
        if d.get("scenario") in ("S6", "S6load") and isinstance(d.get("peak_rss_kb"), (int, float)):
            d["peak_rss_mib"] = d["peak_rss_kb"] / 1024
        rows[(d["server"], int(d["n"]), d["scenario"])].append(d)
    return rows


def median(rows, server, n, scenario, field):
    vals = [r.get(field) for r in rows.get((server, n, scenario), [])]
    vals = [v for v in vals if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return statistics.median(vals) if vals else None


def note(rows, server, n, scenario):
    for r in rows.get((server, n, scenario), []):
        if r.get("note"):
            return r["note"]
        if r.get("failed"):
            return "failed: " + r["failed"][:80]
        if r.get("complete") is False:
            return "capped by --max-secs"
    return None


def fmt(v):
    if v is None:
        return "null"
    if isinstance(v, float) and not v.is_integer():
        if abs(v) >= 100:
            return f"{v:,.0f}"
        if abs(v) >= 1:
            return f"{v:.2f}"
        return f"{v:.3g}"
    return f"{int(v):,}"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "–"
    r = a / b
    return f"{r:.3g}×"


def table(rows, ns, servers):
    peers = [p for p in PEERS if p in servers]
    head = "| metric | N | " + " | ".join(servers) + " | " + " | ".join(f"dialbook ÷ {p}" for p in peers) + " |"
    out = [head, "|" + "---|" * (2 + len(servers) + len(peers))]
    notes = []
    for label, sc, field, better in METRICS:
        for n in ns:
            vals = {s: median(rows, s, n, sc, field) for s in servers}
            if all(v is None for v in vals.values()) and sc != "uplink":
                continue
            cells = []
            for s in servers:
                c = fmt(vals[s])
                nt = note(rows, s, n, sc)
                if nt:
                    c += " ¹" if vals[s] is None else " ²"
                    notes.append(f"{s}, N={n}, {sc}: {nt}")
                cells.append(c)
            rs = [ratio(vals.get("dialbook"), vals[p]) for p in peers]
            out.append(f"| {label} {ARROW[better]} | {n:,} | " + " | ".join(cells) + " | " + " | ".join(rs) + " |")
    return out, sorted(set(notes))


def client_cpu(rows, servers):
    out = []
    for s in servers:
        shares = [
            (r.get("client_cpu_share"), r.get("scenario"), r.get("n"))
            for (srv, _, _), rs in rows.items()
            if srv == s
            for r in rs
            if isinstance(r.get("client_cpu_share"), (int, float))
        ]
        if shares:
            mx = max(shares)
            out.append(f"| {s} | {mx[0]:.2f} ({mx[1]}, N={mx[2]}) |")
    return out


def targets(rows, ns):
    big = max(ns)
    small = min(ns)
    m = lambda s, sc, f, n=big: median(rows, s, n, sc, f)  # noqa: E731
    res = []

    def check(name, ok, detail):
        res.append(f"| {name} | {'met' if ok else ('n/a' if ok is None else 'NOT met')} | {detail} |")

    def vs(name, sc, field, peer, need, n=big):
        d, p = m("dialbook", sc, field, n), m(peer, sc, field, n)
        if d is None or p is None or p == 0:
            check(name, None, "no data")
            return
        r = d / p
        check(name, r >= need, f"{r:.3g}× (need ≥ {need}×)")

    vs("S1 c=1 ≥ 55× Xandikos", "S1c1", "contacts_per_s", "xandikos", 55)
    vs("S1 c=16 ≥ 90× Xandikos", "S1c16", "contacts_per_s", "xandikos", 90)
    vs("S4 ≥ 3× Xandikos", "S4", "req_per_s", "xandikos", 3)
    vs("S5 ≥ 27× Xandikos", "S5", "ops_per_s", "xandikos", 27)
    vs("S1 c=1 ≥ 50× Radicale", "S1c1", "contacts_per_s", "radicale", 50)
    vs("S1 c=16 ≥ 50× Radicale", "S1c16", "contacts_per_s", "radicale", 50)
    vs("S4 ≥ 50× Radicale", "S4", "req_per_s", "radicale", 50)
    vs("S5 ≥ 50× Radicale", "S5", "ops_per_s", "radicale", 50)
    d = m("dialbook", "S2", "seconds")
    ps = [m(p, "S2", "seconds") for p in PEERS if m(p, "S2", "seconds") is not None]
    if d is not None and ps:
        check(f"S2 at N={big:,} ≤ ⅓ of the fastest peer", d <= min(ps) / 3, f"{d:.3g} s vs {min(ps):.3g} s ({d / min(ps):.3g}×)")
    a, b = m("dialbook", "S3", "incremental_ms", small), m("dialbook", "S3", "incremental_ms", big)
    if a and b and big != small:
        check(f"S3 incremental at {big:,} within 20% of {small:,}", b <= a * 1.2, f"{b:.3g} ms vs {a:.3g} ms ({(b / a - 1) * 100:+.0f}%)")
    e = m("dialbook", "S5", "errors")
    lost = m("dialbook", "race", "lost_updates")
    check("S5 0 errors, 0 lost updates", e == 0 and lost == 0, f"errors {fmt(e)}, lost updates {fmt(lost)}")
    d = m("dialbook", "S5", "p99_ms")
    ps = [m(p, "S5", "p99_ms") for p in PEERS if m(p, "S5", "p99_ms") is not None]
    if d is not None and ps:
        check("S5 p99 below the fastest peer's", d < min(ps), f"{d:.3g} ms vs {min(ps):.3g} ms")
    # Disk is compared with N cards at rest (the same content in every server); after S5
    # each server holds what its own throughput wrote (dialbook ~100× the peers' edits).
    for sc, field, label in [
        ("S6", "peak_rss_mib", "S6 peak RSS"),
        ("S6load", "disk_bytes_per_contact", "S6 disk/contact (N cards at rest)"),
    ]:
        d = m("dialbook", sc, field)
        ps = [m(p, sc, field) for p in PEERS if m(p, sc, field) is not None]
        if d is not None and ps:
            check(f"{label} at N={big:,} ≤ fastest peer's", d <= min(ps), f"{d:,.1f} vs {min(ps):,.1f}")
    return res


def main():
    args = sys.argv[1:]
    write = None
    if "--write" in args:
        i = args.index("--write")
        write = args[i + 1]
        del args[i : i + 2]
    rows = load(args[0])
    env = json.load(open(args[1])) if len(args) > 1 else {}
    ns = sorted({n for (_, n, _) in rows})
    servers = [s for s in SERVERS if any(k[0] == s for k in rows)]
    tab, notes = table(rows, ns, servers)
    lines = tab[:]
    if notes:
        lines.append("")
        lines.append("¹ no number (null); ² number with a caveat:")
        lines += [f"- {x}" for x in notes]
    print("\n".join(lines))
    tg = ["| target | | dialbook's ratio / value |", "|---|---|---|"] + targets(rows, ns)
    print("\n".join(tg))
    cpu = ["| server | highest client CPU share (of one core) |", "|---|---|"] + client_cpu(rows, servers)
    print("\n".join(cpu))
    if write:
        doc = [
            "# Benchmark results",
            "",
            "Produced by `bench/run.sh` (see `bench/README.md`); rewritten by every full run.",
            "Medians over the rounds; the ratio columns are dialbook's median divided by the",
            "peer's (↑ higher is better, ↓ lower is better).",
            "",
            f"- command: `{env.get('command', '?')}`",
            f"- date: {env.get('date', '?')}, wall time of the run: {env.get('seconds', '?')} s",
            f"- machine: {env.get('machine', '?')}, Linux {env.get('kernel', '?')}",
            f"- dialbook {env.get('dialbook', '?')} ({env.get('rustc', '?')}), release build, SQLite, "
            "default conflict policy `merge`, Basic auth",
            f"- Radicale {env.get('radicale', '?')} (`auth type = none`, multifilesystem storage, "
            f"defaults otherwise), Xandikos {env.get('xandikos', '?')} (`--defaults`, no auth), "
            f"Python {env.get('python', '?')}",
            f"- N = {env.get('n', '?')}, rounds = {env.get('rounds', '?')}, S5 = "
            f"{env.get('s5_secs', '?')} s × 64 clients{' (quick mode)' if env.get('quick') else ''}",
            "",
            "## Medians",
            "",
            *lines,
            "",
            "## Targets (issue 5)",
            "",
            *tg,
            "",
            "## Load client CPU",
            "",
            "getrusage of `dialbook-bench` over each scenario divided by its wall time; "
            "the client runs on one thread, so 1.00 would mean it was the bottleneck.",
            "",
            *cpu,
            "",
        ]
        with open(write, "w", encoding="utf-8") as f:
            f.write("\n".join(doc))
        print(f"wrote {write}", file=sys.stderr)


if __name__ == "__main__":
    main()
