import ArcaAccel
import ArcaAPI
import ArcaCrypto
import ArcaHE
import ArcaIV
import ArcaPSI
import ArcaParty
import ArcaRuntime
import ArcaStore
import ArcaSystem
import Foundation

/// `kind = "iv"`: hetero WOE/IV feature screening, submitted on the guest (the label holder).
///
/// ```toml
/// kind = "iv"
/// dataset = "credit-guest"        # this side's dataset, registered with --label-column
/// partner = "telecom"             # the host appliance (a [[party.peers]] name)
/// purpose = "iv"                  # the host's operator must grant its dataset to this guest for iv
/// [options]
/// peer_dataset = "credit-host"    # the host's registered dataset
/// suite = "ecdh-25519"            # PSI suite: ecdh-25519 | ecdh-sm2 | dh-modp2048
/// event_value = "1"               # label value that counts as an event (default "1")
/// binning = "quantile"            # quantile | bucket
/// bins = 10
/// key_bits = 2048                 # Paillier key of this job (made fresh, never stored)
/// obfuscator = "djn"              # djn (default) | standard
/// device = "cpu"                  # optional: the device for the encryption's exponentiations
/// ```
///
/// Steps: PSI aligns the ids (both sides learn the intersection); both order it by id (bytewise);
/// the host sends a fresh nonce; the guest encrypts each aligned row's label (1 = event) under a
/// fresh Paillier key, proves each ciphertext encrypts 0 or 1 (``ZeroOneProof``, bound to the nonce
/// and the row) and sends the public key, the ciphertexts and the proofs; the host checks the key
/// against its ``IVLimits``, verifies every proof (batched on its devices), bins each of its numeric
/// features (split points stay on the host), merges bins under `min_bin_size` rows, sums the
/// ciphertexts per bin (one multiplication mod n² per row per feature) and returns the re-randomized
/// sums and bin sizes; the guest decrypts them and computes WOE and IV, and IV of its own features
/// in the clear. A bad proof fails the host's job naming the row; the guest is told only
/// `protocol.badProof` and gets no sums. The guest's result is an ``IVReport`` with the stages'
/// times, NUMA node and devices; the host's a summary without any label-derived number.
public struct IVJob: JobKind {
    let link: PartyLink?
    let registry: DeviceRegistry?
    /// What this appliance, as host, accepts from a guest.
    let limits: IVLimits
    public init(link: PartyLink?, registry: DeviceRegistry?, limits: IVLimits = .defaults) {
        self.link = link; self.registry = registry; self.limits = limits
    }
    /// Rows proven or verified per registry batch (bounds the devices' buffers).
    static let proofChunk = 4096
    public var name: String { "iv" }
    public var readsDataset: Bool { true }
    public var peerMayOpen: Bool { true }

    static let options = ["peer_dataset", "suite", "event_value", "label_column", "binning", "bins", "key_bits", "obfuscator", "device",
                          "id_column", "peer_id_column", "role", "session"]

    /// Host → guest after PSI: the nonce every 0/1 proof of this job is bound to (64 hex digits).
    struct NonceMessage: Codable { var nonce: String }
    /// Guest → host: the key, the rows, the rows per data frame, the proofs' digest (``Digest`` raw value).
    struct KeyMessage: Codable { var n: String; var count: Int; var batch: Int; var proofDigest: String }
    struct SumsMessage: Codable {
        var features: [HeteroIV.FeatureSums]
        var seconds: Double
        var numaNode: Int?
        var devices: [String]
        var multiplications: Int
        /// Seconds the host spent verifying the guest's 0/1 proofs (inside `seconds`).
        var verifySeconds: Double
    }
    struct DoneMessage: Codable { var ok: Bool }

    /// One stage of the job as the guest's result reports it.
    public struct Stage: Codable, Sendable, Equatable {
        public var stage: String
        public var party: String
        public var seconds: Double
        public var numaNode: Int?
        public var devices: [String]
        public var items: Int
    }

