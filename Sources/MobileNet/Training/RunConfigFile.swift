import Foundation

/// A problem with a `train --config FILE.json`: the file and what to do.
public struct RunConfigError: Error, CustomStringConvertible, Equatable {
    public let path: String
    public let message: String
    public var description: String { "--config \(path): \(message)" }
}

/// Where a `--config` file sets an option: the file and the key as the file spells it.
public struct RunConfigKey: CustomStringConvertible, Equatable, Sendable {
    public let path: String
    public let key: String
    /// `--config recipes/x.json: "epochs"`, as messages begin.
    public var description: String { "--config \(path): \"\(key)\"" }
}

/// `train --config FILE.json`: a JSON object of recorded run options, read as flags given
/// before the command line's (so the command line overrides it).
///
/// Keys are ``TrainingOptions`` property names, as in the options JSON of checkpoints and
/// the `options.json` a run writes beside its checkpoints (``fileName``), or the flag names
/// of the same options ("batch-size"); values are what that JSON holds (numbers, strings,
/// booleans, lists; `cropSchedule` as `{"phases": [{"size": 24, "epochs": 22}]}`), each option
/// under one key. `recipe` names the starting recipe when the command line gives no --recipe.
/// Options that are not part of a run's result (--data, --threads, --checkpoint-dir, …) stay
/// on the command line.
public struct RunConfigFile: Sendable {
    /// The file a run writes beside its checkpoints: its resolved options, so
    /// `train --config DIR/options.json` repeats the run.
    public static let fileName = "options.json"

    public let path: String
    /// The recipe the file names, if any.
    public let recipe: Recipe?
    /// One override per other key, in key order.
    public let overrides: [TrainingOptions.Override]
    /// The key that sets each option the file sets (its ``RunOption/property``): "batch-size"
    /// or "batchSize", as written.
    private let keys: [String: String]

    /// Where the file sets `option` (its recipe included), nil when it does not.
    public func key(for option: RunOption) -> RunConfigKey? {
        option.property.flatMap { keys[$0] }.map { RunConfigKey(path: path, key: $0) }
    }

    /// Reads and checks `path`: valid JSON, each key known and given once, each value of its
    /// option's form.
    /// - Throws: ``RunConfigError`` naming the file (and the key, with the form it takes).
    public init(path: String) throws {
        func failure(_ message: String) -> RunConfigError { RunConfigError(path: path, message: message) }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw failure("cannot read it; give a JSON file of options, e.g. a run's \(Self.fileName)")
        }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data)
        } catch {
            let reason = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? error.localizedDescription
            throw failure("not valid JSON (\(reason)); give a JSON object of options ({\"epochs\": 30, …})")
        }
        guard let entries = object as? [String: Any] else {
            throw failure("not a JSON object of options ({\"epochs\": 30, …})")
        }
        var recipe: Recipe?
        var overrides: [TrainingOptions.Override] = []
        var keys: [String: String] = [:]
        let defaults = try JSONSerialization.jsonObject(with: JSONEncoder().encode(TrainingOptions())) as? [String: Any] ?? [:]
        for key in entries.keys.sorted() {
            let value = entries[key]!
            guard let entry = RunOption.all.first(where: { ($0.property == key || $0.name == key) && $0.property != nil }),
                  let property = entry.property, let keyPath = entry.keyPath else {
                let commandLine = RunOption.all.contains { $0.name == key && $0.property == nil }
                throw failure("unknown key \"\(key)\"" + (commandLine ? "; --\(key) is not recorded in a run's options: give it on the command line"
                    : "; use the names of options.json (e.g. batchSize) or of train's flags (batch-size)"))
            }
            if let other = keys[property] {
                throw failure("\"\(other)\" and \"\(key)\" both set \(entry.flag); keep one")
            }
            keys[property] = key
            if property == "recipe" {
                guard let name = value as? String, let named = Recipe(rawValue: name) else {
                    throw failure("\"\(key)\": unknown recipe \(JSONForm.text(value)); use \(Recipe.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                recipe = named
                continue
            }
            var probe = defaults
            probe[property] = value
            let decoded: TrainingOptions
            do {
                decoded = try JSONDecoder().decode(TrainingOptions.self, from: JSONSerialization.data(withJSONObject: probe))
            } catch {
                throw failure("\"\(key)\": " + JSONForm.problem(with: value, of: entry, error: error))
            }
            let set = Self.setter(for: keyPath, from: decoded)
            overrides.append(TrainingOptions.Override(keyPath: keyPath, apply: set))
        }
        self.path = path
        self.recipe = recipe
        self.overrides = overrides
        self.keys = keys
    }

    /// A closure copying the property at `keyPath` of `source` into the options it is given,
    /// through the Codable form (every recorded option round-trips through it; an absent
    /// optional is nil).
    private static func setter(for keyPath: PartialKeyPath<TrainingOptions>, from source: TrainingOptions) -> @Sendable (inout TrainingOptions) -> Void {
        let name = RunOption.all.first { $0.keyPath == keyPath }?.property
        return { options in
            guard let name, var mine = (try? JSONSerialization.jsonObject(with: JSONEncoder().encode(options))) as? [String: Any],
                  let theirs = (try? JSONSerialization.jsonObject(with: JSONEncoder().encode(source))) as? [String: Any],
                  let data = try? JSONSerialization.data(withJSONObject: { mine[name] = theirs[name]; return mine }()),
                  let updated = try? JSONDecoder().decode(TrainingOptions.self, from: data) else { return }
            options = updated
        }
    }

    /// Writes `options` as `options.json` into `directory`, atomically (sorted keys, one line).
    /// - Throws: ``FileWriteError`` naming the file.
    public static func write(_ options: TrainingOptions, into directory: String) throws {
        try AtomicFile.write(Data(TrainingCheckpoint.jsonText(options).utf8), to: directory + "/" + fileName)
    }
}
