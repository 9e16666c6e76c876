import ArcaAPI
import Foundation
import Testing

/// The main job: hetero WOE/IV between two appliances on loopback (bank-a the guest with labels,
/// bank-b the host with features), driven with arcactl only, against the plaintext reference of
/// `Tests/ArcaIVTests/Reference` on the joined data.
@Suite("WOE/IV between two appliances end to end", .serialized)
struct IVJobTests {
    nonisolated(unsafe) static let reference: [String: Any] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("ArcaIVTests/Reference/iv-reference.json")
        return try! JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    }()

    func setUp(guestFile: String, hostFile: String, grantHost: Bool = true, openCL: Bool = false) throws -> PartyPair {
        let pair = try PartyPair(openCL: openCL)
        try pair.start()
        let guest = try pair.a.ctl([
            "dataset", "add", "guest", "--file", JobFixture.data + "/" + guestFile, "--id-column", "id",
            "--label-column", "y", "--timeout", "300",
        ])
        try #require(guest.status == 0, "\(guest.stderr)")
        try #require(
            try pair.a.ctl(["dataset", "grant", "guest", "--partner", "bank-b", "--purpose", "iv"]).status == 0)
        let host = try pair.b.ctl([
            "dataset", "add", "host", "--file", JobFixture.data + "/" + hostFile, "--id-column", "id", "--timeout",
            "300",
        ])
        try #require(host.status == 0, "\(host.stderr)")
        if grantHost {
            try #require(
                try pair.b.ctl(["dataset", "grant", "host", "--partner", "bank-a", "--purpose", "iv"]).status == 0)
        }
        return pair
    }

    func submit(_ pair: PartyPair, options: String = "") throws -> JobResponse {
        let path = pair.directory + "/iv-\(UUID().uuidString.prefix(6)).toml"
        try """
        kind = "iv"
        dataset = "guest"
        partner = "bank-b"
        purpose = "iv"
        [options]
        peer_dataset = "host"
        suite = "ecdh-25519"
        key_bits = 1024
        \(options)
        """.write(toFile: path, atomically: true, encoding: .utf8)
        return try pair.a.submit(path)
    }

    struct Result: Decodable {
        struct Feature: Decodable { var party: String; var feature: String; var iv: Double; var bins: [Bin] }
        struct Bin: Decodable { var events: Int; var nonEvents: Int; var woe: Double }
        struct Stage: Decodable { var stage: String; var seconds: Double; var devices: [String]; var numaNode: Int? }
        var intersectionSize: Int
        var features: [Feature]
        var stages: [Stage]
    }

    func expectReference(_ result: Result, _ set: String) {
        let reference = Self.reference[set] as! [String: Any]
        #expect(result.intersectionSize == reference["intersectionSize"] as! Int)
        let expected = reference["features"] as! [[String: Any]]
        #expect(result.features.count == expected.count)
        for feature in result.features {
            guard
                let want = expected.first(where: {
                    $0["party"] as? String == feature.party && $0["feature"] as? String == feature.feature
                })
            else {
                Issue.record("\(feature.party) \(feature.feature) is not in the reference"); continue
            }
            #expect(feature.bins.map(\.events) == want["events"] as! [Int], "\(feature.party) \(feature.feature)")
            #expect(feature.bins.map(\.nonEvents) == want["nonEvents"] as! [Int], "\(feature.party) \(feature.feature)")
            #expect(
                abs(feature.iv - (want["iv"] as! Double)) <= 1e-9,
                "\(feature.party) \(feature.feature): \(feature.iv) vs \(want["iv"]!)")
        }
        #expect(result.features.map(\.iv) == result.features.map(\.iv).sorted(by: >), "sorted by IV")
        #expect(result.stages.map(\.stage) == ["psi", "encrypt", "bin-sum", "decrypt"])
    }

    @Test(arguments: ["cpu", "opencl"])
    func breastIVEqualsThePlaintextReferenceOnEachDevice(_ device: String) throws {
        let pair = try setUp(
            guestFile: "breast_hetero_guest.csv", hostFile: "breast_hetero_host.csv", openCL: device == "opencl")
        var options = "obfuscator = \"standard\""
        if device == "opencl" {
            let devices = try pair.a.json(DevicesResponse.self, ["devices"])
            let id = try #require(
                devices.devices.first { $0.backend == "opencl" && $0.health.status == "ok" }?.id, "no OpenCL device")
            options += "\ndevice = \"\(id)\""
        } else {
            options += "\ndevice = \"cpu\""
        }
        let job = try submit(pair, options: options)
        let done = try pair.a.wait(job: job.id, timeout: 600) { ["succeeded", "failed"].contains($0.state) }
        try #require(done.state == "succeeded", "\(done.reason ?? "")")
        let result = try pair.a.json(JobResultResponse.self, ["job", "result", "\(job.id)"])
        let parsed = try JSONDecoder().decode(Result.self, from: Data(result.content.utf8))
        expectReference(parsed, "breast")
        let encrypt = try #require(parsed.stages.first { $0.stage == "encrypt" })
        #expect(
            encrypt.devices == [
                device == "cpu"
                    ? "cpu"
                    : try pair.a.json(DevicesResponse.self, ["devices"]).devices.first { $0.backend == "opencl" }!.id
            ])
        #expect(done.counters["iv.intersection"] == 569)
        // The host ran its side as its own job, metered and audited, and kept no label-derived number.
        let hostJob = try #require(
            try pair.b.json(JobListResponse.self, ["job", "list"]).jobs.first { $0.kind == "iv" })
        let hostDone = try pair.b.wait(job: hostJob.id, timeout: 60) { ["succeeded", "failed"].contains($0.state) }
        #expect(hostDone.state == "succeeded", "\(hostDone.reason ?? "")")
        let hostResult = try pair.b.json(JobResultResponse.self, ["job", "result", "\(hostJob.id)"]).content
        #expect(!hostResult.contains("events") && !hostResult.contains("woe"))
        #expect((hostDone.counters["he.multiplications"] ?? 0) >= 569 * 20)
        #expect(try pair.a.ctl(["audit", "verify"]).status == 0 && (try pair.b.ctl(["audit", "verify"])).status == 0)
    }

    @Test func defaultCreditIVEqualsThePlaintextReference() throws {
        let pair = try setUp(guestFile: "default_credit_hetero_guest.csv", hostFile: "default_credit_hetero_host.csv")
        let job = try submit(pair)
        let done = try pair.a.wait(job: job.id, timeout: 900) { ["succeeded", "failed"].contains($0.state) }
        try #require(done.state == "succeeded", "\(done.reason ?? "")")
        let result = try pair.a.json(JobResultResponse.self, ["job", "result", "\(job.id)"])
        expectReference(try JSONDecoder().decode(Result.self, from: Data(result.content.utf8)), "defaultCredit")
    }

    @Test func aHostDatasetWithoutAGrantIsRefusedAndAuditedOnBothSides() throws {
        let pair = try setUp(guestFile: "breast_hetero_guest.csv", hostFile: "breast_hetero_host.csv", grantHost: false)
        // A device that is not there fails the job at once (it once ran silently on the CPU).
        let bogus = try submit(pair, options: "device = \"ocl-deadbeef\"")
        let failedEarly = try pair.a.wait(job: bogus.id, timeout: 60) { ["succeeded", "failed"].contains($0.state) }
        #expect(
            failedEarly.state == "failed" && failedEarly.reason?.contains("ocl-deadbeef is not a device") == true,
            "\(failedEarly.reason ?? "")")
        let job = try submit(pair)
        let done = try pair.a.wait(job: job.id, timeout: 120) { ["succeeded", "failed"].contains($0.state) }
        #expect(done.state == "failed")
        #expect(
            done.reason?.contains("refused") == true && done.reason?.contains("grant") == true, "\(done.reason ?? "")")
        let guestAudit = try pair.a.ctl(["audit", "show", "--json"]).stdout
        let hostAudit = try pair.b.ctl(["audit", "show", "--json"]).stdout
        #expect(guestAudit.contains("refused") || guestAudit.contains("failed"))
        #expect(hostAudit.contains("refused"), "the host audits the refusal")
    }

    /// Privacy: the host's records hold no label value; the guest's no host feature value.
    @Test func neitherSideKeepsTheOthersData() throws {
        let pair = try setUp(guestFile: "breast_hetero_guest.csv", hostFile: "breast_hetero_host.csv")
        let job = try submit(pair)
        let done = try pair.a.wait(job: job.id, timeout: 600) { ["succeeded", "failed"].contains($0.state) }
        try #require(done.state == "succeeded", "\(done.reason ?? "")")
        _ = try pair.b.wait(
            job: try #require(try pair.b.json(JobListResponse.self, ["job", "list"]).jobs.first { $0.kind == "iv" }).id,
            timeout: 60
        ) { ["succeeded", "failed"].contains($0.state) }
        pair.daemonA?.stop(); pair.daemonB?.stop()
        func everything(_ directory: String) throws -> String {
            var text = ""
            let enumerator = FileManager.default.enumerator(atPath: directory)
            while let file = enumerator?.nextObject() as? String {
                let path = directory + "/" + file
                if file.hasSuffix(".csv") { continue }  // the side's own registered data
                if let data = FileManager.default.contents(atPath: path) {
                    text += String(decoding: data, as: UTF8.self)
                }
            }
            return text
        }
        let guestText = try everything(pair.a.directory), hostText = try everything(pair.b.directory)
        // Host feature values (six decimals, as in the file) never reach the guest.
        let host = try String(contentsOfFile: JobFixture.data + "/breast_hetero_host.csv", encoding: .utf8)
        let hostValues = Set(
            host.split(separator: "\n").dropFirst().flatMap { $0.split(separator: ",").dropFirst().map(String.init) }
                .filter { $0.count >= 8 })
        let leaked = hostValues.filter { guestText.contains($0) }
        #expect(leaked.isEmpty, "host values in the guest's state: \(leaked.prefix(5))")
        // The labels: no per-bin event counts, no label column name, no result table on the host.
        #expect(!hostText.contains("\"events\"") && !hostText.contains("nonEvents") && !hostText.contains("\"woe\""))
    }
}