    public struct GuestResult: Codable, Sendable {
        public var intersectionSize: Int
        public var features: [IVReport.Feature]
        public var stages: [Stage]
        public var suite: String
        public var binning: String
        public var bins: Int
        public var keyBits: Int
        /// The 0/1 proofs: digest, seconds to make them (in the encrypt stage) and the host's to verify.
        public var proofs: ProofSummary
    }

    public struct ProofSummary: Codable, Sendable, Equatable {
        public var digest: String
        public var proveSeconds: Double
        public var verifySeconds: Double
    }

    /// A failure whose detail stays in the local job while the peer is sent only `code`, one of
    /// `protocol.badProof`, `protocol.badKey`, `protocol.badMessage`, `limits.exceeded`.
    struct Refusal: Error, CustomStringConvertible {
        var code: String
        var detail: String
        var description: String { "\(detail) (told the peer \(code))" }
    }

    /// The binding of this job's 0/1 proofs.
    static func binding(nonce: String, digest: Digest) -> ZeroOneProof.Binding {
        ZeroOneProof.Binding(context: "arca.iv.v1 labels nonce=\(nonce)", digest: digest)
    }

    func string(_ spec: JobSpec, _ key: String) throws -> String? { try spec.string(key) }
    func int(_ spec: JobSpec, _ key: String, default fallback: Int) throws -> Int {
        try spec.integer(key, default: fallback, in: Int.min...Int.max)
    }

