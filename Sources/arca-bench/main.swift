// arca-bench: micro-benchmarks of Arca's runtime pieces, for release builds.
//
//   swift build -c release --scratch-path .build-release --product arca-bench && .build-release/release/arca-bench executor
//
// `executor`: the cost of placement — submitting a unit of work to a NUMA executor and getting its
// result back (one at a time: median and p99 in µs), and the throughput of an empty task stream
// spread over every usable node (tasks/s), with the same numbers for a plain Task as the baseline.
//
// `ntt`: the CPU fallback NTT, one thread, in ns and cycles per butterfly ((n/2)·log2 n butterflies).
//
// `modexp [modulus bits] [exponent bits] [batch]` (default 4096 2048 32): one batch of
// base_i^exponent_i mod m, per-base exponents, side by side in one run: OpenSSL's
// `BN_mod_exp_mont_consttime` on one thread, the CPU fallback on every allowed core (the NUMA
// executors), and each OpenCL device that passes its self-test (PoCL here); medians of 5 batches.
import ArcaAccel
import ArcaCrypto
import ArcaMath
import ArcaExecutors
import ArcaTopology
import ArcaSystem
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
/// ((n/2)·log2 n butterflies per transform): the thread's CPU time and the wall time, cycles at the
/// clock `/proc/cpuinfo` reports.
func benchNTT() {
    let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
    let mhz = cpuinfo.split(separator: "\n").first { $0.hasPrefix("cpu MHz") }
        .flatMap { Double($0.split(separator: ":").last!.trimmingCharacters(in: .whitespaces)) } ?? 0
    print(String(format: """
        one thread, median of 15 samples of ≥ 2^22 coefficients each; time from clock_gettime: the thread's CPU time \
        (CLOCK_THREAD_CPUTIME_ID, immune to being descheduled on a shared machine) and wall time (CLOCK_MONOTONIC); \
        cycles = CPU ns × %.0f MHz, the "cpu MHz" of /proc/cpuinfo (the nominal/TSC rate on this VM, not a measured core clock)
        """, mhz))
    print("degree  prime  forward cycles/bfly  (wall)  ns/bfly   inverse cycles/bfly  (wall)  ns/bfly")
    func clock(_ id: clockid_t) -> Double {
        var time = timespec()
        clock_gettime(id, &time)
        return Double(time.tv_sec) * 1e9 + Double(time.tv_nsec)
    }
    for logN in [12, 14, 16] {
        for bits in [60, 50] {
            let n = 1 << logN
            let modulus = Modulus.nttPrimes(bits: bits, degree: n, count: 1)[0]
            let plan = NTTPlan(degree: n, modulus: modulus)
            var values = (0..<n).map { _ in UInt64.random(in: 0..<modulus.value) }
            let butterflies = Double(n / 2 * logN)
            /// Median (CPU, wall) ns per butterfly.
            func measure(_ body: (inout [UInt64]) -> Void) -> (cpu: Double, wall: Double) {
                var cpu: [Double] = [], wall: [Double] = []
                let reps = max(3, (1 << 22) / n)
                for _ in 0..<reps { body(&values) }  // warm-up
                for _ in 0..<15 {
                    let (cpu0, wall0) = (clock(CLOCK_THREAD_CPUTIME_ID), clock(CLOCK_MONOTONIC))
                    for _ in 0..<reps { body(&values) }
                    cpu.append((clock(CLOCK_THREAD_CPUTIME_ID) - cpu0) / Double(reps) / butterflies)
                    wall.append((clock(CLOCK_MONOTONIC) - wall0) / Double(reps) / butterflies)
                }
                return (Timing.median(cpu), Timing.median(wall))
            }
            let forward = measure { plan.forward(&$0) }
            let inverse = measure { plan.inverse(&$0) }
            print(String(format: "2^%-5d %-6d %-20.2f %-7.2f %-9.3f %-20.2f %-7.2f %.3f", logN, bits,
                         forward.cpu * mhz / 1000, forward.wall * mhz / 1000, forward.cpu,
                         inverse.cpu * mhz / 1000, inverse.wall * mhz / 1000, inverse.cpu))
        }
    }
}

enum BenchError: Error { case differs }

