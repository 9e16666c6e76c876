import ArcaCrypto
import Foundation
import Testing

@testable import ArcaStore

@Suite("CSV datasets are verified row by row")
struct CSVTableTests {
    func parse(_ text: String, id: String = "id", label: String? = nil) throws -> CSVTable {
        try CSVTable.parse(Data(text.utf8), path: "t.csv", idColumn: id, labelColumn: label)
    }

    func error(_ text: String, id: String = "id", label: String? = nil) -> DatasetError? {
        do {
            _ = try CSVTable.parse(Data(text.utf8), path: "t.csv", idColumn: id, labelColumn: label); return nil
        } catch let error as DatasetError { return error } catch { return nil }
    }

    @Test func quotesCRLFAndBOM() throws {
        let table = try parse("\u{FEFF}id,name,x\r\n1,\"a, \"\"b\"\"\",1.5\r\n2,\"multi\nline\",\r\n", label: nil)
        #expect(table.header == ["id", "name", "x"])
        #expect(table.rows == [["1", "a, \"b\"", "1.5"], ["2", "multi\nline", ""]])
        #expect(table.columns.map(\.type) == ["number", "string", "number"])
        #expect(table.columns[2].missing == 1)
        #expect(table.lines == [2, 3])
    }

    @Test func errorsNameLineAndColumn() throws {
        #expect(error("id,x\n1,2\n3\n")?.description == "t.csv:3:2: row has 1 fields; the header has 2")
        #expect(error("id,x\n1,2,9\n")?.description == "t.csv:2:5: row has 3 fields; the header has 2")
        #expect(
            error("id,x\n1,2\n1,3\n")?.description
                == "t.csv:3:1: the id in column \"id\" repeats the id of line 2; ids must be unique")
        #expect(
            error("id,x\n1,a\"b\n")?.description
                == "t.csv:2:4: a quote inside an unquoted field (quote the whole field and double the quote)")
        #expect(error("id,x\n1,\"ab\n")?.description == "t.csv:2:3: a quoted field is never closed")
        #expect(error("id,x\n,2\n")?.description == "t.csv:2:1: empty id in column \"id\"")
        #expect(error("id,y\n1,\n", label: "y")?.description == "t.csv:2:3: empty label in column \"y\"")
        #expect(error("id,x\n1,2\n\n3,4\n")?.description.hasPrefix("t.csv:3:1: an empty line") == true)
        #expect(error("key,x\n1,2\n")?.description.contains("no id column \"id\"") == true)
        let latin1 = CSVTableTests.latin1Error()
        #expect(latin1?.description == "t.csv:2:4: not UTF-8 text: byte 0xE9 cannot start or continue a character")
    }

    @Test func headerAndIdErrorsEchoNoValues() throws {
        let headless = try #require(error("c-1001,45873.25\nc-1002,61200.50\n"))
        #expect(
            headless.description
                == "t.csv:1:1: no id column \"id\" in the header (line 1, 2 fields); is line 1 a header?")
        let twice = try #require(error("id,45873.25,45873.25\n1,2,3\n"))
        #expect(twice.description.hasSuffix("header fields 2 and 3 have the same name; column names must be unique"))
        let label = try #require(error("id,45873.25\n1,2\n", label: "y"))
        #expect(label.description == "t.csv:1:1: no label column \"y\" in the header (line 1, 2 fields)")
        for message in [headless, twice, label].map(\.description) {
            #expect(!message.contains("45873.25") && !message.contains("c-1001"), "\(message)")
        }
    }

    @Test func filesAreReadOnlyFromTheRootsWithLinksResolved() throws {
        let base = NSTemporaryDirectory() + "arca-roots-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: base) }
        for directory in ["root", "outside"] {
            try FileManager.default.createDirectory(atPath: base + "/" + directory, withIntermediateDirectories: true)
            try Data("id\n1\n".utf8).write(to: URL(fileURLWithPath: base + "/\(directory)/d.csv"))
        }
        let roots = DatasetRoots([base + "/root", base + "/missing"])
        let file = try DatasetFile.read(path: base + "/root/d.csv", digest: .sha256, roots: roots)
        #expect(file.resolvedPath.hasSuffix("/root/d.csv") && file.sizeBytes == 5)
        #expect(throws: DatasetError.self) {
            try DatasetFile.read(path: base + "/outside/d.csv", digest: .sha256, roots: roots)
        }
        #expect(symlink(base + "/outside/d.csv", base + "/root/link.csv") == 0)
        do {
            _ = try DatasetFile.read(path: base + "/root/link.csv", digest: .sha256, roots: roots)
            Issue.record("a link out of the root must be refused")
        } catch let error as DatasetError {
            #expect(
                error.description.contains("resolves to")
                    && error.description.contains("outside the dataset roots"),
                "\(error)")
        }
        #expect(throws: DatasetError.self) { try DatasetFile.read(path: base + "/root", digest: .sha256, roots: roots) }
        #expect(throws: DatasetError.self) {
            try DatasetFile.read(path: base + "/root/d.csv", digest: .sha256, roots: DatasetRoots([]))
        }
    }

    static func latin1Error() -> DatasetError? {
        var bytes = Array("id,x\n1,ab\n".utf8)
        bytes.insert(0xE9, at: 8)  // "1,a" then é
        do { _ = try CSVTable.parse(Data(bytes), path: "t.csv", idColumn: "id", labelColumn: nil); return nil } catch {
            return error as? DatasetError
        }
    }
}

@Suite("The job store")
struct JobStoreTests {
    @Test func jobsEventsAndUsageSurviveReopening() throws {
        let path = NSTemporaryDirectory() + "arca-store-" + UUID().uuidString + ".db"
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        var id: Int64 = 0
        do {
            let store = try JobStore(path: path)
            let job = try store.insert(
                job: JobRecord(
                    id: nil, kind: "k", spec: "kind = \"k\"", dataset: nil, partner: "local", purpose: "p",
                    state: .queued,
                    submittedBy: "test", createdAt: Date(), rowsRead: 0, counters: [:]))
            id = try #require(job.id)
            try store.update(job: id) {
                $0.state = .running; $0.pus = [0, 1]
            }
            try store.record(usage: [
                UsageRecord(
                    id: nil, time: Date(), jobId: id, kind: "k", dataset: "d", partner: "local", purpose: "p",
                    metric: "rowsRead", amount: 7)
            ])
        }
        let store = try JobStore(path: path)
        let job = try #require(try store.job(id))
        #expect(job.state == .running && job.pus == [0, 1])
        #expect(try store.events(job: id).map(\.state) == [.queued, .running])
        #expect(try store.rowsRead(dataset: "d", partner: "local", since: Date(timeIntervalSinceNow: -60)) == 7)
        #expect(try store.integrityCheck() == ["ok"])
    }
}
