import ArcaStore
import Foundation

/// A kind of job the runtime can run. PSI, WOE/IV and the rest plug in here.
public protocol JobKind: Sendable {
    /// The spec's `kind`, e.g. `dataset-stats`.
    var name: String { get }
    /// True when the job reads a registered dataset (the spec must name one, and a grant admit it).
    var readsDataset: Bool { get }
    /// Checks the spec's options. - Throws: ``JobSpecError``.
    func validate(_ spec: JobSpec) throws
    /// Rows the job will read of `dataset`, counted against the grant's quota at admission.
    func rowsToRead(_ spec: JobSpec, dataset: DatasetRecord) -> Int
    /// Runs the job; returns its result (JSON). Checks `Task.isCancelled` between steps.
    func run(_ context: JobContext) async throws -> Data
    /// The result file's extension (`json` unless the kind says otherwise, e.g. `csv`).
    func resultFileExtension(_ spec: JobSpec) -> String
    /// True when a partner appliance may open this kind here (its responder side, started by the
    /// party link under this appliance's grants); false (the default) for local-only kinds.
    var peerMayOpen: Bool { get }
}

extension JobKind {
    public func resultFileExtension(_ spec: JobSpec) -> String { "json" }
    public var peerMayOpen: Bool { false }
}
