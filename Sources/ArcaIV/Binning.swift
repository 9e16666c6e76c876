import Foundation

/// Feature binning with FATE 1.x's semantics (`federatedml.feature.binning`).
///
/// - `quantile`: split points are the exact ⌈k·N/bins⌉-th smallest non-missing values, k = 1…bins,
///   duplicates removed (FATE's `QuantileBinning` with `error = 0`).
/// - `bucket`: equal-width split points min + k·(max − min)/bins, k = 1…bins (FATE's `BucketBinning`).
///
/// Bins are right-closed: a value v falls in the first bin i with v ≤ split[i]; the last split is the
/// maximum, so every non-missing value has a bin. Missing values (an empty field, `NA`, `NaN`,
/// `null`, `None`, case-insensitive) get a bin of their own after the others, present only when the
/// feature has missing values.
public enum BinningMethod: String, Sendable, Codable, CaseIterable {
    case quantile, bucket
}

public struct FeatureBinning: Sendable, Equatable {
    public var splitPoints: [Double]
    /// Whether the last bin holds the missing values.
    public var hasMissingBin: Bool
    /// Non-missing bins, plus the missing-value bin when there is one.
    public var binCount: Int { splitPoints.count + (hasMissingBin ? 1 : 0) }

    /// The split points of `values` (nil = missing).
    /// - Precondition: bins ≥ 1.
    public init(values: [Double?], method: BinningMethod, bins: Int) {
        precondition(bins >= 1)
        let present = values.compactMap { $0 }.sorted()
        hasMissingBin = present.count < values.count
        guard let minimum = present.first, let maximum = present.last else { splitPoints = []; return }
        var splits: [Double] = []
        switch method {
        case .quantile:
            let n = present.count
            for k in 1...bins {
                let rank = (k * n + bins - 1) / bins  // ⌈k·N/bins⌉, 1-based
                splits.append(present[rank - 1])
            }
        case .bucket:
            let width = (maximum - minimum) / Double(bins)
            for k in 1..<bins { splits.append(minimum + Double(k) * width) }
            splits.append(maximum)
        }
        var unique: [Double] = []
        for split in splits where unique.last != split { unique.append(split) }
        splitPoints = unique
    }

    public init(splitPoints: [Double], hasMissingBin: Bool) {
        self.splitPoints = splitPoints
        self.hasMissingBin = hasMissingBin
    }

    /// The bin of `value`: the first i with value ≤ split[i] (binary search); the missing bin for nil.
    public func bin(_ value: Double?) -> Int {
        guard let value else { return splitPoints.count }
        var low = 0, high = splitPoints.count - 1
        while low < high {
            let middle = (low + high) / 2
            if value <= splitPoints[middle] { high = middle } else { low = middle + 1 }
        }
        return low
    }

    /// A field as a number; nil when missing. - Throws: ``IVError`` for text that is neither.
    public static func value(_ field: String, column: String, row: Int) throws -> Double? {
        let trimmed = field.trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty || ["na", "nan", "null", "none"].contains(trimmed.lowercased()) { return nil }
        guard let value = Double(trimmed), value.isFinite else {
            throw IVError("column \(column), row \(row): \"\(trimmed.prefix(40))\" is not a number")
        }
        return value
    }
}

public struct IVError: Error, CustomStringConvertible, Sendable, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
