import Foundation

/// The JSON form of a recorded option's value, for the messages of ``RunConfigFile``: what
/// kind of value a key was given, where inside it the decoder stopped, and the form the key
/// takes, as options.json holds it.
enum JSONForm {
    /// `value` as JSON text: `"3"`, `24`, `{"phases":[{"epochs":22,"size":24}]}`.
    static func text(_ value: Any) -> String {
        (try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .sortedKeys, .withoutEscapingSlashes]))
            .flatMap { String(data: $0, encoding: .utf8) } ?? "\(value)"
    }

    /// The kind of a JSON value: "a string", "a number", "true or false", "a list", "an object", "null".
    static func kind(_ value: Any) -> String {
        switch value {
        case is String: "a string"
        case is [Any]: "a list"
        case is [String: Any]: "an object"
        case is NSNull: "null"
        // JSONSerialization gives true and false as NSNumbers of type char.
        case let number as NSNumber: String(cString: number.objCType) == "c" ? "true or false" : "a number"
        default: "\(type(of: value))"
        }
    }

    /// Why `value` is not a value of `entry`, from the decoder's `error`, ending with the form
    /// the key takes: `"3" is a string where a number is expected, as in "epochs": 60`;
    /// `"24" at phases[0].size is a string …`; `phases[0] has no "epochs", as in "cropSchedule": {…}`.
    static func problem(with value: Any, of entry: RunOption, error: any Error) -> String {
        let property = entry.property ?? entry.name
        let example = examples[property]
        let form = example.map { ", as in \"\(property)\": \(text($0))" } ?? ""
        switch error as? DecodingError {
        case .keyNotFound(let key, let context)?:
            let inner = Array(context.codingPath.dropFirst())
            return "\(inner.isEmpty ? text(value) : location(inner)) has no \"\(key.stringValue)\"\(form)"
        case .typeMismatch(_, let context)?, .valueNotFound(_, let context)?:
            let inner = Array(context.codingPath.dropFirst())
            if let given = element(at: inner, of: value), let expected = example.flatMap({ element(at: inner, of: $0) }) {
                let subject = given is NSNull ? "the value" : text(given)
                return "\(subject)\(inner.isEmpty ? "" : " at " + location(inner)) is \(kind(given)) where \(kind(expected)) is expected\(form)"
            }
        default:
            break
        }
        return "\(text(value)) is not a value of \(entry.flag)\(form)"
    }

    /// Each recorded option's value in an options.json whose optional values are present.
    private static var examples: [String: Any] {
        var options = TrainingOptions()
        options.cropSchedule = Recipe.fast.options.cropSchedule
        (options.limitTrain, options.limitTest) = (5000, 1000)
        (options.mean, options.std) = ([0.5, 0.5, 0.5], [0.25, 0.25, 0.25])
        options.noWeightDecayKinds = [Parameter.Kind.depthwiseWeight.rawValue]
        return (try? JSONSerialization.jsonObject(with: JSONEncoder().encode(options))) as? [String: Any] ?? [:]
    }

    /// The part of `value` at `path`; an index past the end of a list reads its last element,
    /// so an example's one crop phase stands for any.
    private static func element(at path: [any CodingKey], of value: Any) -> Any? {
        path.reduce(Optional(value)) { current, key in
            if let index = key.intValue, let list = current as? [Any] { return list.isEmpty ? nil : list[min(index, list.count - 1)] }
            return (current as? [String: Any])?[key.stringValue]
        }
    }

    /// A path inside a value as a user reads it: `phases[0].size`.
    private static func location(_ path: [any CodingKey]) -> String {
        path.reduce("") { text, key in
            key.intValue.map { text + "[\($0)]" } ?? (text.isEmpty ? key.stringValue : text + "." + key.stringValue)
        }
    }
}
