import ArcaAPI
import Foundation
import Testing

/// `arcactl he` against python-paillier 1.5.0 as the partner (`Peers/paillier_peer.py`), with the
/// real arcad. `make test` installs python-paillier from PyPI into `.build/python-peer` and points
/// `ARCA_TEST_PYTHON` at it.
@Suite("Paillier interop with python-paillier", .serialized)
struct PaillierInteropTests {
    static let peer = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
        "Peers/paillier_peer.py"
    ).path

    static var python: URL {
        URL(fileURLWithPath: ProcessInfo.processInfo.environment["ARCA_TEST_PYTHON"] ?? "/usr/bin/python3")
    }

    /// Runs the python-paillier peer; fails the test with its output when it fails.
    @discardableResult
    func peer(_ arguments: [String]) throws -> String {
        let result = try Harness.run(Self.python, [Self.peer] + arguments, timeout: 300)
        try #require(
            result.status == 0,
            """
            python-paillier peer \(arguments.first ?? "") failed (run `make test`, which installs phe 1.5.0): \
            \(result.stdout) \(result.stderr)
            """
        )
        return result.stdout
    }

    func he(_ daemon: Daemon, _ arguments: [String]) throws -> Harness.Result {
        try Harness.arcactl(["he"] + arguments + ["--socket", daemon.socket])
    }

    func expectOK(_ result: Harness.Result, _ what: String) {
        #expect(result.status == 0, "\(what): \(result.stderr)")
    }

    @Test func pythonEncryptsArcaComputesPythonDecryptsExactly() throws {
        let daemon = try Daemon()
        let dir = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try peer(["make", dir])
        // The partner's public key only: Arca computes on ciphertexts it cannot read.
        expectOK(try he(daemon, ["import-key", dir + "/pub.json", "--name", "partner"]), "import-key")
        expectOK(
            try he(
                daemon,
                [
                    "add", "--key", "partner", "--input", dir + "/a.json", "--input", dir + "/b.json", "--output",
                    dir + "/add.json",
                ]), "add")
        expectOK(
            try he(
                daemon,
                ["sum", "--key", "partner", "--input", dir + "/a-envelope.json", "--output", dir + "/sum.json"]),
            "sum")
        expectOK(
            try he(
                daemon,
                [
                    "scale", "--key", "partner", "--input", dir + "/a.json", "--scalars", dir + "/scalars.json",
                    "--output", dir + "/scaled.json", "--envelope",
                ]), "scale")
        #expect(try peer(["check", dir]).contains("ok"))
        // Decrypting needs the private key, which a public import does not give.
        let refused = try he(
            daemon, ["decrypt", "--key", "partner", "--input", dir + "/a.json", "--output", dir + "/no.json"])
        #expect(refused.status == 1 && refused.stderr.contains("no private key"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/no.json"))
    }

    @Test func keysMoveBothWays() throws {
        let daemon = try Daemon()
        let dir = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try peer(["make", dir])
        // A python-paillier private key imported into Arca: Arca encrypts, python-paillier decrypts, and back.
        expectOK(try he(daemon, ["import-key", dir + "/priv.json", "--name", "from-python"]), "import private key")
        try "[1, -2.5, 0, 123456789012345678901234567890, 1e-300, -1.7976931348623157e308, 0.1]\n".write(
            toFile: dir + "/values.json", atomically: true, encoding: .utf8)
        expectOK(
            try he(
                daemon,
                [
                    "encrypt", "--key", "from-python", "--input", dir + "/values.json", "--output",
                    dir + "/arca-ct.json",
                ]),
            "encrypt")
        // What python-paillier gives back for these values by itself (a float ≥ 2^53 or so returns as an int).
        try peer(["roundtrip", dir + "/values.json", dir + "/values-back.json"])
        try peer(["decrypt", dir + "/priv.json", dir + "/arca-ct.json", dir + "/python-pt.json"])
        try peer(["equal", dir + "/python-pt.json", dir + "/values-back.json"])
        // The DJN obfuscator's ciphertexts are ordinary Paillier ciphertexts to python-paillier.
        expectOK(
            try he(
                daemon,
                [
                    "encrypt", "--key", "from-python", "--obfuscator", "djn", "--input", dir + "/values.json",
                    "--output", dir + "/arca-djn.json",
                ]), "encrypt djn")
        try peer(["decrypt", dir + "/priv.json", dir + "/arca-djn.json", dir + "/python-djn.json"])
        try peer(["equal", dir + "/python-djn.json", dir + "/values-back.json"])
        expectOK(
            try he(
                daemon,
                ["decrypt", "--key", "from-python", "--input", dir + "/a.json", "--output", dir + "/arca-a.json"]),
            "decrypt python's")
        try peer(["decrypt", dir + "/priv.json", dir + "/a.json", dir + "/python-a.json"])
        try peer(["equal", dir + "/arca-a.json", dir + "/python-a.json"])

        // An Arca key exported to python-paillier: python encrypts under it, Arca decrypts.
        // A name with - _ . (once percent-encoded by arcactl and not found) and the key's id both export.
        expectOK(try he(daemon, ["keygen", "--bits", "2048", "--name", "arca_1.v-2"]), "keygen")
        let byName = try he(daemon, ["export-key", "arca_1.v-2"])
        expectOK(byName, "export-key by name")
        let keys = try JSONDecoder().decode(
            HEKeysResponse.self,
            from: Data(try Harness.arcactl(["he", "keys", "--json", "--socket", daemon.socket]).stdout.utf8))
        let id = try #require(keys.keys.first { $0.name == "arca_1.v-2" }?.id)
        let byId = try he(daemon, ["export-key", id])
        #expect(byId.status == 0 && byId.stdout == byName.stdout, "\(byId.stderr)")
        expectOK(try he(daemon, ["keygen", "--bits", "2048", "--name", "arca"]), "keygen")
        let exported = try he(daemon, ["export-key", "arca"])
        expectOK(exported, "export-key")
        try exported.stdout.write(toFile: dir + "/arca-pub.json", atomically: true, encoding: .utf8)
        #expect(exported.stdout.contains("\"kty\":\"DAJ\"") && exported.stdout.contains("\"alg\":\"PAI-GN1\""))
        try peer(["encrypt", dir + "/arca-pub.json", dir + "/values.json", dir + "/to-arca.json", "--envelope"])
        expectOK(
            try he(
                daemon, ["decrypt", "--key", "arca", "--input", dir + "/to-arca.json", "--output", dir + "/back.json"]),
            "decrypt")
        try peer(["equal", dir + "/back.json", dir + "/values-back.json"])
        let listed = try he(daemon, ["keys"])
        #expect(
            listed.stdout.contains("from-python") && listed.stdout.contains("arca") && !listed.stdout.contains("\"p\""))
    }

    @Test func badInputIsNamedAndNothingIsWritten() throws {
        let daemon = try Daemon()
        let dir = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try peer(["make", dir])
        expectOK(try he(daemon, ["import-key", dir + "/priv.json", "--name", "p1"]), "import")
        expectOK(try he(daemon, ["keygen", "--bits", "2048", "--name", "other"]), "keygen")
        let output = dir + "/out.json"
        try "earlier\n".write(toFile: output, atomically: true, encoding: .utf8)
        func refused(_ arguments: [String], _ exit: Int32, _ message: String) throws {
            let result = try he(daemon, arguments + ["--output", output])
            #expect(result.status == exit, "\(arguments): \(result.stderr)")
            #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1, "one line")
            #expect(try String(contentsOfFile: output, encoding: .utf8) == "earlier\n", "the output is untouched")
        }
        // An enveloped file under another key.
        try refused(
            ["sum", "--key", "other", "--input", dir + "/a-envelope.json"], 1,
            "a-envelope.json: the ciphertexts are under key")
        // A ciphertext ≥ n², and one that is not a unit mod n² (a multiple of p).
        try "[{\"v\": \"\(String(repeating: "9", count: 1300))\", \"e\": 0}]".write(
            toFile: dir + "/big.json", atomically: true, encoding: .utf8)
        try refused(
            ["decrypt", "--key", "p1", "--input", dir + "/big.json"], 1, "big.json[0]: ciphertext is not below n²")
        try "[{\"v\": \"1\", \"e\": 0}, {\"v\": \"0\", \"e\": 0}]".write(
            toFile: dir + "/zero.json", atomically: true, encoding: .utf8)
        try refused(
            ["decrypt", "--key", "p1", "--input", dir + "/zero.json"], 1,
            "zero.json[1]: ciphertext is not a unit mod n²")
        // A plaintext beyond max_int, malformed JSON (arcactl names the place), a bad number.
        try "[1, \(String(repeating: "7", count: 700))]".write(
            toFile: dir + "/huge.json", atomically: true, encoding: .utf8)
        try refused(["encrypt", "--key", "p1", "--input", dir + "/huge.json"], 1, "plaintexts[1]:")
        try "[1, 2,\n 3 4]".write(toFile: dir + "/broken.json", atomically: true, encoding: .utf8)
        try refused(
            ["encrypt", "--key", "p1", "--input", dir + "/broken.json"], 8,
            "broken.json: plaintexts: line 2 column 4: expected , or ]")
        try "[{\"v\": \"12\", \"e\": 0}, {\"v\": \"x1\", \"e\": 0}]".write(
            toFile: dir + "/notdecimal.json", atomically: true, encoding: .utf8)
        try refused(
            ["sum", "--key", "p1", "--input", dir + "/notdecimal.json"], 8,
            "notdecimal.json: [1].v: \"x1\" is not a non-negative decimal integer")
        try "[{\"v\": \"2\", \"e\": 0}]".write(toFile: dir + "/one.json", atomically: true, encoding: .utf8)
        try refused(
            ["add", "--key", "p1", "--input", dir + "/a.json", "--input", dir + "/one.json"], 1,
            "the two ciphertext arrays differ in length")
        try refused(
            ["decrypt", "--key", "nope", "--input", dir + "/a.json"], 1, "no Paillier key named or with id \"nope\"")
        // A decryption that overflows the encoding: max_int + max_int lands in (max_int, n − max_int).
        let maxInt = try peer(["maxint", dir + "/pub.json"]).trimmingCharacters(in: .whitespacesAndNewlines)
        try "[\(maxInt)]".write(toFile: dir + "/max.json", atomically: true, encoding: .utf8)
        expectOK(
            try he(daemon, ["encrypt", "--key", "p1", "--input", dir + "/max.json", "--output", dir + "/max-ct.json"]),
            "encrypt max_int")
        expectOK(
            try he(
                daemon,
                [
                    "add", "--key", "p1", "--input", dir + "/max-ct.json", "--input", dir + "/max-ct.json", "--output",
                    dir + "/overflowed.json",
                ]), "add")
        try refused(
            ["decrypt", "--key", "p1", "--input", dir + "/overflowed.json"], 1,
            "overflowed.json[0]: overflow detected in decrypted number")
        // A key record readable by others is refused, naming the file and its mode.
        let keys = daemon.directory + "/state/he/keys"
        let record = try #require(
            try FileManager.default.contentsOfDirectory(atPath: keys).first { $0.hasSuffix(".json") })
        chmod(keys + "/" + record, 0o644)
        try refused(["decrypt", "--key", "p1", "--input", dir + "/a.json"], 1, "has mode 0644; key files must be 0600")
        chmod(keys + "/" + record, 0o600)
        let decrypted = try he(
            daemon, ["decrypt", "--key", "p1", "--input", dir + "/a.json", "--output", dir + "/ok.json"])
        #expect(decrypted.status == 0, "the daemon kept serving: \(decrypted.stderr)")
    }
}
