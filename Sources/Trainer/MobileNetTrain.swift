import ArgumentParser
import MobileNet

/// `mobilenet-train`: train, evaluate and inspect MobileNetV1 on CIFAR on CPUs.
@main
struct MobileNetTrain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mobilenet-train",
        abstract: "Train MobileNetV1 on CIFAR-10/100 or your own image folders on CPUs, checked against PyTorch; evaluate, predict, export.",
        subcommands: [TrainCommand.self, EvaluateCommand.self, PredictCommand.self, ExportCommand.self, DownloadCommand.self, FlopsCommand.self, PlotCommand.self,
                      CompareCommand.self, AllreduceBenchCommand.self],
        defaultSubcommand: TrainCommand.self
    )

    static func main() async {
        BLAS.reexecWithBetterKernelIfNeeded()
        if let error = unknownSubcommandError(Array(CommandLine.arguments.dropFirst())) {
            exit(withError: error)
        }
        await main(nil)
    }

    /// The names the first argument may take: every subcommand's and `help`.
    static var subcommandNames: [String] {
        configuration.subcommands.map { $0._commandName } + ["help"]
    }

    /// A misspelt subcommand, before `train` (the default subcommand) would take it for a
    /// stray argument of its own: when the first argument is neither a subcommand nor a flag
    /// (`-…`), the error names it and, when one lies within 2 edits (insertions, deletions,
    /// substitutions, transpositions of neighbours), the subcommand meant. Exit status 64
    /// (`ExitCode.validationFailure`). Flags alone (`mobilenet-train --epochs 3`) still train.
    /// The word after `help` is checked the same way (`help trian` as `trian`).
    /// - Parameter arguments: the command line without the program name.
    /// - Returns: nil when the arguments start with a subcommand, a flag, or nothing.
    static func unknownSubcommandError(_ arguments: [String]) -> ValidationError? {
        if arguments.first == "help" { return unknownSubcommandError(Array(arguments.dropFirst())) }
        guard let first = arguments.first, !first.hasPrefix("-"), !subcommandNames.contains(first) else { return nil }
        let nearest = subcommandNames.map { (name: $0, distance: editDistance(first, $0)) }.min { $0.distance < $1.distance }
        if let nearest, nearest.distance <= 2 {
            return ValidationError("unknown subcommand '\(first)'; did you mean '\(nearest.name)'?")
        }
        return ValidationError("unknown subcommand '\(first)'; the subcommands are \(subcommandNames.joined(separator: ", ")) (train is the default: 'mobilenet-train --epochs 3' trains)")
    }

    /// The optimal-string-alignment distance (Damerau–Levenshtein without repeated edits of
    /// one substring): the fewest insertions, deletions, substitutions and swaps of two
    /// neighbouring characters that turn `a` into `b`; "trian" → "train" is 1.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
        // d[i][j]: distance between the first i characters of a and the first j of b.
        var d = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { d[i][0] = i }
        for j in 0...b.count { d[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
                }
            }
        }
        return d[a.count][b.count]
    }
}
