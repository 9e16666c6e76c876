import ArcaAccel
import ArcaCrypto
import ArcaParty
import Foundation
import Synchronization

/// The PSI protocol suites.
public enum PSISuite: String, CaseIterable, Sendable, Codable {
    /// ECDH-PSI over Curve25519 (the interconnection spec's suite that SecretFlow runs):
    /// SHA-256(id) taken as the X25519 u-coordinate, H(x)^a = X25519(a, SHA-256(id)), second stage
    /// X25519(b, H(x)^a) truncated to 96 bits.
    case ecdh25519 = "ecdh-25519"
    /// ECDH-PSI over the SM2 curve; ids hashed to the curve with SM3 try-and-increment; points
    /// compressed (33 bytes); second stage truncated to 96 bits of the abscissa.
    case ecdhSM2 = "ecdh-sm2"
    /// Pohlig–Hellman DH-PSI over the RFC 3526 2048-bit MODP group (FATE 1.x): ids hashed to the
    /// quadratic residues (full-domain SHA-256, squared mod p), raised to a 256-bit secret exponent
    /// on the modexp offload; second stage truncated to 96 bits.
    case dhMODP2048 = "dh-modp2048"

    /// Bytes of one first-stage element on the wire.
    public var elementBytes: Int {
        switch self {
        case .ecdh25519: return 32
        case .ecdhSM2: return SM2Key.pointBytes
        case .dhMODP2048: return 256
        }
    }
}

/// The RFC 3526 group 14 prime (2048-bit MODP), p = 2^2048 − 2^1984 − 1 + 2^64·(⌊2^1918·π⌋ + 124476).
public let rfc3526Prime2048 = BigNumber(bigEndian: Array(hex: """
FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD\
EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED\
EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F\
83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B\
E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510\
15728E5A8AACAA68FFFFFFFFFFFFFFFF
"""))

extension Array where Element == UInt8 {
    init(hex: String) {
        let digits = hex.filter(\.isHexDigit).map { UInt8($0.hexDigitValue!) }
        self = stride(from: 0, to: digits.count - 1, by: 2).map { digits[$0] << 4 | digits[$0 + 1] }
    }
}

/// Runs a piece of CPU work (a chunk of hashing or blinding) where the job's placement says —
/// a job's NUMA executor.
public typealias PSICompute = @Sendable (_ work: @escaping @Sendable () throws -> [UInt8]) async throws -> [UInt8]

/// A suite's secret and its two operations on batches.
final class PSICipher: Sendable {
    let suite: PSISuite
    let x25519: X25519Key?
    let sm2: SM2Key?
    let exponent: BigNumber?
    let registry: DeviceRegistry?
    let served = Mutex<[String: Int]>([:])

    init(suite: PSISuite, registry: DeviceRegistry?, x25519Scalar: [UInt8]? = nil) throws {
        self.suite = suite; self.registry = registry
        x25519 = suite == .ecdh25519 ? try X25519Key(scalar: x25519Scalar) : nil
        sm2 = suite == .ecdhSM2 ? try SM2Key() : nil
        exponent = suite == .dhMODP2048 ? try BigNumber(randomBits: 256) : nil
    }

    /// Chunks of at most 512 items, run concurrently.
    static func chunked(_ count: Int, size: Int = 512, compute: @escaping PSICompute, _ work: @escaping @Sendable (Range<Int>) throws -> [UInt8]) async throws -> [UInt8] {
        let ranges = stride(from: 0, to: count, by: size).map { $0..<Swift.min($0 + size, count) }
        return try await withThrowingTaskGroup(of: (Int, [UInt8]).self) { group in
            for (index, range) in ranges.enumerated() { group.addTask { (index, try await compute { try work(range) }) } }
            var parts = [[UInt8]](repeating: [], count: ranges.count)
            for try await (index, part) in group { parts[index] = part }
            return parts.flatMap { $0 }
        }
    }

