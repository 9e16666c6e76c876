#!/usr/bin/env python3
"""python-paillier (phe 1.5.0) as the partner in Arca's interop tests. Files are python-paillier's
forms: keys as `pheutil` writes them, ciphertexts as [{"v": "<decimal>", "e": <exponent>}].

  paillier_peer.py make DIR          key pair, two ciphertext files, scalars, and python's own results
  paillier_peer.py check DIR         decrypts Arca's add.json, sum.json, scaled.json, added-plain.json; compares
  paillier_peer.py encrypt PUB VALUES OUT [--envelope]
  paillier_peer.py decrypt PRIV IN OUT
  paillier_peer.py roundtrip VALUES OUT  what python-paillier itself gives back for VALUES (1e100 → an int)
  paillier_peer.py equal FILE1 FILE2     same JSON values, same types (int or float), element by element
  paillier_peer.py maxint PUB            prints the key's max_int (n // 3 - 1)
"""
import json, sys
import phe
from phe import paillier
from phe.util import base64_to_int, int_to_base64

def dump(obj, path):
    with open(path, "w") as f:
        json.dump(obj, f)
        f.write("\n")

def jwk_pub(pub):
    return {"kty": "DAJ", "alg": "PAI-GN1", "key_ops": ["encrypt"], "n": int_to_base64(pub.n), "kid": "python-paillier peer"}

def read_pub(path):
    return paillier.PaillierPublicKey(base64_to_int(json.load(open(path))["n"]))

def read_priv(path):
    jwk = json.load(open(path))
    pub = paillier.PaillierPublicKey(base64_to_int(jwk["pub"]["n"]))
    return pub, paillier.PaillierPrivateKey(pub, base64_to_int(jwk["p"]), base64_to_int(jwk["q"]))

def enc(x):
    return {"v": str(x.ciphertext()), "e": x.exponent}

def read_cts(pub, path):
    data = json.load(open(path))
    if isinstance(data, dict):
        data = data["ciphertexts"]
    return [paillier.EncryptedNumber(pub, int(c["v"]), int(c["e"])) for c in data]

# Integers and floats: negative, zero, very large, very small, mixed exponents.
A = [0, 1, -1, 42, -123456789, 2**300 + 7, -(2**250), 0.0, 1.5, -2.75, 3.141592653589793, 1e-10, -7.25e-8,
     1e20, 123456789.123, -0.001, 2**-40, 6.02214076e23, 1, 0.5]
B = [5, -5, 0.25, 10**30, 1e-5, -3, 17.125, 0, -1e-12, 2.5, 100, 9.75, 1, -4, -0.001, 0.001, 3, -1e22, 1e-20, 2**60]
S = [3, -2, 0.5, 7, -1.25, 0, 10, 2**40, -3, 1e-3, 4, 2, -1, 1000, 0.125, -8, 2**20, 1e-10, 99, -6]

def make(directory):
    pub, priv = paillier.generate_paillier_keypair(n_length=2048)
    dump({"kty": "DAJ", "key_ops": ["decrypt"], "p": int_to_base64(priv.p), "q": int_to_base64(priv.q),
          "pub": jwk_pub(pub), "kid": "python-paillier peer"}, f"{directory}/priv.json")
    dump(jwk_pub(pub), f"{directory}/pub.json")
    ea, eb = [pub.encrypt(x) for x in A], [pub.encrypt(x) for x in B]
    dump([enc(x) for x in ea], f"{directory}/a.json")
    dump([enc(x) for x in eb], f"{directory}/b.json")
    dump({"publicKey": jwk_pub(pub), "ciphertexts": [enc(x) for x in ea]}, f"{directory}/a-envelope.json")
    dump(S, f"{directory}/scalars.json")
    dump(B, f"{directory}/plain-b.json")
    expected = {
        "add": [priv.decrypt(x + y) for x, y in zip(ea, eb)],
        "added-plain": [priv.decrypt(x + y) for x, y in zip(ea, B)],
        "scaled": [priv.decrypt(x * s) for x, s in zip(ea, S)],
        "sum": [priv.decrypt(sum(ea))],
        "a": A,
    }
    dump(expected, f"{directory}/expected.json")

def check(directory):
    pub, priv = read_priv(f"{directory}/priv.json")
    expected = json.load(open(f"{directory}/expected.json"))
    bad = 0
    for name in ["add", "sum", "scaled"] + (["added-plain"] if __import__("os").path.exists(f"{directory}/added-plain.json") else []):
        got = [priv.decrypt(x) for x in read_cts(pub, f"{directory}/{name}.json")]
        want = expected[name]
        if len(got) != len(want):
            print(f"{name}: {len(got)} values, expected {len(want)}"); bad += 1; continue
        for i, (g, w) in enumerate(zip(got, want)):
            if json.dumps(g) != json.dumps(w):  # same type (int/float) and same value
                print(f"{name}[{i}]: got {json.dumps(g)}, expected {json.dumps(w)}"); bad += 1
    print("ok" if bad == 0 else f"{bad} mismatches")
    sys.exit(1 if bad else 0)

def encrypt(pub_path, values_path, out_path, envelope=False):
    pub = read_pub(pub_path)
    cts = [enc(pub.encrypt(x)) for x in json.load(open(values_path))]
    dump({"publicKey": jwk_pub(pub), "ciphertexts": cts} if envelope else cts, out_path)

def decrypt(priv_path, in_path, out_path):
    pub, priv = read_priv(priv_path)
    dump([priv.decrypt(x) for x in read_cts(pub, in_path)], out_path)

def roundtrip(values_path, out_path):
    pub, priv = paillier.generate_paillier_keypair(n_length=1024)
    dump([priv.decrypt(pub.encrypt(x)) for x in json.load(open(values_path))], out_path)

def equal(first, second):
    a, b = json.load(open(first)), json.load(open(second))
    bad = [f"[{i}]: {json.dumps(x)} != {json.dumps(y)}" for i, (x, y) in enumerate(zip(a, b)) if json.dumps(x) != json.dumps(y)]
    if len(a) != len(b): bad.append(f"{len(a)} values != {len(b)} values")
    print("\n".join(bad) or "ok")
    sys.exit(1 if bad else 0)

if __name__ == "__main__":
    assert phe.__version__ == "1.5.0", f"python-paillier {phe.__version__}; the tests pin 1.5.0"
    command, args = sys.argv[1], sys.argv[2:]
    if command == "make": make(*args)
    elif command == "check": check(*args)
    elif command == "encrypt": encrypt(args[0], args[1], args[2], "--envelope" in args)
    elif command == "decrypt": decrypt(*args)
    elif command == "roundtrip": roundtrip(*args)
    elif command == "equal": equal(*args)
    elif command == "maxint": print(read_pub(args[0]).max_int)
    else: sys.exit(f"unknown command {command}")
