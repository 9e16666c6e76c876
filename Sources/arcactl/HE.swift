import ArcaAPI
import ArcaSystem
import ArgumentParser
import Foundation

/// `arcactl he …`: Paillier keys and batched operations over python-paillier's JSON files. Files are
/// read and written here; the arithmetic runs in arcad, on its accelerator or CPU fallback.
struct HE: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "he",
        abstract: "Paillier HE: keys, and encrypt/decrypt/add/scale/sum over python-paillier's JSON files.",
        discussion: """
            Files are python-paillier's forms. A ciphertext file is [{"v": "<decimal>", "e": <exponent>}, …] \
            (or, with --envelope, {"publicKey": <key JSON>, "ciphertexts": […]}, which lets a ciphertext under \
            another key be caught; read either way). A plaintext file is a JSON array of numbers. A public key \
            is JWK-style JSON as `pheutil extract` writes it. Outputs are written whole or not at all.

            """ + Failure.exitCodeHelp,
        subcommands: [
            Keygen.self, Keys.self, ExportKey.self, ImportKey.self, Encrypt.self, Decrypt.self, Add.self, Scale.self,
            Sum.self,
        ])

    struct Keygen: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Generate a Paillier key pair in arcad; the private key never leaves it.")
        @OptionGroup var connection: ConnectionOptions
        @Option(help: "Bits of n: 2048, 3072 or 4096.") var bits: Int = 2048
        @Option(help: "Name of the key.") var name: String
        func run() async throws {
            try await runReporting {
                let data = try await client(connection).call(
                    .POST, "/v1/he/keys", body: try API.encoder().encode(HEKeygenRequest(name: name, bits: bits)))
                try printKey(data, json: connection.json)
            }
        }
    }

    struct Keys: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the Paillier keys arcad holds.")
        @OptionGroup var connection: ConnectionOptions
        func run() async throws {
            try await runReporting {
                let (response, data) = try await client(connection).get(HEKeysResponse.self, "/v1/he/keys")
                if connection.json { return printJSON(data) }
                print(
                    table(
                        ["NAME", "ID", "BITS", "PRIVATE", "ORIGIN", "CREATED"],
                        response.keys.map {
                            [
                                $0.name, $0.id, "\($0.bits)", $0.hasPrivateKey ? "yes" : "no (public only)", $0.origin,
                                $0.created,
                            ]
                        }))
            }
        }
    }

    struct ExportKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "export-key", abstract: "Print a public key as python-paillier's JWK JSON.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "Key name or id.") var key: String
        @Option(help: ArgumentHelp("Write it to this file instead of standard output.", valueName: "file")) var output:
            String?
        func run() async throws {
            try await runReporting {
                let (entry, _) = try await client(connection).get(HEKey.self, "/v1/he/keys/\(pathComponent(key))")
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                try emit(try encoder.encode(entry.publicKey) + Data("\n".utf8), to: output)
            }
        }
    }

    struct ImportKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import-key",
            abstract: "Import a python-paillier key file: public (encrypt and compute) or private (decrypt too).")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: ArgumentHelp("Key file (JWK JSON from pheutil or python-paillier).", valueName: "file"))
        var file: String
        @Option(help: "Name for the key.") var name: String
        func run() async throws {
            try await runReporting {
                let text = String(decoding: try read(file), as: UTF8.self)
                let data = try await client(connection).call(
                    .POST, "/v1/he/keys/import",
                    body: try API.encoder().encode(HEKeyImportRequest(name: name, key: text)))
                try printKey(data, json: connection.json)
            }
        }
    }

    struct Files: ParsableArguments {
        @Option(help: "Key name or id.") var key: String
        @Option(
            help: ArgumentHelp("Output file (\"-\": standard output); written whole or not at all.", valueName: "file"))
        var output: String
        @Option(
            help: ArgumentHelp(
                "Run the exponentiations on this device (see arcactl devices); default: arcad chooses.", valueName: "id"
            )) var device: String?
    }

    struct Encrypt: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Encrypt a JSON array of numbers.")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var files: Files
        @Option(help: ArgumentHelp("Plaintext file: a JSON array of numbers.", valueName: "file")) var input: String
        @Flag(help: "Write {\"publicKey\": …, \"ciphertexts\": […]} instead of the bare array.")
        var envelope = false
        @Option(
            help:
                """
                standard (r^n, as python-paillier) or djn (hs^a with a short a: faster; see the README for its \
                security parameter).
                """
        )
        var obfuscator = "standard"
        func validate() throws {
            guard ["standard", "djn"].contains(obfuscator) else {
                throw ValidationError("--obfuscator must be standard or djn")
            }
        }
        func run() async throws {
            try await runReporting {
                let literals = try parseFile(input) { try HEFiles.plaintextLiterals($0) }
                try await operate(
                    "encrypt",
                    HEOperationRequest(
                        key: files.key, plaintexts: literals, device: files.device, obfuscator: obfuscator), connection,
                    files, envelope: envelope)
            }
        }
    }

    struct Decrypt: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Decrypt a ciphertext file to a JSON array of numbers (needs the private key).")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var files: Files
        @Option(help: ArgumentHelp("Ciphertext file.", valueName: "file")) var input: String
        func run() async throws {
            try await runReporting {
                try await operate(
                    "decrypt",
                    HEOperationRequest(key: files.key, inputs: [try ciphertexts(input)], device: files.device),
                    connection, files, envelope: false)
            }
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add two ciphertext files element by element (--input given twice).")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var files: Files
        @Option(help: ArgumentHelp("Ciphertext file; give it twice.", valueName: "file")) var input: [String] = []
        @Flag(help: "Write the envelope form.") var envelope = false
        func validate() throws {
            guard input.count == 2 else {
                throw ValidationError("he add takes --input exactly twice (got \(input.count))")
            }
        }
        func run() async throws {
            try await runReporting {
                let sets = try input.map(ciphertexts)
                try await operate(
                    "add", HEOperationRequest(key: files.key, inputs: sets, device: files.device), connection, files,
                    envelope: envelope)
            }
        }
    }

    struct Scale: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Multiply each ciphertext by the plaintext scalar at the same place.")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var files: Files
        @Option(help: ArgumentHelp("Ciphertext file.", valueName: "file")) var input: String
        @Option(help: ArgumentHelp("Plaintext file of scalars, one per ciphertext.", valueName: "file")) var scalars:
            String
        @Flag(help: "Write the envelope form.") var envelope = false
        func run() async throws {
            try await runReporting {
                let set = try ciphertexts(input)
                let literals = try parseFile(scalars) { try HEFiles.plaintextLiterals($0) }
                try await operate(
                    "scale", HEOperationRequest(key: files.key, inputs: [set], scalars: literals, device: files.device),
                    connection, files, envelope: envelope)
            }
        }
    }

    struct Sum: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Sum a ciphertext file into an array of one ciphertext.")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var files: Files
        @Option(help: ArgumentHelp("Ciphertext file.", valueName: "file")) var input: String
        @Flag(help: "Write the envelope form.") var envelope = false
        func run() async throws {
            try await runReporting {
                try await operate(
                    "sum", HEOperationRequest(key: files.key, inputs: [try ciphertexts(input)], device: files.device),
                    connection, files, envelope: envelope)
            }
        }
    }
}

