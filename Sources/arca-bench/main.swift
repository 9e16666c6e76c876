// arca-bench: micro-benchmarks of Arca's runtime pieces, for release builds.
//
//   swift build -c release --product arca-bench && .build/release/arca-bench executor
//
// `executor`: the cost of placement — submitting a unit of work to a NUMA executor and getting its
// result back (one at a time: median and p99 in µs), and the throughput of an empty task stream
// spread over every usable node (tasks/s), with the same numbers for a plain Task as the baseline.
import ArcaMath
import ArcaRuntime
import ArcaTopology
import Foundation

func percentile(_ sorted: [Double], _ p: Double) -> Double { sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] }

func benchExecutor() async throws {
    let hwloc = try HwlocTopology(.system)
    let topology = hwloc.snapshot()
    let plan = topology.plan(PlacementConfig(reservedCores: 0))
    let pool = ExecutorPool(plan: plan, topology: hwloc, capacity: 4096, whenFull: .wait)
    defer { pool.shutdown() }
    let executor = pool.executors[0]
    print("machine: \(topology.numaNodes.count) NUMA node(s), \(topology.allowed.pus.count) allowed PUs; executors: \(pool.executors.map { "node \($0.numaNode) × \($0.threads) threads, bound \($0.isBound)" })")

    // Round trip, one at a time.
    for _ in 0..<2_000 { _ = try await executor.submit { _ in 0 } }  // warm-up
    var executorTimes: [Double] = [], taskTimes: [Double] = []
    for _ in 0..<20_000 {
        let start = DispatchTime.now().uptimeNanoseconds
        _ = try await executor.submit { _ in 0 }
        executorTimes.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1000)
        let start2 = DispatchTime.now().uptimeNanoseconds
        _ = await Task.detached { 0 }.value
        taskTimes.append(Double(DispatchTime.now().uptimeNanoseconds - start2) / 1000)
    }
    executorTimes.sort(); taskTimes.sort()
    print(String(format: "round trip, one at a time (µs): executor median %.2f p99 %.2f | Task.detached baseline median %.2f p99 %.2f",
                 percentile(executorTimes, 0.5), percentile(executorTimes, 0.99), percentile(taskTimes, 0.5), percentile(taskTimes, 0.99)))

    // Throughput of an empty task stream through the pool (CPU class: spread by load over all nodes).
    let count = 200_000
    func stream(_ submit: @escaping @Sendable () async throws -> Int) async throws -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try await withThrowingTaskGroup(of: Int.self) { group in
            let windows = 64  // submitters in flight
            for w in 0..<windows {
                group.addTask {
                    var sum = 0
                    for _ in stride(from: w, to: count, by: windows) { sum &+= try await submit() }
                    return sum
                }
            }
            for try await _ in group {}
        }
        return Double(count) / (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
    var poolRates: [Double] = [], taskRates: [Double] = []
    for _ in 0..<5 {
        poolRates.append(try await stream { try await pool.submit(.cpu) { _ in 1 } })
        taskRates.append(try await stream { await Task.detached { 1 }.value })
    }
    poolRates.sort(); taskRates.sort()
    print(String(format: "empty task stream, 64 submitters, 5 runs (tasks/s, median): executor pool %.0f | Task.detached baseline %.0f | ratio %.2f",
                 poolRates[2], taskRates[2], poolRates[2] / taskRates[2]))
}

/// `ntt`: the CPU fallback NTT, forward and inverse, one thread, in ns and cycles per butterfly
/// ((n/2)·log2 n butterflies per transform); cycles from the clock `/proc/cpuinfo` reports.
func benchNTT() {
    let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
    let mhz = cpuinfo.split(separator: "\n").first { $0.hasPrefix("cpu MHz") }
        .flatMap { Double($0.split(separator: ":").last!.trimmingCharacters(in: .whitespaces)) } ?? 0
    print(String(format: "clock: %.0f MHz (from /proc/cpuinfo)", mhz))
    print("degree  prime  forward ns/bfly  cycles/bfly  inverse ns/bfly  cycles/bfly")
    for logN in [12, 14, 16] {
        for bits in [60, 50] {
            let n = 1 << logN
            let modulus = Modulus.nttPrimes(bits: bits, degree: n, count: 1)[0]
            let plan = NTTPlan(degree: n, modulus: modulus)
            var values = (0..<n).map { _ in UInt64.random(in: 0..<modulus.value) }
            let butterflies = Double(n / 2 * logN)
            func measure(_ body: (inout [UInt64]) -> Void) -> Double {
                var samples: [Double] = []
                let reps = max(3, (1 << 22) / n)
                for _ in 0..<15 {
                    let start = DispatchTime.now().uptimeNanoseconds
                    for _ in 0..<reps { body(&values) }
                    samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) / Double(reps) / butterflies)
                }
                return samples.sorted()[samples.count / 2]
            }
            let forward = measure { plan.forward(&$0) }
            let inverse = measure { plan.inverse(&$0) }
            print(String(format: "2^%-5d %-6d %-16.3f %-12.2f %-16.3f %.2f", logN, bits, forward, forward * mhz / 1000, inverse, inverse * mhz / 1000))
        }
    }
}

let arguments = CommandLine.arguments.dropFirst()
switch arguments.first {
case "executor":
    try await benchExecutor()
case "ntt":
    benchNTT()
case "paillier":
    try await benchPaillier(Array(arguments.dropFirst()))
default:
    print("usage: arca-bench executor | ntt | paillier [--bits N] [--batch B] [--python PATH]")
    exit(64)
}
