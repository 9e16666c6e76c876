import ArcaCrypto
import ArcaSystem
import Foundation
import Glibc
import Synchronization

/// Who did something: a local caller by its socket credentials, or a partner appliance by name.
public struct AuditActor: Codable, Sendable, Equatable {
    public var uid: Int?
    public var gid: Int?
    public var pid: Int?
    /// The user name of `uid`, when it has one.
    public var user: String?
    /// The partner's identity, for work a partner appliance asked for.
    public var partner: String?
    public init(uid: Int? = nil, gid: Int? = nil, pid: Int? = nil, user: String? = nil, partner: String? = nil) {
        self.uid = uid; self.gid = gid; self.pid = pid; self.user = user; self.partner = partner
    }
    /// arcad itself (recovery at start, job events).
    public static let daemon = AuditActor(uid: Int(getuid()), gid: Int(getgid()), pid: Int(getpid()), user: "arcad")

    /// Explicit `null`s: every entry has the same keys.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(uid, forKey: .uid); try container.encode(gid, forKey: .gid);
        try container.encode(pid, forKey: .pid)
        try container.encode(user, forKey: .user); try container.encode(partner, forKey: .partner)
    }
}

/// What is recorded: an action (`job.submit`, `dataset.add`, `grant.add`, `job.state`, …), its
/// outcome (`ok`, `refused`, `denied`, `failed`, or a job state), and what it touched.
public struct AuditRecord: Sendable, Equatable {
    public var action: String
    public var actor: AuditActor
    public var result: String
    public var job: Int?
    public var datasets: [String]
    /// A digest (hex) of the job's result file, when there is one.
    public var resultHash: String?
    /// One line: the rule that refused, the error, the grant's terms, …
    public var detail: String?
    public init(
        action: String, actor: AuditActor, result: String, job: Int? = nil, datasets: [String] = [],
        resultHash: String? = nil, detail: String? = nil
    ) {
        self.action = action; self.actor = actor; self.result = result; self.job = job; self.datasets = datasets
        self.resultHash = resultHash; self.detail = detail
    }
}

/// The body of one line of the log, hashed as written. `hash` is appended after it.
struct EntryBody: Codable {
    var seq: Int
    var time: String
    var prev: String
    var action: String
    var actor: AuditActor
    var result: String
    var job: Int?
    var datasets: [String]
    var resultHash: String?
    var detail: String?
    /// Only on `audit.checkpoint` entries: the appliance key's signature of ``checkpointMessage``.
    var signature: String?

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(seq, forKey: .seq); try c.encode(time, forKey: .time); try c.encode(prev, forKey: .prev)
        try c.encode(action, forKey: .action); try c.encode(actor, forKey: .actor);
        try c.encode(result, forKey: .result)
        try c.encode(job, forKey: .job); try c.encode(datasets, forKey: .datasets);
        try c.encode(resultHash, forKey: .resultHash)
        try c.encode(detail, forKey: .detail); try c.encode(signature, forKey: .signature)
    }
}

/// The signed head of the log: the last entry's number and hash, signed after every append.
public struct AuditHead: Codable, Sendable, Equatable {
    public var seq: Int
    public var hash: String
    /// `sha256` or `sm3`.
    public var digest: String
    /// The appliance's public key, hex (``signatureAlgorithm``'s form).
    public var publicKey: String
    /// `ed25519` or `sm2`; absent in heads written before SM2 was offered (Ed25519).
    public var signatureAlgorithm: String?
    /// Signature of `arca-audit-head <digest> <seq> <hash>`, hex.
    public var signature: String

    static func message(digest: String, seq: Int, hash: String) -> [UInt8] {
        Array("arca-audit-head \(digest) \(seq) \(hash)".utf8)
    }
}

/// The outcome of checking a log: where it first goes wrong, if anywhere.
public struct AuditVerification: Sendable, Equatable {
    public var ok: Bool
    /// Entries read that chain correctly up to the first problem (all of them when `ok`).
    public var entries: Int
    /// Signed checkpoints checked.
    public var checkpoints: Int
    /// The first bad entry's number (the one expected at that place), and its line in the file.
    public var firstBadEntry: Int?
    public var firstBadLine: Int?
    public var reason: String?
    public var headSeq: Int?
    /// The `audit.break` entries in the log: breaks arcad found at a start and recorded.
    public var recordedBreaks: [Int] = []
    /// True when the log has a problem no `audit.break` entry records yet: a bad entry after the
    /// last recorded break, or a head that does not match the log.
    public var unrecordedProblem = false

