import ArcaAPI
import Foundation
import Testing

/// Datasets come only from `[datasets] roots`, and errors about a file's content never echo its
/// values (leak 10 of issue 13).
@Suite("dataset roots and errors without data values", .serialized)
struct DatasetRootsTests {
    static let rows = "id,income,y\nc-1001,45873.25,1\nc-1002,61200.50,0\n"

    func add(_ fixture: JobFixture, _ name: String, _ path: String) throws -> Harness.Result {
        try fixture.ctl(["dataset", "add", name, "--file", path, "--id-column", "id"])
    }

    func write(_ text: String, _ path: String) throws {
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    @Test func pathsOutsideTheRootsAndLinksLeadingOutAreRefused() throws {
        let fixture = try JobFixture()
        let outside = try Harness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: outside) }
        try write(Self.rows, outside + "/secret.csv")
        let daemon = try fixture.start()

        let direct = try add(fixture, "d1", outside + "/secret.csv")
        #expect(
            direct.status == 1 && direct.stderr.contains("\(outside)/secret.csv is outside the dataset roots")
                && direct.stderr.contains("[datasets] roots"), "\(direct.stderr)")
        // A link inside a root to a file outside, a link to a directory outside, and `..`.
        try #require(symlink(outside + "/secret.csv", fixture.directory + "/link.csv") == 0)
        let link = try add(fixture, "d2", fixture.directory + "/link.csv")
        #expect(link.status == 1 && link.stderr.contains("secret.csv is outside the dataset roots"), "\(link.stderr)")
        // arcactl resolves the link itself; arcad does too, whatever the client sends.
        let body = #"{"name":"d2","path":"\#(fixture.directory)/link.csv","idColumn":"id"}"#
        let raw = try RawHTTP.exchange(
            fixture.socket,
            "POST /v1/datasets HTTP/1.1\r\nHost: l\r\n"
                + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n"
                + body)
        #expect(
            raw.status == 400 && raw.body.contains("link.csv resolves to \(outside)/secret.csv, which is outside"),
            "\(raw.body)")
        try #require(symlink(outside, fixture.directory + "/elsewhere") == 0)
        let viaDirectory = try add(fixture, "d3", fixture.directory + "/elsewhere/secret.csv")
        #expect(
            viaDirectory.status == 1 && viaDirectory.stderr.contains("outside the dataset roots"),
            "\(viaDirectory.stderr)")
        let dotDot = fixture.directory + "/../" + (outside as NSString).lastPathComponent + "/secret.csv"
        let traversal = try add(fixture, "d4", dotDot)
        #expect(traversal.status == 1 && traversal.stderr.contains("outside the dataset roots"), "\(traversal.stderr)")
        #expect(
            try fixture.json(DatasetListResponse.self, ["dataset", "list"]).datasets.isEmpty,
            "nothing is registered")

        // Inside a root, through a link that stays inside: registered under the resolved path.
        try write(Self.rows, fixture.directory + "/inside.csv")
        try #require(symlink(fixture.directory + "/inside.csv", fixture.directory + "/alias.csv") == 0)
        let inside = try add(fixture, "ok", fixture.directory + "/alias.csv")
        #expect(inside.status == 0, "\(inside.stderr)")
        let registered = try fixture.json(DatasetListResponse.self, ["dataset", "list"]).datasets
        #expect(registered.map(\.path) == [fixture.directory + "/inside.csv"])

        let audit = try fixture.json(AuditEntriesResponse.self, ["audit", "show"]).entries
            .filter { $0.contains("dataset.add") }
        let refused = audit.filter { $0.contains("\"refused\"") && $0.contains("outside the dataset roots") }
        #expect(refused.count == 5, "\(audit)")
        #expect(daemon.stop() == 0)
    }

    @Test func headerAndIdErrorsNameThePlaceButNoValue() throws {
        let fixture = try JobFixture()
        let daemon = try fixture.start()
        // No header: line 1 is a customer's row.
        try write("c-1001,45873.25,1\nc-1002,61200.50,0\n", fixture.directory + "/headless.csv")
        // A header whose names repeat (data pasted over it), and an id that repeats.
        try write("id,45873.25,45873.25\nc-1001,1,2\n", fixture.directory + "/twice.csv")
        try write("id,income\nc-1001,45873.25\nc-1001,61200.50\n", fixture.directory + "/repeated.csv")
        var messages: [String] = []
        for (file, expected) in [
            ("headless.csv", "no id column \"id\" in the header (line 1, 3 fields)"),
            ("twice.csv", "header fields 2 and 3 have the same name"),
            ("repeated.csv", "repeated.csv:3:1: the id in column \"id\" repeats the id of line"),
        ] {
            let result = try add(fixture, "x", fixture.directory + "/" + file)
            #expect(result.status == 1 && result.stderr.contains(expected), "\(result.stderr)")
            messages.append(result.stderr)
        }
        let audit = try fixture.json(AuditEntriesResponse.self, ["audit", "show"]).entries
            .filter { $0.contains("dataset.add") }
        #expect(audit.count == 3)
        for text in messages + audit {
            for value in ["c-1001", "c-1002", "45873.25", "61200.50"] {
                #expect(!text.contains(value), "\(value) is a value of the file: \(text)")
            }
        }
        #expect(daemon.stop() == 0)
    }
}
