import Foundation
import Testing

@testable import ArcaRuntime

@Suite("Job specs")
struct JobSpecTests {
    @Test func parsesAndNamesBadKeys() throws {
        let spec = try JobSpec.parse(
            "kind = \"dataset-stats\"\ndataset = \"b\"\npurpose = \"stats\"\n[options]\npasses = 2\n")
        #expect(spec.kind == "dataset-stats" && spec.partner == "local" && spec.options["passes"] == .int(2))
        #expect(
            throws: JobSpecError("spec key colour: unknown; a spec has kind, dataset, partner, purpose and [options]")
        ) {
            try JobSpec.parse("kind = \"x\"\npurpose = \"p\"\ncolour = 1\n")
        }
        #expect(throws: JobSpecError("spec key purpose: missing; e.g. purpose = \"stats\"")) {
            try JobSpec.parse("kind = \"x\"\n")
        }
        do {
            _ = try JobSpec.parse("kind = \"x\"\npurpose = \n")
            Issue.record("a TOML error must throw")
        } catch let error as JobSpecError {
            #expect(error.description.hasPrefix("spec line 2"))
        }
    }
}
