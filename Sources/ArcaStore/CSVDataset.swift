import ArcaCrypto
import ArcaSystem
import Foundation

/// A place in a text file, 1-based: `path:line:column` (column in characters).
public struct FilePosition: Sendable, Equatable, CustomStringConvertible {
    public var path: String
    public var line: Int
    public var column: Int
    public var description: String { "\(path):\(line):\(column)" }
}

/// A dataset file that cannot be used, with where and why.
public struct DatasetError: Error, CustomStringConvertible, Sendable, Equatable {
    public var position: FilePosition?
    public var reason: String
    public var description: String { (position.map { "\($0): " } ?? "") + reason }
    public init(_ position: FilePosition?, _ reason: String) { self.position = position; self.reason = reason }
}

/// One column of a dataset's schema: its name and whether every present value is a number.
public struct DatasetColumn: Codable, Sendable, Equatable {
    /// `number` (every non-empty value parses as a decimal number) or `string`.
    public var type: String
    public var name: String
    /// Rows with an empty value in this column.
    public var missing: Int
    public init(name: String, type: String, missing: Int) { self.name = name; self.type = type; self.missing = missing }
}

/// A CSV file read whole and verified row by row (RFC 4180: comma separated, `"` quoting with `""`
/// escapes, LF or CRLF line ends, a header row of unique names).
///
/// Every row must have the header's number of fields; the id column's values must be present and
/// unique; the label column's values present. Any failure names `path:line:column`.
public struct CSVTable: Sendable {
    public var header: [String]
    /// Fields per row, in the header's order; `rows.count` excludes the header.
    public var rows: [[String]]
    /// The line of each row in the file (1-based; the header is line 1).
    public var lines: [Int]
    public var columns: [DatasetColumn]