    /// The full-domain hash of `id` into [0, 2^2048): SHA-256(id ‖ i) for i = 0…7, concatenated.
    static func fullDomainHash(_ id: [UInt8]) throws -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        for counter in 0..<8 as Range<UInt8> { out += try Digest.sha256.hash(id + [counter]) }
        return out
    }

    /// First stage: H(id)^k for each id, concatenated (``PSISuite/elementBytes`` each).
    func hashAndBlind(_ ids: [[UInt8]], compute: @escaping PSICompute) async throws -> [UInt8] {
        let width = suite.elementBytes
        switch suite {
        case .ecdh25519:
            let key = x25519!
            return try await Self.chunked(ids.count, compute: compute) { range in
                let deriver = try key.deriver()
                var out = [UInt8](repeating: 0, count: range.count * width)
                try out.withUnsafeMutableBytes { out in
                    for (offset, index) in range.enumerated() {
                        let u = try Digest.sha256.hash(ids[index])
                        try u.withUnsafeBytes { try deriver.multiply($0, into: UnsafeMutableRawBufferPointer(rebasing: out[(offset * 32)..<(offset * 32 + 32)])) }
                    }
                }
                return out
            }
        case .ecdhSM2:
            let key = sm2!
            return try await Self.chunked(ids.count, compute: compute) { range in
                let scratch = key.scratch()
                var out = [UInt8](repeating: 0, count: range.count * width)
                try out.withUnsafeMutableBytes { out in
                    for (offset, index) in range.enumerated() {
                        try key.hashAndMultiply(ids[index], into: UnsafeMutableRawBufferPointer(rebasing: out[(offset * width)..<((offset + 1) * width)]), scratch: scratch)
                    }
                }
                return out
            }
        case .dhMODP2048:
            let hashed = try await Self.chunked(ids.count, compute: compute) { range in
                try range.flatMap { index in
                    BigNumber.squareMod(BigNumber(bigEndian: try Self.fullDomainHash(ids[index])), rfc3526Prime2048).bigEndianBytes(count: 256)
                }
            }
            return try await modExp(hashed, count: ids.count)
        }
    }

    /// Second stage: e^k for each of the peer's elements, the full elements concatenated.
    /// - Throws: ``PartyError`` for an element that is not one of the group.
    func blind(_ elements: [UInt8], count: Int, compute: @escaping PSICompute) async throws -> [UInt8] {
        let width = suite.elementBytes
        switch suite {
        case .ecdh25519:
            let key = x25519!
            return try await Self.chunked(count, compute: compute) { range in
                let deriver = try key.deriver()
                var out = [UInt8](repeating: 0, count: range.count * 32)
                try out.withUnsafeMutableBytes { out in
                    try elements.withUnsafeBytes { input in
                        for (offset, index) in range.enumerated() {
                            try deriver.multiply(UnsafeRawBufferPointer(rebasing: input[(index * 32)..<(index * 32 + 32)]),
                                             into: UnsafeMutableRawBufferPointer(rebasing: out[(offset * 32)..<(offset * 32 + 32)]))
                        }
                    }
                }
                return out
            }
        case .ecdhSM2:
            let key = sm2!
            return try await Self.chunked(count, compute: compute) { range in
                let scratch = key.scratch()
                var out = [UInt8](repeating: 0, count: range.count * width)
                try out.withUnsafeMutableBytes { out in
                    try elements.withUnsafeBytes { input in
                        for (offset, index) in range.enumerated() {
                            try key.multiply(UnsafeRawBufferPointer(rebasing: input[(index * width)..<((index + 1) * width)]),
                                             into: UnsafeMutableRawBufferPointer(rebasing: out[(offset * width)..<((offset + 1) * width)]), scratch: scratch)
                        }
                    }
                }
                return out
            }
        case .dhMODP2048:
            return try await modExp(elements, count: count)
        }
    }

    /// Raises `count` 256-byte elements to the secret exponent mod p on the modexp offload
    /// (``DeviceRegistry/modExp(bases:exponents:modulus:preferred:)``: OpenCL when a device
    /// serves batches this size, else the CPU fallback on the executors).
    func modExp(_ elements: [UInt8], count: Int) async throws -> [UInt8] {
        let p = rfc3526Prime2048
        var bases: [BigNumber] = []
        bases.reserveCapacity(count)
        for index in 0..<count {
            let base = BigNumber(bigEndian: Array(elements[(index * 256)..<((index + 1) * 256)]))
            guard base.isNonTrivialElement(of: p) else { throw PartyError("dh-modp2048: element \(index) of the batch is not in the group") }
            bases.append(base)
        }
        let results: [BigNumber]
        if let registry {
            let (values, served) = try await registry.modExp(bases: bases, exponents: [exponent!], modulus: p)
            self.served.withLock { $0[served.device, default: 0] += count }
            results = values
        } else {
            results = try bases.map { try BigNumber.modExpConstantTime($0, exponent!, p) }
            self.served.withLock { $0["cpu", default: 0] += count }
        }
        var out: [UInt8] = []
        out.reserveCapacity(count * 256)
        for value in results { out += value.bigEndianBytes(count: 256) }
        return out
    }

    /// The 96-bit comparison tag of a second-stage element.
    func tag(_ element: UnsafeRawBufferPointer) -> PSITag {
        let start: Int
        switch suite {
        case .ecdh25519: start = 0
        case .ecdhSM2: start = 1  // after the compression prefix
        case .dhMODP2048: start = 256 - 12
        }
        return PSITag(bytes: UnsafeRawBufferPointer(rebasing: element[start..<(start + 12)]))
    }
}

