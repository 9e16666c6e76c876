import ArcaAPI
import ArcaAccel
import ArcaCrypto
import ArcaTopology
import Foundation
import Testing

@testable import ArcaHE

/// Paillier against vectors python-paillier 1.5.0 made (`Vectors/make_vectors.py`), and Arca's own
/// properties: CRT and plain encryption agree, devices agree, bad input is named.
@Suite("Paillier", .serialized)
struct PaillierTests {
    nonisolated(unsafe) static let vectors: [String: Any] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "Vectors/paillier-vectors.json")
        return try! JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    }()
    static let key: PaillierPrivateKey = {
        let data = try! JSONSerialization.data(withJSONObject: vectors["privateKey"]!)
        guard case let .privateKey(key, _) = try! PaillierInterchange.readKey(data) else {
            fatalError("vector key is private")
        }
        return key
    }()
    /// One registry (PoCL self-tested once) for the whole suite.
    actor Shared {
        static let instance = Shared()
        var registry: DeviceRegistry?
        func get() async -> DeviceRegistry {
            if let registry { return registry }
            let made = await DeviceRegistry(
                inventory: DeviceInventory.discover(topology: Topology.fallback()), pool: nil, calibrate: false)
            registry = made
            return made
        }
    }
    let registry: DeviceRegistry
    init() async { registry = await Shared.instance.get() }

    var key: PaillierPrivateKey { Self.key }
    var publicKey: PaillierPublicKey { Self.key.publicKey }
    func engine(_ preferred: String? = "cpu") -> PaillierEngine {
        PaillierEngine(registry: registry, preferred: preferred)
    }

    func ciphertext(_ object: Any?) -> Ciphertext {
        let c = object as! [String: Any]
        return Ciphertext(value: BigNumber(decimal: c["v"] as! String)!, exponent: c["e"] as! Int)
    }
    func plain(_ literal: Any?) throws -> PlainNumber {
        try PlainNumber(jsonLiteral: literal as! String, item: "vector")
    }

    func decrypt(_ ciphertexts: [Ciphertext], _ engine: PaillierEngine) async throws -> [PlainNumber] {
        var report = PaillierEngine.Report()
        return try await engine.decrypt(ciphertexts, privateKey: key, report: &report).enumerated().map {
            try $1.decode(key: publicKey, item: "[\($0)]")
        }
    }

    @Test func encodingsEqualPythonPaillier() throws {
        for vector in Self.vectors["encodings"] as! [[String: Any]] {
            let encoded = try EncodedNumber.encode(try plain(vector["value"]), key: publicKey)
            #expect(encoded.encoding.description == vector["encoding"] as! String, "\(vector["value"]!)")
            #expect(encoded.exponent == vector["exponent"] as! Int, "\(vector["value"]!)")
            #expect(
                try encoded.decode(key: publicKey).jsonLiteral == plain(vector["decoded"]).jsonLiteral,
                "decode as python-paillier for \(vector["value"]!)")
        }
    }

    @Test func decryptsPythonCiphertexts() async throws {
        let vectors = Self.vectors["ciphertexts"] as! [[String: Any]]
        let decrypted = try await decrypt(vectors.map { ciphertext($0["ciphertext"]) }, engine())
        #expect(decrypted.map(\.jsonLiteral) == vectors.map { try! plain($0["plaintext"]).jsonLiteral })
    }

    @Test func addAddPlainScaleAndSumAsPythonPaillier() async throws {
        var report = PaillierEngine.Report()
        let adds = Self.vectors["add"] as! [[String: Any]]
        let added = try await engine().add(
            adds.map { ciphertext($0["a"]) }, adds.map { ciphertext($0["b"]) }, key: publicKey, report: &report)
        #expect(try await decrypt(added, engine()) == adds.map { try plain($0["sum"]) })

        let addPlain = Self.vectors["addPlain"] as! [[String: Any]]
        let plainAdded = try await engine().addPlain(
            addPlain.map { ciphertext($0["a"]) }, try addPlain.map { try plain($0["b"]) }, key: publicKey,
            report: &report)
        #expect(try await decrypt(plainAdded, engine()) == addPlain.map { try plain($0["sum"]) })

        let scales = Self.vectors["scale"] as! [[String: Any]]
        let scaled = try await engine().scale(
            scales.map { ciphertext($0["c"]) }, by: try scales.map { try plain($0["scalar"]) }, key: publicKey,
            report: &report)
        #expect(try await decrypt(scaled, engine()) == scales.map { try plain($0["product"]) })

        let sum = Self.vectors["sum"] as! [String: Any]
        let total = try await engine().sum(
            (sum["ciphertexts"] as! [Any]).map(ciphertext), key: publicKey, report: &report)
        #expect(try await decrypt([total], engine()) == [try plain(sum["total"])])
    }

    @Test func negateAndRerandomizeKeepThePlaintext() async throws {
        var report = PaillierEngine.Report()
        let values: [PlainNumber] = [PlainNumber(5), .float(-2.5), PlainNumber(0)]
        let encoded = try values.map { try EncodedNumber.encode($0, key: publicKey) }
        let c = try await engine().encrypt(encoded, key: publicKey, report: &report)
        let negated = try await engine().negate(c, key: publicKey, report: &report)
        #expect(try await decrypt(negated, engine()).map(\.jsonLiteral) == ["-5", "2.5", "0"])
        let fresh = try await engine().rerandomize(c, key: publicKey, privateKey: key, report: &report)
        #expect(zip(fresh, c).allSatisfy { $0.0.value != $0.1.value })
        #expect(try await decrypt(fresh, engine()) == values)
    }

    @Test func crtEncryptionEqualsPlainEncryptionForTheSameRandomness() async throws {
        var report = PaillierEngine.Report()
        let values = (0..<9).map { _ in PlainNumber(Int.random(in: -1_000_000...1_000_000)) }
        let encoded = try values.map { try EncodedNumber.encode($0, key: publicKey) }
        let r = try PaillierEngine.randomness(count: values.count, key: publicKey)
        let withCRT = try await engine().encrypt(
            encoded, key: publicKey, privateKey: key, randomness: r, report: &report)
        let plainly = try await engine().encrypt(encoded, key: publicKey, randomness: r, report: &report)
        #expect(withCRT == plainly)
        #expect(try await decrypt(withCRT, engine()) == values)
    }

    @Test func openCLDeviceAndCPUGiveIdenticalCiphertextsForTheSameRandomness() async throws {
        let (id, health) = try #require(registry.healthByDevice.first, "no OpenCL device")
        try #require(health.status == .ok, "\(health.reason ?? "")")
        let values = (0..<12).map { i in i % 2 == 0 ? PlainNumber(i * 1_000_003 - 5) : .float(Double(i) / 7) }
        let encoded = try values.map { try EncodedNumber.encode($0, key: publicKey) }
        let r = try PaillierEngine.randomness(count: values.count, key: publicKey)
        var onDevice = PaillierEngine.Report(), onCPU = PaillierEngine.Report()
        for privateKey in [nil, key] {
            let a = try await engine(id).encrypt(
                encoded, key: publicKey, privateKey: privateKey, randomness: r, report: &onDevice)
            let b = try await engine("cpu").encrypt(
                encoded, key: publicKey, privateKey: privateKey, randomness: r, report: &onCPU)
            #expect(a == b)
            #expect(try await decrypt(a, engine(id)) == values)
        }
        #expect(onDevice.devices == [id] && onDevice.fallbacks.isEmpty)
        #expect(onCPU.devices == ["cpu"])
        var report = PaillierEngine.Report()
        let scalars = values.indices.map { PlainNumber($0 - 6) }
        let c = try await engine("cpu").encrypt(encoded, key: publicKey, randomness: r, report: &report)
        let scaledOnDevice = try await engine(id).scale(c, by: scalars, key: publicKey, report: &report)
        let scaledOnCPU = try await engine("cpu").scale(c, by: scalars, key: publicKey, report: &report)
        #expect(scaledOnDevice == scaledOnCPU)
    }

    @Test func fixedBaseTableEqualsModexp() throws {
        let modulus = publicKey.nSquare
        let base = try BigNumber(randomBelow: modulus)
        let table = FixedBaseExponentiation(base: base, modulus: modulus, exponentBits: 515, window: 4)
        for exponent in [
            BigNumber(0), BigNumber(1), BigNumber(15), BigNumber(16), BigNumber(1).shiftedLeft(514),
            try BigNumber(randomBits: 515), try BigNumber(randomBits: 300),
        ] {
            #expect(table.power(exponent) == (try BigNumber.modExpConstantTime(base, exponent, modulus)), "\(exponent)")
        }
    }

    @Test func djnCiphertextsDecryptAndAgreeAcrossDevicesAndCRT() async throws {
        let values = (0..<10).map { i in i % 3 == 0 ? PlainNumber(i * 7919 - 40) : .float(Double(i) * -0.375) }
        let encoded = try values.map { try EncodedNumber.encode($0, key: publicKey) }
        let withPrivate = try DJNObfuscator(key: publicKey, privateKey: key)
        let publicOnly = try DJNObfuscator(key: publicKey, hs: withPrivate.hs)
        #expect(withPrivate.exponentBits == 512)
        let a = try withPrivate.exponents(values.count)
        #expect(a.allSatisfy { $0.bitCount <= 512 })
        var report = PaillierEngine.Report()
        let tableCRT = try await engine("cpu").encrypt(encoded, djn: withPrivate, exponents: a, report: &report)
        let tablePublic = try await engine("cpu").encrypt(encoded, djn: publicOnly, exponents: a, report: &report)
        #expect(tableCRT == tablePublic)
        #expect(try await decrypt(tableCRT, engine()) == values)
        if let (id, health) = registry.healthByDevice.first, health.status == .ok {
            var onDevice = PaillierEngine.Report()
            #expect(
                try await engine(id).encrypt(encoded, djn: withPrivate, exponents: a, report: &onDevice) == tableCRT)
            #expect(try await engine(id).encrypt(encoded, djn: publicOnly, exponents: a, report: &onDevice) == tableCRT)
            #expect(onDevice.devices == [id])
        }
        // Fresh exponents: different ciphertexts, same plaintexts.
        let fresh = try await engine().encrypt(encoded, djn: withPrivate, report: &report)
        #expect(fresh != tableCRT)
        #expect(try await decrypt(fresh, engine()) == values)
    }

    @Test func badCiphertextsAreNamed() async throws {
        var report = PaillierEngine.Report()
        let good = ciphertext((Self.vectors["ciphertexts"] as! [[String: Any]])[0]["ciphertext"])
        let tooLarge = Ciphertext(value: publicKey.nSquare, exponent: 0)
        let notBelow = HEError("ciphertexts[1]", "ciphertext is not below n² of key \(publicKey.fingerprint)")
        await #expect(throws: notBelow) {
            _ = try await engine().decrypt([good, tooLarge], privateKey: key, report: &report)
        }
        let notUnit = Ciphertext(value: key.p * BigNumber(3), exponent: 0)
        await #expect(throws: HEError("second[0]", "ciphertext is not a unit mod n² (shares a factor with n)")) {
            _ = try await engine().add([good], [notUnit], key: publicKey, report: &report)
        }
        let overflow = ciphertext(Self.vectors["overflow"])
        let encoding = try await engine().decrypt([overflow], privateKey: key, report: &report)[0]
        #expect(
            throws: HEError("[0]", "overflow detected in decrypted number (encoding between max_int and n - max_int)")
        ) {
            _ = try encoding.decode(key: publicKey, item: "[0]")
        }
        let gap = (Self.vectors["alignmentOverflow"] as! [Any]).map(ciphertext)
        await #expect(throws: HEError.self) {
            _ = try await engine().add([gap[0]], [gap[1]], key: publicKey, report: &report)
        }
    }

    @Test func plaintextsBeyondMaxIntAndOutOfRangeFloatsAreRefused() throws {
        let beyond = PlainNumber.integer(negative: true, magnitude: publicKey.maxInt + BigNumber(1))
        #expect(throws: HEError.self) { _ = try EncodedNumber.encode(beyond, key: publicKey, item: "[4]") }
        #expect(throws: HEError("[0]", "1e400 is beyond a double's range")) {
            _ = try PlainNumber(jsonLiteral: "1e400", item: "[0]")
        }
        let tooLargeForAFloat = EncodedNumber(encoding: publicKey.maxInt, exponent: -1)
        #expect(
            try tooLargeForAFloat.decode(key: publicKey)
                == .float(try EncodedNumber.roundedDouble(publicKey.maxInt, binaryExponent: -4, item: "")))
        #expect(throws: HEError("x", "decoded result too large for a float")) {
            _ = try EncodedNumber.roundedDouble(BigNumber(1).shiftedLeft(1020), binaryExponent: 4, item: "x")
        }
    }

    @Test func roundedDoubleMatchesCorrectRounding() throws {
        // Exact binary fractions and ties: 2^53 + 1 rounds to even (2^53), 2^53 + 3 rounds up.
        let twoTo53 = BigNumber(1).shiftedLeft(53)
        #expect(
            try EncodedNumber.roundedDouble(twoTo53 + BigNumber(1), binaryExponent: 0, item: "") == 9007199254740992)
        #expect(
            try EncodedNumber.roundedDouble(twoTo53 + BigNumber(3), binaryExponent: 0, item: "") == 9007199254740996)
        // The smallest subnormal, half of it (ties to even → 0) and just above half.
        #expect(
            try EncodedNumber.roundedDouble(BigNumber(1), binaryExponent: -1074, item: "") == .leastNonzeroMagnitude)
        #expect(try EncodedNumber.roundedDouble(BigNumber(1), binaryExponent: -1075, item: "") == 0)
        #expect(
            try EncodedNumber.roundedDouble(BigNumber(3), binaryExponent: -1076, item: "") == .leastNonzeroMagnitude)
        for _ in 0..<200 {
            let x = Double.random(in: -1e6...1e6) * pow(2, Double(Int.random(in: -1000...900)))
            let encoded = try EncodedNumber.encode(.float(x), key: publicKey)
            switch try encoded.decode(key: publicKey) {
            case let .float(y): #expect(y == x)
            case let .integer(negative, magnitude):  // exponent ≥ 0: python-paillier gives back an int
                #expect(encoded.exponent >= 0 && negative == (x < 0) && Double(magnitude.description)! == x.magnitude)
            }
        }
    }

    @Test func interchangeFormatsRoundTripAndNameTheBadItem() throws {
        let c = [WireCiphertext(v: "12345", e: -3), WireCiphertext(v: "7", e: 0)]
        let bare = HEFiles.ciphertextFile(c)
        #expect(String(decoding: bare, as: UTF8.self) == "[{\"v\": \"12345\", \"e\": -3}, {\"v\": \"7\", \"e\": 0}]\n")
        #expect(try HEFiles.readCiphertexts(bare).ciphertexts == c)
        let jwk = PaillierInterchange.jwk(publicKey, kid: "k")
        let read = try HEFiles.readCiphertexts(HEFiles.ciphertextFile(c, envelope: jwk))
        #expect(read.ciphertexts == c && read.publicKey == jwk)
        #expect(try PaillierInterchange.publicKey(read.publicKey!) == publicKey)
        #expect(throws: HEFiles.FormatError("[1].v", "\"-7\" is not a non-negative decimal integer")) {
            _ = try HEFiles.readCiphertexts(Data("[{\"v\": \"1\", \"e\": 0}, {\"v\": \"-7\", \"e\": 0}]".utf8))
        }
        #expect(throws: HEFiles.FormatError.self) { _ = try HEFiles.readCiphertexts(Data("[{\"v\": \"1\"".utf8)) }
        let literals = try HEFiles.plaintextLiterals(
            Data("[1, -2.5e3,\n 123456789012345678901234567890, -0.0, 0]".utf8))
        let numbers = try literals.map { try PlainNumber(jsonLiteral: $0, item: "x") }
        #expect(numbers.map(\.jsonLiteral) == ["1", "-2500.0", "123456789012345678901234567890", "-0.0", "0"])
        #expect(throws: HEFiles.FormatError("[1]", "01 is not a JSON number (line 2)")) {
            _ = try HEFiles.plaintextLiterals(Data("[1,\n01]".utf8))
        }
        #expect(throws: HEFiles.FormatError("plaintexts", "line 1 column 4: expected , or ]")) {
            _ = try HEFiles.plaintextLiterals(Data("[1 2]".utf8))
        }
        #expect(throws: HEFiles.FormatError("plaintexts", "line 1 column 1: expected a JSON array of numbers")) {
            _ = try HEFiles.plaintextLiterals(Data("{}".utf8))
        }
        #expect(throws: HEFiles.FormatError("[0]", "true is not a JSON number (line 1)")) {
            _ = try HEFiles.plaintextLiterals(Data("[true]".utf8))
        }
    }

    @Test func keyStoreSealsPrivateKeysAndRefusesOpenFiles() throws {
        let directory = NSTemporaryDirectory() + "arca-he-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try PaillierKeyStore(directory: directory)
        let entry = try store.importKey(.privateKey(key, kid: nil), name: "bank")
        #expect(entry.hasPrivateKey && entry.bits == 1024 && entry.id == "pai-" + publicKey.fingerprint)
        let file = directory + "/keys/\(entry.id).json"
        let text = try String(contentsOfFile: file, encoding: .utf8)
        #expect(!text.contains(PaillierInterchange.base64url(key.p)), "p is not stored in the clear")
        #expect((try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int) == 0o600)
        // A second store over the same directory (a restarted arcad) unseals the key.
        let reopened = try PaillierKeyStore(directory: directory)
        #expect(try reopened.privateKey("bank").p == key.p)
        #expect(throws: PaillierKeyStore.Failure.self) {
            _ = try reopened.importKey(.publicKey(publicKey, kid: nil), name: "again")
        }
        chmod(file, 0o644)
        #expect(throws: PaillierKeyStore.Failure.self) {
            _ = try PaillierKeyStore(directory: directory).privateKey("bank")
        }
        chmod(file, 0o600)
        // A seal key from elsewhere does not open the record.
        try Data(try SecureRandom.bytes(32)).write(to: URL(fileURLWithPath: directory + "/seal.key"))
        chmod(directory + "/seal.key", 0o600)
        #expect(throws: PaillierKeyStore.Failure.self) {
            _ = try PaillierKeyStore(directory: directory).privateKey("bank")
        }
    }

    @Test func generatedKeysHaveTheAskedSizeAndWork() async throws {
        let generated = try PaillierPrivateKey.generate(bits: 1024)
        #expect(generated.publicKey.bits == 1024 && generated.p.bitCount == 512 && generated.q.bitCount == 512)
        var report = PaillierEngine.Report()
        let c = try await engine().encrypt(
            [try EncodedNumber.encode(.float(-0.125), key: generated.publicKey)], key: generated.publicKey,
            privateKey: generated, report: &report)
        let m = try await engine().decrypt(c, privateKey: generated, report: &report)
        #expect(try m[0].decode(key: generated.publicKey) == .float(-0.125))
    }
}
