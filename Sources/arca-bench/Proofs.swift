import ArcaAccel
import ArcaCrypto
import ArcaExecutors
import ArcaHE
import ArcaTopology
import Foundation

/// `proofs [--bits N] [--batch B] [--runs R]`: 0/1 proofs (``ZeroOneProof``) beside the encryption they
/// accompany, on the CPU fallback (every allowed core) and on each OpenCL device, same key and run:
/// label encryption (DJN with CRT, as the IV guest does; and standard r^n with CRT), encryption plus
/// proofs (the guest's whole step), and verification (the host, public key only). Whole-machine
/// items per second, medians of R runs (default 3).
func benchProofs(_ arguments: [String]) async throws {
    func option(_ name: String) -> String? { BenchMachine.option(name, in: arguments) }
    let bits = Int(option("--bits") ?? "") ?? 2048
    let batch = Int(option("--batch") ?? "") ?? 256
    let runs = max(1, Int(option("--runs") ?? "") ?? 3)
    let machine = try BenchMachine()
    let pool = machine.pool
    defer { pool.shutdown() }
    let cores = machine.threads
    let registry = await machine.registry()
    let key = try PaillierPrivateKey.generate(bits: bits)
    let publicKey = key.publicKey
    let djn = try DJNObfuscator(key: publicKey, privateKey: key)
    let binding = ZeroOneProof.Binding(context: "arca-bench proofs")
    print(
        "0/1 proofs, Paillier-\(bits), batch \(batch), median of \(runs); CPU fallback on \(cores) thread(s);",
        OpenSSLLibrary.version)

    func rate(_ body: () async throws -> Void) async rethrows -> Double {
        var samples: [Double] = []
        for _ in 0..<runs {
            let start = DispatchTime.now().uptimeNanoseconds
            try await body()
            samples.append(Double(batch) / (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9))
        }
        return samples.sorted()[runs / 2]
    }
    let bitsIn = (0..<batch).map { _ in Bool.random() }
    let one = try EncodedNumber.encode(PlainNumber(1), key: publicKey)
    let zero = try EncodedNumber.encode(PlainNumber(0), key: publicKey)
    let encoded = bitsIn.map { $0 ? one : zero }
    var report = PaillierEngine.Report()
    let reference = try await PaillierEngine(registry: registry, preferred: "cpu")
        .encryptZeroOne(bitsIn, key: publicKey, privateKey: key, djn: djn, binding: binding, report: &report)
    let devices = ["cpu"] + registry.healthByDevice.filter { $0.value.status == .ok }.keys.sorted()
    print("")
    print("items/s, whole machine         encrypt DJN  encrypt r^n  DJN+prove   r^n+prove   verify      verify ok")
    for device in devices {
        let engine = PaillierEngine(registry: registry, preferred: device)
        let encryptDJN = try await rate { _ = try await engine.encrypt(encoded, djn: djn, report: &report) }
        let encryptStandard = try await rate {
            _ = try await engine.encrypt(encoded, key: publicKey, privateKey: key, report: &report)
        }
        let proveDJN = try await rate {
            _ = try await engine.encryptZeroOne(
                bitsIn, key: publicKey, privateKey: key, djn: djn, binding: binding, report: &report)
        }
        let proveStandard = try await rate {
            _ = try await engine.encryptZeroOne(
                bitsIn, key: publicKey, privateKey: key, djn: nil, binding: binding, report: &report)
        }
        var verified = true
        let verify = try await rate {
            do {
                try await engine.verifyZeroOne(
                    reference.ciphertexts.map(\.value), proofs: reference.proofs, key: publicKey,
                    binding: binding, report: &report)
            } catch { verified = false }
        }
        let figures = [encryptDJN, encryptStandard, proveDJN, proveStandard, verify].map {
            String(format: "%-11.1f", $0)
        }
        print(
            ("arca \(device)").padding(toLength: 31, withPad: " ", startingAt: 0) + figures.joined(separator: " ")
                + (verified ? " yes" : " NO"))
    }
    print("(proofs made on the CPU, verified on each device; a proof alone costs (1/DJN+prove − 1/encrypt DJN)⁻¹)")
}
