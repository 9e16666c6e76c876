import ArcaAPI
import ArcaTopology
import Foundation
import Testing

/// The real arcad on a temporary socket, driven by the real arcactl and by raw HTTP.
@Suite("arcad and arcactl end to end", .serialized)
struct DaemonTests {
    func decode<T: Decodable>(_ type: T.Type, _ result: Harness.Result) throws -> T {
        #expect(result.status == 0, "arcactl failed: \(result.stderr)")
        return try JSONDecoder().decode(T.self, from: Data(result.stdout.utf8))
    }

    @Test func statusTopologyDevicesThroughArcactl() throws {
        let daemon = try Daemon(isolatedState: false)
        let status = try decode(StatusResponse.self, Harness.arcactl(["status", "--json", "--socket", daemon.socket]))
        #expect(status.apiVersion == 1 && status.pid == Int(daemon.process.processIdentifier))
        #expect(status.configSource == "embedded defaults" && status.socketPath == daemon.socket)

        let topology = try decode(
            TopologyResponse.self, Harness.arcactl(["topology", "--json"], environment: ["ARCA_SOCKET": daemon.socket]))
        let node0 = try #require(topology.numaNodes.first { $0.osIndex == 0 })
        let online = sysconf(Int32(_SC_NPROCESSORS_ONLN))
        #expect(topology.numaNodes.flatMap(\.pus).count == online)
        #expect(node0.pus.contains(0))

        let devices = try decode(
            DevicesResponse.self, Harness.arcactl(["devices", "--json", "--socket", daemon.socket]))
        #expect(devices.devices.contains { $0.id == "cpu" && $0.backend == "cpu" && $0.type == "cpu" })
        // make test installs PoCL: its CPU device must be found through the real ICD loader.
        let pocl = try #require(devices.devices.first { $0.backend == "opencl" }, "no OpenCL device: \(devices.notes)")
        #expect(pocl.type == "cpu" && pocl.platform != nil && (pocl.computeUnits ?? 0) > 0)

        // The tables for people carry the same facts.
        let table = try Harness.arcactl(["devices", "--socket", daemon.socket])
        #expect(table.status == 0 && table.stdout.contains(pocl.id) && table.stdout.contains("cpu"))
        let status2 = try Harness.arcactl(["status", "--socket", daemon.socket])
        #expect(
            status2.stdout.contains("API v1") && status2.stdout.contains("health")
                && status2.stdout.contains("EXECUTOR"))
        // One executor per node, its threads bound, and the plan served beside the topology.
        #expect(status.executors.map(\.numaNode) == topology.plan.executors.map(\.numaNode))
        #expect(status.executors.allSatisfy { $0.bound && $0.queueCapacity == 1024 })
        #expect(topology.plan.policy == "best-effort")
        #expect(topology.plan.entries.contains { $0.workloadClass == "he" && $0.device == pocl.id })
        #expect(daemon.stop() == 0)
    }

    @Test(.enabled(if: sysconf(Int32(_SC_NPROCESSORS_ONLN)) >= 2, "needs two PUs"))
    func managementKeepsTheReservedCoreAndExecutorsTheRest() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = directory + "/arcad.toml"
        try "[placement]\nreserved_cores = 1\n".write(toFile: config, atomically: true, encoding: .utf8)
        let daemon = try Daemon(arguments: ["--config", config])
        let topology = try decode(
            TopologyResponse.self, Harness.arcactl(["topology", "--json", "--socket", daemon.socket]))
        let reserved = topology.plan.reservedPus
        #expect(!reserved.isEmpty)
        // Ask the kernel, thread by thread, through /proc.
        let tasks = "/proc/\(daemon.process.processIdentifier)/task"
        var executorThreads = 0, otherThreads = 0
        for tid in try FileManager.default.contentsOfDirectory(atPath: tasks) {
            let name =
                (try? String(contentsOfFile: "\(tasks)/\(tid)/comm", encoding: .utf8))?.trimmingCharacters(
                    in: .whitespacesAndNewlines) ?? ""
            let status = try String(contentsOfFile: "\(tasks)/\(tid)/status", encoding: .utf8)
            let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("Cpus_allowed_list:") })
            let affinity = parseCPUList(String(line.dropFirst("Cpus_allowed_list:".count)))
            if name.hasPrefix("arca-node") {
                executorThreads += 1
                #expect(
                    Set(affinity).isDisjoint(with: reserved),
                    "executor thread \(name) runs off the reserved core: \(affinity)")
            } else {
                otherThreads += 1
                #expect(affinity == reserved, "thread \(name) (\(tid)) keeps the reserved core: \(affinity)")
            }
        }
        #expect(executorThreads > 0 && otherThreads > 0)
        #expect(daemon.stop() == 0)
    }

    @Test func benchReportsPoCLAndTheCPUFallbackSideBySide() throws {
        let state = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: state) }
        try "[state]\ndirectory = \"\(state)\"\n".write(
            toFile: state + "/arcad.toml", atomically: true, encoding: .utf8)
        let daemon = try Daemon(arguments: ["--config", state + "/arcad.toml"])
        let ntt = try decode(
            BenchResponse.self,
            Harness.arcactl([
                "bench", "--op", "ntt", "--degree", "2048", "--batch", "2", "--repetitions", "2", "--json", "--socket",
                daemon.socket,
            ]))
        #expect(ntt.results.map(\.backend) == ["opencl", "cpu"])
        #expect(ntt.results.allSatisfy { $0.perSecond > 0 && $0.fallback == nil })
        let modexp = try decode(
            BenchResponse.self,
            Harness.arcactl([
                "bench", "--op", "modexp", "--modulus-bits", "1024", "--batch", "2", "--repetitions", "1", "--json",
                "--socket", daemon.socket,
            ]))
        #expect(modexp.results.count == 2 && (modexp.openSSLSingleThreadPerSecond ?? 0) > 0)
        let table = try Harness.arcactl([
            "bench", "--op", "modexp", "--modulus-bits", "1024", "--batch", "1", "--repetitions", "1", "--socket",
            daemon.socket,
        ])
        #expect(table.status == 0 && table.stdout.contains("OpenSSL single thread"))
        // Kept runs, and a comparison with one of them.
        #expect(ntt.saved && modexp.saved)
        let history = try decode(
            BenchHistoryResponse.self, Harness.arcactl(["bench", "--history", "--json", "--socket", daemon.socket]))
        #expect(history.runs.map(\.id).suffix(3).first == ntt.id)
        let compared = try Harness.arcactl(["bench", "--compare", ntt.id, "--socket", daemon.socket])
        #expect(
            compared.status == 0 && compared.stdout.contains("against \(ntt.id)")
                && compared.stdout.contains("NOW/THEN"), "\(compared.stderr)")
        let unknown = try Harness.arcactl(["bench", "--compare", "nosuchid", "--socket", daemon.socket])
        #expect(unknown.status == 8)
        #expect(daemon.stop() == 0)
    }

    @Test func jsonIntoAReaderThatGoesAwayEndsQuietly() throws {
        let daemon = try Daemon()
        let process = Process()
        process.executableURL = try Harness.executable("arcactl")
        process.arguments = ["devices", "--json", "--socket", daemon.socket]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try pipe.fileHandleForReading.close()  // like `| head -c 0`
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationReason == .exit && process.terminationStatus == 0, "no crash on a broken pipe")
        #expect(daemon.stop() == 0)
    }

    @Test func withoutOpenCLOnlyTheCPUFallbackAndStatusSaysWhy() throws {
        let empty = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: empty) }
        let daemon = try Daemon(environment: ["OCL_ICD_VENDORS": empty, "OPENCL_VENDOR_PATH": empty])
        let devices = try decode(
            DevicesResponse.self, Harness.arcactl(["devices", "--json", "--socket", daemon.socket]))
        #expect(devices.devices.map(\.id) == ["cpu"])
        let status = try decode(StatusResponse.self, Harness.arcactl(["status", "--json", "--socket", daemon.socket]))
        #expect(status.health.status == "degraded")
        #expect(status.health.messages.contains { $0.contains("no OpenCL platform") })
        #expect(daemon.stop() == 0)
    }

    @Test func secondDaemonOnTheSameSocketIsRefusedAndTheFirstKeepsServing() throws {
        let daemon = try Daemon()
        let second = try Harness.run(Harness.executable("arcad"), ["--socket", daemon.socket], timeout: 30)
        #expect(second.status == 1)
        #expect(second.stderr.contains("another arcad is already serving"), "\(second.stderr)")
        let status = try decode(StatusResponse.self, Harness.arcactl(["status", "--json", "--socket", daemon.socket]))
        #expect(status.pid == Int(daemon.process.processIdentifier))
        #expect(daemon.stop() == 0)
    }

    @Test func liveDaemonWhoseLockFileWasRemovedIsNotDisplaced() throws {
        let daemon = try Daemon()
        try FileManager.default.removeItem(atPath: daemon.socket + ".lock")  // a tmp cleaner
        let second = try Harness.run(Harness.executable("arcad"), ["--socket", daemon.socket], timeout: 30)
        #expect(second.status == 1 && second.stderr.contains("something is listening"), "\(second.stderr)")
        let status = try decode(StatusResponse.self, Harness.arcactl(["status", "--json", "--socket", daemon.socket]))
        #expect(status.pid == Int(daemon.process.processIdentifier))
        #expect(daemon.stop() == 0)
    }

    @Test func relativeSocketPathIsMadeAbsoluteAndSIGHUPIsIgnored() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let process = Process()
        process.executableURL = try Harness.executable("arcad")
        process.arguments = ["--socket", "rel.sock"]
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() } }
        let socket = directory + "/rel.sock"
        var status: StatusResponse?
        for _ in 0..<300 where status == nil {
            let result = try Harness.arcactl(["status", "--json", "--socket", socket, "--timeout", "2"])
            if result.status == 0 {
                status = try JSONDecoder().decode(StatusResponse.self, from: Data(result.stdout.utf8))
            } else {
                usleep(100_000)
            }
        }
        #expect(status?.socketPath == socket)
        kill(process.processIdentifier, SIGHUP)
        kill(process.processIdentifier, SIGUSR2)
        usleep(300_000)
        #expect(process.isRunning, "SIGHUP and SIGUSR2 do not stop arcad")
        let head = try RawHTTP.exchange(socket, "HEAD /v1/status HTTP/1.1\r\nHost: l\r\n\r\n")
        #expect(head.status == 200, "HEAD is answered wherever GET is")
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        #expect(
            process.terminationStatus == 0 && process.terminationReason == .exit, "and SIGTERM still stops it cleanly")
    }

    @Test func staleSocketOfAKilledDaemonIsReplaced() throws {
        let first = try Daemon()
        kill(first.process.processIdentifier, SIGKILL)
        first.process.waitUntilExit()
        #expect(FileManager.default.fileExists(atPath: first.socket), "SIGKILL leaves the socket behind")
        let notRunning = try Harness.arcactl(["status", "--socket", first.socket])
        #expect(notRunning.status == 3 && notRunning.stderr.contains("not running"), "\(notRunning.stderr)")
        let second = try Daemon(socket: first.socket)
        let status = try decode(StatusResponse.self, Harness.arcactl(["status", "--json", "--socket", first.socket]))
        #expect(status.pid == Int(second.process.processIdentifier))
        #expect(second.stop() == 0)
    }

    @Test func sigtermFinishesInFlightRequestRemovesSocketAndExitsZero() throws {
        let daemon = try Daemon()
        var info = stat()
        #expect(stat(daemon.socket, &info) == 0 && info.st_mode & 0o777 == 0o660, "socket mode is 0660")
        // A request whose body is still arriving when SIGTERM comes must still be answered.
        let connection = try RawHTTP.connect(daemon.socket)
        defer { close(connection) }
        let body = #"{"level":"debug"}"#
        RawHTTP.send(
            connection,
            Array(
                """
                PUT /v1/logging HTTP/1.1\r\nHost: l\r\nContent-Type: application/json\r\nContent-Length: \
                \(body.utf8.count)\r\n\r\n{\"lev
                """
                .utf8))
        usleep(300_000)
        kill(daemon.process.processIdentifier, SIGTERM)
        usleep(300_000)
        RawHTTP.send(connection, Array(body.utf8.dropFirst(5)))
        let response = RawHTTP.receive(connection)
        #expect(response.status == 200, "in-flight request: \(response)")
        daemon.process.waitUntilExit()
        #expect(daemon.process.terminationStatus == 0)
        #expect(!FileManager.default.fileExists(atPath: daemon.socket), "socket removed on shutdown")
    }

    @Test func badRequestsGetJSONErrorsAndTheDaemonKeepsServing() throws {
        let daemon = try Daemon()
        let cases: [(String, Int, String)] = [
            ("GET /v1/nowhere HTTP/1.1\r\nHost: l\r\n\r\n", 404, "notFound"),
            ("POST /v1/status HTTP/1.1\r\nHost: l\r\nContent-Length: 0\r\n\r\n", 405, "methodNotAllowed"),
            ("PUT /v1/logging HTTP/1.1\r\nHost: l\r\nContent-Length: 5\r\n\r\n{nope", 400, "badRequest"),
            ("PUT /v1/logging HTTP/1.1\r\nHost: l\r\nContent-Length: 99999999\r\n\r\n{", 413, "payloadTooLarge"),
        ]
        for (request, status, code) in cases {
            let response = try RawHTTP.exchange(daemon.socket, request)
            #expect(response.status == status, "\(request): \(response)")
            let error = try JSONDecoder().decode(ErrorResponse.self, from: Data(response.body.utf8))
            #expect(error.error.code == code)
        }
        // A chunked body over the limit, and bytes that are not HTTP at all.
        let chunk = String(repeating: "x", count: 600_000)
        let chunked =
            "PUT /v1/logging HTTP/1.1\r\nHost: l\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "\(String(chunk.utf8.count, radix: 16))\r\n\(chunk)\r\n"
            + "\(String(chunk.utf8.count, radix: 16))\r\n\(chunk)\r\n0\r\n\r\n"
        #expect(try RawHTTP.exchange(daemon.socket, chunked).status == 413)
        _ = try? RawHTTP.exchange(daemon.socket, "\u{1}\u{2}garbage\r\n\r\n")
        let status = try decode(StatusResponse.self, Harness.arcactl(["status", "--json", "--socket", daemon.socket]))
        #expect(status.pid == Int(daemon.process.processIdentifier))
        #expect(daemon.stop() == 0)
    }

    @Test func silentConnectionsAreClosedAfterTheIdleTimeout() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = directory + "/arcad.toml"
        try "[server]\nidle_timeout_seconds = 1\n".write(toFile: config, atomically: true, encoding: .utf8)
        let daemon = try Daemon(arguments: ["--config", config])
        let held = try (0..<50).map { _ in try RawHTTP.connect(daemon.socket) }
        for connection in held {
            RawHTTP.send(connection, Array("PUT /v1/logging HTTP/1.1\r\nHost: l\r\nContent-Length: 50\r\n\r\n{".utf8))
        }
        usleep(2_500_000)
        var buffer = [UInt8](repeating: 0, count: 4096)
        var closed = 0
        for connection in held {
            var drained = false
            while !drained {
                let count = read(connection, &buffer, buffer.count);
                if count <= 0 { drained = true; if count == 0 { closed += 1 } }
            }
            close(connection)
        }
        #expect(closed == held.count, "every silent connection was closed by arcad")
        #expect(try Harness.arcactl(["status", "--socket", daemon.socket]).status == 0)
        #expect(daemon.stop() == 0)
    }

    @Test func badConfigStopsTheStartWithFileKeyAndReason() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = directory + "/arcad.toml"
        try "[server]\nmax_body_bytes = \"lots\"\n".write(toFile: config, atomically: true, encoding: .utf8)
        let result = try Harness.run(
            Harness.executable("arcad"), ["--config", config, "--socket", directory + "/s.sock"], timeout: 30)
        #expect(result.status == 2)
        #expect(result.stderr.contains(config) && result.stderr.contains("server.max_body_bytes"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: directory + "/s.sock"))
    }

    @Test func checkConfigPrintsEveryValueAndWarnsAboutAnEmptyPlan() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = directory + "/arcad.toml"
        try "[placement]\nexclude_nodes = [0, 99]\n[executors]\nwhen_full = \"reject\"\n".write(
            toFile: config, atomically: true, encoding: .utf8)
        let result = try Harness.run(
            Harness.executable("arcad"), ["--check-config", "--config", config, "--socket", directory + "/s.sock"])
        #expect(result.status == 0)
        #expect(
            result.stdout.contains("placement.exclude_nodes = [0, 99]")
                && result.stdout.contains("executors.when_full = reject"))
        #expect(
            result.stdout.contains("warning: no usable NUMA node")
                && result.stdout.contains("warning: node 99 does not exist"))
    }

    @Test func configFileIsReportedAsTheSource() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let config = directory + "/arcad.toml"
        try "[log]\nlevel = \"warning\"\n".write(toFile: config, atomically: true, encoding: .utf8)
        let daemon = try Daemon(arguments: ["--config", config])
        let status = try decode(StatusResponse.self, Harness.arcactl(["status", "--json", "--socket", daemon.socket]))
        #expect(status.configSource == config)
        let level = try decode(
            LoggingSettings.self, Harness.arcactl(["log-level", "--json", "--socket", daemon.socket]))
        #expect(level.level == "warning")
        #expect(daemon.stop() == 0)
    }
}

