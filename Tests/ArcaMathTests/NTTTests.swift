import Testing

@testable import ArcaMath

@Suite("CPU NTT")
struct NTTTests {
    static let grid: [(Int, Int)] = [
        (1 << 4, 30), (1 << 10, 50), (1 << 10, 60), (1 << 12, 62 - 1), (1 << 14, 60), (1 << 17, 50),
    ]

    @Test(arguments: grid)
    func inverseOfForwardIsIdentity(_ degree: Int, _ bits: Int) throws {
        let modulus = try #require(Modulus.nttPrimes(bits: bits, degree: degree, count: 1).first)
        let plan = NTTPlan(degree: degree, modulus: modulus)
        var generator = SystemRandomNumberGenerator()
        let original = (0..<degree).map { _ in UInt64.random(in: 0..<modulus.value, using: &generator) }
        var values = original
        plan.forward(&values)
        #expect(values.allSatisfy { $0 < modulus.value })
        #expect(values != original)
        plan.inverse(&values)
        #expect(values == original)
    }

    @Test(arguments: [(8, 20), (256, 40), (1024, 60)])
    func productEqualsSchoolbook(_ degree: Int, _ bits: Int) throws {
        let modulus = try #require(Modulus.nttPrimes(bits: bits, degree: degree, count: 1).first)
        let plan = NTTPlan(degree: degree, modulus: modulus)
        let a = (0..<degree).map { _ in UInt64.random(in: 0..<modulus.value) }
        let b = (0..<degree).map { _ in UInt64.random(in: 0..<modulus.value) }
        var fa = a, fb = b
        plan.forward(&fa); plan.forward(&fb)
        var product = zip(fa, fb).map { modulus.multiply($0, $1) }
        plan.inverse(&product)
        #expect(product == negacyclicSchoolbook(a, b, modulus: modulus))
    }

    @Test func forwardIsEvaluationAtOddPowersOfPsi() throws {
        // Independent check of the output order: entry bitrev(k) is a(ψ^(2k+1)).
        let degree = 16
        let modulus = try #require(Modulus.nttPrimes(bits: 30, degree: degree, count: 1).first)
        let plan = NTTPlan(degree: degree, modulus: modulus)
        let psi = modulus.primitiveRoot(degree: degree)
        let a = (0..<degree).map { _ in UInt64.random(in: 0..<modulus.value) }
        var values = a
        plan.forward(&values)
        for k in 0..<degree {
            let x = modulus.power(psi, UInt64(2 * k + 1))
            var sum: UInt64 = 0, power: UInt64 = 1
            for coefficient in a {
                sum = modulus.add(sum, modulus.multiply(coefficient, power)); power = modulus.multiply(power, x)
            }
            #expect(values[bitReverse(k, bits: 4)] == sum)
        }
    }

    @Test func primesAreNTTFriendly() {
        for q in Modulus.nttPrimes(bits: 60, degree: 1 << 17, count: 3) {
            #expect(Modulus.isPrime(q.value) && (q.value - 1) % (1 << 18) == 0 && q.value < 1 << 60)
        }
        #expect(Modulus.isPrime((1 << 61) - 1))  // the Mersenne prime M61
        #expect(!Modulus.isPrime(3215031751))  // a strong pseudoprime to bases 2, 3, 5, 7
    }
}
