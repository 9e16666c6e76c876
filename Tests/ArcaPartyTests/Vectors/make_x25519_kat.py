#!/usr/bin/env python3
"""Known answers for ecdh-25519's first stage, from an independent X25519: Python's `cryptography`.

For a fixed private key a and fixed ids, H(id)^a = X25519(a, SHA-256(id)) (SHA-256 of the id's UTF-8
bytes taken as the u-coordinate, RFC 7748). Writes one line per id: the id (JSON string), a tab,
the 32-byte value in hex. Run: python3 make_x25519_kat.py > x25519_first_stage.tsv
"""
import hashlib
import json
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

KEY = bytes(range(1, 33))  # 01 02 … 20
IDS = ["0", "1", "42", "569", "133", "859983", "id-ä-中文", "", "a" * 200]

private = X25519PrivateKey.from_private_bytes(KEY)
print("# private key " + KEY.hex())
for text in IDS:
    u = hashlib.sha256(text.encode("utf-8")).digest()
    value = private.exchange(X25519PublicKey.from_public_bytes(u))
    print(json.dumps(text, ensure_ascii=False) + "\t" + value.hex())
