import ArcaAccel
import ArcaCrypto
import ArcaTopology
import Foundation
import Testing

@testable import ArcaHE

/// 0/1 proofs: honest proofs verify, forged and tampered ones fail with the index named, the
/// ciphertexts are those of plain encryption, and the CPU fallback and PoCL agree.
@Suite("0/1 proofs", .serialized)
struct ZeroOneProofTests {
    let registry: DeviceRegistry
    init() async { registry = await PaillierTests.Shared.instance.get() }

    var key: PaillierPrivateKey { PaillierTests.key }
    var publicKey: PaillierPublicKey { PaillierTests.key.publicKey }
    let binding = ZeroOneProof.Binding(context: "test job 7 session abc")
    func engine(_ preferred: String? = "cpu") -> PaillierEngine {
        PaillierEngine(registry: registry, preferred: preferred)
    }

    /// The OpenCL device's id (PoCL here), or a recorded issue when there is none.
    func openCLDevice() throws -> String {
        let (id, health) = try #require(registry.healthByDevice.first, "no OpenCL device")
        try #require(health.status == "ok", "\(health.reason ?? "")")
        return id
    }

    func verify(
        _ c: [BigNumber], _ proofs: [ZeroOneProof], binding: ZeroOneProof.Binding? = nil, firstIndex: Int = 0,
        on device: String = "cpu"
    ) async throws {
        var report = PaillierEngine.Report()
        try await engine(device).verifyZeroOne(
            c, proofs: proofs, key: publicKey, binding: binding ?? self.binding, firstIndex: firstIndex,
            report: &report)
    }

    func rejection(
        _ c: [BigNumber], _ proofs: [ZeroOneProof], binding: ZeroOneProof.Binding? = nil, firstIndex: Int = 0,
        on device: String = "cpu"
    ) async -> ZeroOneProofError? {
        do { try await verify(c, proofs, binding: binding, firstIndex: firstIndex, on: device) } catch let error
            as ZeroOneProofError
        {
            return error
        } catch { Issue.record("unexpected \(error)") }
        return nil
    }

    /// c = (1 + m·n)·r^n mod n² for any m (a cheating guest's ciphertext), with its r.
    func encrypt(_ m: BigNumber) throws -> (BigNumber, BigNumber) {
        let r = try PaillierEngine.randomness(count: 1, key: publicKey)[0]
        let c = BigNumber.modMul(
            publicKey.nude(m % publicKey.n), try BigNumber.modExpConstantTime(r, publicKey.n, publicKey.nSquare),
            publicKey.nSquare)
        return (c, r)
    }