func pad(_ text: String, _ width: Int = 44) -> String { text + String(repeating: " ", count: max(0, width - text.count)) }

func benchModExp(_ arguments: [String]) async throws {
    let numbers = arguments.compactMap { Int($0) }
    let bits = numbers.count > 0 ? numbers[0] : 4096, exponentBits = numbers.count > 1 ? numbers[1] : 2048
    let batch = numbers.count > 2 ? numbers[2] : 32
    let hwloc = try HwlocTopology(.system)
    let topology = hwloc.snapshot()
    let pool = ExecutorPool(plan: topology.plan(PlacementConfig(reservedCores: 0)), topology: hwloc, capacity: 4096, whenFull: .wait)
    defer { pool.shutdown() }
    let threads = pool.executors.reduce(0) { $0 + $1.threads }
    let modulus = try BigNumber(randomBits: bits, odd: true)
    let bases = try (0..<batch).map { _ in try BigNumber(randomBelow: modulus) }
    let exponents = try (0..<batch).map { _ in try BigNumber(randomBits: exponentBits) }
    let expected = try zip(bases, exponents).map { try BigNumber.modExpConstantTime($0, $1, modulus) }
    print("modexp: \(bits)-bit modulus, \(exponentBits)-bit exponents, batch \(batch), median of 5 batches; OpenSSL \(OpenSSLLibrary.version)")
    func rate(_ body: () async throws -> [BigNumber]) async throws -> (Double, Double) {
        guard try await body() == expected else { throw BenchError.differs }  // warm-up and check
        var samples: [Double] = []
        for _ in 0..<5 {
            let start = DispatchTime.now().uptimeNanoseconds
            _ = try await body()
            samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        let median = Timing.median(samples)
        return (Double(batch) / median, median)
    }
    let (openSSL, openSSLSeconds) = try await rate { try zip(bases, exponents).map { try BigNumber.modExpConstantTime($0, $1, modulus) } }
    print(pad("OpenSSL, one thread") + String(format: " %10.1f modexps/s  %8.3f s/batch", openSSL, openSSLSeconds))
    let cpu = CPUDevice(pool: pool)
    let (fallback, fallbackSeconds) = try await rate { try await cpu.modExp(bases: bases, exponents: exponents, modulus: modulus) }
    print(pad("CPU fallback, \(threads) executor threads")
          + String(format: " %10.1f modexps/s  %8.3f s/batch  %.2f× OpenSSL one thread", fallback, fallbackSeconds, fallback / openSSL))
    let inventory = DeviceInventory.discover(topology: topology)
    let registry = await DeviceRegistry(inventory: inventory, pool: pool, calibrate: false)
    for descriptor in inventory.devices where descriptor.backend == .opencl {
        guard let device = registry.device(descriptor.id) as? OpenCLComputeDevice else {
            print("\(descriptor.id) (\(descriptor.name)): not used: \(registry.healthByDevice[descriptor.id]?.reason ?? "unknown")")
            continue
        }
        let (onDevice, deviceSeconds) = try await rate { try await device.modExp(bases: bases, exponents: exponents, modulus: modulus) }
        let group = device.workGroupSizes["modexp"].map { $0 == 0 ? "driver's choice" : String($0) } ?? "?"
        print(pad("\(descriptor.name) (\(descriptor.driverVersion))")
              + String(format: " %10.1f modexps/s  %8.3f s/batch  %.2f× OpenSSL one thread", onDevice, deviceSeconds, onDevice / openSSL)
              + ", work-group \(group)")
    }
}

let arguments = CommandLine.arguments.dropFirst()
switch arguments.first {
case "executor":
    try await benchExecutor()
case "ntt":
    benchNTT()
case "modexp":
    try await benchModExp(Array(arguments.dropFirst()))
case "paillier":
    try await benchPaillier(Array(arguments.dropFirst()))
case "proofs":
    try await benchProofs(Array(arguments.dropFirst()))
default:
    print("usage: arca-bench executor | ntt | modexp [modulus bits] [exponent bits] [batch]"
          + " | paillier [--bits N] [--batch B] [--python PATH] | proofs [--bits N] [--batch B] [--runs R]")
    exit(64)
}
