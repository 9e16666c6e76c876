import ArcaTopology
import Foundation

/// Where a unit of work ran, as the worker thread saw it.
public struct WorkContext: Sendable {
    /// The executor's NUMA node (OS index).
    public var numaNode: Int
    /// The PUs the executor's threads are bound to.
    public var pus: [Int]
    /// The PU the thread was on when the work started (`hwloc_get_last_cpu_location`), if known.
    public var pu: Int?
    /// The device serving the work, set by the caller that uses one.
    public var device: String?
}

/// What a full queue does to a new submission.
public enum QueueFullPolicy: String, Sendable, CaseIterable {
    /// The submitter waits (asynchronously) until there is room.
    case wait
    /// The submission fails at once with ``ExecutorError``.
    case reject
}

public struct ExecutorError: Error, CustomStringConvertible, Sendable, Equatable {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// One NUMA node's executor: worker threads bound to the node's usable PUs, and a bounded queue.
///
/// Work submitted here runs on those threads. Binding happens only on the running system's topology;
/// on any other (hwloc fell back, or a plan from XML) the threads run unbound and ``isBound`` is false.
/// - Warning: call ``shutdown()`` before dropping the executor; its threads hold it alive.
public final class NUMAExecutor: @unchecked Sendable {
    public let numaNode: Int
    public let pus: [Int]
    public let capacity: Int
    public let whenFull: QueueFullPolicy

    private let condition = NSCondition()
    private var jobs: [(WorkContext) -> Void] = []
    private var head = 0
    private var waiters: [CheckedContinuation<Void, Never>] = []
    private var stopping = false
    private var running = 0
    private var finishedThreads = 0
    private var counters = Counters()
    private var bindingErrors: [String] = []
    private var boundThreads = 0
    private let threadCount: Int

    struct Counters { var completed = 0; var rejected = 0; var busyNanoseconds: UInt64 = 0 }

    /// Starts `threads` workers (default: one per PU) bound to `pus` through `topology`.
    public init(
        numaNode: Int, pus: [Int], capacity: Int, whenFull: QueueFullPolicy, topology: HwlocTopology?,
        threads: Int? = nil
    ) {
        precondition(capacity > 0 && !pus.isEmpty)
        self.numaNode = numaNode
        self.pus = pus
        self.capacity = capacity
        self.whenFull = whenFull
        self.threadCount = max(1, threads ?? pus.count)
        let started = DispatchSemaphore(value: 0)
        for index in 0..<threadCount {
            let name = "arca-node\(numaNode)-\(index)"
            let thread = Thread { [self] in
                // The kernel's thread name (15 bytes), so operators see executors in top -H and ps -L.
                if let comm = FileHandle(forWritingAtPath: "/proc/thread-self/comm") {
                    try? comm.write(contentsOf: Data(name.prefix(15).utf8))
                    try? comm.close()
                }
                if let topology, topology.isThisSystem {
                    do {
                        try topology.bindCurrentThread(to: pus)
                        condition.withLock { boundThreads += 1 }
                    } catch {
                        condition.withLock { bindingErrors.append("\(error)") }
                    }
                }
                started.signal()
                work(topology: topology)
            }
            thread.name = name
            thread.start()
        }
        for _ in 0..<threadCount { started.wait() }
    }

    /// True when every worker thread is bound to the node's PUs.
    public var isBound: Bool { condition.withLock { boundThreads == threadCount } }
    /// Why binding failed, if it did.
    public var bindingProblems: [String] { condition.withLock { bindingErrors } }

    private func work(topology: HwlocTopology?) {
        while true {
            condition.lock()
            while head == jobs.count && !stopping { condition.wait() }
            if head == jobs.count && stopping {
                finishedThreads += 1
                condition.broadcast()
                condition.unlock()
                return
            }
            let job = jobs[head]
            head += 1
            if head > 1024 && head * 2 > jobs.count { jobs.removeFirst(head); head = 0 }
            running += 1
            let waiter = waiters.isEmpty ? nil : waiters.removeFirst()
            condition.unlock()
            waiter?.resume()

            let start = DispatchTime.now().uptimeNanoseconds
            job(WorkContext(numaNode: numaNode, pus: pus, pu: topology?.currentPU(), device: nil))
            let busy = DispatchTime.now().uptimeNanoseconds &- start
            condition.withLock {
                running -= 1
                counters.completed += 1
                counters.busyNanoseconds &+= busy
            }
        }
    }

    /// Runs `work` on one of this node's threads and returns its result.
    /// - Throws: what `work` throws; ``ExecutorError`` when the queue is full and the policy is
    ///   `reject`, or when the executor is shutting down.
    public func submit<T: Sendable>(_ work: @escaping @Sendable (WorkContext) throws -> T) async throws -> T {
        while true {
            let outcome: Result<T, any Error>? = try await withCheckedThrowingContinuation { continuation in
                let queued: Bool? = condition.withLock {
                    if stopping { return nil }
                    guard jobs.count - head < capacity else { return false }
                    jobs.append { context in continuation.resume(returning: Result { try work(context) }) }
                    condition.signal()
                    return true
                }
                switch queued {
                case nil:
                    continuation.resume(
                        throwing: ExecutorError("the executor of NUMA node \(numaNode) is shutting down"))
                case false where whenFull == .reject:
                    condition.withLock { counters.rejected += 1 }
                    continuation.resume(
                        throwing: ExecutorError(
                            """
                            the queue of NUMA node \(numaNode) is full (\(capacity) waiting); retry later or \
                            raise [executors] queue_capacity
                            """
                        ))
                case false:
                    continuation.resume(returning: nil)  // wait for room below
                default:
                    break
                }
            }
            if let outcome { return try outcome.get() }
            await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
                let room = condition.withLock {
                    if jobs.count - head < capacity || stopping { return true }
                    waiters.append(waiter)
                    return false
                }
                if room { waiter.resume() }
            }
        }
    }

    public struct Statistics: Sendable, Equatable {
        public var queueDepth: Int
        public var running: Int
        public var completed: Int
        public var rejected: Int
        public var busySeconds: Double
    }

    public var statistics: Statistics {
        condition.withLock {
            Statistics(
                queueDepth: jobs.count - head, running: running, completed: counters.completed,
                rejected: counters.rejected, busySeconds: Double(counters.busyNanoseconds) / 1e9)
        }
    }

    public var threads: Int { threadCount }

    /// Stops accepting work, runs what is queued, and waits for the threads to end.
    public func shutdown() {
        condition.lock()
        stopping = true
        let pending = waiters
        waiters.removeAll()
        condition.broadcast()
        while finishedThreads < threadCount { condition.wait() }
        condition.unlock()
        for waiter in pending { waiter.resume() }
    }
}