    public func validate(_ spec: JobSpec) throws {
        try spec.allowOnly(Self.options)
        guard spec.purpose == "iv" else { throw JobSpecError("spec key purpose: kind iv runs for purpose \"iv\", got \"\(spec.purpose)\"") }
        guard spec.partner != "local" else { throw JobSpecError("spec key partner: kind iv needs a partner appliance (a [[party.peers]] name)") }
        let suite = try string(spec, "suite") ?? PSISuite.ecdh25519.rawValue
        guard PSISuite(rawValue: suite) != nil else {
            throw JobSpecError("spec key options.suite: \"\(suite)\" is not a suite; use \(PSISuite.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let role = try Self.role(spec, string)
        if role == "guest" {
            guard let peer = try string(spec, "peer_dataset"), JobSpec.isName(peer) else { throw JobSpecError("spec key options.peer_dataset: missing or not a name; name the host's registered dataset") }
        } else {
            guard try string(spec, "session") != nil else { throw JobSpecError("spec key options.session: a host job belongs to a link session") }
        }
        guard BinningMethod(rawValue: try string(spec, "binning") ?? "quantile") != nil else { throw JobSpecError("spec key options.binning: must be quantile or bucket") }
        let bins = try int(spec, "bins", default: 10)
        guard (2...1000).contains(bins) else { throw JobSpecError("spec key options.bins: must be from 2 to 1000, got \(bins)") }
        let bits = try int(spec, "key_bits", default: 2048)
        guard [1024, 2048, 3072, 4096].contains(bits) else { throw JobSpecError("spec key options.key_bits: must be 2048, 3072 or 4096 (1024 for tests), got \(bits)") }
        guard ["djn", "standard"].contains(try string(spec, "obfuscator") ?? "djn") else { throw JobSpecError("spec key options.obfuscator: must be djn or standard") }
    }

    public func rowsToRead(_ spec: JobSpec, dataset: DatasetRecord) -> Int { dataset.rows }

    /// `guest` (submitted by an operator) or `host` (started by the party link as `responder`).
    static func role(_ spec: JobSpec, _ string: (JobSpec, String) throws -> String?) throws -> String {
        switch try string(spec, "role") ?? "guest" {
        case "guest", "initiator": return "guest"
        case "host", "responder": return "host"
        case let other: throw JobSpecError("spec key options.role: must be guest or host, got \"\(other)\"")
        }
    }

    public func run(_ context: JobContext) async throws -> Data {
        guard let link else { throw PartyError("this arcad has no party link: set [party] in its configuration") }
        guard let registry else { throw PartyError("no device registry") }
        let spec = context.spec
        if let device = try string(spec, "device"), device != "cpu", registry.device(device) == nil {
            throw JobSpecError("spec key options.device: \(device) is not a device that passed its self-test (see arcactl devices)")
        }
        let role = try Self.role(spec, string)
        let suite = PSISuite(rawValue: try string(spec, "suite") ?? "ecdh-25519")!
        let method = BinningMethod(rawValue: try string(spec, "binning") ?? "quantile")!
        let bins = try int(spec, "bins", default: 10)
        let table = context.table!, dataset = context.dataset!
        let idColumn = try string(spec, "id_column") ?? dataset.idColumn
        var hostChannel: PartyChannel?
        if role == "host" {
            hostChannel = try link.responderChannel(session: try string(spec, "session")!, peer: spec.partner)
        }
        // Everything local is checked before anything is sent.
        let ids: [String], features: [(name: String, column: [Double?])], events: [Bool]
        do {
            ids = try PSIJob.ids(of: table, column: idColumn, path: dataset.path, duplicates: "reject").ids
            let labelColumn = role == "guest" ? try string(spec, "label_column") ?? dataset.labelColumn : nil
            if role == "guest" && labelColumn == nil { throw JobSpecError("the guest's dataset \(dataset.name) has no label column: register it with --label-column, or set options.label_column") }
            let skip = Set([idColumn] + (labelColumn.map { [$0] } ?? []))
            features = try table.header.enumerated().filter { !skip.contains($0.element) }.map { index, name in
                (name, try table.rows.enumerated().map { row, fields in
                    do { return try FeatureBinning.value(fields[index], column: name, row: row) } catch {
                        throw DatasetError(nil, "\(dataset.path):\(table.lines[row]): column \(name): \"\(fields[index].prefix(40))\" is not a number")
                    }
                })
            }
            if let labelColumn {
                guard let index = table.header.firstIndex(of: labelColumn) else { throw JobSpecError("label column \(labelColumn) is not in \(dataset.path)") }
                let event = try string(spec, "event_value") ?? "1"
                events = table.rows.map { $0[index] == event }
            } else {
                events = []
            }
            if role == "host" && bins > limits.maxBins {
                throw Refusal(code: "limits.exceeded",
                              detail: "the guest asks for \(bins) bins; this host allows at most \(limits.maxBins)")
            }
        } catch let refusal as Refusal {
            try? hostChannel?.send(control: PartyOpenReply(ok: false, reason: refusal.code))
            hostChannel?.close()
            throw refusal
        } catch {
            // The guest learns that the host's side refused, not the host's paths or schema.
            try? hostChannel?.send(control: PartyOpenReply(ok: false, reason: "the host's dataset \(dataset.name) cannot be used for this job (its operator sees why in job \(context.id))"))
            hostChannel?.close()
            throw error
        }
        context.meter(rowsRead: table.rows.count)

        // The link and PSI.
        let channel: PartyChannel
        if role == "guest" {
            var options: [String: PartyValue] = [
                "suite": .string(suite.rawValue), "binning": .string(method.rawValue), "bins": .int(bins), "role": .string("host"),
            ]
            if let peerColumn = try string(spec, "peer_id_column") { options["id_column"] = .string(peerColumn) }
            channel = try await link.openJob(peer: spec.partner, kind: name, dataset: try string(spec, "peer_dataset"), purpose: spec.purpose, options: options)
        } else {
            channel = hostChannel!
            try channel.send(control: PartyOpenReply(ok: true, job: Int(context.id)))
        }
        do {
            let result = try await (role == "guest"
                ? guest(context, channel: channel, registry: registry, ids: ids, features: features, events: events, suite: suite, method: method, bins: bins)
                : host(context, channel: channel, registry: registry, ids: ids, features: features, suite: suite, method: method, bins: bins))
            channel.close()
            return result
        } catch let refusal as Refusal {
            channel.abort(refusal.code)
            throw refusal
        } catch {
            channel.abort("\(error)")
            throw error
        }
    }

    /// PSI on `channel`; the aligned rows (indexes into `ids`) in the order both sides use: by id, bytewise.
    func align(_ context: JobContext, channel: PartyChannel, registry: DeviceRegistry, ids: [String], suite: PSISuite) async throws -> (rows: [Int], stage: Stage) {
        let started = ContinuousClock.now
        nonisolated(unsafe) var node: Int?
        let outcome = try await PSIProtocol.run(
            channel: channel, ids: ids.map { Array($0.utf8) }, suite: suite, receivesResult: true, peerReceivesResult: true,
            registry: suite == .dhMODP2048 ? registry : nil,
            compute: { work in try await context.onExecutor { placed in node = placed.numaNode; return try work() } },
            progress: { counts in
                context.setCounters(["psi.hashed": Double(counts.hashed), "psi.sent": Double(counts.sent),
                                     "psi.received": Double(counts.received), "psi.matched": Double(counts.matched)])
            })
        let rows = outcome.matched!.sorted { Array(ids[$0].utf8).lexicographicallyPrecedes(Array(ids[$1].utf8)) }
        context.setCounters(["iv.intersection": Double(rows.count)])
        let devices = outcome.modExpServed.isEmpty ? ["cpu"] : outcome.modExpServed.keys.sorted()
        return (rows, Stage(stage: "psi", party: "both", seconds: (ContinuousClock.now - started).seconds, numaNode: node, devices: devices, items: ids.count))
    }

    func guest(_ context: JobContext, channel: PartyChannel, registry: DeviceRegistry, ids: [String], features: [(name: String, column: [Double?])],
               events: [Bool], suite: PSISuite, method: BinningMethod, bins: Int) async throws -> Data {
        let (rows, psiStage) = try await align(context, channel: channel, registry: registry, ids: ids, suite: suite)
        var stages = [psiStage]
        let nonce = try await channel.receive(control: NonceMessage.self, timeout: .seconds(600)).nonce
        let digest = Digest.sha256
        let binding = Self.binding(nonce: nonce, digest: digest)
        let bits = try int(context.spec, "key_bits", default: 2048)
        let device = try string(context.spec, "device")
        let engine = PaillierEngine(registry: registry, preferred: device)
        // Encrypt the aligned labels under a fresh key.
        var started = ContinuousClock.now
        let (key, node) = try await context.onExecutor { placed in (try PaillierPrivateKey.generate(bits: bits), placed.numaNode) }
        let djn = try string(context.spec, "obfuscator") ?? "djn" == "djn" ? try DJNObfuscator(key: key.publicKey, privateKey: key) : nil
        var report = PaillierEngine.Report()
        let alignedEvents = rows.map { events[$0] }
        var labels: [Ciphertext] = [], proofs: [ZeroOneProof] = []
        var proveSeconds = 0.0
        for start in stride(from: 0, to: alignedEvents.count, by: Self.proofChunk) {
            let chunk = Array(alignedEvents[start..<min(start + Self.proofChunk, alignedEvents.count)])
            let chunkStarted = ContinuousClock.now
            let made = try await HeteroIV.encryptProvenLabels(chunk, engine: engine, key: key.publicKey,
                                                              privateKey: key, djn: djn, binding: binding,
                                                              firstIndex: start, report: &report)
            proveSeconds += (ContinuousClock.now - chunkStarted).seconds
            labels += made.labels
            proofs += made.proofs
        }
        stages.append(Stage(stage: "encrypt", party: "guest", seconds: (ContinuousClock.now - started).seconds, numaNode: node,
                            devices: report.devices.sorted(), items: labels.count))
        context.meter(["he.encryptions": Double(labels.count), "he.modexps": Double(report.modexps)])
        // Send the public key, then each row's ciphertext and proof, fixed width, in batches under the frame limit.
        let width = (key.publicKey.nSquare.bitCount + 7) / 8, proofWidth = ZeroOneProof.width(key: key.publicKey)
        let batch = max(1, min(4096, (8 << 20) / (width + proofWidth)))
        try channel.send(control: KeyMessage(n: PaillierInterchange.base64url(key.publicKey.n), count: labels.count,
                                             batch: batch, proofDigest: digest.rawValue))
        for start in stride(from: 0, to: labels.count, by: batch) {
            var payload = [UInt8](); payload.reserveCapacity(batch * (width + proofWidth))
            for row in start..<min(start + batch, labels.count) {
                payload += labels[row].value.bigEndianBytes(count: width) + proofs[row].bytes(key: key.publicKey)
            }
            try channel.send(PartyFrame(.data, payload))
        }
        context.setCounters(["iv.sent": Double(labels.count)])
        // The host's sums, then decryption.
        // The host's work: a multiplication per row per feature, and a modexp per bin per feature; generously.
        let sums = try await channel.receive(control: SumsMessage.self, timeout: .seconds(300 + labels.count * features.count / 200 + bins * 100))
        stages.append(Stage(stage: "bin-sum", party: "host", seconds: sums.seconds, numaNode: sums.numaNode, devices: sums.devices, items: sums.multiplications))
        started = ContinuousClock.now
        var decryptReport = PaillierEngine.Report()
        let hostFeatures = try await HeteroIV.decryptCounts(sums.features, privateKey: key, engine: PaillierEngine(registry: registry, preferred: device), report: &decryptReport)
        let (guestFeatures, decryptNode) = try await context.onExecutor { placed in
            (HeteroIV.plaintextFeatures(party: "guest", names: features.map(\.name), columns: features.map { f in rows.map { f.column[$0] } },
                                        events: alignedEvents, method: method, bins: bins), placed.numaNode)
        }
        stages.append(Stage(stage: "decrypt", party: "guest", seconds: (ContinuousClock.now - started).seconds, numaNode: decryptNode,
                            devices: decryptReport.devices.sorted(), items: sums.features.reduce(0) { $0 + $1.sums.count }))
        context.meter(["he.decryptions": Double(sums.features.reduce(0) { $0 + $1.sums.count })])
        try channel.send(control: DoneMessage(ok: true))
        let table = IVReport(intersectionSize: rows.count, features: guestFeatures + hostFeatures)
        let result = GuestResult(intersectionSize: rows.count, features: table.features, stages: stages, suite: suite.rawValue,
                                 binning: method.rawValue, bins: bins, keyBits: bits,
                                 proofs: ProofSummary(digest: digest.rawValue, proveSeconds: proveSeconds,
                                                      verifySeconds: sums.verifySeconds))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        return try encoder.encode(result)
    }

    func host(_ context: JobContext, channel: PartyChannel, registry: DeviceRegistry, ids: [String], features: [(name: String, column: [Double?])],
              suite: PSISuite, method: BinningMethod, bins: Int) async throws -> Data {
        let (rows, psiStage) = try await align(context, channel: channel, registry: registry, ids: ids, suite: suite)
        guard rows.count >= limits.minIntersection else {
            throw Refusal(code: "limits.exceeded",
                          detail: "the intersection has \(rows.count) rows; this host requires"
                                    + " \(limits.minIntersection) (min_intersection)")
        }
        let nonce = try SecureRandom.bytes(32).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
        try channel.send(control: NonceMessage(nonce: nonce))
        let keyMessage = try await channel.receive(control: KeyMessage.self, timeout: .seconds(600))
        // A modulus longer than any allowed size is refused from its text's length, before it is read.
        let longest = limits.keyBits.max() ?? 0
        guard keyMessage.n.utf8.count <= (longest + 7) / 8 * 4 / 3 + 4 else {
            throw Refusal(code: "limits.exceeded",
                          detail: "guest \(channel.peer): a Paillier modulus of \(keyMessage.n.utf8.count) base64url"
                                    + " characters; this host allows at most \(longest) bits")
        }
        let n: PaillierPublicKey
        do {
            let jwk = PaillierPublicKeyJWK(kty: "DAJ", alg: "PAI-GN1", key_ops: nil, n: keyMessage.n, kid: nil)
            n = try PaillierInterchange.publicKey(jwk)
        } catch { throw Refusal(code: "protocol.badKey", detail: "guest \(channel.peer): \(error)") }
        do { try limits.check(modulus: n.n) } catch {
            throw Refusal(code: limits.keyBits.contains(n.bits) ? "protocol.badKey" : "limits.exceeded",
                          detail: "guest \(channel.peer): \(error)")
        }
        guard let digest = Digest(rawValue: keyMessage.proofDigest) else {
            throw Refusal(code: "protocol.badMessage",
                          detail: "guest \(channel.peer): unknown proof digest \(keyMessage.proofDigest.prefix(20))")
        }
        guard keyMessage.count == rows.count else {
            throw Refusal(code: "protocol.badMessage",
                          detail: "guest \(channel.peer) sends \(keyMessage.count) labels for \(rows.count) rows")
        }
        guard (1...4096).contains(keyMessage.batch) else {
            throw Refusal(code: "protocol.badMessage",
                          detail: "guest \(channel.peer): a batch of \(keyMessage.batch) rows (1 to 4096 allowed)")
        }
        let width = (n.nSquare.bitCount + 7) / 8, proofWidth = ZeroOneProof.width(key: n), rowWidth = width + proofWidth
        var labels: [Ciphertext] = [], proofs: [ZeroOneProof] = []
        labels.reserveCapacity(rows.count)
        while labels.count < rows.count {
            let frame = try await channel.receive(timeout: .seconds(120))
            let expected = min(keyMessage.batch, rows.count - labels.count)
            guard frame.kind == .data, frame.payload.count == expected * rowWidth else {
                throw Refusal(code: "protocol.badMessage",
                              detail: "guest \(channel.peer): a batch of \(frame.payload.count) bytes where \(expected)"
                                        + " rows of \(rowWidth) bytes were due")
            }
            for i in 0..<expected {
                let row = frame.payload[(i * rowWidth)..<((i + 1) * rowWidth)]
                labels.append(Ciphertext(value: BigNumber(bigEndian: Array(row.prefix(width))), exponent: 0))
                proofs.append(try ZeroOneProof(bytes: row.dropFirst(width), key: n, item: "row \(labels.count - 1)"))
            }
        }
        context.setCounters(["iv.received": Double(labels.count)])
        let started = ContinuousClock.now
        var report = PaillierEngine.Report()
        let node: Int? = try await context.onExecutor { $0.numaNode }
        // Every proof is verified before anything is summed.
        let engine = PaillierEngine(registry: registry)
        for start in stride(from: 0, to: labels.count, by: Self.proofChunk) {
            let end = min(start + Self.proofChunk, labels.count)
            do {
                try await engine.verifyZeroOne(labels[start..<end].map(\.value), proofs: Array(proofs[start..<end]),
                                               key: n, binding: Self.binding(nonce: nonce, digest: digest),
                                               firstIndex: start, report: &report)
            } catch let error as ZeroOneProofError {
                context.setCounters(["iv.badProofRow": Double(error.index)])
                throw Refusal(code: "protocol.badProof",
                              detail: "guest \(channel.peer): aligned row \(error.index): \(error.reason)")
            }
        }
        let verifySeconds = (ContinuousClock.now - started).seconds
        context.meter(["he.proofsVerified": Double(labels.count)])
        let sums = try await HeteroIV.binSums(labels: labels, names: features.map(\.name), columns: features.map { f in rows.map { f.column[$0] } },
                                              method: method, bins: bins, minBinSize: limits.minBinSize, key: n,
                                              engine: engine, report: &report)
        let seconds = (ContinuousClock.now - started).seconds
        context.meter(["he.multiplications": Double(report.multiplications), "he.modexps": Double(report.modexps)])
        try channel.send(control: SumsMessage(features: sums, seconds: seconds, numaNode: node, devices: (report.devices.union(["cpu"])).sorted(),
                                              multiplications: labels.count * features.count,
                                              verifySeconds: verifySeconds))
        _ = try await channel.receive(control: DoneMessage.self, timeout: .seconds(600))
        // The host's summary: its features and bin counts, nothing derived from labels.
        let summary: [String: String] = ["kind": name, "role": "host", "guest": context.spec.partner, "suite": suite.rawValue,
                                         "intersectionSize": "\(rows.count)", "features": features.map(\.name).joined(separator: ","),
                                         "binSumSeconds": String(format: "%.3f", seconds), "psiSeconds": String(format: "%.3f", psiStage.seconds)]
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(summary)
    }
}

