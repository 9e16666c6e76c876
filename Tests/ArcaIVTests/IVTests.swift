import ArcaAccel
import ArcaCrypto
import ArcaHE
import ArcaTopology
import Foundation
import Testing
@testable import ArcaIV

/// WOE/IV against a plaintext reference written apart from Arca (`Reference/iv_reference.py`) on the
/// joined guest and host files of `data/`: plaintext and encrypted paths, CPU fallback and PoCL.
@Suite("WOE/IV", .serialized)
struct IVTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    nonisolated(unsafe) static let reference: [String: Any] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Reference/iv-reference.json")
        return try! JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    }()

    actor Shared {
        static let instance = Shared()
        var registry: DeviceRegistry?
        var key: PaillierPrivateKey?
        func get() async -> (DeviceRegistry, PaillierPrivateKey) {
            if let registry, let key { return (registry, key) }
            let made = await DeviceRegistry(inventory: DeviceInventory.discover(topology: Topology.fallback()), pool: nil, calibrate: false)
            let key = try! PaillierPrivateKey.generate(bits: 1024)
            (registry, self.key) = (made, key)
            return (made, key)
        }
    }

    /// Guest and host rows joined on id in the guest's order: names and columns per party, and events.
    struct Joined {
        var guestNames: [String], guestColumns: [[Double?]]
        var hostNames: [String], hostColumns: [[Double?]]
        var events: [Bool]
    }

    static func read(_ name: String) throws -> (header: [String], rows: [[String]]) {
        let text = try String(contentsOf: root.appendingPathComponent("data/\(name)"), encoding: .utf8)
        let lines = text.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        return (lines[0], Array(lines.dropFirst()))
    }

    static func joined(_ guestFile: String, _ hostFile: String) throws -> Joined {
        let guest = try read(guestFile), host = try read(hostFile)
        let hostRows = Dictionary(uniqueKeysWithValues: host.rows.map { ($0[0], $0) })
        let pairs = guest.rows.compactMap { g in hostRows[g[0]].map { (g, $0) } }
        func column(_ rows: [[String]], _ index: Int, _ name: String) throws -> [Double?] {
            try rows.enumerated().map { try FeatureBinning.value($1[index], column: name, row: $0) }
        }
        return Joined(guestNames: Array(guest.header.dropFirst(2)),
                      guestColumns: try (2..<guest.header.count).map { try column(pairs.map(\.0), $0, guest.header[$0]) },
                      hostNames: Array(host.header.dropFirst()),
                      hostColumns: try (1..<host.header.count).map { try column(pairs.map(\.1), $0, host.header[$0]) },
                      events: pairs.map { $0.0[1] == "1" })
    }

    func expectMatches(_ features: [IVReport.Feature], _ set: String) {
        let reference = (Self.reference[set] as! [String: Any])["features"] as! [[String: Any]]
        #expect(features.count == reference.count)
        for feature in features {
            guard let expected = reference.first(where: { $0["party"] as? String == feature.party && $0["feature"] as? String == feature.feature }) else {
                Issue.record("\(feature.party) \(feature.feature) is not in the reference"); continue
            }
            #expect(feature.bins.map(\.events) == expected["events"] as! [Int], "\(set) \(feature.party) \(feature.feature) events")
            #expect(feature.bins.map(\.nonEvents) == expected["nonEvents"] as! [Int], "\(set) \(feature.party) \(feature.feature) non-events")
            #expect(abs(feature.iv - (expected["iv"] as! Double)) <= 1e-9, "\(set) \(feature.party) \(feature.feature): \(feature.iv) vs \(expected["iv"]!)")
            for (bin, woe) in zip(feature.bins, expected["woe"] as! [Double]) { #expect(abs(bin.woe - woe) <= 1e-9) }
        }
    }

    @Test(arguments: [("breast", "breast_hetero_guest.csv", "breast_hetero_host.csv", BinningMethod.quantile),
                      ("breastBucket", "breast_hetero_guest.csv", "breast_hetero_host.csv", .bucket),
                      ("defaultCredit", "default_credit_hetero_guest.csv", "default_credit_hetero_host.csv", .quantile)])
    func plaintextIVEqualsTheReference(_ set: String, _ guestFile: String, _ hostFile: String, _ method: BinningMethod) throws {
        let data = try Self.joined(guestFile, hostFile)
        #expect(data.events.count == (Self.reference[set] as! [String: Any])["intersectionSize"] as! Int)
        expectMatches(HeteroIV.plaintextFeatures(party: "guest", names: data.guestNames, columns: data.guestColumns, events: data.events, method: method, bins: 10)
                      + HeteroIV.plaintextFeatures(party: "host", names: data.hostNames, columns: data.hostColumns, events: data.events, method: method, bins: 10), set)
    }

    /// The protocol's two halves on one machine: the guest encrypts labels, the host sums per bin,
    /// the guest decrypts; counts exact and IV to 1e-9, on the CPU fallback and on PoCL.
    @Test(arguments: [("breast", "breast_hetero_guest.csv", "breast_hetero_host.csv", "cpu"),
                      ("breast", "breast_hetero_guest.csv", "breast_hetero_host.csv", "opencl"),
                      ("defaultCredit", "default_credit_hetero_guest.csv", "default_credit_hetero_host.csv", "cpu")])
    func encryptedBinSumsGiveTheReferenceCounts(_ set: String, _ guestFile: String, _ hostFile: String, _ device: String) async throws {
        let (registry, key) = await Shared.instance.get()
        var preferred = "cpu"
        if device == "opencl" {
            let (id, health) = try #require(registry.healthByDevice.first, "no OpenCL device")
            try #require(health.status == "ok")
            preferred = id
        }
        let engine = PaillierEngine(registry: registry, preferred: preferred)
        let data = try Self.joined(guestFile, hostFile)
        var guestReport = PaillierEngine.Report(), hostReport = PaillierEngine.Report()
        let labels = try await HeteroIV.encryptLabels(data.events, engine: engine, key: key.publicKey, privateKey: key, djn: nil, report: &guestReport)
        // The default k = 20 merges nothing here: the reference's smallest quantile bin holds 55 (breast) and 32
        // (default_credit) rows.
        let sums = try await HeteroIV.binSums(labels: labels, names: data.hostNames, columns: data.hostColumns,
                                              method: .quantile, bins: 10,
                                              key: key.publicKey, engine: engine, report: &hostReport)
        #expect(hostReport.multiplications >= data.events.count * data.hostNames.count)
        #expect(hostReport.devices == [preferred])
        let host = try await HeteroIV.decryptCounts(sums, privateKey: key, engine: engine, report: &guestReport)
        let guest = HeteroIV.plaintextFeatures(party: "guest", names: data.guestNames, columns: data.guestColumns, events: data.events, method: .quantile, bins: 10)
        expectMatches(guest + host, set)
        // Every aligned row lands in exactly one bin of each host feature.
        #expect(sums.allSatisfy { $0.sizes.reduce(0, +) == data.events.count })
    }

    @Test func emptyBinsMissingValuesAndNoEventsKeepTheArraysAligned() async throws {
        // Bucket bins (width 0.1) over a feature with gaps: bins 1-3 and 5-8 are empty; missing values get the last bin.
        let column: [Double?] = [0, 0.05, 0.1, 0.95, 1.0, nil, nil, 0.5, nil]
        let events = [true, false, true, false, true, true, false, false, true]
        let binning = FeatureBinning(values: column, method: .bucket, bins: 10)
        #expect(binning.binCount == 11 && binning.hasMissingBin)
        let plain = HeteroIV.plaintextFeatures(party: "host", names: ["gap"], columns: [column], events: events, method: .bucket, bins: 10)[0]
        #expect(plain.bins.count == 11)
        #expect(plain.bins.map(\.events) == [2, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2])
        #expect(plain.bins.map(\.nonEvents) == [1, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1])
        #expect(plain.iv.isFinite && plain.bins.allSatisfy { $0.woe.isFinite })
        // Encrypted, the empty bins stay in place with size 0 and the missing bin is counted.
        let (registry, key) = await Shared.instance.get()
        let engine = PaillierEngine(registry: registry, preferred: "cpu")
        var report = PaillierEngine.Report()
        let labels = try await HeteroIV.encryptLabels(events, engine: engine, key: key.publicKey, privateKey: key,
                                                      djn: nil, report: &report)
        // k = 0 here on purpose: this test is about empty bins staying in place, which k ≥ 1 would merge away.
        let sums = try await HeteroIV.binSums(labels: labels, names: ["gap"], columns: [column], method: .bucket,
                                              bins: 10, minBinSize: 0,
                                              key: key.publicKey, engine: engine, report: &report)
        #expect(sums[0].sizes == [3, 0, 0, 0, 1, 0, 0, 0, 0, 2, 3])
        #expect(try await HeteroIV.decryptCounts(sums, privateKey: key, engine: engine, report: &report) == [plain])
        // No events at all: totals of zero become 1, every bin adjusted by 0.5; finite WOE and IV.
        let none = HeteroIV.plaintextFeatures(party: "guest", names: ["x"], columns: [column], events: events.map { _ in false }, method: .quantile, bins: 4)[0]
        #expect(none.bins.allSatisfy { $0.events == 0 && $0.woe.isFinite } && none.iv.isFinite)
        let quantile = FeatureBinning(values: [1, 2, 2, 2, 3, 4, 5, 6, 7, 8], method: .quantile, bins: 4)
        #expect(quantile.splitPoints == [2, 3, 6, 8])  // ranks ⌈k·10/4⌉ = 3, 5, 8, 10
    }

    /// With proofs on (the job's path): the guest proves every label, the host verifies them all
    /// before summing, and the table is the reference's, on the CPU fallback and on PoCL.
    @Test(arguments: ["cpu", "opencl"])
    func provenLabelsGiveTheReferenceCounts(_ device: String) async throws {
        let (registry, key) = await Shared.instance.get()
        var preferred = "cpu"
        if device == "opencl" {
            let (id, health) = try #require(registry.healthByDevice.first, "no OpenCL device")
            try #require(health.status == "ok")
            preferred = id
        }
        let engine = PaillierEngine(registry: registry, preferred: preferred)
        let data = try Self.joined("breast_hetero_guest.csv", "breast_hetero_host.csv")
        let binding = ZeroOneProof.Binding(context: "iv test")
        var guestReport = PaillierEngine.Report(), hostReport = PaillierEngine.Report()
        let djn = try DJNObfuscator(key: key.publicKey, privateKey: key)
        let (labels, proofs) = try await HeteroIV.encryptProvenLabels(data.events, engine: engine, key: key.publicKey,
                                                                      privateKey: key, djn: djn,
                                                                      binding: binding, report: &guestReport)
        try await HeteroIV.verifyLabels(labels, proofs: proofs, key: key.publicKey, binding: binding, engine: engine,
                                        report: &hostReport)
        #expect(hostReport.devices == [preferred])
        let sums = try await HeteroIV.binSums(labels: labels, names: data.hostNames, columns: data.hostColumns,
                                              method: .quantile, bins: 10,
                                              minBinSize: 20, key: key.publicKey, engine: engine, report: &hostReport)
        let host = try await HeteroIV.decryptCounts(sums, privateKey: key, engine: engine, report: &guestReport)
        let guest = HeteroIV.plaintextFeatures(party: "guest", names: data.guestNames, columns: data.guestColumns,
                                               events: data.events,
                                               method: .quantile, bins: 10)
        expectMatches(guest + host, "breast")
        // A guest that encrypts 2^i as row i's label cannot prove it: the host names the first such row.
        let i = 37
        let r = try PaillierEngine.randomness(count: 1, key: key.publicKey)[0]
        let cheat = BigNumber.modMul(key.publicKey.n * BigNumber(1).shiftedLeft(i) + BigNumber(1),
                                     try BigNumber.modExpConstantTime(r, key.publicKey.n,
                                                                      key.publicKey.nSquare), key.publicKey.nSquare)
        var forged = labels, forgedProofs = proofs
        forged[i] = Ciphertext(value: cheat, exponent: 0)
        forgedProofs[i] = try await engine.proveZeroOne([cheat], bits: [true], witnesses: [r], key: key.publicKey,
                                                        privateKey: key,
                                                        binding: binding, firstIndex: i, report: &guestReport)[0]
        await #expect(throws: ZeroOneProofError(index: i, reason: .challenge)) {
            try await HeteroIV.verifyLabels(forged, proofs: forgedProofs, key: key.publicKey, binding: binding,
                                            engine: engine, report: &hostReport)
        }
    }

    @Test func smallBinsMergeWithTheirSmallerNeighbour() {
        #expect(FeatureBinning.mergedGroups(sizes: [30, 25, 40], minimum: 20) == [[0], [1], [2]])
        #expect(FeatureBinning.mergedGroups(sizes: [5, 30, 40], minimum: 20) == [[0, 1], [2]])
        #expect(FeatureBinning.mergedGroups(sizes: [30, 5, 40], minimum: 20) == [[0, 1], [2]])
        #expect(FeatureBinning.mergedGroups(sizes: [30, 40, 5], minimum: 20) == [[0], [1, 2]])
        #expect(FeatureBinning.mergedGroups(sizes: [3, 0, 4, 50, 2], minimum: 20) == [[0, 1, 2, 3, 4]])
        #expect(FeatureBinning.mergedGroups(sizes: [10, 10, 10, 10], minimum: 20) == [[0, 1], [2, 3]])
        #expect(FeatureBinning.mergedGroups(sizes: [3, 4], minimum: 20) == [[0, 1]])
        #expect(FeatureBinning.mergedGroups(sizes: [0, 7, 0], minimum: 1) == [[0, 1, 2]])
        #expect(FeatureBinning.mergedGroups(sizes: [0, 7, 0], minimum: 0) == [[0], [1], [2]])
        for _ in 0..<200 {
            let sizes = (0..<Int.random(in: 1...12)).map { _ in Int.random(in: 0...40) }
            let groups = FeatureBinning.mergedGroups(sizes: sizes, minimum: 20)
            #expect(groups.flatMap { $0 } == Array(sizes.indices))
            #expect(groups.count == 1 || groups.allSatisfy { $0.reduce(0) { $0 + sizes[$1] } >= 20 }, "\(sizes)")
        }
    }

    @Test func binSumsMergeSmallBinsBeforeAnythingIsSent() async throws {
        let (registry, key) = await Shared.instance.get()
        let engine = PaillierEngine(registry: registry, preferred: "cpu")
        // 30 rows: bucket bins of width 0.1 over 0…1 hold 12, 3, 0 … 0, 15 rows; k = 10 merges the middle.
        let column: [Double?] = (0..<12).map { _ in 0.0 } + (0..<3).map { _ in 0.15 } + (0..<15).map { _ in 1.0 }
        let events = (0..<30).map { $0 % 3 == 0 }
        var report = PaillierEngine.Report()
        let labels = try await HeteroIV.encryptLabels(events, engine: engine, key: key.publicKey, privateKey: key,
                                                      djn: nil, report: &report)
        let sums = try await HeteroIV.binSums(labels: labels, names: ["x"], columns: [column], method: .bucket,
                                              bins: 10, minBinSize: 10,
                                              key: key.publicKey, engine: engine, report: &report)
        #expect(sums[0].sizes == [15, 15])
        let counts = try await HeteroIV.decryptCounts(sums, privateKey: key, engine: engine, report: &report)
        #expect(counts[0].bins.map(\.events) == [5, 5])
    }

    @Test func theHostChecksTheGuestsModulus() async throws {
        let (_, key) = await Shared.instance.get()
        let limits = IVLimits(keyBits: [1024, 2048])
        try limits.check(modulus: key.publicKey.n)
        #expect(throws: IVError.self) { try IVLimits.defaults.check(modulus: key.publicKey.n) }  // 1024 bits: tests only
        func reason(_ n: BigNumber) -> String {
            do { try limits.check(modulus: n); return "accepted" } catch { return "\(error)" }
        }
        // Prime sizes chosen so that each product has exactly 1024 bits (OpenSSL's primes have their top two bits set).
        let withSmallFactor = try BigNumber.randomPrime(bits: 1008) * BigNumber(65521)
        #expect(withSmallFactor.bitCount == 1024 && reason(withSmallFactor).contains("small factor 65521"))
        let withThree = try BigNumber.randomPrime(bits: 1022) * BigNumber(3)
        #expect(withThree.bitCount == 1024 && reason(withThree).contains("small factor 3"))
        let half = try BigNumber.randomPrime(bits: 512)
        #expect((half * half).bitCount == 1024 && reason(half * half).contains("perfect square"))
        #expect(!IVLimits.isSquare(half * half + BigNumber(2)) && IVLimits.smallFactor(of: key.publicKey.n) == nil)
        #expect(reason(key.publicKey.n * BigNumber(3)).contains("this host allows 1024, 2048"))
    }
}
