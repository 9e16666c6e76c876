/// Timing helpers for benchmarks and tuning (never for tests' assertions).
public enum Timing {
    /// The median of `samples` (the mean of the two middle ones for an even count).
    /// - Precondition: `samples` is not empty.
    public static func median(_ samples: [Double]) -> Double {
        precondition(!samples.isEmpty, "median of no samples")
        let sorted = samples.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    /// Runs `body` `runs` times and returns the median of what it returns (a rate, a time).
    public static func median(of runs: Int, _ body: () async throws -> Double) async rethrows -> Double {
        var samples: [Double] = []
        for _ in 0..<max(1, runs) { samples.append(try await body()) }
        return median(samples)
    }

    /// Wall time of `body` in seconds, from the monotonic clock.
    public static func seconds(_ body: () throws -> Void) rethrows -> Double {
        let start = ContinuousClock.now
        try body()
        return (ContinuousClock.now - start).seconds
    }
}

extension Duration {
    /// The duration in seconds, as a `Double`.
    public var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
    /// The duration in milliseconds, as a `Double`.
    public var milliseconds: Double { Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15 }
}
