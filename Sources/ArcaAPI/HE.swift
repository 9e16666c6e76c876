/// Wire types of the Paillier routes (`/v1/he/…`). Ciphertexts and keys use python-paillier's JSON
/// forms; plaintext numbers travel as JSON number literals in strings, so integers of any size stay
/// exact.

/// A public key as python-paillier's `pheutil` writes it.
public struct PaillierPublicKeyJWK: Codable, Sendable, Equatable {
    public var kty: String
    public var alg: String?
    public var key_ops: [String]?
    /// n, big-endian, unpadded base64url.
    public var n: String
    public var kid: String?
    public init(kty: String, alg: String?, key_ops: [String]?, n: String, kid: String?) {
        self.kty = kty; self.alg = alg; self.key_ops = key_ops; self.n = n; self.kid = kid
    }
}

/// One ciphertext: `v` the decimal value mod n², `e` the base-16 exponent of its encoding.
public struct WireCiphertext: Codable, Sendable, Equatable {
    public var v: String
    public var e: Int
    public init(v: String, e: Int) { self.v = v; self.e = e }
}

/// A stored Paillier key (never its private part).
public struct HEKey: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    public var bits: Int
    public var created: String
    /// `generated` on this appliance, or `imported`.
    public var origin: String
    /// Whether this appliance holds the private key (can decrypt).
    public var hasPrivateKey: Bool
    public var publicKey: PaillierPublicKeyJWK
    public init(
        id: String, name: String, bits: Int, created: String, origin: String, hasPrivateKey: Bool,
        publicKey: PaillierPublicKeyJWK
    ) {
        self.id = id; self.name = name; self.bits = bits; self.created = created; self.origin = origin
        self.hasPrivateKey = hasPrivateKey; self.publicKey = publicKey
    }
}

public struct HEKeysResponse: Codable, Sendable, Equatable {
    public var keys: [HEKey]
    public init(keys: [HEKey]) { self.keys = keys }
}

/// `POST /v1/he/keys`: generate a key.
public struct HEKeygenRequest: Codable, Sendable, Equatable {
    public var name: String
    /// 2048, 3072 or 4096.
    public var bits: Int
    public init(name: String, bits: Int) { self.name = name; self.bits = bits }
}

/// `POST /v1/he/keys/import`: `key` is the text of a python-paillier key file (public or private JWK).
public struct HEKeyImportRequest: Codable, Sendable, Equatable {
    public var name: String
    public var key: String
    public init(name: String, key: String) { self.name = name; self.key = key }
}

/// `GET /v1/he/keys/{name}`… asks by name or id.
public struct HEKeyRequest: Codable, Sendable, Equatable {
    public var key: String
    public init(key: String) { self.key = key }
}

/// A set of ciphertexts as read from one file; `publicKey` when the file was an envelope.
public struct HECiphertextSet: Codable, Sendable, Equatable {
    public var ciphertexts: [WireCiphertext]
    @Nullable public var publicKey: PaillierPublicKeyJWK?
    /// Where the set came from (a file name), used in error messages.
    @Nullable public var source: String?
    public init(ciphertexts: [WireCiphertext], publicKey: PaillierPublicKeyJWK? = nil, source: String? = nil) {
        self.ciphertexts = ciphertexts; self.publicKey = publicKey; self.source = source
    }
}

/// `POST /v1/he/{encrypt,decrypt,add,scale,sum}`.
public struct HEOperationRequest: Codable, Sendable, Equatable {
    /// Key name or id.
    public var key: String
    /// encrypt: the plaintexts, as JSON number literals.
    @Nullable public var plaintexts: [String]?
    /// decrypt, scale, sum: one set; add: two.
    @Nullable public var inputs: [HECiphertextSet]?
    /// scale: one plaintext scalar per ciphertext, as JSON number literals.
    @Nullable public var scalars: [String]?
    /// A device id to run the exponentiations on (`cpu`, `ocl-…`); `null` lets the registry choose.
    @Nullable public var device: String?
    /// encrypt: `standard` (r^n, python-paillier's) or `djn` (hs^a with a short a; README).
    @Nullable public var obfuscator: String?
    public init(
        key: String, plaintexts: [String]? = nil, inputs: [HECiphertextSet]? = nil, scalars: [String]? = nil,
        device: String? = nil, obfuscator: String? = nil
    ) {
        self.key = key; self.plaintexts = plaintexts; self.inputs = inputs; self.scalars = scalars;
        self.device = device; self.obfuscator = obfuscator
    }
}

public struct HEOperationResponse: Codable, Sendable, Equatable {
    public var operation: String
    /// The key's id and public key (for an envelope).
    public var keyId: String
    public var publicKey: PaillierPublicKeyJWK
    @Nullable public var ciphertexts: [WireCiphertext]?
    @Nullable public var plaintexts: [String]?
    /// Devices that ran the exponentiations, and fallbacks to the CPU with their reasons.
    public var devices: [String]
    public var fallbacks: [String]
    public var items: Int
    public var modexps: Int
    public var seconds: Double
    public init(
        operation: String, keyId: String, publicKey: PaillierPublicKeyJWK, ciphertexts: [WireCiphertext]?,
        plaintexts: [String]?,
        devices: [String], fallbacks: [String], items: Int, modexps: Int, seconds: Double
    ) {
        self.operation = operation; self.keyId = keyId; self.publicKey = publicKey; self.ciphertexts = ciphertexts
        self.plaintexts = plaintexts; self.devices = devices; self.fallbacks = fallbacks; self.items = items
        self.modexps = modexps; self.seconds = seconds
    }
}