/// `arcactl topology --input`: planning a machine from its hwloc XML, with no daemon.
@Suite("arcactl topology --input")
struct TopologyInputTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("ArcaTopologyTests/Topologies")

    @Test func plansAnXMLFileWithoutADaemon() throws {
        // A file the tests never saw: this machine's own topology, exported by hwloc's lstopo.
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let xml = directory + "/this-machine.xml"
        let export = try Harness.run(
            URL(fileURLWithPath: "/usr/bin/lstopo-no-graphics"), ["--of", "xml", "--force", xml])
        try #require(export.status == 0, "lstopo: \(export.stderr)")
        let result = try Harness.arcactl(
            ["topology", "--input", xml, "--json"], environment: ["ARCA_SOCKET": directory + "/none.sock"])
        #expect(result.status == 0, "\(result.stderr)")
        let topology = try JSONDecoder().decode(TopologyResponse.self, from: Data(result.stdout.utf8))
        #expect(topology.source == "xml")
        #expect(!topology.plan.executors.isEmpty)
        #expect(topology.plan.entries.contains { $0.workloadClass == "cpu" && !$0.pus.isEmpty })
    }

    @Test func planKeyNamesDevicesByPCIBusId() throws {
        let xml = Self.fixtures.appendingPathComponent("epyc-nps4-8node.xml").path
        let result = try Harness.arcactl([
            "topology", "--input", xml, "--json", "--party-interface", "ens2f0", "--reserved-cores", "0",
        ])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let plan = try #require(json["plan"] as? [String: Any])
        let entries = try #require(plan["entries"] as? [[String: Any]])
        let gpu = try #require(entries.first { $0["device"] as? String == "0000:c1:00.0" })
        #expect(
            gpu["workloadClass"] as? String == "he" && gpu["numaNode"] as? Int == 2
                && gpu["pus"] as? [Int] == Array(16..<24))
        let nic = try #require(entries.first { $0["workloadClass"] as? String == "mpc" })
        #expect(nic["device"] as? String == "0000:21:00.0" && nic["numaNode"] as? Int == 1)
        let table = try Harness.arcactl(["topology", "--input", xml])
        #expect(table.status == 0 && table.stdout.contains("Placement plan") && table.stdout.contains("0000:a1:00.0"))
    }

    @Test func aFileThatIsNotHwlocXMLFailsWithFileAndReason() throws {
        for input in [Self.fixtures.appendingPathComponent("README.md").path, "/nonexistent/machine.xml"] {
            let result = try Harness.arcactl(["topology", "--input", input])
            #expect(result.status == 8, "\(result.stderr)")
            #expect(result.stderr.contains(input) && result.stderr.split(separator: "\n").count == 1)
        }
    }
}

