import Foundation
import TOMLKit

/// A value of a job spec's `[options]` table.
public enum SpecValue: Sendable, Equatable, CustomStringConvertible {
    case int(Int), double(Double), string(String), bool(Bool)
    public var description: String {
        switch self {
        case .int(let v): return "\(v)"
        case .double(let v): return "\(v)"
        case .string(let v): return "\"\(v)\""
        case .bool(let v): return "\(v)"
        }
    }
}

/// A job spec that cannot be used: where (line and column, or key) and why.
public struct JobSpecError: Error, CustomStringConvertible, Sendable, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// What a job is asked to do, from TOML:
///
/// ```toml
/// kind = "dataset-stats"     # a registered job kind
/// dataset = "breast-guest"   # a registered dataset, when the kind reads one
/// partner = "local"          # whose job this is: a partner appliance's name, or "local" (default)
/// purpose = "stats"          # what the data is used for; a grant must name it
/// [options]                  # the kind's own settings
/// rows_per_second = 200
/// ```
public struct JobSpec: Sendable, Equatable {
    public var kind: String
    public var dataset: String?
    public var partner: String
    public var purpose: String
    public var options: [String: SpecValue]
    /// The spec as written.
    public var text: String

    /// True for a name of datasets, partners and purposes: a letter or digit, then letters,
    /// digits, `.`, `_`, `-`; at most 64 characters.
    public static func isName(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        func allowed(_ c: UInt8) -> Bool { (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) }
        guard let first = bytes.first, allowed(first), bytes.count <= 64 else { return false }
        return bytes.allSatisfy {
            allowed($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
        }
    }

    /// Parses `text`.
    /// - Throws: ``JobSpecError`` naming the line and column of a TOML error, or the key that is
    ///   missing, unknown or of the wrong type.
    public static func parse(_ text: String) throws -> JobSpec {
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw JobSpecError(
                "spec line \(error.source.begin.line), column \(error.source.begin.column): \(error.description)")
        }
        func string(_ key: String) throws -> String? {
            guard let value = table[key] else { return nil }
            guard let string = value.string else {
                throw JobSpecError("spec key \(key): expected a string, got \(value.tomlValue.debugDescription)")
            }
            return string
        }
        for key in table.keys where !["kind", "dataset", "partner", "purpose", "options"].contains(key) {
            throw JobSpecError("spec key \(key): unknown; a spec has kind, dataset, partner, purpose and [options]")
        }
        guard let kind = try string("kind") else {
            throw JobSpecError("spec key kind: missing; e.g. kind = \"dataset-stats\"")
        }
        let partner = try string("partner") ?? "local"
        guard let purpose = try string("purpose") else {
            throw JobSpecError("spec key purpose: missing; e.g. purpose = \"stats\"")
        }
        let dataset = try string("dataset")
        for (key, value) in [("partner", partner), ("purpose", purpose), ("dataset", dataset ?? "x")]
        where !isName(value) {
            throw JobSpecError(
                "spec key \(key): \"\(value.prefix(80))\" is not a name (letters, digits, . _ -; at most 64)")
        }
        var options: [String: SpecValue] = [:]
        if let value = table["options"] {
            guard let sub = value.table else { throw JobSpecError("spec key options: expected a table [options]") }
            for key in sub.keys {
                let item = sub[key]!
                if let v = item.int {
                    options[key] = .int(v)
                } else if let v = item.double {
                    options[key] = .double(v)
                } else if let v = item.string {
                    options[key] = .string(v)
                } else if let v = item.bool {
                    options[key] = .bool(v)
                } else {
                    throw JobSpecError("spec key options.\(key): expected a number, string or boolean")
                }
            }
        }
        return JobSpec(kind: kind, dataset: dataset, partner: partner, purpose: purpose, options: options, text: text)
    }

    /// `options.key` as a number in `range`, or `default`.
    public func number(_ key: String, default value: Double, in range: ClosedRange<Double>) throws -> Double {
        guard let option = options[key] else { return value }
        let number: Double
        switch option {
        case .int(let v): number = Double(v)
        case .double(let v): number = v
        default: throw JobSpecError("spec key options.\(key): expected a number, got \(option)")
        }
        guard range.contains(number) else {
            throw JobSpecError(
                "spec key options.\(key): must be from \(range.lowerBound) to \(range.upperBound), got \(number)")
        }
        return number
    }

    /// `options.key` as an integer in `range`, or `default`.
    public func integer(_ key: String, default value: Int, in range: ClosedRange<Int>) throws -> Int {
        guard let option = options[key] else { return value }
        guard case .int(let number) = option else {
            throw JobSpecError("spec key options.\(key): expected an integer, got \(option)")
        }
        guard range.contains(number) else {
            throw JobSpecError(
                "spec key options.\(key): must be from \(range.lowerBound) to \(range.upperBound), got \(number)")
        }
        return number
    }

    /// Fails on options that are not in `known`.
    public func allowOnly(_ known: [String]) throws {
        for key in options.keys.sorted() where !known.contains(key) {
            throw JobSpecError(
                "spec key options.\(key): unknown for kind \(kind); it takes \(known.joined(separator: ", "))")
        }
    }
}

extension JobSpec {
    /// A spec made from typed values (a job a peer opened, say); `text` is rendered by TOMLKit, so
    /// that it parses back to exactly these values.
    public init(kind: String, dataset: String?, partner: String, purpose: String, options: [String: SpecValue]) {
        let table = TOMLTable()
        table["kind"] = kind
        if let dataset { table["dataset"] = dataset }
        table["partner"] = partner
        table["purpose"] = purpose
        let sub = TOMLTable()
        for (key, value) in options {
            switch value {
            case .int(let v): sub[key] = v
            case .double(let v): sub[key] = v
            case .string(let v): sub[key] = v
            case .bool(let v): sub[key] = v
            }
        }
        table["options"] = sub
        self.init(
            kind: kind, dataset: dataset, partner: partner, purpose: purpose, options: options,
            text: table.convert(to: .toml, options: [.allowUnicodeStrings]) + "\n")
    }

    /// `options.key` as a string, or nil when absent.
    /// - Throws: ``JobSpecError`` when it is present and not a string.
    public func string(_ key: String) throws -> String? {
        guard let value = options[key] else { return nil }
        guard case .string(let text) = value else {
            throw JobSpecError("spec key options.\(key): expected a string, got \(value)")
        }
        return text
    }

    /// `options.key` as one of `choices`, or `default`.
    /// - Throws: ``JobSpecError`` naming the key, the value and the choices.
    public func choice(_ key: String, default value: String, in choices: [String]) throws -> String {
        guard let text = try string(key) else { return value }
        guard choices.contains(text) else {
            throw JobSpecError(
                "spec key options.\(key): must be \(choices.joined(separator: ", ")), got \"\(text.prefix(64))\"")
        }
        return text
    }
}
