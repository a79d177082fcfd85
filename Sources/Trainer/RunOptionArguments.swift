import ArgumentParser
import Foundation
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

/// Three numbers R,G,B as `--mean` and `--std` take them: "0.5,0.45,0.4".
struct ChannelValues: ExpressibleByArgument {
    let values: [Float]

    init?(argument: String) {
        let parts = argument.split(separator: ",", omittingEmptySubsequences: false)
        let values = parts.compactMap { Float($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 3, values.count == 3 else { return nil }
        self.values = values
    }
}

/// A size in bytes as `--max-memory` takes it: 512M, 4G, 4GiB (binary units), or bytes.
struct MemoryArgument: ExpressibleByArgument {
    let bytes: Int

    init?(argument: String) {
        guard let bytes = MemorySize.parse(argument) else { return nil }
        self.bytes = bytes
    }
}

extension ChannelValues {
    /// "0.5,0.45,0.4": three values as `--mean`/`--std` take them.
    static func text(_ values: [Float]) -> String {
        values.map { "\($0)" }.joined(separator: ",")
    }
}
