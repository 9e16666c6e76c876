import ArcaAPI
import ArcaCrypto
import ArcaHE

/// The two halves of hetero WOE/IV (FATE 1.x's hetero feature binning) over rows already aligned by
/// PSI, in the intersection's order.
///
/// What each party learns: the guest sends one Paillier ciphertext per aligned row (its label: 1 for
/// an event, else 0) with a ``ZeroOneProof`` that it is 0 or 1, and learns, per host feature, the
/// number of bins, each bin's size (at least the host's k, bins being merged) and its event count
/// (hence non-event count) — never a host value or split point. The host learns the
/// intersection (from PSI), the ciphertexts (nothing about labels under DCR) and nothing else; it
/// re-randomizes each bin's sum before sending it, so the guest cannot tell which of its ciphertexts
/// went into a bin from the sum's randomness.
public enum HeteroIV {
    /// One host feature's encrypted per-bin event sums and bin sizes (sent host → guest).
    public struct FeatureSums: Codable, Sendable, Equatable {
        public var feature: String
        public var sums: [WireCiphertext]
        public var sizes: [Int]
        public init(feature: String, sums: [WireCiphertext], sizes: [Int]) {
            self.feature = feature; self.sums = sums; self.sizes = sizes
        }
    }

    /// Guest: Enc(1) for an event, Enc(0) otherwise, one per aligned row (exponent 0).
    public static func encryptLabels(
        _ events: [Bool], engine: PaillierEngine, key: PaillierPublicKey,
        privateKey: PaillierPrivateKey?, djn: DJNObfuscator?, report: inout PaillierEngine.Report
    ) async throws -> [Ciphertext] {
        let one = try EncodedNumber.encode(PlainNumber(1), key: key),
            zero = try EncodedNumber.encode(PlainNumber(0), key: key)
        let encoded = events.map { $0 ? one : zero }
        if let djn { return try await engine.encrypt(encoded, djn: djn, report: &report) }
        return try await engine.encrypt(encoded, key: key, privateKey: privateKey, report: &report)
    }

    /// Guest: as ``encryptLabels(_:engine:key:privateKey:djn:report:)`` (the same ciphertexts for the
    /// same randomness), with a ``ZeroOneProof`` per label bound to `binding` and the row's index.
    /// - Parameter firstIndex: the aligned row of `events[0]`.
    public static func encryptProvenLabels(
        _ events: [Bool], engine: PaillierEngine, key: PaillierPublicKey,
        privateKey: PaillierPrivateKey?, djn: DJNObfuscator?,
        binding: ZeroOneProof.Binding, firstIndex: Int = 0,
        report: inout PaillierEngine.Report
    ) async throws
        -> (labels: [Ciphertext], proofs: [ZeroOneProof])
    {
        let (labels, proofs) = try await engine.encryptZeroOne(
            events, key: key, privateKey: privateKey, djn: djn,
            binding: binding, firstIndex: firstIndex, report: &report)
        return (labels, proofs)
    }

    /// Host: verifies every label's 0/1 proof in batches on the registry, before anything is summed.
    /// - Throws: ``ZeroOneProofError`` naming the aligned row of the first bad label.
    public static func verifyLabels(
        _ labels: [Ciphertext], proofs: [ZeroOneProof], key: PaillierPublicKey,
        binding: ZeroOneProof.Binding, engine: PaillierEngine,
        report: inout PaillierEngine.Report
    ) async throws {
        try await engine.verifyZeroOne(labels.map(\.value), proofs: proofs, key: key, binding: binding, report: &report)
    }

