extension TrainingOptions {
    /// The flag that sets option `name` (`batchSize` → `--batch-size`), from ``RunOption/all``.
    public static func flag(for name: String) -> String {
        RunOption.entry(forProperty: name)?.flag ?? name
    }

    /// One option that differs between two runs.
    public struct Difference: Equatable, Sendable {
        /// The option's command-line flag, e.g. "--epochs".
        public let flag: String
        /// The values in `self` and in the other options, as printed.
        public let value: String
        public let otherValue: String
    }

    /// Every option (all stored properties, so new options are covered automatically) whose
    /// value differs from `other`'s, in declaration order.
    public func differences(from other: TrainingOptions) -> [Difference] {
        let mine = Mirror(reflecting: self).children, theirs = Mirror(reflecting: other).children
        return zip(mine, theirs).compactMap { a, b in
            let value = Self.text(a.value), otherValue = Self.text(b.value)
            guard value != otherValue, let label = a.label else { return nil }
            return Difference(flag: Self.flag(for: label), value: value, otherValue: otherValue)
        }
    }

    /// A value as a user would type it: "0.1", "none" for nil, "a,b" for a list.
    static func text(_ value: Any) -> String {
        if let list = value as? [String] { return list.isEmpty ? "none" : list.joined(separator: ",") }
        if let list = value as? [Float] { return list.map { "\($0)" }.joined(separator: ",") }
        let mirror = Mirror(reflecting: value)
        if mirror.displayStyle == .optional {
            return mirror.children.first.map { text($0.value) } ?? "none"
        }
        return "\(value)"
    }
}
