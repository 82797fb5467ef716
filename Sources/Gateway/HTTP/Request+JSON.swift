import Foundation
import JSON
import JobModel
import Jobs

extension Request {
    /// The body as a JSON object.
    /// - Parameter emptyIsEmptyObject: treat an empty body as `{}` (verbs without arguments).
    /// - Throws: `JobError.invalidBody` with the parser's reason if the body is not a JSON object.
    func jsonObject(emptyIsEmptyObject: Bool = false) throws -> [String: JSONValue] {
        if body.isEmpty || body.allSatisfy({ $0 == 32 || $0 == 10 || $0 == 13 || $0 == 9 }) {
            if emptyIsEmptyObject { return [:] }
            throw JobError.invalidBody("the request body is empty; a JSON object is required")
        }
        let value: JSONValue
        do {
            value = try JSONValue.parse(body)
        } catch {
            throw JobError.invalidBody("the request body is not valid JSON: \(error)")
        }
        guard let object = value.objectValue else {
            throw JobError.invalidBody("the request body must be a JSON object, got \(value.typeName)")
        }
        return object
    }
}
