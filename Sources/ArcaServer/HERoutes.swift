import ArcaAPI
import ArcaCrypto
import ArcaHE
import Foundation
import Hummingbird
import Logging

/// The Paillier routes: keys (generate, import, list, show) and batched operations over
/// python-paillier's JSON forms. Private keys never leave the key store; every exponentiation runs
/// on the device registry (an OpenCL device or the CPU fallback over the NUMA executors).
enum HERoutes {
    /// Every key change and operation is audited, failed ones too, and fails closed: without the
    /// audit log (503) or when its entry cannot be written (500) nothing is done or answered.
    static func add(to router: Routes, state: DaemonState) {
        let limit = state.config.heMaxBodyBytes
        /// Runs `body` audited as `action`: refused at once when the audit log is not open; a
        /// failure is audited `failed` with its error and rethrown.
        @Sendable func audited<T>(_ context: ArcaRequestContext, _ action: String,
                                  _ body: () async throws -> T) async throws -> T {
            _ = try state.jobServices()
            do { return try await body() } catch {
                try? state.auditOrFail(context, action, result: "failed", detail: String("\(error)".prefix(500)))
                throw error
            }
        }
        router.get("/v1/he/keys") { _, _ in
            try JSONBody(HEKeysResponse(keys: try await mapped { try store(state).list() }.map(wire)))
        }
        router.get("/v1/he/keys/:key") { _, context in
            let name = try context.parameters.require("key")
            return try JSONBody(wire(try await mapped { try store(state).publicKey(name).0 }))
        }
        router.post("/v1/he/keys") { request, context in
            let body = try await decodeBody(HEKeygenRequest.self, request: request, limit: limit)
            guard [2048, 3072, 4096].contains(body.bits) else {
                throw APIError(.badRequest, code: "badRequest", "bits: must be 2048, 3072 or 4096; got \(body.bits)")
            }
            let entry = try await audited(context, "he.keygen") {
                let store = try store(state)
                return try await mapped {
                    try await state.pool.submit(.cpu) { _ in try store.generate(bits: body.bits, name: body.name) }
                }
            }
            context.logger.notice("he: generated Paillier-\(body.bits) key \(entry.name) (\(entry.id))")
            try state.auditOrFail(context, "he.keygen", detail: "Paillier-\(body.bits) key \(entry.name) (\(entry.id))")
            return try JSONBody(wire(entry), status: .created)
        }
        router.post("/v1/he/keys/import") { request, context in
            let body = try await decodeBody(HEKeyImportRequest.self, request: request, limit: limit)
            let entry = try await audited(context, "he.import-key") {
                let store = try store(state)
                return try await mapped {
                    let file = try PaillierInterchange.readKey(Data(body.key.utf8))
                    return try store.importKey(file, name: body.name)
                }
            }
            context.logger.notice("he: imported \(entry.hasPrivateKey ? "private" : "public") Paillier-\(entry.bits) key \(entry.name) (\(entry.id))")
            try state.auditOrFail(context, "he.import-key",
                                  detail: "\(entry.hasPrivateKey ? "private" : "public") Paillier-\(entry.bits) key"
                                      + " \(entry.name) (\(entry.id))")
            return try JSONBody(wire(entry), status: .created)
        }
        for operation in ["encrypt", "decrypt", "add", "scale", "sum"] {
            router.post("/v1/he/\(operation)") { request, context in
                let body = try await decodeBody(HEOperationRequest.self, request: request, limit: limit)
                let response = try await audited(context, "he.\(operation)") {
                    try await mapped { try await run(operation, body, state: state) }
                }
                context.logger.info("he: \(operation) of \(response.items) items under \(response.keyId) on \(response.devices.joined(separator: ",")) in \(String(format: "%.3f", response.seconds)) s")
                let devices = response.devices.joined(separator: ",")
                try state.auditOrFail(context, "he.\(operation)",
                                      detail: "\(response.items) items under key \(response.keyId) on \(devices)")
                return try JSONBody(response)
            }
        }
    }

    static func store(_ state: DaemonState) throws -> PaillierKeyStore {
        try state.heKeyStore.withLock { store in
            if let store { return store }
            do {
                let opened = try PaillierKeyStore(directory: state.config.stateDirectory + "/he", cipher: state.config.heSealCipher)
                store = opened
                return opened
            } catch {
                throw APIError(.internalServerError, code: "keyStore", "the Paillier key store under \(state.config.stateDirectory)/he cannot be used: \(error)")
            }
        }
    }

    /// Runs `body`, turning the HE layer's errors into API errors: bad input 400, unknown key 404,
    /// name taken 409, a key store that is unsafe or damaged 500.
    static func mapped<T>(_ body: () async throws -> T) async throws -> T {
        do { return try await body() } catch let error as HEError {
            throw APIError(.badRequest, code: "badRequest", error.description)
        } catch let error as PaillierKeyStore.Failure {
            switch error {
            case .notFound: throw APIError(.notFound, code: "notFound", error.description)
            case .exists: throw APIError(.conflict, code: "conflict", error.description)
            case .insecure, .damaged: throw APIError(.internalServerError, code: "keyStore", error.description)
            }
        }
    }

