import ArcaCrypto
import ArcaHE

/// What the host's operator allows a guest in a WOE/IV job (`[iv]` in arcad's configuration).
public struct IVLimits: Sendable, Equatable {
    /// `[iv] key_bits`: the Paillier modulus sizes accepted from a guest, in bits.
    public var keyBits: [Int]
    /// `[iv] min_bin_size`: k of k-anonymity: a host bin with fewer than k rows is merged with a
    /// neighbour before anything is sent (``FeatureBinning/mergedGroups(sizes:minimum:)``); 0 or 1
    /// merges nothing (1 merges empty bins).
    public var minBinSize: Int
    /// `[iv] max_bins`: the most bins a guest may ask for per feature.
    public var maxBins: Int
    /// `[iv] min_intersection`: the fewest aligned rows a job may run on; below, the host refuses.
    public var minIntersection: Int

    public init(keyBits: [Int] = [2048, 3072], minBinSize: Int = 20, maxBins: Int = 50, minIntersection: Int = 100) {
        self.keyBits = keyBits
        self.minBinSize = minBinSize
        self.maxBins = maxBins
        self.minIntersection = minIntersection
    }

    /// The defaults: keys of 2048 or 3072 bits, k = 20, at most 50 bins, at least 100 rows.
    public static let defaults = IVLimits()

    /// Checks a guest's modulus: an allowed size, odd, no prime factor below 2^16, not a perfect square.
    /// - Throws: ``IVError`` saying which check failed (for the local job; the peer gets a code).
    public func check(modulus n: BigNumber) throws {
        guard keyBits.contains(n.bitCount) else {
            let allowed = keyBits.map(String.init).joined(separator: ", ")
            throw IVError("the guest's Paillier key has \(n.bitCount) bits; this host allows \(allowed)")
        }
        guard n.isOdd else { throw IVError("the guest's Paillier modulus is even") }
        if let factor = Self.smallFactor(of: n) {
            throw IVError("the guest's Paillier modulus has the small factor \(factor)")
        }
        guard !Self.isSquare(n) else { throw IVError("the guest's Paillier modulus is a perfect square") }
    }

    /// The smallest odd prime below 2^16 dividing n, if any (n's remainders by 16-bit numbers).
    static func smallFactor(of n: BigNumber) -> UInt64? {
        let words = n.words(count: (n.bitCount + 63) / 64)
        for p in oddPrimesBelow65536 {
            // n mod p over 64-bit words, most significant first: (r·2^64 + w) mod p with r, p < 2^16.
            var remainder: UInt64 = 0
            for word in words.reversed() {
                remainder = (remainder << 32 | word >> 32) % p
                remainder = (remainder << 32 | word & 0xFFFF_FFFF) % p
            }
            if remainder == 0 && n != BigNumber(p) { return p }
        }
        return nil
    }

    static let oddPrimesBelow65536: [UInt64] = {
        var composite = [Bool](repeating: false, count: 1 << 16)
        var primes: [UInt64] = []
        for i in 3..<(1 << 16) where !composite[i] && i % 2 == 1 {
            primes.append(UInt64(i))
            for j in stride(from: i * i, to: 1 << 16, by: 2 * i) { composite[j] = true }
        }
        return primes
    }()

    /// Whether n = s² for an integer s (Newton's integer square root on ``BigNumber``).
    static func isSquare(_ n: BigNumber) -> Bool {
        guard !n.isZero else { return true }
        var x = BigNumber(1).shiftedLeft((n.bitCount + 1) / 2)  // ≥ √n
        while true {
            let y = (x + n / x).shiftedRight(1)
            if y >= x { break }
            x = y
        }
        return x * x == n
    }
}

extension FeatureBinning {
    /// Groups of consecutive bins such that each group holds at least `minimum` rows (or there is
    /// one group): while some group is smaller, the smallest (the first of equals) is merged with
    /// its smaller neighbour (the left one of equals). The missing-value bin, last, counts as the
    /// neighbour of the last value bin.
    /// - Parameter sizes: rows per bin, in bin order.
    /// - Returns: the groups as bin indices, in order, covering every bin once.
    public static func mergedGroups(sizes: [Int], minimum: Int) -> [[Int]] {
        var groups = sizes.indices.map { [$0] }
        var totals = sizes
        while groups.count > 1,
            let smallest = totals.indices.filter({ totals[$0] < minimum }).min(by: { totals[$0] < totals[$1] })
        {
            let neighbour: Int
            if smallest == 0 {
                neighbour = 1
            } else if smallest == groups.count - 1 {
                neighbour = smallest - 1
            } else {
                neighbour = totals[smallest - 1] <= totals[smallest + 1] ? smallest - 1 : smallest + 1
            }
            let (low, high) = (min(smallest, neighbour), max(smallest, neighbour))
            groups[low] += groups[high]
            totals[low] += totals[high]
            groups.remove(at: high)
            totals.remove(at: high)
        }
        return groups
    }
}