/// 96 bits of a second-stage value.
struct PSITag: Hashable {
    var high: UInt64, low: UInt32
    init(bytes: UnsafeRawBufferPointer) {
        var h: UInt64 = 0, l: UInt32 = 0
        for i in 0..<8 { h = h << 8 | UInt64(bytes[i]) }
        for i in 8..<12 { l = l << 8 | UInt32(bytes[i]) }
        high = h; low = l
    }
    var bytes: [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: high >> (56 - 8 * UInt64($0))) } + (0..<4).map { UInt8(truncatingIfNeeded: low >> (24 - 8 * UInt32($0))) } }
}

/// Counts a PSI run reports as it goes: ids hashed (first stage), items sent, items received, matched.
public struct PSIProgress: Sendable {
    public var hashed = 0, sent = 0, received = 0, matched = 0
}

/// What a PSI run gives: the positions (in the ids given) of the ids in the intersection, when
/// this side receives the result; the counts either way.
public struct PSIOutcome: Sendable {
    /// Indexes into the `ids` passed to ``PSIProtocol/run``, ascending; nil when only the peer gets the result.
    public var matched: [Int]?
    public var localItems: Int
    public var peerItems: Int
    /// Items whose exponentiation each device served (dh-modp2048), e.g. `["cpu": 60000]`.
    public var modExpServed: [String: Int]
}

/// Two-party, semi-honest ECDH/DH-PSI over a ``PartyChannel`` — the step other jobs (WOE/IV) run
/// first.
///
/// Both sides call ``run`` with their own distinct ids, the same suite and opposite result flags.
/// Each side blinds its ids (first stage) and sends them in batches; the other side raises them to
/// its own secret (second stage) and returns the 96-bit tags in batch order when the sender is to
/// receive the result (else only an acknowledgement), and keeps them when it is itself to receive
/// the result. At most `window` batches are unanswered at once. Each side learns the other's count
/// of distinct ids; a side that does not receive the result learns nothing more.
public enum PSIProtocol {
    public static let batchSize = 4096
    public static let window = 4

    struct Hello: Codable { var suite: PSISuite; var items: Int; var batchSize: Int; var receivesResult: Bool }
    struct Done: Codable { var matched: Int? }