    /// Parses and verifies `data`, read from `path`.
    /// - Throws: ``DatasetError`` at the first byte that is not UTF-8, the first malformed row, a
    ///   missing or repeated id, a missing label, or a missing id/label column.
    public static func parse(_ data: Data, path: String, idColumn: String, labelColumn: String?) throws -> CSVTable {
        var bytes = [UInt8](data)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        func position(_ offset: Int) -> FilePosition {
            var line = 1, lineStart = 0
            for index in 0..<min(offset, bytes.count) where bytes[index] == UInt8(ascii: "\n") {
                line += 1; lineStart = index + 1
            }
            let prefix = bytes[lineStart..<min(offset, bytes.count)]
            return FilePosition(path: path, line: line, column: String(decoding: prefix, as: UTF8.self).count + 1)
        }
        if let bad = firstInvalidUTF8(bytes) {
            throw DatasetError(
                position(bad),
                String(format: "not UTF-8 text: byte 0x%02X cannot start or continue a character", bytes[bad]))
        }
        guard !bytes.isEmpty else {
            throw DatasetError(
                FilePosition(path: path, line: 1, column: 1), "the file is empty; a header row is needed")
        }

        var records: [[String]] = [], starts: [Int] = []
        // The line each record starts on, counted as the bytes go by (a quoted field may span lines):
        // finding it again from the start of the file for every row made registering quadratic.
        var startLines: [Int] = [], lineNumber = 1, recordLine = 1
        var fields: [String] = [], field: [UInt8] = []
        var index = 0, recordStart = 0
        var quoted = false, fieldStart = 0
        let quote = UInt8(ascii: "\""), comma = UInt8(ascii: ","), newline = UInt8(ascii: "\n"), cr = UInt8(ascii: "\r")
        func endRecord() {
            fields.append(String(decoding: field, as: UTF8.self)); field = []
            records.append(fields); starts.append(recordStart); startLines.append(recordLine); fields = []
        }
        while index < bytes.count {
            let byte = bytes[index]
            if quoted {
                if byte == quote {
                    if index + 1 < bytes.count && bytes[index + 1] == quote {
                        field.append(quote); index += 2; continue
                    }
                    quoted = false
                    index += 1
                    guard index == bytes.count || [comma, newline, cr].contains(bytes[index]) else {
                        throw DatasetError(
                            position(index), "a closing quote must be followed by a comma or the end of the line")
                    }
                    continue
                }
                if byte == newline { lineNumber += 1 }
                field.append(byte); index += 1; continue
            }
            switch byte {
            case comma:
                fields.append(String(decoding: field, as: UTF8.self)); field = []
                index += 1; fieldStart = index
            case cr where index + 1 < bytes.count && bytes[index + 1] == newline:
                index += 1
            case cr:
                throw DatasetError(position(index), "a carriage return outside quotes that does not end a line")
            case newline:
                if field.isEmpty && fields.isEmpty {
                    throw DatasetError(
                        position(index), "an empty line; every line is a row of \(records.first?.count ?? 0) fields")
                }
                endRecord()
                index += 1; recordStart = index; fieldStart = index
                lineNumber += 1; recordLine = lineNumber
            case quote:
                guard index == fieldStart else {
                    throw DatasetError(
                        position(index), "a quote inside an unquoted field (quote the whole field and double the quote)"
                    )
                }
                quoted = true; index += 1
            default:
                field.append(byte); index += 1
            }
        }
        if quoted { throw DatasetError(position(fieldStart), "a quoted field is never closed") }
        if !field.isEmpty || !fields.isEmpty { endRecord() }

        func columnPosition(_ record: Int, _ column: Int) -> FilePosition {
            // The start of field `column` of `record`, found again by walking the line (rare: errors only).
            var offset = starts[record], count = 0, inQuotes = false
            while offset < bytes.count, count < column {
                let byte = bytes[offset]
                if byte == quote {
                    inQuotes.toggle()
                } else if byte == comma && !inQuotes {
                    count += 1
                } else if byte == newline && !inQuotes {
                    break
                }
                offset += 1
            }
            return position(offset)
        }
        func lineLength(_ start: Int) -> Int {
            var end = start
            while end < bytes.count && bytes[end] != newline && bytes[end] != cr { end += 1 }
            return end - start
        }
        // Errors about the file's content name places, never values: they reach the audit log, which
        // the view role reads, and a file whose first line is data would have its values echoed as
        // "column names". Only the column names the caller gave are repeated.
        let header = records[0].map { $0.trimmingCharacters(in: .whitespaces) }
        var seen: [String: Int] = [:]
        for (column, name) in header.enumerated() {
            guard !name.isEmpty else {
                throw DatasetError(
                    columnPosition(0, column), "header field \(column + 1) is empty; every column needs a name")
            }
            if let first = seen.updateValue(column, forKey: name) {
                throw DatasetError(
                    columnPosition(0, column),
                    "header fields \(first + 1) and \(column + 1) have the same name; "
                        + "column names must be unique")
            }
        }
        guard let idIndex = header.firstIndex(of: idColumn) else {
            throw DatasetError(
                FilePosition(path: path, line: 1, column: 1),
                "no id column \"\(idColumn)\" in the header (line 1, \(header.count) fields); "
                    + "is line 1 a header?")
        }
        let labelIndex = try labelColumn.map { label in
            guard let index = header.firstIndex(of: label) else {
                throw DatasetError(
                    FilePosition(path: path, line: 1, column: 1),
                    "no label column \"\(label)\" in the header (line 1, \(header.count) fields)")
            }
            return index
        }
        var ids: [String: Int] = [:]
        var numeric = [Bool](repeating: true, count: header.count), missing = [Int](repeating: 0, count: header.count)
        var lines: [Int] = []
        for record in 1..<records.count {
            let row = records[record]
            let line = startLines[record]
            guard row.count == header.count else {
                let column =
                    row.count > header.count
                    ? columnPosition(record, header.count) : position(starts[record] + lineLength(starts[record]))
                throw DatasetError(column, "row has \(row.count) fields; the header has \(header.count)")
            }
            let id = row[idIndex]
            guard !id.isEmpty else {
                throw DatasetError(columnPosition(record, idIndex), "empty id in column \"\(idColumn)\"")
            }
            if let first = ids.updateValue(line, forKey: id) {
                throw DatasetError(
                    columnPosition(record, idIndex),
                    "the id in column \"\(idColumn)\" repeats the id of line \(first); "
                        + "ids must be unique")
            }
            if let labelIndex, row[labelIndex].isEmpty {
                throw DatasetError(columnPosition(record, labelIndex), "empty label in column \"\(labelColumn!)\"")
            }
            for (column, value) in row.enumerated() {
                if value.isEmpty {
                    missing[column] += 1
                } else if numeric[column] && Double(value) == nil {
                    numeric[column] = false
                }
            }
            lines.append(line)
        }
        let columns = header.indices.map {
            DatasetColumn(name: header[$0], type: numeric[$0] ? "number" : "string", missing: missing[$0])
        }
        return CSVTable(header: header, rows: Array(records.dropFirst()), lines: lines, columns: columns)
    }