    /// Host: for each feature, the product of the row ciphertexts of each bin (the encrypted event
    /// count) and the bin sizes; an empty bin's sum is Enc(0). Bins with fewer than `minBinSize` rows
    /// are merged with a neighbour first (``FeatureBinning/mergedGroups(sizes:minimum:)``), so no sum
    /// sent covers fewer rows (unless the feature has fewer rows in all). Features run in parallel on
    /// the CPU executors; the sums are then re-randomized in one modexp batch on the registry.
    /// - Parameters:
    ///   - columns: one array per feature, aligned with `labels`; nil = missing.
    ///   - minBinSize: k of k-anonymity, in rows (0: merge nothing; default ``IVLimits/defaults``).
    public static func binSums(
        labels: [Ciphertext], names: [String], columns: [[Double?]], method: BinningMethod, bins: Int,
        minBinSize: Int = IVLimits.defaults.minBinSize, key: PaillierPublicKey,
        engine: PaillierEngine, report: inout PaillierEngine.Report
    ) async throws -> [FeatureSums] {
        precondition(names.count == columns.count && columns.allSatisfy { $0.count == labels.count })
        try key.validate(ciphertexts: labels.map(\.value), item: "labels")
        let partial = try await engine.registry.cpu.map(columns.count) { f -> ([BigNumber], [Int]) in
            let binning = FeatureBinning(values: columns[f], method: method, bins: bins)
            var sums = [BigNumber](repeating: BigNumber(1), count: binning.binCount),
                sizes = [Int](repeating: 0, count: binning.binCount)
            for (row, value) in columns[f].enumerated() {
                let bin = binning.bin(value)
                sums[bin] = BigNumber.modMul(sums[bin], labels[row].value, key.nSquare)
                sizes[bin] += 1
            }
            let groups = FeatureBinning.mergedGroups(sizes: sizes, minimum: minBinSize)
            guard groups.count < sizes.count else { return (sums, sizes) }
            return (
                groups.map { $0.dropFirst().reduce(sums[$0[0]]) { BigNumber.modMul($0, sums[$1], key.nSquare) } },
                groups.map { $0.reduce(0) { $0 + sizes[$1] } }
            )
        }
        report.multiplications += labels.count * columns.count
        let flat = partial.flatMap { $0.0 }.map { Ciphertext(value: $0, exponent: 0) }
        let fresh = try await engine.rerandomize(flat, key: key, report: &report)
        var offset = 0
        return zip(names, partial).map { name, part in
            defer { offset += part.0.count }
            return FeatureSums(
                feature: name, sums: PaillierInterchange.wire(Array(fresh[offset..<(offset + part.0.count)])),
                sizes: part.1)
        }
    }

    /// Guest: decrypts every bin's event count; non-events = size − events.
    /// - Throws: ``IVError`` when a count is not an integer in [0, size] (a host that cheated or a wrong key).
    public static func decryptCounts(
        _ features: [FeatureSums], privateKey: PaillierPrivateKey, engine: PaillierEngine,
        report: inout PaillierEngine.Report
    ) async throws -> [IVReport.Feature] {
        let key = privateKey.publicKey
        let all = try features.flatMap {
            try PaillierInterchange.ciphertexts($0.sums, source: "host sums of \($0.feature)")
        }
        let decrypted = try await engine.decrypt(all, privateKey: privateKey, item: "host sums", report: &report)
        var offset = 0
        return try features.map { feature in
            guard feature.sums.count == feature.sizes.count else {
                throw IVError(
                    "host feature \(feature.feature): \(feature.sums.count) sums for \(feature.sizes.count) bins")
            }
            var events: [Int] = []
            for (i, size) in feature.sizes.enumerated() {
                let count = try decrypted[offset + i].decode(key: key, item: "host feature \(feature.feature) bin \(i)")
                guard case let .integer(negative, magnitude) = count, !negative, let value = magnitude.uint64,
                    value <= UInt64(size)
                else {
                    throw IVError(
                        """
                        host feature \(feature.feature) bin \(i): decrypted event count \(count) is not in [0, \
                        \(size)]
                        """
                    )
                }
                events.append(Int(value))
            }
            offset += feature.sizes.count
            return IVReport.feature(
                party: "host", name: feature.feature, events: events,
                nonEvents: zip(feature.sizes, events).map { $0 - $1 })
        }
    }

    /// Guest: IV of its own features in the clear.
    public static func plaintextFeatures(
        party: String, names: [String], columns: [[Double?]], events: [Bool], method: BinningMethod, bins: Int
    ) -> [IVReport.Feature] {
        zip(names, columns).map { name, column in
            let binning = FeatureBinning(values: column, method: method, bins: bins)
            var eventCounts = [Int](repeating: 0, count: binning.binCount), nonEventCounts = eventCounts
            for (value, event) in zip(column, events) {
                if event { eventCounts[binning.bin(value)] += 1 } else { nonEventCounts[binning.bin(value)] += 1 }
            }
            return IVReport.feature(party: party, name: name, events: eventCounts, nonEvents: nonEventCounts)
        }
    }
}