    /// - Parameters:
    ///   - ids: this side's ids, distinct (apply the duplicate policy first).
    ///   - receivesResult / peerReceivesResult: who learns the intersection; both sides must agree.
    ///   - registry: the modexp offload for `dh-modp2048` (nil: this thread's CPU).
    ///   - progress: called as the counts grow.
    /// - Throws: ``PartyError`` (the peer's abort, a broken link, a mismatch of suites or roles),
    ///   ``CryptoError``. On any failure the caller should ``PartyChannel/abort(_:)`` the channel.
    public static func run(channel: PartyChannel, ids: [[UInt8]], suite: PSISuite, receivesResult: Bool, peerReceivesResult: Bool,
                           registry: DeviceRegistry?, compute: @escaping PSICompute,
                           progress: @escaping @Sendable (PSIProgress) -> Void = { _ in }) async throws -> PSIOutcome {
        let cipher = try PSICipher(suite: suite, registry: registry)
        let batch = batchSize
        try channel.send(control: Hello(suite: suite, items: ids.count, batchSize: batch, receivesResult: receivesResult))
        let hello = try await channel.receive(control: Hello.self, timeout: .seconds(600))
        guard hello.suite == suite else { throw PartyError("peer \(channel.peer) runs suite \(hello.suite.rawValue), this side \(suite.rawValue)") }
        guard hello.receivesResult == peerReceivesResult, hello.batchSize == batch else {
            throw PartyError("peer \(channel.peer) disagrees on who receives the result or the batch size")
        }
        var counts = PSIProgress()
        let own = try await cipher.hashAndBlind(ids, compute: compute)
        counts.hashed = ids.count
        progress(counts)
        let width = suite.elementBytes
        let ownBatches = (ids.count + batch - 1) / batch
        let peerBatches = (hello.items + batch - 1) / batch
        // Per answer: a batch's work on the peer, generously, and never less than a minute.
        let perItem: Double = suite == .ecdh25519 ? 0.0005 : suite == .ecdhSM2 ? 0.005 : 0.02
        let timeout = Duration.seconds(60 + perItem * Double(batch * window))
        var ownTags = receivesResult ? [PSITag?](repeating: nil, count: ids.count) : []
        var peerTags = Set<PSITag>()
        var nextSend = 0, answered = 0, received = 0
        while answered < ownBatches || received < peerBatches {
            while nextSend < ownBatches && nextSend - answered < window {
                let range = (nextSend * batch)..<min((nextSend + 1) * batch, ids.count)
                try channel.send(PartyFrame(.data, [UInt8(ascii: "F")] + UInt32(nextSend).bigEndianBytes + own[(range.lowerBound * width)..<(range.upperBound * width)]))
                nextSend += 1
                counts.sent += range.count
                progress(counts)
            }
            let frame = try await channel.receive(timeout: timeout)
            guard frame.kind == .data, frame.payload.count >= 5 else {
                throw PartyError("peer \(channel.peer): expected a batch, got a \(frame.kind) frame of \(frame.payload.count) bytes")
            }
            let index = Int(UInt32(bigEndianBytes: frame.payload[1..<5]))
            let body = Array(frame.payload[5...])
            switch frame.payload[0] {
            case UInt8(ascii: "F"):
                let expected = min(batch, hello.items - received * batch)
                guard index == received, received < peerBatches, body.count == expected * width else {
                    throw PartyError("peer \(channel.peer): batch \(index) of \(body.count) bytes out of order or of the wrong size")
                }
                let second = try await cipher.blind(body, count: expected, compute: compute)
                var tags: [UInt8] = []
                second.withUnsafeBytes { all in
                    for item in 0..<expected {
                        let tag = cipher.tag(UnsafeRawBufferPointer(rebasing: all[(item * width)..<((item + 1) * width)]))
                        if receivesResult { peerTags.insert(tag) }
                        if peerReceivesResult { tags += tag.bytes }
                    }
                }
                try channel.send(PartyFrame(.data, [UInt8(ascii: peerReceivesResult ? "S" : "A")] + UInt32(index).bigEndianBytes + tags))
                received += 1
                counts.received += expected
                progress(counts)
            case UInt8(ascii: "S"), UInt8(ascii: "A"):
                let start = answered * batch, expected = min(batch, ids.count - start)
                guard index == answered, answered < nextSend, (frame.payload[0] == UInt8(ascii: "S")) == receivesResult,
                      body.count == (receivesResult ? expected * 12 : 0) else {
                    throw PartyError("peer \(channel.peer): answer to batch \(index) out of order or of the wrong size")
                }
                if receivesResult {
                    body.withUnsafeBytes { all in
                        for item in 0..<expected { ownTags[start + item] = PSITag(bytes: UnsafeRawBufferPointer(rebasing: all[(item * 12)..<(item * 12 + 12)])) }
                    }
                }
                answered += 1
            default:
                throw PartyError("peer \(channel.peer): unknown batch type \(frame.payload[0])")
            }
        }
        var matched: [Int]?
        if receivesResult {
            matched = ownTags.indices.filter { peerTags.contains(ownTags[$0]!) }
            counts.matched = matched!.count
            progress(counts)
        }
        try channel.send(control: Done(matched: matched?.count))
        let done = try await channel.receive(control: Done.self, timeout: timeout)
        if let theirs = done.matched, let ours = matched?.count, theirs != ours {
            throw PartyError("peer \(channel.peer) found \(theirs) ids in the intersection, this side \(ours)")
        }
        return PSIOutcome(matched: matched, localItems: ids.count, peerItems: hello.items, modExpServed: cipher.served.withLock { $0 })
    }
}

extension UInt32 {
    var bigEndianBytes: [UInt8] { [UInt8(self >> 24), UInt8(truncatingIfNeeded: self >> 16), UInt8(truncatingIfNeeded: self >> 8), UInt8(truncatingIfNeeded: self)] }
    init(bigEndianBytes bytes: ArraySlice<UInt8>) {
        self = bytes.reduce(0) { $0 << 8 | UInt32($1) }
    }
}
