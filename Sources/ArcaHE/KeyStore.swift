import ArcaCrypto
import ArcaSystem
import Foundation
import Synchronization

/// Paillier keys of this appliance under `<state>/he`: one JSON record per key in `keys/<id>.json`,
/// the private part sealed with AES-256-GCM (or SM4-GCM) under `seal.key` — 32 random bytes made at
/// first use — bound to the key id. Every file is mode 0600 and the directories 0700; a file readable
/// by anyone else is refused. Only public keys leave the store.
public final class PaillierKeyStore: Sendable {
    public struct Entry: Codable, Sendable, Equatable {
        /// `pai-` + the first 16 hex digits of SHA-256(n).
        public var id: String
        public var name: String
        public var bits: Int
        public var created: Date
        /// `generated` here or `imported`.
        public var origin: String
        public var hasPrivateKey: Bool
        public var publicKey: PaillierInterchange.PublicKeyJWK
    }

    struct Record: Codable {
        var entry: Entry
        /// base64 of IV ‖ AES-GCM(JSON {"p","q"}) ‖ tag, associated data = id.
        var sealedPrivateKey: String?
        var cipher: String?
    }

    public enum Failure: Error, CustomStringConvertible, Sendable {
        case notFound(String), exists(String), insecure(String), damaged(String)
        public var description: String {
            switch self {
            case let .notFound(name): return "no Paillier key named or with id \"\(name)\""
            case let .exists(text), let .insecure(text), let .damaged(text): return text
            }
        }
    }

    public let directory: String
    let cipher: AEAD
    let lock = Mutex<[String: PaillierPrivateKey]>([:])
    /// DJN obfuscators (base and fixed-base tables) per key id, made at first use.
    let obfuscators = Mutex<[String: DJNObfuscator]>([:])
    /// Serializes check-then-write of new keys (two imports under one name: one wins, one is told).
    let writing = Mutex<Void>(())

    /// Opens (creating when missing) the store under `directory`.
    /// - Throws: ``Failure/insecure(_:)`` when the directory or the seal key is open to others.
    public init(directory: String, cipher: AEAD = .aes256gcm) throws {
        self.directory = directory
        self.cipher = cipher
        for path in [directory, directory + "/keys"] {
            if !FileManager.default.fileExists(atPath: path) {
                try FileManager.default.createDirectory(
                    atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            }
        }
        _ = try sealKey()
    }

    var sealKeyPath: String { directory + "/seal.key" }

    /// The sealing key: made once with `RAND_bytes`, mode 0600.
    func sealKey() throws -> [UInt8] {
        if !FileManager.default.fileExists(atPath: sealKeyPath) {
            try Self.writeAtomically(Data(try SecureRandom.bytes(AEAD.keyBytes)), to: sealKeyPath)
        }
        try Self.checkPrivate(sealKeyPath)
        let key = [UInt8](try Data(contentsOf: URL(fileURLWithPath: sealKeyPath)))
        guard key.count == AEAD.keyBytes else {
            throw Failure.damaged("\(sealKeyPath): \(key.count) bytes; a seal key has \(AEAD.keyBytes)")
        }
        return key
    }

    /// - Throws: ``Failure/insecure(_:)`` naming the file and its mode when group or others have any access.
    static func checkPrivate(_ path: String) throws {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        let mode = (attributes[.posixPermissions] as? Int) ?? 0
        if mode & 0o077 != 0 {
            throw Failure.insecure(
                """
                \(path) has mode \(String(mode, radix: 8, uppercase: false).leftPadded(4)); key files must be \
                0600 (readable by arcad only) — fix with chmod 600
                """
            )
        }
    }

    /// Writes `data` to a temporary file of mode 0600 beside `path`, syncs it and renames it over `path`.
    static func writeAtomically(_ data: Data, to path: String) throws {
        do {
            try AtomicFile.write(data, to: path)
        } catch {
            throw Failure.damaged("cannot write \(path): \(error)")
        }
    }

    func records() throws -> [Record] {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory + "/keys").filter {
            $0.hasSuffix(".json")
        }.sorted()
        return try names.map { try record(path: directory + "/keys/" + $0) }
    }