    /// `entry 3 (line 3): its hash does not match its content (the entry was altered)`, or `ok`.
    public var summary: String {
        guard !ok else { return "ok" }
        return "entry \(firstBadEntry.map(String.init) ?? "?")" + (firstBadLine.map { " (line \($0))" } ?? "")
            + ": \(reason ?? "")"
    }
}

/// Where the log's newest entry (number and hash) is kept apart from the log — arcad keeps it in the
/// job store — so that an older log restored together with its own head, which verifies by itself,
/// is still found out at the next start.
public protocol AuditHighWaterMark: Sendable {
    /// The newest entry recorded, or nil when none has been.
    func highWaterMark() throws -> (seq: Int, hash: String, time: Date)?
    /// Records `seq` and `hash` as the newest entry.
    func recordHighWaterMark(seq: Int, hash: String) throws
}

/// The tamper-evident audit log: JSON lines in `<state>/audit/audit.log`, each carrying the hash of
/// the one before (SHA-256 or SM3), with an `audit.checkpoint` entry signed by the appliance's
/// key (Ed25519 or SM2) every `checkpointEvery` entries and at each start, and a signed head
/// (`audit.head`) rewritten after every append so that a cut tail is noticed too.
///
/// A line is `{…body, keys sorted…,"hash":"<hex>"}` where hash = digest(the line with
/// `,"hash":"…"` removed). Entries are numbered from 1; the first one's `prev` is 64 zeros.
/// Every append is written and `fsync`ed before it returns.
public final class AuditLog: Sendable {
    public let directory: String
    public let digest: Digest
    public let checkpointEvery: Int
    let key: SigningKey
    private struct Tail {
        var seq: Int; var hash: String; var sinceCheckpoint: Int
        /// Told every new entry once ``track(with:)`` has checked the log against it.
        var mark: (any AuditHighWaterMark)?
    }
    private let tail: Mutex<Tail>
    private let problems: Mutex<[String]>
    /// Problems found when the log was opened (a chain that does not verify, a break found and
    /// recorded, a rollback), for `status`.
    public var startupProblems: [String] { problems.withLock { $0 } }

    public var logPath: String { directory + "/audit.log" }
    public var headPath: String { directory + "/audit.head" }
    public var publicKey: String { hexString(key.publicKey) }
    public var signatureAlgorithm: SignatureAlgorithm { key.algorithm }
    static let genesis = String(repeating: "0", count: 64)