/// What arcactl says when it cannot get an answer: one line, a documented exit code, no hang.
@Suite("arcactl failures", .serialized)
struct ArcactlFailureTests {
    @Test func noDaemon() throws {
        let result = try Harness.arcactl([
            "status", "--socket", "/tmp/arca-nonexistent-\(UUID().uuidString.prefix(6)).sock",
        ])
        #expect(result.status == 3)
        #expect(result.stderr.split(separator: "\n").count == 1 && result.stderr.contains("not running"))
    }

    /// A server on the socket that speaks another API version, or never answers (python3's socket module).
    /// `reply`: sent, then the connection is closed (`hold` false) or left open and silent (`hold`
    /// true); `nil`: nothing is ever sent. `fullBacklog`: the server never accepts and fills its own
    /// backlog, so a connect blocks.
    func fakeServer(_ socket: String, reply: String?, hold: Bool = false, fullBacklog: Bool = false) throws -> Process {
        let script = """
            import socket, sys, time
            s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])
            if sys.argv[4] == "1":
                s.listen(0)
                fillers = []
                for _ in range(4):
                    f = socket.socket(socket.AF_UNIX); f.setblocking(False)
                    try: f.connect(sys.argv[1])
                    except OSError: pass
                    fillers.append(f)
                time.sleep(120)
            s.listen(8)
            while True:
                c, _ = s.accept()
                try:
                    if c.recv(65536) and sys.argv[2] != "-":
                        c.sendall(sys.argv[2].encode())
                        if sys.argv[3] == "1": time.sleep(120)
                    elif sys.argv[2] == "-":
                        time.sleep(60)
                except OSError:
                    pass
                c.close()
            """
        // Debian's python3 itself, not a shim that would outlive terminate().
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", script, socket, reply ?? "-", hold ? "1" : "0", fullBacklog ? "1" : "0"]
        process.standardError = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(30)
        while !FileManager.default.fileExists(atPath: socket) && Date() < deadline { usleep(50_000) }
        return process
    }

