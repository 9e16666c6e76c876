import ArcaRuntime
import ArcaStore
import ArcaSystem
import Foundation

/// `kind = "dataset-stats"`: per column, the count of present values, and for numeric columns the
/// mean, minimum and maximum — a job that reads a dataset under a grant and exercises the runtime.
///
/// Options: `passes` (1…1000, default 1) reads the rows that many times; `rows_per_second`
/// (0 = as fast as it goes, default) throttles the reading, so that a test or an operator can watch,
/// cancel or interrupt a running job. Rows are read in chunks of `chunk_rows` (1…100000, default
/// 64), each on the NUMA executor that the placement plan gives CPU work.
public struct DatasetStatsJob: JobKind {
    public init() {}
    public var name: String { "dataset-stats" }
    public var readsDataset: Bool { true }

    public func validate(_ spec: JobSpec) throws {
        try spec.allowOnly(["passes", "rows_per_second", "chunk_rows"])
        _ = try spec.integer("passes", default: 1, in: 1...1000)
        _ = try spec.number("rows_per_second", default: 0, in: 0...1e9)
        _ = try spec.integer("chunk_rows", default: 64, in: 1...100_000)
    }

    public func rowsToRead(_ spec: JobSpec, dataset: DatasetRecord) -> Int {
        dataset.rows * ((try? spec.integer("passes", default: 1, in: 1...1000)) ?? 1)
    }

    struct Column: Codable {
        var name: String; var type: String; var count: Int; var mean: Double?; var min: Double?; var max: Double?
    }
    struct Result: Codable {
        var kind: String; var dataset: String; var rows: Int; var passes: Int; var columns: [Column]
    }

    public func run(_ context: JobContext) async throws -> Data {
        let table = context.table!
        let passes = try context.spec.integer("passes", default: 1, in: 1...1000)
        let rate = try context.spec.number("rows_per_second", default: 0, in: 0...1e9)
        let chunk = try context.spec.integer("chunk_rows", default: 64, in: 1...100_000)
        let width = table.header.count
        var count = [Int](repeating: 0, count: width), sum = [Double](repeating: 0, count: width)
        var low = [Double](repeating: .infinity, count: width), high = [Double](repeating: -.infinity, count: width)
        let numeric = table.columns.map { $0.type == "number" }
        for _ in 0..<passes {
            var start = 0
            while start < table.rows.count {
                try Task.checkCancellation()
                let rows = Array(table.rows[start..<min(start + chunk, table.rows.count)])
                let partial = try await context.onExecutor { _ in
                    var c = [Int](repeating: 0, count: width), s = [Double](repeating: 0, count: width)
                    var lo = [Double](repeating: .infinity, count: width),
                        hi = [Double](repeating: -.infinity, count: width)
                    for row in rows {
                        for (column, value) in row.enumerated() where !value.isEmpty {
                            c[column] += 1
                            if numeric[column], let number = Double(value) {
                                s[column] += number; lo[column] = Swift.min(lo[column], number);
                                hi[column] = Swift.max(hi[column], number)
                            }
                        }
                    }
                    return (c, s, lo, hi)
                }
                for column in 0..<width {
                    count[column] += partial.0[column]; sum[column] += partial.1[column]
                    low[column] = min(low[column], partial.2[column]);
                    high[column] = max(high[column], partial.3[column])
                }
                context.meter(rowsRead: rows.count, ["stats.values": Double(partial.0.reduce(0, +))])
                start += rows.count
                if rate > 0 { try await Task.sleep(for: .seconds(Double(rows.count) / rate)) }
            }
        }
        let columns = table.header.indices.map { column in
            Column(
                name: table.header[column], type: table.columns[column].type, count: count[column] / passes,
                mean: numeric[column] && count[column] > 0 ? sum[column] / Double(count[column]) : nil,
                min: numeric[column] && count[column] > 0 ? low[column] : nil,
                max: numeric[column] && count[column] > 0 ? high[column] : nil)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(
            Result(
                kind: name, dataset: context.spec.dataset ?? "", rows: table.rows.count, passes: passes,
                columns: columns))
    }
}
