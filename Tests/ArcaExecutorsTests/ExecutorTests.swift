import ArcaTopology
import Foundation
import Testing

@testable import ArcaExecutors

/// Executors on this machine, checked against what the kernel says, not against Arca's bookkeeping.
@Suite("NUMA executors on this machine", .serialized)
struct ExecutorTests {
    let topology: HwlocTopology
    let machine: Topology
    init() throws {
        topology = try HwlocTopology(.system)
        machine = topology.snapshot()
    }

    func node0PUs() throws -> [Int] {
        let node = try #require(machine.numaNodes.first { $0.osIndex == 0 })
        return node.pus.filter(machine.allowed.pus.contains)
    }

    @Test func workOnNode0RunsWithNode0sCpusetAndNode0Memory() async throws {
        let pus = try node0PUs()
        let executor = NUMAExecutor(numaNode: 0, pus: pus, capacity: 16, whenFull: .wait, topology: topology)
        defer { executor.shutdown() }
        #expect(executor.isBound, "\(executor.bindingProblems)")
        let topology = self.topology
        let (affinity, pageNodes, context) = try await executor.submit { context in
            let buffer = try NodeBoundBuffer(byteCount: 1 << 20, node: 0, topology: topology)
            let page = Int(getpagesize())
            let nodes = try buffer.withUnsafeMutableBytes { bytes in
                try stride(from: 0, to: bytes.count, by: page).map { try NUMAMemory.node(of: bytes.baseAddress! + $0) }
            }
            return (try KernelThreadView.affinity(), Set(nodes), context)
        }
        #expect(affinity == pus, "sched_getaffinity of the worker, from /proc")
        #expect(pageNodes == [0], "get_mempolicy(MPOL_F_NODE|MPOL_F_ADDR) of every page")
        #expect(context.numaNode == 0 && context.pus == pus)
        #expect(context.pu.map(pus.contains) ?? false)
    }

    @Test func bindingToOnePUIsWhatTheKernelEnforces() async throws {
        let last = try #require(machine.allowed.pus.last)
        let executor = NUMAExecutor(
            numaNode: 0, pus: [last], capacity: 4, whenFull: .wait, topology: topology, threads: 1)
        defer { executor.shutdown() }
        let (affinity, pu) = try await executor.submit { _ in (try KernelThreadView.affinity(), sched_getcpu_()) }
        #expect(affinity == [last])
        #expect(pu == last)
    }

    @Test func unboundOnATopologyThatIsNotThisMachine() async throws {
        let synthetic = try HwlocTopology(.synthetic("pack:1 numa:1 core:2 pu:1"))
        let executor = NUMAExecutor(numaNode: 0, pus: [0, 1], capacity: 4, whenFull: .wait, topology: synthetic)
        defer { executor.shutdown() }
        #expect(!executor.isBound)
        #expect(throws: BindingError.self) { try synthetic.bindCurrentThread(to: [0]) }
        #expect(try await executor.submit { _ in 42 } == 42)
    }

    @Test func fullQueueRejectsWithAClearError() async throws {
        let executor = NUMAExecutor(
            numaNode: 0, pus: try node0PUs(), capacity: 1, whenFull: .reject, topology: topology, threads: 1)
        defer { executor.shutdown() }
        let gate = Gate()
        async let first: Int = executor.submit { _ in
            gate.wait(); return 1
        }
        try await waitUntil { executor.statistics.running == 1 }
        async let second: Int = executor.submit { _ in 2 }
        try await waitUntil { executor.statistics.queueDepth == 1 }
        let error = await #expect(throws: ExecutorError.self) { try await executor.submit { _ in 3 } }
        #expect(error?.description.contains("full") ?? false)
        #expect(executor.statistics.rejected == 1)
        gate.open()
        #expect(try await first == 1)
        #expect(try await second == 2)
    }

    @Test func fullQueueMakesTheSubmitterWaitAndLosesNothing() async throws {
        let executor = NUMAExecutor(
            numaNode: 0, pus: try node0PUs(), capacity: 2, whenFull: .wait, topology: topology, threads: 1)
        defer { executor.shutdown() }
        let gate = Gate()
        let results = try await withThrowingTaskGroup(of: Int.self) { group in
            group.addTask {
                try await executor.submit { _ in
                    gate.wait(); return 0
                }
            }
            try await waitUntil { executor.statistics.running == 1 }
            for value in 1...20 { group.addTask { try await executor.submit { _ in value } } }
            try await waitUntil { executor.statistics.queueDepth == 2 }
            #expect(executor.statistics.completed == 0)
            gate.open()
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(results.sorted() == Array(0...20))
        try await waitUntil { executor.statistics.completed == 21 }  // counted just after each result is handed back
        #expect(executor.statistics.rejected == 0)
    }

    @Test func poolSpreadsCPUWorkAndKeepsHEOnItsNode() async throws {
        let plan = machine.plan(PlacementConfig())
        let pool = ExecutorPool(plan: plan, topology: topology, capacity: 64, whenFull: .wait)
        defer { pool.shutdown() }
        let nodes = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<50 { group.addTask { try await pool.submit(.cpu) { $0.numaNode } } }
            return try await group.reduce(into: Set<Int>()) { $0.insert($1) }
        }
        #expect(nodes.isSubset(of: Set(plan.executors.map(\.numaNode))))
    }

    func waitUntil(_ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while !condition() {
            guard ContinuousClock.now < deadline else { Issue.record("condition not met in 30 s"); return }
            try await Task.sleep(for: .milliseconds(5))
        }
    }
}

/// A one-shot gate a worker thread can block on.
final class Gate: @unchecked Sendable {
    private let semaphore = DispatchSemaphore(value: 0)
    func wait() { semaphore.wait(); semaphore.signal() }
    func open() { semaphore.signal() }
}

/// The CPU the calling thread runs on, from `/proc/thread-self/stat` field 39 (the kernel's view).
func sched_getcpu_() -> Int? {
    guard let stat = try? String(contentsOfFile: "/proc/thread-self/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")")
    else { return nil }
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    return fields.count > 36 ? Int(fields[36]) : nil  // field 39 overall; fields after "comm" start at 3
}