    @Test func otherAPIVersion() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let body = #"{"apiVersion":2}"#
        let server = try fakeServer(
            directory + "/s.sock",
            reply:
                """
                HTTP/1.1 200 OK\r\nArca-API-Version: 2\r\nContent-Type: application/json\r\nContent-Length: \
                \(body.count)\r\n\r\n\(body)
                """
        )
        defer { server.terminate() }
        let result = try Harness.arcactl(["status", "--socket", directory + "/s.sock"])
        #expect(result.status == 5 && result.stderr.contains("API version 2"), "\(result.stderr)")
    }

    @Test func silentServerTimesOut() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try fakeServer(directory + "/s.sock", reply: nil)
        defer { server.terminate() }
        let started = Date()
        let result = try Harness.arcactl(["devices", "--timeout", "1", "--socket", directory + "/s.sock"])
        #expect(result.status == 6 && result.stderr.contains("did not answer"), "\(result.stderr)")
        #expect(Date().timeIntervalSince(started) < 20)
    }

    @Test func answerThatStallsAfterItsHeadTimesOut() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try fakeServer(
            directory + "/s.sock", reply: "HTTP/1.1 200 OK\r\nArca-API-Version: 1\r\nContent-Length: 100\r\n\r\n{",
            hold: true)
        defer { server.terminate() }
        let started = Date()
        let result = try Harness.arcactl(["status", "--timeout", "2", "--socket", directory + "/s.sock"])
        #expect(result.status == 6, "\(result.stderr)")
        #expect(Date().timeIntervalSince(started) < 15)
    }

    @Test func listenerThatNeverAcceptsTimesOut() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try fakeServer(directory + "/s.sock", reply: nil, fullBacklog: true)
        defer { server.terminate() }
        usleep(300_000)
        let started = Date()
        let result = try Harness.arcactl(["status", "--timeout", "2", "--socket", directory + "/s.sock"])
        #expect(result.status == 6, "\(result.stderr)")
        #expect(Date().timeIntervalSince(started) < 15)
    }

    @Test func aPathThatIsNotASocketIsSaidToBeOne() throws {
        let result = try Harness.arcactl(["status", "--socket", "/tmp"])
        #expect(result.status == 3 && result.stderr.contains("not a socket"), "\(result.stderr)")
    }

    @Test func arcadDoesNotReplaceAForeignLiveSocket() throws {
        let directory = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try fakeServer(directory + "/s.sock", reply: "x")
        defer { server.terminate() }
        let result = try Harness.run(Harness.executable("arcad"), ["--socket", directory + "/s.sock"], timeout: 30)
        #expect(result.status == 1 && result.stderr.contains("something is listening"), "\(result.stderr)")
        #expect(FileManager.default.fileExists(atPath: directory + "/s.sock"))
        #expect(
            !FileManager.default.fileExists(atPath: directory + "/s.sock.lock"), "a failed start leaves no lock file")
    }

    @Test(.enabled(if: geteuid() == 0, "needs root to run arcactl as another user"))
    func permissionDenied() throws {
        let daemon = try Daemon()
        let result = try Harness.run(
            URL(fileURLWithPath: "/usr/sbin/runuser"),
            ["-u", "nobody", "--", try Harness.executable("arcactl").path, "status", "--socket", daemon.socket])
        #expect(result.status == 4 && result.stderr.contains("permission denied"), "\(result.stderr)")
        #expect(daemon.stop() == 0)
    }
}
