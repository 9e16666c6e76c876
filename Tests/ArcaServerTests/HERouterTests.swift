import ArcaAPI
import Foundation
import HTTPTypes
import Testing

/// The Paillier routes through the router, every answer checked against the OpenAPI document.
extension RouterTests {
    func json(_ value: some Encodable) throws -> String { String(decoding: try JSONEncoder().encode(value), as: UTF8.self) }

    @Test func paillierKeysAndOperationsFollowTheDocument() async throws {
        let name = "k" + UUID().uuidString.prefix(8)
        let created = try await request(.post, "/v1/he/keys", body: try json(HEKeygenRequest(name: name, bits: 2048)))
        #expect(created.status == 201)
        #expect((created.json["publicKey"] as? [String: Any])?["kty"] as? String == "DAJ")
        #expect(created.json["hasPrivateKey"] as? Bool == true && created.json["bits"] as? Int == 2048)
        #expect(try await request(.post, "/v1/he/keys", body: try json(HEKeygenRequest(name: name, bits: 2048))).status == 409)
        #expect(try await request(.post, "/v1/he/keys", body: try json(HEKeygenRequest(name: "x", bits: 1000))).status == 400)
        let listed = try await request(.get, "/v1/he/keys")
        #expect((listed.json["keys"] as? [[String: Any]])?.contains { $0["name"] as? String == name } == true)
        #expect(try await request(.get, "/v1/he/keys/\(name)", documentedAs: ("GET", "/v1/he/keys/{key}")).status == 200)
        #expect(try await request(.get, "/v1/he/keys/nope", documentedAs: ("GET", "/v1/he/keys/{key}")).status == 404)

        let encrypted = try await request(.post, "/v1/he/encrypt", body: try json(HEOperationRequest(key: name, plaintexts: ["3", "-1.5", "10"])))
        #expect(encrypted.status == 200)
        let ciphertexts = try #require(encrypted.json["ciphertexts"] as? [[String: Any]]).map { WireCiphertext(v: $0["v"] as! String, e: $0["e"] as! Int) }
        let set = HECiphertextSet(ciphertexts: ciphertexts)
        func decrypt(_ response: [String: Any]) async throws -> [String] {
            let c = (response["ciphertexts"] as! [[String: Any]]).map { WireCiphertext(v: $0["v"] as! String, e: $0["e"] as! Int) }
            let answer = try await request(.post, "/v1/he/decrypt", body: try json(HEOperationRequest(key: name, inputs: [HECiphertextSet(ciphertexts: c)])))
            return answer.json["plaintexts"] as? [String] ?? []
        }
        #expect(try await decrypt(encrypted.json) == ["3", "-1.5", "10"])
        let added = try await request(.post, "/v1/he/add", body: try json(HEOperationRequest(key: name, inputs: [set, set])))
        #expect(try await decrypt(added.json) == ["6", "-3.0", "20"])
        let scaled = try await request(.post, "/v1/he/scale", body: try json(HEOperationRequest(key: name, inputs: [set], scalars: ["2", "2", "-0.5"])))
        #expect(try await decrypt(scaled.json) == ["6", "-3.0", "-5.0"])
        let summed = try await request(.post, "/v1/he/sum", body: try json(HEOperationRequest(key: name, inputs: [set], device: "cpu")))
        #expect(summed.json["devices"] as? [String] == [] || summed.json["devices"] as? [String] == ["cpu"])
        #expect(try await decrypt(summed.json) == ["11.5"])

        // Bad input: a missing set, a bad literal, a non-decimal ciphertext, an unknown device, a tampered ciphertext.
        #expect(try await request(.post, "/v1/he/add", body: try json(HEOperationRequest(key: name, inputs: [set]))).status == 400)
        let badLiteral = try await request(.post, "/v1/he/encrypt", body: try json(HEOperationRequest(key: name, plaintexts: ["1", "0x10"])))
        #expect(badLiteral.status == 400 && (badLiteral.json["error"] as? [String: Any])?["message"] as? String == "plaintexts[1]: 0x10 is not a JSON number")
        let notDecimal = HECiphertextSet(ciphertexts: [WireCiphertext(v: "12a", e: 0)], source: "in.json")
        let bad = try await request(.post, "/v1/he/sum", body: try json(HEOperationRequest(key: name, inputs: [notDecimal])))
        #expect((bad.json["error"] as? [String: Any])?["message"] as? String == "in.json[0].v: \"12a\" is not a non-negative decimal integer")
        #expect(try await request(.post, "/v1/he/sum", body: try json(HEOperationRequest(key: name, inputs: [set], device: "ocl-nope"))).status == 400)
        #expect(try await request(.post, "/v1/he/decrypt", body: "{\"key\": \"\(name)\"}").status == 400)
        #expect(try await request(.post, "/v1/he/decrypt", body: try json(HEOperationRequest(key: "missing", inputs: [set]))).status == 404)
        // The HE routes take bodies over the general limit (1 MiB), up to [he] max_body_bytes.
        let many = HECiphertextSet(ciphertexts: Array(repeating: ciphertexts[0], count: 1200))
        let large = try json(HEOperationRequest(key: name, inputs: [many]))
        #expect(large.utf8.count > 1 << 20)
        #expect(try await request(.post, "/v1/he/sum", body: large).status == 200)
    }
}