    @Test(arguments: [false, true])
    func honestProofsOfZeroAndOneVerify(djn: Bool) async throws {
        var report = PaillierEngine.Report()
        let bits = [false, true, true, false, false, true, false]
        let obfuscator = djn ? try DJNObfuscator(key: publicKey, privateKey: key) : nil
        for privateKey in [nil, key] {
            let (c, proofs) = try await engine().encryptZeroOne(
                bits, key: publicKey, privateKey: privateKey, djn: obfuscator,
                binding: binding, firstIndex: 40, report: &report)
            #expect(proofs.count == bits.count)
            try await verify(c.map(\.value), proofs, firstIndex: 40)
            var decryptReport = PaillierEngine.Report()
            let plain = try await engine().decrypt(c, privateKey: key, report: &decryptReport)
            #expect(try plain.map { try $0.decode(key: publicKey) } == bits.map { PlainNumber($0 ? 1 : 0) })
            // Bound to the index, the context and the digest: any other fails.
            #expect(await rejection(c.map(\.value), proofs, firstIndex: 41)?.reason == .challenge)
            #expect(
                await rejection(
                    c.map(\.value), proofs, binding: .init(context: "test job 8 session abc"), firstIndex: 40) != nil)
            #expect(
                await rejection(
                    c.map(\.value), proofs, binding: .init(context: binding.context, digest: .sm3), firstIndex: 40)
                    != nil)
        }
    }

    @Test func sm3BindingVerifies() async throws {
        var report = PaillierEngine.Report()
        let sm3 = ZeroOneProof.Binding(context: "sm3 job", digest: .sm3)
        let (c, proofs) = try await engine().encryptZeroOne(
            [true, false], key: publicKey, privateKey: key, djn: nil, binding: sm3,
            report: &report)
        try await verify(c.map(\.value), proofs, binding: sm3)
    }

    @Test func ciphertextsEqualPlainEncryptionForTheSameRandomness() async throws {
        var report = PaillierEngine.Report()
        let bits = [true, false, true]
        let encoded = try bits.map { try EncodedNumber.encode(PlainNumber($0 ? 1 : 0), key: publicKey) }
        let r = try PaillierEngine.randomness(count: bits.count, key: publicKey)
        let proven = try await engine().encryptZeroOne(
            bits, key: publicKey, privateKey: key, djn: nil, binding: binding, randomness: r,
            report: &report)
        #expect(
            proven.ciphertexts == (try await engine().encrypt(encoded, key: publicKey, randomness: r, report: &report)))
        let djn = try DJNObfuscator(key: publicKey, privateKey: key)
        let a = try djn.exponents(bits.count)
        let provenDJN = try await engine().encryptZeroOne(
            bits, key: publicKey, privateKey: key, djn: djn, binding: binding, randomness: a,
            report: &report)
        #expect(provenDJN.ciphertexts == (try await engine().encrypt(encoded, djn: djn, exponents: a, report: &report)))
    }

    /// A cheating prover: c encrypts 2 or 2^i, and it runs the prover claiming bit 1 (or 0) with c's
    /// real r. Whatever it claims, the proof fails, and the batch names the item.
    @Test(arguments: [1, 5, 100, 1000])
    func aCiphertextOfTwoToTheIWithAForgedProofFails(exponent: Int) async throws {
        var report = PaillierEngine.Report()
        let (honest, honestProofs) = try await engine().encryptZeroOne(
            [true, false, true, false], key: publicKey, privateKey: key, djn: nil,
            binding: binding, firstIndex: 10, report: &report)
        let (bad, r) = try encrypt(BigNumber(1).shiftedLeft(exponent))
        for claim in [true, false] {
            let forged = try await engine().proveZeroOne(
                [bad], bits: [claim], witnesses: [r], key: publicKey, privateKey: key,
                binding: binding, firstIndex: 12, report: &report)
            var values = honest.map(\.value)
            var proofs = honestProofs
            values[2] = bad
            proofs[2] = forged[0]
            let error = await rejection(values, proofs, firstIndex: 10)
            #expect(error == ZeroOneProofError(index: 12, reason: .challenge), "2^\(exponent) claimed \(claim)")
        }
        // The honest proof of another row, pasted beside the bad ciphertext, fails as well.
        #expect(await rejection([bad], [honestProofs[0]], firstIndex: 10)?.index == 10)
    }

    @Test func tamperedChallengesResponsesAndValuesFailWithTheirReason() async throws {
        var report = PaillierEngine.Report()
        let (c, proofs) = try await engine().encryptZeroOne(
            [false, true, false], key: publicKey, privateKey: key, djn: nil,
            binding: binding, report: &report)
        let values = c.map(\.value)
        let one = BigNumber(1)
        func tampered(_ index: Int, _ change: (inout ZeroOneProof) -> Void) -> [ZeroOneProof] {
            var copy = proofs
            change(&copy[index])
            return copy
        }
        #expect(
            await rejection(values, tampered(1) { $0.e0 = $0.e0 + one })
                == ZeroOneProofError(index: 1, reason: .challenge))
        // A different split of the same sum: e₀ + 1, e₁ − 1 (mod 2^256).
        let modulus = ZeroOneProof.challengeModulus
        let split = tampered(2) {
            $0.e0 = ($0.e0 + one) % modulus
            $0.e1 = ($0.e1 + modulus - one) % modulus
        }
        #expect(await rejection(values, split) == ZeroOneProofError(index: 2, reason: .challenge))
        #expect(
            await rejection(values, tampered(0) { $0.z1 = $0.z1 % (publicKey.n - one) + one })
                == .init(index: 0, reason: .challenge))
        #expect(await rejection(values, tampered(1) { $0.e1 = $0.e1 + modulus }) == .init(index: 1, reason: .range))
        #expect(await rejection(values, tampered(2) { $0.z0 = BigNumber(0) }) == .init(index: 2, reason: .range))
        #expect(await rejection(values, tampered(0) { $0.z1 = $0.z1 + publicKey.n }) == .init(index: 0, reason: .range))
        #expect(await rejection(values, tampered(1) { $0.z0 = key.p }) == .init(index: 1, reason: .range))
        var outOfRange = values
        outOfRange[1] = values[1] + publicKey.nSquare
        #expect(await rejection(outOfRange, proofs) == .init(index: 1, reason: .ciphertext))
        outOfRange[1] = BigNumber(0)
        #expect(await rejection(outOfRange, proofs) == .init(index: 1, reason: .ciphertext))
        var notUnit = values
        notUnit[2] = key.q
        #expect(await rejection(notUnit, proofs) == .init(index: 2, reason: .ciphertext))
        // The wire form round-trips, and a short one is refused by name.
        let bytes = proofs[1].bytes(key: publicKey)
        #expect(bytes.count == ZeroOneProof.width(key: publicKey))
        #expect(try ZeroOneProof(bytes: bytes, key: publicKey, item: "row 1") == proofs[1])
        #expect(throws: HEError.self) { try ZeroOneProof(bytes: bytes.dropLast(), key: publicKey, item: "row 1") }
    }

    /// Proofs made on either device verify on both; a forged one is rejected at the same index on both.
    @Test func cpuFallbackAndOpenCLVerifyIdentically() async throws {
        let device = try openCLDevice()
        var report = PaillierEngine.Report()
        let bits = (0..<24).map { $0 % 3 == 0 }
        let onCPU = try await engine("cpu").encryptZeroOne(
            bits, key: publicKey, privateKey: key, djn: nil, binding: binding, report: &report)
        let onDevice = try await engine(device).encryptZeroOne(
            bits, key: publicKey, privateKey: nil, djn: nil, binding: binding,
            report: &report)
        #expect(report.devices.contains(device))
        for made in [onCPU, onDevice] {
            for verifier in ["cpu", device] {
                try await verify(made.ciphertexts.map(\.value), made.proofs, on: verifier)
            }
        }
        let (bad, r) = try encrypt(BigNumber(1).shiftedLeft(17))
        let forged = try await engine().proveZeroOne(
            [bad], bits: [true], witnesses: [r], key: publicKey, privateKey: key, binding: binding,
            firstIndex: 9, report: &report)
        var values = onCPU.ciphertexts.map(\.value)
        var proofs = onCPU.proofs
        values[9] = bad
        proofs[9] = forged[0]
        let cpuError = await rejection(values, proofs, on: "cpu")
        let deviceError = await rejection(values, proofs, on: device)
        #expect(cpuError == ZeroOneProofError(index: 9, reason: .challenge))
        #expect(deviceError == cpuError)
    }

    @Test func smallKeysAndMismatchedInputsAreRefused() async throws {
        var report = PaillierEngine.Report()
        let small = try PaillierPrivateKey.generate(bits: 512)
        await #expect(throws: HEError.self) {
            _ = try await engine().encryptZeroOne(
                [true], key: small.publicKey, privateKey: small, djn: nil, binding: binding, report: &report)
        }
        await #expect(throws: HEError.self) {
            try await engine().verifyZeroOne(
                [BigNumber(2)], proofs: [], key: publicKey, binding: binding, report: &report)
        }
        let fromHS = try DJNObfuscator(key: publicKey, hs: BigNumber(4))
        await #expect(throws: HEError.self) {
            _ = try await engine().encryptZeroOne(
                [true], key: publicKey, privateKey: key, djn: fromHS, binding: binding, report: &report)
        }
    }
}
