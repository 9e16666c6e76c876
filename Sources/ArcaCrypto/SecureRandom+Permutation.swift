extension SecureRandom {
    /// A uniformly random permutation of `0..<count`: Fisher–Yates (Knuth, TAOCP vol. 2, §3.4.2,
    /// Algorithm P), each draw made unbiased by rejection (Lemire, "Fast Random Integer Generation
    /// in an Interval", ACM TOMACS 2019), from `RAND_bytes`.
    /// - Returns: `count` distinct indexes in [0, count).
    /// - Throws: ``CryptoError`` when the generator is not seeded.
    public static func permutation(_ count: Int) throws -> [Int] {
        var result = Array(0..<count)
        var words = RandomWords()
        var last = count - 1
        while last > 0 {
            let other = Int(try words.below(UInt64(last + 1)))
            result.swapAt(last, other)
            last -= 1
        }
        return result
    }
}

/// 64-bit words from `RAND_bytes`, drawn 4 KiB at a time.
struct RandomWords {
    var buffer: [UInt64] = []

    mutating func next() throws -> UInt64 {
        if buffer.isEmpty {
            let bytes = try SecureRandom.bytes(4096)
            buffer = stride(from: 0, to: bytes.count, by: 8).map { start in
                bytes[start..<(start + 8)].reduce(0) { $0 << 8 | UInt64($1) }
            }
        }
        return buffer.removeLast()
    }

    /// A uniform value in [0, bound): a word below 2^64 mod bound is drawn again.
    mutating func below(_ bound: UInt64) throws -> UInt64 {
        precondition(bound > 0, "an empty range")
        let threshold = (0 &- bound) % bound
        while true {
            let word = try next()
            if word >= threshold { return word % bound }
        }
    }
}
