import JSON
import JobModel

extension JSONValue {
    /// This value with `members` merged into the object at key path `keys` (object keys, or array indices as
    /// decimal strings); unchanged where the path does not lead to an object.
    func merging(_ members: [String: JSONValue], at keys: some Collection<String>) -> JSONValue {
        guard let key = keys.first else {
            guard case .object(var object) = self else { return self }
            object.merge(members) { $1 }
            return .object(object)
        }
        switch self {
        case .object(var object):
            guard let child = object[key] else { return self }
            object[key] = child.merging(members, at: keys.dropFirst())
            return .object(object)
        case .array(var elements):
            guard let index = Int(key), elements.indices.contains(index) else { return self }
            elements[index] = elements[index].merging(members, at: keys.dropFirst())
            return .array(elements)
        default:
            return self
        }
    }
}
