import ArcaTopology
import Foundation

/// The executors of a placement plan, one per usable NUMA node with CPUs, and the choice of executor
/// for each unit of work.
public final class ExecutorPool: Sendable {
    public let plan: PlacementPlan
    public let executors: [NUMAExecutor]

    /// Starts one executor per node of `plan` (threads bound through `topology` when it is this
    /// system). A plan with no executor — every node excluded — gets none; ``submit`` then throws.
    public init(plan: PlacementPlan, topology: HwlocTopology?, capacity: Int, whenFull: QueueFullPolicy) {
        self.plan = plan
        self.executors = plan.executors.map {
            NUMAExecutor(numaNode: $0.numaNode, pus: $0.pus, capacity: capacity, whenFull: whenFull, topology: topology)
        }
    }

    /// The executor on `node`, if the plan has one.
    public func executor(node: Int) -> NUMAExecutor? { executors.first { $0.numaNode == node } }

    /// Runs `work` where the plan puts `workloadClass` (and `device`, a PCI bus id or device id):
    /// on the entry's node, or — when the entry spans nodes — on the least-loaded of them.
    /// - Throws: ``ExecutorError`` when the plan refuses the work or has no executor for it.
    public func submit<T: Sendable>(
        _ workloadClass: WorkloadClass, device: String? = nil,
        _ work: @escaping @Sendable (WorkContext) throws -> T
    ) async throws -> T {
        let entry = plan.entry(workloadClass, device: device) ?? plan.entry(workloadClass)
        if let entry, entry.refused {
            throw ExecutorError(
                "placement refuses \(workloadClass.rawValue) work\(device.map { " for \($0)" } ?? ""): \(entry.reason)")
        }
        let candidates: [NUMAExecutor]
        if let node = entry?.numaNode, let executor = executor(node: node) {
            candidates = [executor]
        } else {
            let pus = Set(entry?.pus ?? [])
            let matching = executors.filter { !pus.isDisjoint(with: $0.pus) }
            candidates = matching.isEmpty ? executors : matching
        }
        guard let chosen = candidates.min(by: { load($0) < load($1) }) else {
            throw ExecutorError(
                "no NUMA executor can run \(workloadClass.rawValue) work: every node is excluded or not allowed")
        }
        return try await chosen.submit(work)
    }

    private func load(_ executor: NUMAExecutor) -> Double {
        let stats = executor.statistics
        return Double(stats.queueDepth + stats.running) / Double(executor.threads)
    }

    /// Stops every executor after its queued work.
    public func shutdown() { executors.forEach { $0.shutdown() } }
}