    func record(path: String) throws -> Record {
        try Self.checkPrivate(path)
        do {
            return try JSONDecoder.iso.decode(Record.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw Failure.damaged("\(path): not a key record (\(error))")
        }
    }

    /// Every key, by name.
    public func list() throws -> [Entry] { try records().map(\.entry).sorted { $0.name < $1.name } }

    func find(_ nameOrId: String) throws -> Record {
        guard let record = try records().first(where: { $0.entry.name == nameOrId || $0.entry.id == nameOrId }) else {
            throw Failure.notFound(nameOrId)
        }
        return record
    }

    /// The entry and public key named (or with id) `nameOrId`.
    public func publicKey(_ nameOrId: String) throws -> (Entry, PaillierPublicKey) {
        let record = try find(nameOrId)
        return (record.entry, try PaillierInterchange.publicKey(record.entry.publicKey))
    }

    /// The private key named `nameOrId`, unsealed (kept in memory after first use).
    /// - Throws: ``Failure`` when missing, public-only, or the seal does not open.
    public func privateKey(_ nameOrId: String) throws -> PaillierPrivateKey {
        let record = try find(nameOrId)
        if let cached = lock.withLock({ $0[record.entry.id] }) { return cached }
        guard let sealed = record.sealedPrivateKey, let box = Data(base64Encoded: sealed) else {
            throw Failure.notFound("\(nameOrId) has no private key here (a public key imported from a partner)")
        }
        let opened: [UInt8]
        do {
            opened = try (AEAD(rawValue: record.cipher ?? "") ?? cipher).open(
                [UInt8](box), key: try sealKey(), associatedData: Array(record.entry.id.utf8))
        } catch {
            throw Failure.damaged(
                "key \(record.entry.name) (\(record.entry.id)): the sealed private key does not open: \(error)")
        }
        let parts = try JSONDecoder().decode([String: String].self, from: Data(opened))
        let key = try PaillierPrivateKey(
            p: PaillierInterchange.integer(base64url: parts["p"] ?? "", field: "p"),
            q: PaillierInterchange.integer(base64url: parts["q"] ?? "", field: "q"))
        lock.withLock { $0[record.entry.id] = key }
        return key
    }

    /// The DJN obfuscator of key `id` (CRT tables when its private key is held), built once per arcad.
    public func djn(_ id: String) throws -> DJNObfuscator {
        if let made = obfuscators.withLock({ $0[id] }) { return made }
        let (entry, key) = try publicKey(id)
        let made = try DJNObfuscator(key: key, privateKey: entry.hasPrivateKey ? try privateKey(id) : nil)
        return obfuscators.withLock { cache in
            if let existing = cache[id] { return existing }
            cache[id] = made
            return made
        }
    }

    /// Generates a key with n of `bits` bits and stores it as `name`.
    public func generate(bits: Int, name: String) throws -> Entry {
        try checkName(name)
        return try store(
            .privateKey(try PaillierPrivateKey.generate(bits: bits), kid: nil), name: name, origin: "generated")
    }

    /// Stores a key read from a python-paillier file under `name`.
    public func importKey(_ file: PaillierInterchange.KeyFile, name: String) throws -> Entry {
        try checkName(name)
        return try store(file, name: name, origin: "imported")
    }

    func checkName(_ name: String) throws {
        guard !name.isEmpty, name.count <= 64,
            name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) })
        else {
            throw HEError("name", "\"\(name.prefix(70))\" is not a key name (1-64 of A-Z a-z 0-9 - _ .)")
        }
        // Keys are found by name or id: a name shaped like an id would shadow another key.
        if name.hasPrefix("pai-") {
            throw HEError("name", "\"\(name)\": names starting with pai- are reserved for key ids")
        }
    }

    func store(_ file: PaillierInterchange.KeyFile, name: String, origin: String) throws -> Entry {
        try writing.withLock { _ in try storeLocked(file, name: name, origin: origin) }
    }

    private func storeLocked(_ file: PaillierInterchange.KeyFile, name: String, origin: String) throws -> Entry {
        let publicKey: PaillierPublicKey, privateKey: PaillierPrivateKey?
        switch file {
        case let .publicKey(key, _): (publicKey, privateKey) = (key, nil)
        case let .privateKey(key, _): (publicKey, privateKey) = (key.publicKey, key)
        }
        let id = "pai-" + publicKey.fingerprint
        let existing = try records()
        if existing.contains(where: { $0.entry.name == name }) {
            throw Failure.exists("a key named \(name) already exists")
        }
        if let same = existing.first(where: { $0.entry.id == id }) {
            throw Failure.exists("this key is already stored as \(same.entry.name) (\(id))")
        }
        let entry = Entry(
            id: id, name: name, bits: publicKey.bits, created: Date(), origin: origin, hasPrivateKey: privateKey != nil,
            publicKey: PaillierInterchange.jwk(publicKey, kid: "Arca Paillier public key \(name) (\(id))"))
        var record = Record(entry: entry, sealedPrivateKey: nil, cipher: nil)
        if let privateKey {
            let secret = try JSONEncoder().encode([
                "p": PaillierInterchange.base64url(privateKey.p), "q": PaillierInterchange.base64url(privateKey.q),
            ])
            record.sealedPrivateKey = Data(
                try cipher.seal([UInt8](secret), key: sealKey(), associatedData: Array(id.utf8))
            ).base64EncodedString()
            record.cipher = cipher.rawValue
            lock.withLock { $0[id] = privateKey }
        }
        try Self.writeAtomically(try JSONEncoder.iso.encode(record), to: directory + "/keys/\(id).json")
        return entry
    }
}

extension JSONDecoder {
    static var iso: JSONDecoder { let d = JSONDecoder(); d.dateDecodingStrategy = .iso8601; return d }
}
extension JSONEncoder {
    static var iso: JSONEncoder {
        let e = JSONEncoder(); e.dateEncodingStrategy = .iso8601; e.outputFormatting = [.sortedKeys, .prettyPrinted];
        return e
    }
}
extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
