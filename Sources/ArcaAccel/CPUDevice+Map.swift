extension CPUDevice {
    /// `body(i)` for every i in 0..<count, in contiguous chunks on the CPU-class executors (every
    /// allowed core), or on the caller's thread without a pool; results in index order.
    /// - Throws: the first error of `body`, or ``ExecutorError`` when no executor takes the work.
    public func map<T: Sendable>(_ count: Int, _ body: @escaping @Sendable (Int) throws -> T) async throws -> [T] {
        guard count > 0 else { return [] }
        let chunks = chunkCount(count)
        let pieces = try await parallel(chunks) { chunk -> [T] in
            try ((count * chunk / chunks)..<(count * (chunk + 1) / chunks)).map(body)
        }
        return pieces.flatMap { $0 }
    }
}