    static func wire(_ entry: PaillierKeyStore.Entry) -> HEKey {
        HEKey(id: entry.id, name: entry.name, bits: entry.bits, created: ISO8601DateFormatter().string(from: entry.created),
              origin: entry.origin, hasPrivateKey: entry.hasPrivateKey, publicKey: entry.publicKey)
    }

    static func numbers(_ literals: [String]?, field: String) throws -> [PlainNumber] {
        guard let literals else { throw HEError(field, "missing") }
        return try literals.enumerated().map { try PlainNumber(jsonLiteral: $1, item: "\(field)[\($0)]") }
    }

    /// What errors call `set`: its file name, else its place in the request.
    static func name(_ set: HECiphertextSet, field: String) -> String { set.source ?? field }

    /// The ciphertexts of `set`, checked against the key when the set was enveloped (the engine
    /// checks each is a unit below n², naming the set).
    static func checkedCiphertexts(_ set: HECiphertextSet, key: PaillierPublicKey, entry: PaillierKeyStore.Entry, field: String) throws -> [Ciphertext] {
        let name = name(set, field: field)
        if let jwk = set.publicKey {
            let under = try PaillierInterchange.publicKey(jwk)
            guard under == key else {
                throw HEError(name, "the ciphertexts are under key \(under.fingerprint) (\(under.bits) bits), not key \(entry.name) (\(entry.id))")
            }
        }
        return try PaillierInterchange.ciphertexts(set.ciphertexts, source: name)
    }

    static func run(_ operation: String, _ body: HEOperationRequest, state: DaemonState) async throws -> HEOperationResponse {
        let started = ContinuousClock.now
        let store = try store(state)
        let (entry, key) = try store.publicKey(body.key)
        if let device = body.device, device != "cpu", state.registry.device(device) == nil {
            throw HEError("device", "\(device) is not a device that passed its self-test (see arcactl devices)")
        }
        let engine = PaillierEngine(registry: state.registry, preferred: body.device)
        var report = PaillierEngine.Report()
        let inputs = body.inputs ?? []
        func label(_ index: Int) -> String { index < inputs.count ? name(inputs[index], field: "inputs[\(index)]") : "inputs[\(index)]" }
        func input(_ index: Int) throws -> [Ciphertext] {
            guard index < inputs.count else { throw HEError("inputs", "\(operation) needs \(operation == "add" ? 2 : 1) ciphertext set(s), got \(inputs.count)") }
            return try checkedCiphertexts(inputs[index], key: key, entry: entry, field: "inputs[\(index)]")
        }
        var ciphertexts: [Ciphertext]?, plaintexts: [PlainNumber]?, items = 0
        switch operation {
        case "encrypt":
            let values = try numbers(body.plaintexts, field: "plaintexts")
            let encoded = try values.enumerated().map { try EncodedNumber.encode($1, key: key, item: "plaintexts[\($0)]") }
            switch body.obfuscator ?? "standard" {
            case "standard":
                let privateKey = entry.hasPrivateKey ? try store.privateKey(entry.id) : nil
                ciphertexts = try await engine.encrypt(encoded, key: key, privateKey: privateKey, report: &report)
            case "djn":
                ciphertexts = try await engine.encrypt(encoded, djn: try store.djn(entry.id), report: &report)
            case let other:
                throw HEError("obfuscator", "must be \"standard\" or \"djn\"; got \"\(other.prefix(40))\"")
            }
            items = values.count
        case "decrypt":
            let privateKey = try store.privateKey(entry.id)
            let c = try input(0)
            let encoded = try await engine.decrypt(c, privateKey: privateKey, item: label(0), report: &report)
            plaintexts = try encoded.enumerated().map { try $1.decode(key: key, item: "\(label(0))[\($0)]") }
            items = c.count
        case "add":
            let (a, b) = (try input(0), try input(1))
            ciphertexts = try await engine.add(a, b, key: key, items: (label(0), label(1)), report: &report)
            items = a.count
        case "scale":
            let c = try input(0)
            ciphertexts = try await engine.scale(c, by: try numbers(body.scalars, field: "scalars"), key: key, item: label(0), report: &report)
            items = c.count
        default:  // sum
            let c = try input(0)
            ciphertexts = [try await engine.sum(c, key: key, item: label(0), report: &report)]
            items = c.count
        }
        return HEOperationResponse(operation: operation, keyId: entry.id, publicKey: entry.publicKey,
                                   ciphertexts: ciphertexts.map(PaillierInterchange.wire),
                                   plaintexts: plaintexts?.map(\.jsonLiteral), devices: report.devices.sorted(), fallbacks: report.fallbacks,
                                   items: items, modexps: report.modexps, seconds: (ContinuousClock.now - started).seconds)
    }
}