/// The client, with a longer default wait: a batch or a 4096-bit keygen takes more than a query.
private func client(_ connection: ConnectionOptions) -> APIClient {
    var connection = connection
    if connection.timeout == 10 { connection.timeout = 3600 }
    return APIClient(options: connection)
}

/// Key names and ids are A-Z a-z 0-9 - _ . (unreserved in URLs); anything else is percent-encoded.
private func pathComponent(_ text: String) -> String {
    text.addingPercentEncoding(
        withAllowedCharacters: CharacterSet(
            charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")) ?? text
}

private func read(_ path: String) throws -> Data {
    do { return try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
        throw Failure.badInput("\(path): cannot read: \((error as NSError).localizedDescription)")
    }
}

private func parseFile<T>(_ path: String, _ body: (Data) throws -> T) throws -> T {
    let data = try read(path)
    do { return try body(data) } catch let error as HEFiles.FormatError {
        throw Failure.badInput("\(path): \(error)")
    }
}

private func ciphertexts(_ path: String) throws -> HECiphertextSet {
    try parseFile(path) { try HEFiles.readCiphertexts($0, source: path) }
}

private func printKey(_ data: Data, json: Bool) throws {
    if json { return printJSON(data) }
    guard let key = try? JSONDecoder().decode(HEKey.self, from: data) else {
        throw Failure.protocolError("cannot read arcad's answer: \(String(decoding: data.prefix(200), as: UTF8.self))")
    }
    print(
        table(
            ["NAME", "ID", "BITS", "PRIVATE", "ORIGIN"],
            [[key.name, key.id, "\(key.bits)", key.hasPrivateKey ? "yes" : "no (public only)", key.origin]]))
}

/// Sends one operation and writes its result to `--output` (atomically); a summary goes to stderr.
private func operate(
    _ operation: String, _ request: HEOperationRequest, _ connection: ConnectionOptions, _ files: HE.Files,
    envelope: Bool
) async throws {
    let data = try await client(connection).call(.POST, "/v1/he/\(operation)", body: try API.encoder().encode(request))
    let response: HEOperationResponse
    do { response = try JSONDecoder().decode(HEOperationResponse.self, from: data) } catch {
        throw Failure.protocolError("cannot read arcad's answer to \(operation): \(error)")
    }
    let output: Data
    if let plaintexts = response.plaintexts {
        output = HEFiles.plaintextFile(plaintexts)
    } else if let ciphertexts = response.ciphertexts {
        output = HEFiles.ciphertextFile(ciphertexts, envelope: envelope ? response.publicKey : nil)
    } else {
        throw Failure.protocolError("arcad's answer to \(operation) has no result")
    }
    try emit(output, to: files.output)
    if connection.json {
        return printJSON(
            data.count < 4096 ? data : Data("{\"operation\": \"\(operation)\", \"items\": \(response.items)}".utf8))
    }
    let fallbacks =
        response.fallbacks.isEmpty
        ? "" : "; fell back to the CPU: \(Set(response.fallbacks).sorted().joined(separator: ", "))"
    FileHandle.standardError.write(
        Data(
            """
            arcactl: \(operation): \(response.items) item(s) under key \(response.keyId) in \
            \(String(format: "%.3f", response.seconds)) s on \
            \(response.devices.isEmpty ? "cpu" : response.devices.joined(separator: ", "))\(fallbacks) → \
            \(files.output)\n
            """
            .utf8))
}

/// Writes `data` to `path` through a temporary file in the same directory and a rename, so a reader
/// never sees half a file and a failure leaves any earlier file as it was; "-" or nil is stdout.
private func emit(_ data: Data, to path: String?) throws {
    guard let path, path != "-" else { return printRaw(data) }
    let mask = umask(0)
    umask(mask)
    do {
        try AtomicFile.write(data, to: path, mode: 0o666 & ~mask)
    } catch {
        throw Failure.badInput("\(path): cannot write: \(error)")
    }
}

private func printRaw(_ data: Data) {
    do { try FileHandle.standardOutput.write(contentsOf: data) } catch { exit(0) }
}
