#!/usr/bin/env python3
"""Makes paillier-vectors.json with python-paillier (phe 1.5.0): a 1024-bit key, encodings,
ciphertexts and the results python-paillier itself gets for add, add-plain, scale and sum.

Run: python3 make_vectors.py > paillier-vectors.json   (pip install phe==1.5.0)
"""
import json, random
import phe
from phe import paillier
from phe.util import int_to_base64

assert phe.__version__ == "1.5.0", phe.__version__
rng = random.Random(20261129)
pub, priv = paillier.generate_paillier_keypair(n_length=1024)
jwk_pub = {"kty": "DAJ", "alg": "PAI-GN1", "key_ops": ["encrypt"], "n": int_to_base64(pub.n), "kid": "arca test vectors"}
jwk_priv = {"kty": "DAJ", "key_ops": ["decrypt"], "p": int_to_base64(priv.p), "q": int_to_base64(priv.q), "pub": jwk_pub, "kid": "arca test vectors"}

values = [0, 1, -1, 7, -123456789012345678901234567890, 2**200 + 12345, pub.max_int, -pub.max_int,
          0.0, -0.0, 1.5, -2.25, 0.1, 3.141592653589793, -1e-05, 1e-300, 5e-324, 2.2250738585072014e-308,
          1e100, -1.7976931348623157e308, 123456.789, 2**-60]
def enc(x): return {"v": str(x.ciphertext()), "e": x.exponent}
def lit(x): return json.dumps(x)

encodings, ciphertexts = [], []
for v in values:
    e = paillier.EncodedNumber.encode(pub, v)
    # decode() gives an int for exponents >= 0 (1e100 comes back as an int) and 0.0 for -0.0.
    encodings.append({"value": lit(v), "encoding": str(e.encoding), "exponent": e.exponent, "decoded": lit(e.decode())})
    c = pub.encrypt(v)
    assert priv.decrypt(c) == v
    ciphertexts.append({"ciphertext": enc(c), "plaintext": lit(priv.decrypt(c))})

pairs = [(3, 4), (1.5, -2.25), (-7, 0.1), (1e-30, 1.0), (2**100, -2**99), (0.0, -1e-05), (123456.789, 42)]
adds, add_plain, scales = [], [], []
for a, b in pairs:
    ca, cb = pub.encrypt(a), pub.encrypt(b)
    adds.append({"a": enc(ca), "b": enc(cb), "sum": lit(priv.decrypt(ca + cb))})
    add_plain.append({"a": enc(ca), "b": lit(b), "sum": lit(priv.decrypt(ca + b))})
for a, s in [(3, 5), (-2, 7), (1.5, -4), (0.25, 0.5), (10**20, -3), (7, 0), (-1e-05, 1e5)]:
    ca = pub.encrypt(a)
    scales.append({"c": enc(ca), "scalar": lit(s), "product": lit(priv.decrypt(ca * s))})
sum_values = [rng.choice([rng.randint(-10**6, 10**6), rng.uniform(-1000, 1000)]) for _ in range(40)]
sum_cts = [pub.encrypt(v) for v in sum_values]
total = sum(sum_cts)
big_gap = (pub.encrypt(1e-300), pub.encrypt(1e300))
try:
    big_gap[0] + big_gap[1]; raise SystemExit("expected ValueError")
except ValueError:
    pass
overflow = paillier.EncryptedNumber(pub, pub.raw_encrypt(pub.n // 2), 0)
try:
    priv.decrypt(overflow); raise SystemExit("expected OverflowError")
except OverflowError:
    pass

json.dump({"generator": "python-paillier " + phe.__version__ + ", make_vectors.py", "privateKey": jwk_priv,
           "encodings": encodings, "ciphertexts": ciphertexts, "add": adds, "addPlain": add_plain, "scale": scales,
           "sum": {"ciphertexts": [enc(c) for c in sum_cts], "total": lit(priv.decrypt(total))},
           "overflow": enc(overflow),
           "alignmentOverflow": [enc(c) for c in big_gap]}, __import__("sys").stdout, indent=1)
print()