    /// Opens (or creates) the log in `directory` with the signing key at `keyPath` (made, mode
    /// 0600, only when there is no log yet). A torn last line left by a crash is cut and the cut
    /// recorded; a head one entry behind the log (a crash between the two writes) is signed again.
    /// Anything else that does not verify — a head deleted or damaged, a log cut or altered — is
    /// never repaired silently: an `audit.break` entry saying what was found is appended, and
    /// ``verify()`` reports that entry from then on.
    /// - Throws: when the directory, the key or the files cannot be used, and when the key is
    ///   missing while a log exists (a new key would hide the loss and sign over the old log).
    public init(
        directory: String, keyPath: String, digest: Digest, checkpointEvery: Int = 64,
        signature: SignatureAlgorithm = .ed25519
    ) throws {
        self.directory = directory
        self.digest = digest
        self.checkpointEvery = max(1, checkpointEvery)
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let logPath = directory + "/audit.log", headPath = directory + "/audit.head"
        var keyInfo = stat(), logInfo = stat()
        let logHasEntries = stat(logPath, &logInfo) == 0 && logInfo.st_size > 0
        let logExists = logHasEntries || FileManager.default.fileExists(atPath: headPath)
        if lstat(keyPath, &keyInfo) != 0 && errno == ENOENT && logExists {
            throw AuditError(
                "the appliance key \(keyPath) is missing but the audit log in \(directory) exists: "
                    + "arcad makes no new key for an existing log (its signatures could not be checked, "
                    + "and the loss would be hidden); restore the key, "
                    + "or move \(directory) aside to start a new log")
        }
        key = try SigningKey.loadOrCreate(path: keyPath, algorithm: signature)
        if !FileManager.default.fileExists(atPath: logPath) {
            guard FileManager.default.createFile(atPath: logPath, contents: nil, attributes: [.posixPermissions: 0o600])
            else {
                throw AuditError("cannot create \(logPath)")
            }
        }
        var data = try Data(contentsOf: URL(fileURLWithPath: logPath))
        var problems: [String] = []
        var torn = 0
        if let last = data.last, last != UInt8(ascii: "\n") {
            // A crash in the middle of a write leaves a line without its newline: never a whole entry.
            let cut = (data.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 }) ?? 0
            torn = data.count - cut
            guard truncate(logPath, off_t(cut)) == 0 else {
                throw AuditError("cannot cut the torn tail of \(logPath): \(Errno.current)")
            }
            data = data.prefix(cut)
        }
        let lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).dropLast()
        var seq = 0, hash = Self.genesis, sinceCheckpoint = 0
        if let lastLine = lines.last {
            if let parsed = try? Self.parse(Array(lastLine), digest: digest) {
                seq = parsed.body.seq
                hash = parsed.hash
                sinceCheckpoint = parsed.body.action == "audit.checkpoint" ? 0 : checkpointEvery  // checkpoint soon
            } else {
                // A damaged last entry: go on after it (numbered by its line, chained to its bytes) rather
                // than start a second chain at entry 1; the break recorded below names it.
                seq = lines.count
                hash = try digest.hex(Array(lastLine))
                sinceCheckpoint = checkpointEvery
            }
        }
        tail = Mutex(Tail(seq: seq, hash: hash, sinceCheckpoint: sinceCheckpoint))
        let headData = try? Data(contentsOf: URL(fileURLWithPath: headPath))
        let head = headData.flatMap { try? JSONDecoder().decode(AuditHead.self, from: $0) }
        let repairHead = head.map { $0.seq + 1 == seq } ?? false  // the crash came between the entry and its head
        var repaired = head
        if repairHead {
            repaired = AuditHead(
                seq: seq, hash: hash, digest: digest.name, publicKey: hexString(key.publicKey),
                signatureAlgorithm: key.algorithm.rawValue,
                signature: hexString(try key.sign(AuditHead.message(digest: digest.name, seq: seq, hash: hash))))
        }
        let check = Self.verify(
            log: data, head: repaired, publicKey: key.publicKey, digest: digest, algorithm: key.algorithm)
        var finding: String?
        if check.unrecordedProblem {
            let headNote =
                headData == nil
                ? "audit.head is missing"
                : head == nil ? "audit.head is damaged (not a signed head)" : nil
            finding = (headNote.map { "\($0); " } ?? "") + "the log did not verify: first bad \(check.summary)"
        }
        if !check.ok { problems.append("audit log does not verify: first bad \(check.summary)") }
        self.problems = Mutex(problems)
        if repairHead { try writeHead(seq: seq, hash: hash) }
        if torn > 0 {
            try append(
                AuditRecord(
                    action: "audit.recover", actor: .daemon, result: "ok",
                    detail: "cut a torn last line of \(torn) bytes left by a crash"))
        }
        if let finding { try recordBreak(finding) }
        try checkpoint()
    }

    /// Appends an `audit.break` entry (signed by the checkpoint after it, and by the head) and
    /// says so in ``startupProblems``.
    private func recordBreak(_ finding: String) throws {
        let (seq, _) = try append(AuditRecord(action: "audit.break", actor: .daemon, result: "found", detail: finding))
        problems.withLock { $0.append("audit: recorded a break in the log as entry \(seq): \(finding)") }
    }

    /// Checks the log against the newest entry `mark` recorded (the job store's copy), records a
    /// break when the log is older — an earlier log and head restored as a pair — or another log,
    /// and from then on tells `mark` every new entry.
    /// - Throws: when the mark cannot be read or written, or the break cannot be appended.
    public func track(with mark: any AuditHighWaterMark) throws {
        let current = tail.withLock { ($0.seq, $0.hash) }
        var finding: String?
        if let stored = try mark.highWaterMark() {
            let recorded =
                "entry \(stored.seq) (hash \(stored.hash.prefix(16))…), "
                + "recorded at \(Self.timestamp(stored.time))"
            if stored.seq > current.0 {
                finding =
                    "rollback: the log ended at entry \(current.0) but the job store holds \(recorded): "
                    + "an older log and head were restored, or the log was cut"
            } else if (stored.seq == current.0 ? current.1 : hash(ofEntry: stored.seq)) != stored.hash {
                finding =
                    "the log's entry \(stored.seq) was not the job store's \(recorded): "
                    + "the log was replaced by another one"
            }
        }
        tail.withLock { $0.mark = mark }
        if let finding {
            try recordBreak(finding)
        } else {
            try mark.recordHighWaterMark(seq: current.0, hash: current.1)
        }
    }

    /// The hash of entry `seq` as the log holds it, or nil when no line holds that entry.
    private func hash(ofEntry seq: Int) -> String? {
        let data = tail.withLock { _ in (try? Data(contentsOf: URL(fileURLWithPath: logPath))) ?? Data() }
        for line in data.split(separator: UInt8(ascii: "\n")) {
            if let parsed = try? Self.parse(Array(line), digest: digest), parsed.body.seq == seq { return parsed.hash }
        }
        return nil
    }

    /// Appends a signed checkpoint entry over the current head.
    public func checkpoint() throws {
        _ = try tail.withLock { tail in
            try appendLocked(
                &tail, AuditRecord(action: "audit.checkpoint", actor: .daemon, result: "ok"), checkpoint: true)
        }
    }

    /// Appends `record`, fsyncs it and signs the new head; returns the entry's number and hash.
    @discardableResult
    public func append(_ record: AuditRecord) throws -> (seq: Int, hash: String) {
        try tail.withLock { tail in
            let written = try appendLocked(&tail, record, checkpoint: false)
            if tail.sinceCheckpoint >= checkpointEvery {
                try appendLocked(
                    &tail, AuditRecord(action: "audit.checkpoint", actor: .daemon, result: "ok"), checkpoint: true)
            }
            return written
        }
    }

    static func checkpointMessage(digest: String, seq: Int, prev: String) -> [UInt8] {
        Array("arca-audit-checkpoint \(digest) \(seq) \(prev)".utf8)
    }

    @discardableResult
    private func appendLocked(
        _ tail: inout Tail, _ record: AuditRecord, checkpoint: Bool
    ) throws -> (seq: Int, hash: String) {
        let seq = tail.seq + 1
        var body = EntryBody(
            seq: seq, time: Self.timestamp(Date()), prev: tail.hash, action: record.action, actor: record.actor,
            result: record.result, job: record.job, datasets: record.datasets, resultHash: record.resultHash,
            detail: record.detail, signature: nil)
        if checkpoint {
            body.signature = hexString(
                try key.sign(Self.checkpointMessage(digest: digest.name, seq: seq, prev: tail.hash)))
            body.detail = "signed by the appliance key \(publicKey)"
        }
        let encoded = try Self.encoder.encode(body)
        let hash = try digest.hex(encoded)
        var line = Data(encoded.dropLast())
        line.append(contentsOf: Array(",\"hash\":\"\(hash)\"}\n".utf8))
        let descriptor = open(logPath, O_WRONLY | O_APPEND | O_CLOEXEC)
        guard descriptor >= 0 else { throw AuditError("cannot open \(logPath): \(Errno.current)") }
        defer { close(descriptor) }
        let written = line.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        guard written == line.count, fsync(descriptor) == 0 else {
            throw AuditError("cannot write \(logPath): \(Errno.current)")
        }
        tail.seq = seq
        tail.hash = hash
        tail.sinceCheckpoint = checkpoint ? 0 : tail.sinceCheckpoint + 1
        try writeHead(seq: seq, hash: hash)
        if let mark = tail.mark {
            do { try mark.recordHighWaterMark(seq: seq, hash: hash) } catch {
                throw AuditError(
                    "entry \(seq) is written, but its number could not be recorded "
                        + "in the job store: \(error)")
            }
        }
        return (seq, hash)
    }

    private func writeHead(seq: Int, hash: String) throws {
        let head = AuditHead(
            seq: seq, hash: hash, digest: digest.name, publicKey: publicKey, signatureAlgorithm: key.algorithm.rawValue,
            signature: hexString(try key.sign(AuditHead.message(digest: digest.name, seq: seq, hash: hash))))
        let data = try Self.encoder.encode(head) + Data("\n".utf8)
        do {
            try AtomicFile.write(data, to: headPath)
        } catch {
            throw AuditError("cannot write \(headPath): \(error)")
        }
    }

    /// The current signed head.
    public func head() -> AuditHead? {
        try? JSONDecoder().decode(AuditHead.self, from: Data(contentsOf: URL(fileURLWithPath: headPath)))
    }

    /// Checks the log on disk: every entry's hash, the chain, the numbering, every checkpoint's
    /// signature, and the signed head against the last entry.
    public func verify() -> AuditVerification {
        tail.withLock { _ in
            let data = (try? Data(contentsOf: URL(fileURLWithPath: logPath))) ?? Data()
            return Self.verify(
                log: data, head: head(), publicKey: key.publicKey, digest: digest, algorithm: key.algorithm)
        }
    }

    /// The entries as JSON objects (the lines as written), oldest first, filtered.
    public func entries(since: Date? = nil, job: Int? = nil) throws -> [Data] {
        // never half an append
        let data = try tail.withLock { _ in try Data(contentsOf: URL(fileURLWithPath: logPath)) }
        let sinceText = since.map(Self.timestamp)
        return data.split(separator: UInt8(ascii: "\n")).compactMap { line -> Data? in
            // a damaged line is shown as it is
            guard let body = try? JSONDecoder().decode(EntryBody.self, from: Data(line)) else { return Data(line) }
            if let sinceText, body.time < sinceText { return nil }
            if let job, body.job != job { return nil }
            return Data(line)
        }
    }

    /// Checks `log` (the file's bytes) against `head`, signatures with `publicKey`.
    ///
    /// The first problem is named: a bad entry, the head, or an `audit.break` entry — a break arcad
    /// found at a start and recorded, which keeps the log from verifying for good. Past a bad entry
    /// the lines are still read for recorded breaks, and the head is checked against the last line,
    /// so that ``AuditVerification/unrecordedProblem`` says whether a break is still to be recorded.
    public static func verify(
        log: Data, head: AuditHead?, publicKey: [UInt8], digest: Digest,
        algorithm: SignatureAlgorithm = .ed25519
    ) -> AuditVerification {
        var result = AuditVerification(ok: true, entries: 0, checkpoints: 0, headSeq: head?.seq)
        typealias Problem = (entry: Int, line: Int?, reason: String)
        var entryProblem: Problem?
        var breaks: [Problem] = []
        var lines = log.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        var tornLine: Int?
        if lines.last?.isEmpty == true {
            lines.removeLast()
        } else if !lines.isEmpty {
            tornLine = lines.count
            lines.removeLast()
        }
        var previous = genesis
        var last: (seq: Int, hash: String)?  // the last complete line, if it is a well-formed entry
        for (index, line) in lines.enumerated() {
            let number = index + 1, expected = index + 1
            var parsed: (body: EntryBody, hash: String)?
            var failure: String?
            do {
                parsed = try parse(Array(line), digest: digest)
            } catch let error as AuditError {
                failure = error.description
            } catch {
                failure = "\(error)"
            }
            last = parsed.map { ($0.body.seq, $0.hash) }
            if let body = parsed?.body, body.action == "audit.break" {
                let reason = "audit.break: arcad found the log broken at a start and recorded it: \(body.detail ?? "")"
                breaks.append((body.seq, number, reason))
            }
            guard entryProblem == nil else { continue }  // past the first bad entry: only breaks are looked for
            guard let parsed else {
                entryProblem = (expected, number, failure ?? "not an audit entry")
                continue
            }
            let body = parsed.body
            if body.seq != expected {
                entryProblem = (
                    expected, number,
                    body.seq > expected
                        ? "it is missing: line \(number) holds entry \(body.seq) "
                            + "(an entry was deleted, or entries reordered)"
                        : "line \(number) holds entry \(body.seq) instead (entries reordered or repeated)"
                )
                continue
            }
            guard body.prev == previous else {
                entryProblem = (expected, number, "it does not chain to the entry before it (prev hash differs)")
                continue
            }
            if body.action == "audit.checkpoint" {
                let message = checkpointMessage(digest: digest.name, seq: body.seq, prev: body.prev)
                guard let signature = body.signature.flatMap(hexBytes),
                    SigningKey.verify(
                        signature: signature, message: message, publicKey: publicKey,
                        algorithm: algorithm)
                else {
                    entryProblem = (
                        expected, number,
                        "the checkpoint's signature does not verify with the appliance key"
                    )
                    continue
                }
                result.checkpoints += 1
            }
            previous = parsed.hash
            result.entries = expected
        }
        if entryProblem == nil, let tornLine {
            entryProblem = (tornLine, tornLine, "the line is not ended by a newline (a torn or altered last entry)")
        }
        // The head against the last line (the end of the chain when it is whole).
        let lastSeq = entryProblem == nil ? result.entries : (last?.seq ?? lines.count)
        let lastHash = entryProblem == nil ? previous : last?.hash
        var headProblem: Problem?
        if tornLine == nil || entryProblem?.entry != tornLine {
            if let head {
                let message = AuditHead.message(digest: head.digest, seq: head.seq, hash: head.hash)
                let signed =
                    hexBytes(head.signature).map { signature in
                        SigningKey.verify(
                            signature: signature, message: message, publicKey: publicKey,
                            algorithm: algorithm)
                    } ?? false
                if !signed || head.digest != digest.name {
                    let entry = min(head.seq, lastSeq)
                    headProblem = (entry, entry, "the signed head (audit.head) does not verify with the appliance key")
                } else if head.seq > lastSeq {
                    headProblem = (
                        lastSeq + 1, lastSeq + 1,
                        "it is missing: the log ends at entry \(lastSeq) "
                            + "but the signed head is entry \(head.seq) (the tail was cut)"
                    )
                } else if head.seq < lastSeq {
                    headProblem = (
                        head.seq + 1, head.seq + 1,
                        "it comes after the signed head (entry \(head.seq)): "
                            + "appended without the appliance key"
                    )
                } else if head.hash != lastHash {
                    headProblem = (lastSeq, lastSeq, "it is not the entry the signed head names")
                }
            } else if !lines.isEmpty {
                headProblem = (
                    lastSeq, lastSeq,
                    "the signed head (audit.head) is missing: the end of the log cannot be checked"
                )
            }
        }
        result.recordedBreaks = breaks.map(\.entry)
        let lastBreak = breaks.last?.entry ?? 0
        result.unrecordedProblem = headProblem != nil || (entryProblem.map { $0.entry > lastBreak } ?? false)
        // The earliest problem is named; at the same entry, a bad entry before a recorded break.
        let candidates = [entryProblem, breaks.first, headProblem].compactMap { $0 }
        if let first = candidates.min(by: { $0.entry < $1.entry }) {
            result.ok = false
            result.firstBadEntry = first.entry
            result.firstBadLine = first.line
            result.reason = first.reason
        }
        return result
    }

    static func parse(_ line: [UInt8], digest: Digest) throws -> (body: EntryBody, hash: String) {
        // ,"hash":"<hex>"}
        let marker = Array(",\"hash\":\"".utf8)
        guard line.count > marker.count + 2, line.last == UInt8(ascii: "}"), line[line.count - 2] == UInt8(ascii: "\""),
            let start = lastIndex(of: marker, in: line)
        else {
            throw AuditError("not an audit entry (no trailing \"hash\")")
        }
        let hash = String(decoding: line[(start + marker.count)..<(line.count - 2)], as: UTF8.self)
        let body = Array(line[..<start]) + [UInt8(ascii: "}")]
        guard try digest.hex(body) == hash else {
            throw AuditError("its hash does not match its content (the entry was altered)")
        }
        do {
            return (try JSONDecoder().decode(EntryBody.self, from: Data(body)), hash)
        } catch {
            throw AuditError("not a well-formed entry: \(error)")
        }
    }

    static func lastIndex(of needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        var index = haystack.count - needle.count
        while index >= 0 {
            if Array(haystack[index..<(index + needle.count)]) == needle { return index }
            index -= 1
        }
        return nil
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    /// UTC, milliseconds: `2026-11-29T17:40:12.345Z` (sorts as text).
    public static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }
}

public struct AuditError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
