import ArgumentParser
import MobileNet

// `train`'s flags take their names and help text from the library's table of options
// (``RunOption/all``): `@Option(name: .entry(.batchSize), help: .entry(.batchSize))`.

extension NameSpecification {
    /// The long name of a table entry: `--batch-size`.
    static func entry(_ option: RunOption) -> NameSpecification {
        .customLong(option.name)
    }
}

extension ArgumentHelp {
    /// The help text (with its default) and value placeholder of a table entry.
    static func entry(_ option: RunOption) -> ArgumentHelp {
        ArgumentHelp(option.help, valueName: option.valueName)
    }
}
