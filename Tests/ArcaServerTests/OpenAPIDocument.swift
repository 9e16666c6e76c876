import Foundation
import OpenAPIKit
import Testing

/// The repository's OpenAPI document, and a checker of JSON values against its schemas.
///
/// The checker covers the keywords the document uses — `type` (one or a list, `"null"` included),
/// `properties`, `required`, `additionalProperties: false`, `items`, `enum`, `minimum` and local
/// `$ref` — and fails on any other keyword, so the document cannot silently outgrow it.
struct OpenAPIDocument {
    static let path = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Sources/ArcaAPI/openapi.json").path

    let raw: [String: Any]

    init() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: Self.path))
        raw = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// Parses the document with OpenAPIKit and runs its validation.
    static func validateWithOpenAPIKit() throws -> OpenAPI.Document {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let document = try JSONDecoder().decode(OpenAPI.Document.self, from: data)
        try document.validate()
        return document
    }

    /// The schema of the response `status` to `method path`, resolving a `$ref`'d response.
    func responseSchema(_ method: String, _ path: String, status: Int) throws -> [String: Any] {
        let paths = try #require(raw["paths"] as? [String: Any])
        let item = try #require(paths[path] as? [String: Any], "no path \(path) in the document")
        let operation = try #require(item[method.lowercased()] as? [String: Any], "no \(method) \(path)")
        let responses = try #require(operation["responses"] as? [String: Any])
        var response = try #require(
            responses[String(status)] as? [String: Any], "\(method) \(path) does not document \(status)")
        if let ref = response["$ref"] as? String { response = try resolve(ref) }
        let content = try #require(response["content"] as? [String: Any])
        let json = try #require(content["application/json"] as? [String: Any])
        return try #require(json["schema"] as? [String: Any])
    }

    func resolve(_ ref: String) throws -> [String: Any] {
        var node: Any = raw
        for part in ref.dropFirst(2).split(separator: "/") {
            node = try #require((node as? [String: Any])?[String(part)], "cannot resolve \(ref)")
        }
        return try #require(node as? [String: Any])
    }

    /// The places where `value` breaks `schema`; empty when it conforms.
    func violations(_ value: Any, _ schema: [String: Any], at path: String = "$") throws -> [String] {
        if let ref = schema["$ref"] as? String { return try violations(value, resolve(ref), at: path) }
        let known: Set = [
            "type", "properties", "required", "additionalProperties", "items", "enum", "minimum", "description",
            "title",
        ]
        let unknown = Set(schema.keys).subtracting(known)
        guard unknown.isEmpty else {
            return ["\(path): schema uses keywords the checker does not know: \(unknown.sorted())"]
        }
        var problems: [String] = []
        let types = (schema["type"] as? [String]) ?? (schema["type"] as? String).map { [$0] } ?? []
        let actual = jsonType(value)
        if !types.isEmpty && !types.contains(actual) && !(actual == "integer" && types.contains("number")) {
            return ["\(path): expected \(types.joined(separator: " or ")), got \(actual)"]
        }
        if let options = schema["enum"] as? [Any], !options.contains(where: { "\($0)" == "\(value)" }) {
            problems.append("\(path): \(value) is not one of \(options)")
        }
        if let minimum = schema["minimum"] as? Double, let number = value as? NSNumber, actual != "null",
            number.doubleValue < minimum
        {
            problems.append("\(path): \(number) is below \(minimum)")
        }
        if let object = value as? [String: Any], actual == "object" {
            let properties = schema["properties"] as? [String: Any] ?? [:]
            for key in schema["required"] as? [String] ?? [] where object[key] == nil {
                problems.append("\(path): missing required key \(key)")
            }
            if schema["additionalProperties"] as? Bool == false {
                for key in object.keys where properties[key] == nil {
                    problems.append("\(path): undocumented key \(key)")
                }
            }
            for (key, child) in object {
                if let childSchema = (properties[key] ?? schema["additionalProperties"]) as? [String: Any] {
                    problems += try violations(child, childSchema, at: "\(path).\(key)")
                }
            }
        }
        if let array = value as? [Any], actual == "array", let items = schema["items"] as? [String: Any] {
            for (index, element) in array.enumerated() {
                problems += try violations(element, items, at: "\(path)[\(index)]")
            }
        }
        return problems
    }

    func jsonType(_ value: Any) -> String {
        if value is NSNull { return "null" }
        if let number = value as? NSNumber {
            switch String(cString: number.objCType) {
            case "c": return "boolean"
            case "f", "d": return "number"
            default: return "integer"
            }
        }
        if value is String { return "string" }
        if value is [Any] { return "array" }
        if value is [String: Any] { return "object" }
        return "unknown"
    }
}
