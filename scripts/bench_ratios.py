#!/usr/bin/env python3
"""Goal table of a ../shared/bench JSON result with several Almanach targets
(almanach-sqlite, almanach-pg): each against the best of Radicale and Xandikos
only, goal = min(20 x best peer, nginx ceiling / 4). Usage: bench_ratios.py RUN.json"""
import json, sys
d = json.load(open(sys.argv[1]))
cells = {(c['scenario'], c['conc'], c['target']): c['rps_ok'] for c in d['cells']}
keys = sorted({(s, c) for (s, c, t) in cells}, key=lambda k: (d['order'].index(k[0]) if k[0] in d.get('order', []) else 0, k[1]))
print("| scenario | C | Radicale | Xandikos | nginx ceiling | goal | Almanach SQLite | × best peer | met | Almanach PostgreSQL | × best peer | met |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
met = {"almanach-sqlite": 0, "almanach-pg": 0}; n = 0
for s, c in keys:
    rad, xan, ceil = cells.get((s, c, 'radicale'), 0), cells.get((s, c, 'xandikos'), 0), cells.get((s, c, 'nginx-ceiling'), 0)
    best = max(rad, xan); goal = min(20 * best, ceil / 4) if ceil else 20 * best
    row = f"| {s} | {c} | {rad:.1f} | {xan:.1f} | {ceil:.0f} | {goal:.1f} |"
    n += 1
    for t in ("almanach-sqlite", "almanach-pg"):
        v = cells.get((s, c, t))
        if v is None:
            row += " n/a | | |"; continue
        ok = v >= goal
        met[t] += ok
        row += f" {v:.1f} | {v / best if best else float('inf'):.0f}× | {'yes' if ok else 'no'} |"
    print(row)
print(f"\ngoal met: SQLite {met['almanach-sqlite']}/{n}, PostgreSQL {met['almanach-pg']}/{n}")
