import ArcaExecutors
import ArcaStore
import ArcaSystem
import Foundation
import Synchronization

/// What a running job sees: its spec, its dataset (verified against its registration), the NUMA
/// executors, and its meters.
public final class JobContext: Sendable {
    public let id: Int64
    public let spec: JobSpec
    /// The dataset's rows, read from the registered file after its digest matched.
    public let table: CSVTable?
    /// The dataset's registration (id column, label column, path), when the job reads one.
    public let dataset: DatasetRecord?
    let pool: ExecutorPool
    struct Meters {
        var rowsRead = 0; var counters: [String: Double] = [:]; var placed = false;
        var lastFlush: ContinuousClock.Instant?
    }
    let meters = Mutex(Meters())
    let placed: @Sendable (WorkContext) -> Void
    let flush: @Sendable (Int, [String: Double]) -> Void

    init(
        id: Int64, spec: JobSpec, table: CSVTable?, dataset: DatasetRecord?, pool: ExecutorPool,
        placed: @escaping @Sendable (WorkContext) -> Void, flush: @escaping @Sendable (Int, [String: Double]) -> Void
    ) {
        self.id = id; self.spec = spec; self.table = table; self.dataset = dataset; self.pool = pool;
        self.placed = placed; self.flush = flush
    }

    /// Sets counters to absolute values (progress such as items sent), stored like ``meter(rowsRead:_:)``.
    public func setCounters(_ values: [String: Double]) {
        update { meters in for (key, value) in values { meters.counters[key] = value } }
    }

    /// Changes the meters with `change` and stores them with the job, at most five times a second.
    private func update(_ change: (inout Meters) -> Void) {
        let now = ContinuousClock.now
        let due = meters.withLock { meters -> (Int, [String: Double])? in
            change(&meters)
            if let last = meters.lastFlush, now - last < .milliseconds(200) { return nil }
            meters.lastFlush = now
            return (meters.rowsRead, meters.counters)
        }
        if let (rows, counters) = due { flush(rows, counters) }
    }

    /// Runs `work` on the NUMA executor the placement plan gives CPU work (the job records the
    /// first node and PUs it ran on) and meters its thread time as `cpuSeconds`.
    public func onExecutor<T: Sendable>(_ work: @escaping @Sendable (WorkContext) throws -> T) async throws -> T {
        try await pool.submit(.cpu) { [self] context in
            let first = meters.withLock { meters -> Bool in
                defer { meters.placed = true }; return !meters.placed
            }
            if first { placed(context) }
            let start = ContinuousClock.now
            defer {
                let seconds = (ContinuousClock.now - start).seconds
                meters.withLock { $0.counters["cpuSeconds", default: 0] += seconds }
            }
            return try work(context)
        }
    }

    /// Adds to the job's meters (rows read; operations by kind) and stores them with the job (at
    /// most five times a second; the final amounts are stored when the job ends).
    public func meter(rowsRead: Int = 0, _ operations: [String: Double] = [:]) {
        update { meters in
            meters.rowsRead += rowsRead
            for (key, value) in operations { meters.counters[key, default: 0] += value }
        }
    }

    var snapshot: (Int, [String: Double]) { meters.withLock { ($0.rowsRead, $0.counters) } }
}
