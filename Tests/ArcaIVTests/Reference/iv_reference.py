#!/usr/bin/env python3
"""Plaintext WOE/IV on the joined guest and host data: the reference Arca's hetero job must equal.

An implementation of FATE 1.x's semantics written apart from Arca's (pure Python): quantile split
points are the exact ceil(k*N/bins)-th smallest non-missing values (duplicates removed), bucket split
points min + k*(max-min)/bins; bins right-closed; missing values in a bin of their own; a bin with zero
events or zero non-events gets 0.5 added to both counts; totals of zero replaced by 1.

Run from the repository root: python3 Tests/ArcaIVTests/Reference/iv_reference.py > Tests/ArcaIVTests/Reference/iv-reference.json
"""
import csv, json, math, sys

def read(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]

def number(text):
    t = text.strip()
    return None if t == "" or t.lower() in ("na", "nan", "null", "none") else float(t)

def splits(values, method, bins):
    present = sorted(v for v in values if v is not None)
    if not present: return []
    if method == "quantile":
        n = len(present)
        points = [present[-(-k * n // bins) - 1] for k in range(1, bins + 1)]
    else:
        lo, hi = present[0], present[-1]
        width = (hi - lo) / bins
        points = [lo + k * width for k in range(1, bins)] + [hi]
    unique = []
    for p in points:
        if not unique or unique[-1] != p: unique.append(p)
    return unique

def bin_of(value, points):
    if value is None: return len(points)
    for i, p in enumerate(points):
        if value <= p: return i
    raise AssertionError("above the last split")

def iv(values, events, method, bins):
    points = splits(values, method, bins)
    count = len(points) + (1 if any(v is None for v in values) else 0)
    e, ne = [0] * count, [0] * count
    for v, y in zip(values, events):
        (e if y else ne)[bin_of(v, points)] += 1
    te, tne = sum(e) or 1, sum(ne) or 1
    woe, total = [], 0.0
    for a, b in zip(e, ne):
        a2, b2 = (a + 0.5, b + 0.5) if a == 0 or b == 0 else (a, b)
        re, rne = a2 / te, b2 / tne
        w = math.log(re / rne)
        woe.append(w)
        total += (re - rne) * w
    return {"iv": total, "events": e, "nonEvents": ne, "woe": woe, "splits": len(points)}

def reference(guest_path, host_path, method="quantile", bins=10):
    gh, grows = read(guest_path)
    hh, hrows = read(host_path)
    host = {r[0]: r for r in hrows}
    joined = [(g, host[g[0]]) for g in grows if g[0] in host]   # guest order
    events = [g[1] == "1" for g, _ in joined]
    features = []
    for i, name in enumerate(gh[2:], start=2):
        features.append({"party": "guest", "feature": name, **iv([number(g[i]) for g, _ in joined], events, method, bins)})
    for i, name in enumerate(hh[1:], start=1):
        features.append({"party": "host", "feature": name, **iv([number(h[i]) for _, h in joined], events, method, bins)})
    return {"intersectionSize": len(joined), "method": method, "bins": bins, "features": features}

json.dump({"breast": reference("data/breast_hetero_guest.csv", "data/breast_hetero_host.csv"),
           "breastBucket": reference("data/breast_hetero_guest.csv", "data/breast_hetero_host.csv", "bucket", 10),
           "defaultCredit": reference("data/default_credit_hetero_guest.csv", "data/default_credit_hetero_host.csv")},
          sys.stdout, indent=1)
print()
