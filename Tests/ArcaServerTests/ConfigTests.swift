import ArcaServer
import Foundation
import Testing

@Suite("arcad configuration")
struct ConfigTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func imageConfigIsTheEmbeddedDefaults() throws {
        let file = try String(contentsOf: Self.repository.appendingPathComponent("Image/etc/arca/arcad.toml"), encoding: .utf8)
        #expect(file == ArcadConfig.embeddedDefaults)
        let parsed = try ArcadConfig.load(file: Self.repository.appendingPathComponent("Image/etc/arca/arcad.toml").path)
        var defaults = ArcadConfig.defaults
        defaults.source = parsed.source
        #expect(parsed == defaults)
    }

    @Test func fileOverridesDefaultsKeyByKey() throws {
        let config = try ArcadConfig.parse("[log]\nlevel = \"debug\"\n[server]\nsocket = \"/tmp/x.sock\"\n", source: "t.toml", base: .defaults)
        #expect(config.logLevel == .debug && config.socketPath == "/tmp/x.sock")
        #expect(config.maxBodyBytes == ArcadConfig.defaults.maxBodyBytes)
    }

    @Test func jobAuditAndRoleKeys() throws {
        let config = try ArcadConfig.parse("[jobs]\nmax_running = 4\n[audit]\ndigest = \"sm3\"\ncheckpoint_every = 8\n[roles]\nview_group = \"ops\"\nadmin_group = \"ops-admin\"\n",
                                           source: "t.toml", base: .defaults)
        #expect(config.maxRunningJobs == 4 && config.auditDigest == .sm3 && config.auditCheckpointEvery == 8)
        #expect(config.viewGroup == "ops" && config.adminGroup == "ops-admin")
        #expect(ArcadConfig.defaults.viewGroup == "arca-view" && ArcadConfig.defaults.adminGroup == "arca-admin")
    }

    /// `[party] max_peer_items` (default 10^8) and a peer's own cap.
    @Test func maxPeerItemsGlobalAndPerPeer() throws {
        #expect(ArcadConfig.defaults.partyMaxPeerItems == 100_000_000)
        let text = """
            [party]
            max_peer_items = 5000
            [[party.peers]]
            name = "bank-b"
            address = "127.0.0.1:7443"
            certificate = "/etc/arca/peers/bank-b.pem"
            max_peer_items = 70
            [[party.peers]]
            name = "bank-c"
            address = "127.0.0.1:7444"
            certificate = "/etc/arca/peers/bank-c.pem"

            """
        let config = try ArcadConfig.parse(text, source: "t.toml", base: .defaults)
        #expect(config.partyMaxPeerItems == 5000)
        #expect(config.partyPeers.map(\.maxPeerItems) == [70, nil])
        let bad = try #require(throws: ConfigError.self) {
            try ArcadConfig.parse("[party]\nmax_peer_items = 0\n", source: "bad.toml", base: .defaults)
        }
        #expect("\(bad)".contains("party.max_peer_items"))
    }

    @Test(arguments: [
        ("[server]\nmax_body_bytes = \"big\"\n", "server.max_body_bytes", "expected an integer"),
        ("[server]\nmax_body_bytes = 12\n", "server.max_body_bytes", "between"),
        ("[log]\nlevel = \"loud\"\n", "log.level", "must be one of"),
        ("[server]\nsockte = \"/x\"\n", "server.sockte", "unknown key"),
        ("[state]\ndirectory = \"relative\"\n", "state.directory", "absolute"),
        ("log = 3\n", "log", "expected a table"),
        ("foo = 1\n", "foo", "unknown key"),
        ("[bogus]\n", "bogus", "unknown key"),
        ("[audit]\ndigest = \"md5\"\n", "audit.digest", "must be \"sha256\" or \"sm3\""),
        ("[audit]\ncheckpoint_every = 0\n", "audit.checkpoint_every", "between"),
        ("[audit]\nsignature = \"rsa\"\n", "audit.signature", "must be \"ed25519\" or \"sm2\""),
        ("[jobs]\nmax_running = 0\n", "jobs.max_running", "between"),
        ("[roles]\nview_group = \"Not A Group\"\n", "roles.view_group", "must be a group name"),
    ])
    func badValuesNameKeyAndReason(_ text: String, _ key: String, _ reason: String) throws {
        let error = try #require(throws: ConfigError.self) { try ArcadConfig.parse(text, source: "bad.toml", base: .defaults) }
        #expect(error.file == "bad.toml" && error.key == key)
        #expect(error.reason.contains(reason), "\(error)")
    }

    @Test func syntaxErrorNamesLine() throws {
        let error = try #require(throws: ConfigError.self) { try ArcadConfig.parse("[server]\nmax_body_bytes = = 3\n", source: "bad.toml", base: .defaults) }
        #expect(error.description.contains("bad.toml") && error.reason.contains("line 2"), "\(error)")
    }

    @Test(arguments: [("/nonexistent/arcad.toml", "no such file"), ("/tmp", "is a directory"), ("/dev/zero", "over 1 MiB")])
    func unusableFilesSayWhy(_ path: String, _ reason: String) {
        let error = #expect(throws: ConfigError.self) { try ArcadConfig.load(file: path) }
        #expect(error?.reason.contains(reason) == true, "\(String(describing: error))")
    }

    @Test func nonUTF8FileSaysSo() throws {
        let path = NSTemporaryDirectory() + "arca-latin1-\(UUID().uuidString).toml"
        try Data([0x5B, 0x6C, 0x6F, 0x67, 0x5D, 0x0A, 0xE9, 0xFF]).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let error = #expect(throws: ConfigError.self) { try ArcadConfig.load(file: path) }
        #expect(error?.reason == "is not UTF-8 text")
    }

    @Test func socketPathPrecedence() {
        var config = ArcadConfig.defaults
        #expect(ManagementSocket.resolvePath(flag: "/a", environment: ["ARCA_SOCKET": "/b"], config: config) == "/a")
        #expect(ManagementSocket.resolvePath(flag: nil, environment: ["ARCA_SOCKET": "/b"], config: config) == "/b")
        config.socketPath = "/c"
        #expect(ManagementSocket.resolvePath(flag: nil, environment: [:], config: config) == "/c")
        config.socketPath = nil
        let fallback = ManagementSocket.resolvePath(flag: nil, environment: ["XDG_RUNTIME_DIR": "/run/user/7"], config: config)
        #expect(fallback == (geteuid() == 0 ? "/run/arca/arcad.sock" : "/run/user/7/arca/arcad.sock"))
    }
}

@Suite("The image")
struct ImageTests {
    @Test func systemdUnitVerifies() throws {
        let analyze = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"].first { FileManager.default.isExecutableFile(atPath: $0) }
        try #require(analyze != nil, "systemd-analyze is not installed (make test installs the systemd package)")
        // The unit names /usr/bin/arcad; point it at a real executable so that verify checks the rest.
        let unit = try String(contentsOf: ConfigTests.repository.appendingPathComponent("Image/systemd/arcad.service"), encoding: .utf8)
        #expect(unit.contains("ProtectSystem=strict") && unit.contains("NoNewPrivileges=yes") && unit.contains("CapabilityBoundingSet=\n"))
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("arca-unit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("arcad.service")
        try unit.replacingOccurrences(of: "ExecStart=/usr/bin/arcad", with: "ExecStart=/bin/true")
            .write(to: path, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: analyze!)
        process.arguments = ["verify", "--man=no", path.path]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        process.waitUntilExit()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        // In a container without a running systemd, verify still parses the unit; only lines about
        // arcad.service count.
        let complaints = text.split(separator: "\n").filter { $0.contains("arcad.service") }
        #expect(complaints.isEmpty, "systemd-analyze verify: \(text)")
    }
}
