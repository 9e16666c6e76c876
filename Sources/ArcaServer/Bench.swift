import ArcaAPI
import ArcaAccel
import ArcaCrypto
import ArcaMath
import ArcaSystem
import Foundation
import Synchronization

/// `POST /v1/bench`: the kernels measured on the devices as deployed, through the registry's own
/// path, beside the CPU fallback and (for modexp) OpenSSL's single-thread rate, all in one run.
enum Bench {
    /// `batch=8 degree=16384 limbs=2`: a run's parameters, sorted by name.
    static func describe(_ parameters: [String: Int]) -> String {
        parameters.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
    }

    /// One bench at a time per daemon (``DaemonState/benchRunning``): concurrent runs would skew each
    /// other's figures (and be kept so) and multiply the memory a large run takes.
    /// A request is validated first (400), then the daemon's bench slot is claimed (409 if taken).
    static func run(_ request: BenchRequest, state: DaemonState) async throws -> BenchResponse {
        var claimed = false
        defer { if claimed { state.benchRunning.withLock { $0 = false } } }
        func claim() throws {
            guard
                state.benchRunning.withLock({ busy in
                    defer { busy = true }; return !busy
                })
            else {
                throw APIError(
                    .conflict, code: "conflict",
                    "another bench is running on this appliance; retry when it has finished")
            }
            claimed = true
        }
        let repetitions = request.repetitions ?? 5
        guard (1...50).contains(repetitions) else {
            throw APIError(.badRequest, code: "badRequest", "repetitions: must be 1 to 50")
        }
        let registry = state.registry
        var targets = state.devices.devices.filter { $0.backend == .opencl && registry.device($0.id) != nil }.map(\.id)
        if let device = request.device {
            guard device == "cpu" || targets.contains(device) else {
                throw APIError(
                    .badRequest, code: "badRequest",
                    "device: \(device) is not an OpenCL device that passed its self-test, nor cpu")
            }
            targets = targets.filter { $0 == device }
        }
        func median(_ body: () async throws -> String?) async throws -> (Double, String?) {
            var samples: [Double] = [], fallback: String?
            for _ in 0..<repetitions {
                try Task.checkCancellation()  // shutdown past its grace period stops a long bench
                let start = DispatchTime.now().uptimeNanoseconds
                fallback = try await body() ?? fallback
                samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            }
            return (Timing.median(samples), fallback)
        }
        var parameters: [String: Int] = [:]
        var measured: [(String, String, Double, String?)] = []  // device, backend, seconds, fallback
        var operations = 0
        var openSSL: Double?
        switch request.op {
        case "ntt":
            let degree = request.degree ?? 4096, limbs = request.limbs ?? 2, batch = request.batch ?? 8
            guard degree >= 1024, degree <= 1 << 17, degree & (degree - 1) == 0 else {
                throw APIError(
                    .badRequest, code: "badRequest", "degree: must be a power of two from 1024 to 131072, got \(degree)"
                )
            }
            guard (1...8).contains(limbs) else {
                throw APIError(.badRequest, code: "badRequest", "limbs: must be 1 to 8, got \(limbs)")
            }
            guard (1...256).contains(batch) else {
                throw APIError(.badRequest, code: "badRequest", "batch: must be 1 to 256, got \(batch)")
            }
            guard degree * limbs * batch <= 1 << 24 else {
                throw APIError(
                    .badRequest, code: "badRequest",
                    "degree × limbs × batch must be at most 2^24 coefficients (128 MiB), "
                        + "got \(degree * limbs * batch)")
            }
            parameters = ["degree": degree, "limbs": limbs, "batch": batch]
            try claim()
            let plans = Modulus.nttPrimes(bits: 60, degree: degree, count: limbs).map {
                NTTPlan(degree: degree, modulus: $0)
            }
            let input = (0..<(degree * limbs * batch)).map { UInt64($0 * 2654435761 % 1_000_003) }
            operations = limbs * batch
            for id in targets + ["cpu"] {
                var values = input
                // warm-up: program build, twiddles
                _ = try await registry.ntt(&values, plans: plans, inverse: false, preferred: id)
                let (seconds, fallback) = try await median {
                    values = input
                    let served = try await registry.ntt(&values, plans: plans, inverse: false, preferred: id)
                    return served.fallback
                }
                measured.append((id, id == "cpu" ? "cpu" : "opencl", seconds, fallback))
            }
        case "modexp":
            let bits = request.modulusBits ?? 2048, exponentBits = request.exponentBits ?? bits,
                batch = request.batch ?? 16
            guard bits >= 1024, bits <= 8192, bits % 64 == 0 else {
                throw APIError(
                    .badRequest, code: "badRequest",
                    "modulusBits: must be a multiple of 64 from 1024 to 8192, got \(bits)")
            }
            guard (1...8192).contains(exponentBits) else {
                throw APIError(.badRequest, code: "badRequest", "exponentBits: must be 1 to 8192, got \(exponentBits)")
            }
            guard (1...1024).contains(batch) else {
                throw APIError(.badRequest, code: "badRequest", "batch: must be 1 to 1024, got \(batch)")
            }
            parameters = ["modulusBits": bits, "exponentBits": exponentBits, "batch": batch]
            try claim()
            let modulus = try BigNumber(randomBits: bits, odd: true)
            let bases = try (0..<batch).map { _ in try BigNumber(randomBelow: modulus) }
            let exponents = try (0..<batch).map { _ in try BigNumber(randomBits: exponentBits) }
            operations = batch
            for id in targets + ["cpu"] {
                _ = try await registry.modExp(
                    bases: Array(bases.prefix(1)), exponents: Array(exponents.prefix(1)), modulus: modulus,
                    preferred: id)
                let (seconds, fallback) = try await median {
                    try await registry.modExp(bases: bases, exponents: exponents, modulus: modulus, preferred: id).1
                        .fallback
                }
                measured.append((id, id == "cpu" ? "cpu" : "opencl", seconds, fallback))
            }
            let (single, _) = try await median {
                for (base, exponent) in zip(bases, exponents) {
                    _ = try BigNumber.modExpConstantTime(base, exponent, modulus)
                }
                return nil
            }
            openSSL = Double(batch) / single
        default:
            throw APIError(.badRequest, code: "badRequest", "op: must be ntt or modexp, got \"\(request.op)\"")
        }
        let cpuRate = measured.last.map { Double(operations) / $0.2 } ?? 1
        var response = BenchResponse(
            id: String(UUID().uuidString.prefix(8)).lowercased(), time: ISO8601DateFormatter().string(from: Date()),
            saved: false,
            op: request.op, parameters: parameters, repetitions: repetitions,
            results: measured.map { device, backend, seconds, fallback in
                let rate = Double(operations) / seconds
                return .init(
                    device: device, backend: backend, secondsPerBatch: seconds, perSecond: rate,
                    speedupOverCPU: device == "cpu" ? nil : rate / cpuRate, fallback: fallback)
            },
            openSSLSingleThreadPerSecond: openSSL,
            environment: [
                "build": _isDebugAssertConfiguration() ? "debug" : "release",
                "cpuThreads": String(state.pool.executors.reduce(0) { $0 + $1.threads }),
                "numaNodes": state.pool.executors.map { String($0.numaNode) }.joined(separator: ","),
                "openSSL": OpenSSLLibrary.version,
                "programs": targets.compactMap { id in
                    (registry.device(id) as? OpenCLComputeDevice).map {
                        "\(id): "
                            + $0.programOrigins.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value.rawValue)" }
                            .joined(separator: ", ")
                    }
                }.joined(separator: "; "),
                "workGroupSizes": targets.compactMap { id in
                    (registry.device(id) as? OpenCLComputeDevice).map { device in
                        "\(id): "
                            + device.workGroupSizes.sorted { $0.key < $1.key }.map {
                                "\($0.key) \($0.value == 0 ? "driver's choice" : String($0.value))"
                            }.joined(separator: ", ")
                    }
                }.joined(separator: "; "),
                "devices": state.devices.devices.map { "\($0.id)=\($0.name) (\($0.driverVersion))" }.joined(
                    separator: "; "),
            ])
        do {
            try History(directory: state.config.stateDirectory).append(response)
            response.saved = true
        } catch {
            response.environment["history"] = "not saved: \(error)"
        }
        return response
    }

    /// The kept runs: one JSON object per line in `<state>/bench/history.jsonl`, appended whole.
    struct History {
        let path: String
        init(directory: String) { path = directory + "/bench/history.jsonl" }

        func append(_ run: BenchResponse) throws {
            var saved = run
            saved.saved = true
            let line = try API.encoder().encode(saved) + Data("\n".utf8)
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            let descriptor = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
            guard descriptor >= 0 else {
                throw APIError(.internalServerError, code: "internal", "cannot open \(path): \(Errno.current)")
            }
            defer { close(descriptor) }
            // one write: a line is whole or absent
            let written = line.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            guard written == line.count else {
                throw APIError(.internalServerError, code: "internal", "short write to \(path)")
            }
        }

        /// The last `limit` runs; a line that does not parse (a crash mid-write) is skipped.
        func runs(limit: Int = 200) -> [BenchResponse] {
            guard let data = FileManager.default.contents(atPath: path) else { return [] }
            let decoder = JSONDecoder()
            return data.split(separator: UInt8(ascii: "\n")).suffix(limit).compactMap {
                try? decoder.decode(BenchResponse.self, from: Data($0))
            }
        }
    }
}
