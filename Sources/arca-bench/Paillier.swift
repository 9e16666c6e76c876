import ArcaAccel
import ArcaCrypto
import ArcaHE
import ArcaExecutors
import ArcaTopology
import ArcaSystem
import Foundation

/// `paillier [--bits N] [--batch B] [--python PATH]`: Paillier rates of Arca's batched engine on the
/// CPU fallback (every allowed core) and on each OpenCL device, per core, beside OpenSSL's
/// single-thread modexp (r^n mod n²) and python-paillier's own rates on one core (run here, same
/// machine, same minute), all medians of 3 runs.
func benchPaillier(_ arguments: [String]) async throws {
    func option(_ name: String) -> String? { arguments.firstIndex(of: name).flatMap { $0 + 1 < arguments.count ? arguments[$0 + 1] : nil } }
    let bits = Int(option("--bits") ?? "") ?? 2048
    let batch = Int(option("--batch") ?? "") ?? 256
    let hwloc = try HwlocTopology(.system)
    let topology = hwloc.snapshot()
    let pool = ExecutorPool(plan: topology.plan(PlacementConfig(reservedCores: 0)), topology: hwloc, capacity: 4096, whenFull: .wait)
    defer { pool.shutdown() }
    let cores = pool.executors.reduce(0) { $0 + $1.threads }
    let registry = await DeviceRegistry(inventory: DeviceInventory.discover(topology: topology), pool: pool, calibrate: false)
    let key = try PaillierPrivateKey.generate(bits: bits)
    let publicKey = key.publicKey
    print("Paillier-\(bits), batch \(batch); CPU fallback on \(cores) thread(s) over \(pool.executors.count) NUMA node(s); \(OpenSSLLibrary.version)")

    func median(_ runs: Int = 3, _ body: () async throws -> Double) async rethrows -> Double {
        var samples: [Double] = []
        for _ in 0..<runs { samples.append(try await body()) }
        return Timing.median(samples)
    }
    func rate(_ items: Int, _ body: () async throws -> Void) async rethrows -> Double {
        try await median {
            let start = DispatchTime.now().uptimeNanoseconds
            try await body()
            return Double(items) / (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
    }

    // OpenSSL, one thread: r^n mod n² with BN_mod_exp_mont_consttime, and the CRT half of decryption.
    let r = try PaillierEngine.randomness(count: 32, key: publicKey)
    let openSSL = try await rate(r.count) { for value in r { _ = try BigNumber.modExpConstantTime(value, publicKey.n, publicKey.nSquare) } }

    let values = (0..<batch).map { _ in PlainNumber(Int.random(in: -1_000_000...1_000_000)) }
    let encoded = try values.map { try EncodedNumber.encode($0, key: publicKey) }
    let scalars = (0..<batch).map { _ in PlainNumber(Int.random(in: 1...(1 << 32))) }
    var report = PaillierEngine.Report()
    let ciphertexts = try await PaillierEngine(registry: registry, preferred: "cpu").encrypt(encoded, key: publicKey, privateKey: key, report: &report)

    var rows: [(String, [Double])] = []
    let djnCRT = try DJNObfuscator(key: publicKey, privateKey: key)
    let djnPublic = try DJNObfuscator(key: publicKey, hs: djnCRT.hs)
    var djnRows: [(String, Double, Double)] = []
    let devices = ["cpu"] + registry.healthByDevice.filter { $0.value.status == "ok" }.keys.sorted()
    for device in devices {
        let engine = PaillierEngine(registry: registry, preferred: device)
        let encryptCRT = try await rate(batch) { _ = try await engine.encrypt(encoded, key: publicKey, privateKey: key, report: &report) }
        let encryptPublic = try await rate(batch) { _ = try await engine.encrypt(encoded, key: publicKey, report: &report) }
        let decrypt = try await rate(batch) { _ = try await engine.decrypt(ciphertexts, privateKey: key, report: &report) }
        let add = try await rate(batch) { _ = try await engine.add(ciphertexts, ciphertexts, key: publicKey, report: &report) }
        let scale = try await rate(batch) { _ = try await engine.scale(ciphertexts, by: scalars, key: publicKey, report: &report) }
        let djnWithCRT = try await rate(batch) { _ = try await engine.encrypt(encoded, djn: djnCRT, report: &report) }
        let djnWithout = try await rate(batch) { _ = try await engine.encrypt(encoded, djn: djnPublic, report: &report) }
        djnRows.append(("arca \(device)", djnWithCRT / Double(cores), djnWithout / Double(cores)))
        // Per core: the CPU fallback uses every executor thread; a device run is charged to the cores too.
        rows.append(("arca \(device)", [encryptCRT, encryptPublic, decrypt, add, scale].map { $0 / Double(cores) }))
    }
    var python: [String: Any]?
    if let path = option("--python") {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/paillier_baseline.py").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = [script, "\(bits)", "1.0"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        python = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        if let python {
            let get = { (key: String) in (python[key] as? Double) ?? .nan }
            rows.append(("python-paillier 1 core\((python["gmpy2"] as? Bool) == true ? " +gmpy2" : "")",
                         [get("encrypt"), get("encrypt"), get("decrypt"), get("add"), get("scalarMultiply")]))
        }
    }
    print("")
    print("per core, items/s (median of 3)  encrypt(CRT)  encrypt(public)  decrypt   add        scalar-mul")
    for (name, figures) in rows {
        print(name.padding(toLength: 33, withPad: " ", startingAt: 0) + figures.map { String(format: "%-10.0f", $0) }.joined(separator: "   "))
    }
    print("")
    print("DJN obfuscator (ℓ = \(djnCRT.exponentBits)-bit a; CPU: fixed-base tables, device: hs^a modexps), per core, encrypt/s:")
    for (name, withCRT, without) in djnRows {
        print(name.padding(toLength: 33, withPad: " ", startingAt: 0) + String(format: "CRT %-10.0f public key only %.0f", withCRT, without))
    }
    print(String(format: "OpenSSL r^n mod n², 1 thread:    %.0f/s (encrypt without CRT is one of these per item)", openSSL))
    if let cpu = rows.first?.1, let python, let pyEncrypt = python["encrypt"] as? Double, let pyDecrypt = python["decrypt"] as? Double,
       let djn = djnRows.first?.1 {
        print(String(format: "ratios, Arca CPU per core ÷ python-paillier: encrypt %.1f× (DJN %.1f×), decrypt %.1f×; target 1000/s per core: encrypt at %.0f%% (DJN %.0f%%), decrypt at %.0f%%",
                     cpu[0] / pyEncrypt, djn / pyEncrypt, cpu[2] / pyDecrypt, cpu[0] / 10, djn / 10, cpu[2] / 10))
    }
}
