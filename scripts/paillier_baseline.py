#!/usr/bin/env python3
"""python-paillier's own rates on one core, the baseline of `arca-bench paillier`.

Prints one JSON object: encrypt/s, decrypt/s, add/s, scalar-multiply/s for a key of BITS bits
(median of 3 runs), and whether gmpy2 is in use. Usage: paillier_baseline.py [BITS] [SECONDS]
"""
import json, random, statistics, sys, time
import phe
from phe import paillier, util

bits = int(sys.argv[1]) if len(sys.argv) > 1 else 2048
budget = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
pub, priv = paillier.generate_paillier_keypair(n_length=bits)
values = [random.randint(-10**6, 10**6) for _ in range(64)]
scalars = [random.randint(1, 2**32) for _ in range(64)]

def rate(body, items):
    runs = []
    for _ in range(3):
        count, start = 0, time.perf_counter()
        while time.perf_counter() - start < budget:
            body()
            count += items
        runs.append(count / (time.perf_counter() - start))
    return statistics.median(runs)

cts = [pub.encrypt(v) for v in values]
print(json.dumps({
    "library": f"python-paillier {phe.__version__}", "gmpy2": util.HAVE_GMP, "bits": bits,
    "encrypt": rate(lambda: [pub.encrypt(v) for v in values[:8]], 8),
    "decrypt": rate(lambda: [priv.decrypt(c) for c in cts[:16]], 16),
    "add": rate(lambda: [a + b for a, b in zip(cts, cts[1:] + cts[:1])], len(cts)),
    "scalarMultiply": rate(lambda: [c * k for c, k in zip(cts, scalars)], len(cts)),
}))
