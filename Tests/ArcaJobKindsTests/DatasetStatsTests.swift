import ArcaRuntime
import Testing

@testable import ArcaJobKinds

@Suite("dataset-stats")
struct DatasetStatsTests {
    @Test func refusesPassesOutOfRange() throws {
        let spec = try JobSpec.parse("kind = \"dataset-stats\"\npurpose = \"p\"\n[options]\npasses = 0\n")
        #expect(throws: JobSpecError.self) { try DatasetStatsJob().validate(spec) }
    }

    @Test func isRegisteredAndLocalOnly() {
        let kinds = JobKinds.all(link: nil, registry: nil)
        #expect(kinds.map(\.name).sorted() == ["dataset-stats", "iv", "psi"])
        #expect(kinds.filter(\.peerMayOpen).map(\.name).sorted() == ["iv", "psi"])
    }
}
