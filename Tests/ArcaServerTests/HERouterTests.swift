import ArcaAPI
import Foundation
import HTTPTypes
import Testing

/// The Paillier routes through the router, every answer checked against the OpenAPI document.
extension RouterTests {
    func json(_ value: some Encodable) throws -> String {
        String(decoding: try JSONEncoder().encode(value), as: UTF8.self)
    }

    @Test func paillierKeysAndOperationsFollowTheDocument() async throws {
        let name = "k" + UUID().uuidString.prefix(8)
        let created = try await request(.post, "/v1/he/keys", body: try json(HEKeygenRequest(name: name, bits: 2048)))
        #expect(created.status == 201)
        #expect((created.json["publicKey"] as? [String: Any])?["kty"] as? String == "DAJ")
        #expect(created.json["hasPrivateKey"] as? Bool == true && created.json["bits"] as? Int == 2048)
        #expect(
            try await request(.post, "/v1/he/keys", body: try json(HEKeygenRequest(name: name, bits: 2048))).status
                == 409)
        #expect(
            try await request(.post, "/v1/he/keys", body: try json(HEKeygenRequest(name: "x", bits: 1000))).status
                == 400)
        let listed = try await request(.get, "/v1/he/keys")
        #expect((listed.json["keys"] as? [[String: Any]])?.contains { $0["name"] as? String == name } == true)
        #expect(
            try await request(.get, "/v1/he/keys/\(name)", documentedAs: ("GET", "/v1/he/keys/{key}")).status == 200)
        #expect(try await request(.get, "/v1/he/keys/nope", documentedAs: ("GET", "/v1/he/keys/{key}")).status == 404)

        let encrypted = try await request(
            .post, "/v1/he/encrypt", body: try json(HEOperationRequest(key: name, plaintexts: ["3", "-1.5", "10"])))
        #expect(encrypted.status == 200)
        let ciphertexts = try #require(encrypted.json["ciphertexts"] as? [[String: Any]]).map {
            WireCiphertext(v: $0["v"] as! String, e: $0["e"] as! Int)
        }
        let set = HECiphertextSet(ciphertexts: ciphertexts)
        func decrypt(_ response: [String: Any]) async throws -> [String] {
            let c = (response["ciphertexts"] as! [[String: Any]]).map {
                WireCiphertext(v: $0["v"] as! String, e: $0["e"] as! Int)
            }
            let answer = try await request(
                .post, "/v1/he/decrypt",
                body: try json(HEOperationRequest(key: name, inputs: [HECiphertextSet(ciphertexts: c)])))
            return answer.json["plaintexts"] as? [String] ?? []
        }
        #expect(try await decrypt(encrypted.json) == ["3", "-1.5", "10"])
        let added = try await request(
            .post, "/v1/he/add", body: try json(HEOperationRequest(key: name, inputs: [set, set])))
        #expect(try await decrypt(added.json) == ["6", "-3.0", "20"])
        let scaled = try await request(
            .post, "/v1/he/scale",
            body: try json(HEOperationRequest(key: name, inputs: [set], scalars: ["2", "2", "-0.5"])))
        #expect(try await decrypt(scaled.json) == ["6", "-3.0", "-5.0"])
        let summed = try await request(
            .post, "/v1/he/sum", body: try json(HEOperationRequest(key: name, inputs: [set], device: "cpu")))
        #expect(summed.json["devices"] as? [String] == [] || summed.json["devices"] as? [String] == ["cpu"])
        #expect(try await decrypt(summed.json) == ["11.5"])

        // Bad input: a missing set, a bad literal, a non-decimal ciphertext, an unknown device, a tampered ciphertext.
        #expect(
            try await request(.post, "/v1/he/add", body: try json(HEOperationRequest(key: name, inputs: [set]))).status
                == 400)
        let badLiteral = try await request(
            .post, "/v1/he/encrypt", body: try json(HEOperationRequest(key: name, plaintexts: ["1", "0x10"])))
        #expect(
            badLiteral.status == 400
                && (badLiteral.json["error"] as? [String: Any])?["message"] as? String
                    == "plaintexts[1]: 0x10 is not a JSON number"
        )
        let notDecimal = HECiphertextSet(ciphertexts: [WireCiphertext(v: "12a", e: 0)], source: "in.json")
        let bad = try await request(
            .post, "/v1/he/sum", body: try json(HEOperationRequest(key: name, inputs: [notDecimal])))
        #expect(
            (bad.json["error"] as? [String: Any])?["message"] as? String
                == "in.json[0].v: \"12a\" is not a non-negative decimal integer")
        #expect(
            try await request(
                .post, "/v1/he/sum", body: try json(HEOperationRequest(key: name, inputs: [set], device: "ocl-nope"))
            ).status == 400)
        #expect(try await request(.post, "/v1/he/decrypt", body: "{\"key\": \"\(name)\"}").status == 400)
        #expect(
            try await request(
                .post, "/v1/he/decrypt", body: try json(HEOperationRequest(key: "missing", inputs: [set]))
            ).status == 404)
        // Exponents far outside any encoding (Int.min, Int.max) were arithmetic overflows that killed
        // arcad; now they are refused naming the item, and so are an empty sum and an id-shaped name.
        for (operation, exponent) in [("sum", Int.min), ("decrypt", Int.max), ("add", 5000)] {
            var wild = ciphertexts
            wild[0].e = exponent
            let sets = [HECiphertextSet(ciphertexts: wild, source: "wild.json")] + (operation == "add" ? [set] : [])
            let refused = try await request(
                .post, "/v1/he/\(operation)", body: try json(HEOperationRequest(key: name, inputs: sets)))
            #expect(
                refused.status == 400
                    && ((refused.json["error"] as? [String: Any])?["message"] as? String)?.hasPrefix(
                        "wild.json[0].e: exponent \(exponent) is beyond ±4096") == true,
                "\(refused.json)")
        }
        let empty = try await request(
            .post, "/v1/he/sum",
            body: try json(HEOperationRequest(key: name, inputs: [HECiphertextSet(ciphertexts: [])])))
        #expect(
            empty.status == 400
                && (empty.json["error"] as? [String: Any])?["message"] as? String
                    == "ciphertexts: nothing to sum: the array is empty"
        )
        let shaped = try await request(
            .post, "/v1/he/keys", body: try json(HEKeygenRequest(name: "pai-0123456789abcdef", bits: 2048)))
        #expect(shaped.status == 400)
        // The HE routes take bodies over the general limit (1 MiB), up to [he] max_body_bytes.
        let many = HECiphertextSet(ciphertexts: Array(repeating: ciphertexts[0], count: 1200))
        let large = try json(HEOperationRequest(key: name, inputs: [many]))
        #expect(large.utf8.count > 1 << 20)
        #expect(try await request(.post, "/v1/he/sum", body: large).status == 200)
    }
}