    /// The offset of the first byte that does not belong to well-formed UTF-8, or nil.
    static func firstInvalidUTF8(_ bytes: [UInt8]) -> Int? {
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        var offset = 0
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let scalar): offset += scalar.count
            case .emptyInput: return nil
            case .error(let length): return offset + (length > 0 ? 0 : 0)
            }
        }
    }
}

/// A registered file's fingerprint: what ``DatasetFile/read(path:digest:roots:limit:)`` measures.
public struct DatasetFingerprint: Sendable, Equatable {
    public var digest: String
    public var sizeBytes: Int
    public var data: Data
    /// The file's path with every link resolved: the path that lies under a dataset root.
    public var resolvedPath: String
}

/// The directories datasets may come from: `[datasets] roots`.
///
/// A dataset's path is resolved (`realpath`: links followed, `..` removed) and must lie in one of
/// the roots, each resolved too; a link inside a root that points outside is refused like any
/// other path outside. A root that does not exist admits nothing.
public struct DatasetRoots: Sendable, Equatable, CustomStringConvertible {
    public var paths: [String]
    public init(_ paths: [String]) { self.paths = paths }

    /// `/srv/arca/datasets, /var/lib/arca/datasets`, or a note that there are none.
    public var description: String { paths.isEmpty ? "none are configured" : paths.joined(separator: ", ") }

    /// True when `resolved` (a path without links) is one of the roots or lies under one.
    public func contains(resolved: String) -> Bool {
        paths.contains { root in
            guard let real = realpath(root, nil) else { return false }
            defer { free(real) }
            let base = String(cString: real)
            return base == "/" || resolved == base || resolved.hasPrefix(base + "/")
        }
    }
}

public enum DatasetFile {
    /// Opens `path`, checks that what was opened lies under `roots`, reads it whole (at most
    /// `limit` bytes) and digests it.
    ///
    /// The check is on the file actually opened: its resolved path must name the same inode as the
    /// descriptor, so a link changed between the resolution and the open is refused, not followed.
    /// - Throws: ``DatasetError`` when the file is outside the roots, cannot be read, is not a
    ///   regular file, or is larger than `limit`. The message names paths only, never content.
    public static func read(
        path: String, digest: Digest, roots: DatasetRoots,
        limit: Int = 1 << 30
    ) throws -> DatasetFingerprint {
        // O_NONBLOCK: opening a FIFO must not hang the request; only regular files are read.
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)
        guard descriptor >= 0 else {
            let reason = errno == ENOENT ? "no such file" : "cannot open: \(Errno.current)"
            throw DatasetError(nil, "\(path): \(reason)")
        }
        let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        var opened = stat()
        guard fstat(descriptor, &opened) == 0 else {
            throw DatasetError(nil, "\(path): cannot stat: \(Errno.current)")
        }
        guard opened.st_mode & S_IFMT != S_IFDIR else {
            throw DatasetError(nil, "\(path) is a directory, not a CSV file")
        }
        guard opened.st_mode & S_IFMT == S_IFREG else { throw DatasetError(nil, "\(path) is not a regular file") }
        guard let real = realpath(path, nil) else {
            throw DatasetError(nil, "\(path): cannot resolve the path: \(Errno.current)")
        }
        let resolved = String(cString: real)
        free(real)
        var named = stat()
        guard stat(resolved, &named) == 0, named.st_dev == opened.st_dev, named.st_ino == opened.st_ino else {
            throw DatasetError(nil, "\(path) changed while it was being opened (a link was replaced); try again")
        }
        guard roots.contains(resolved: resolved) else {
            let target = resolved == path ? "" : " resolves to \(resolved), which"
            throw DatasetError(
                nil,
                "\(path)\(target) is outside the dataset roots (\(roots)); "
                    + "move the file under one of them or add its directory to [datasets] roots "
                    + "in arcad's configuration")
        }
        let data: Data
        do { data = try handle.read(upToCount: limit + 1) ?? Data() } catch {
            throw DatasetError(nil, "\(path): cannot read: \(error.localizedDescription)")
        }
        guard data.count <= limit else { throw DatasetError(nil, "\(path) is over \(limit) bytes") }
        return DatasetFingerprint(
            digest: try digest.hex(data), sizeBytes: data.count, data: data,
            resolvedPath: resolved)
    }
}
