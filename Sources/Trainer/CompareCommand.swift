import ArgumentParser
import MobileNet

/// `mobilenet-train compare`: two models tensor by tensor, norm-wise.
struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare two models tensor by tensor: ‖a − b‖₂ ≤ tolerance·‖b‖₂ for every float tensor, integers equal.",
        discussion: """
        For runs whose arithmetic differs only in summation order (e.g. data-parallel training \
        against one process: the allreduce adds in another order). Prints the worst tensors; \
        exits with status 1 when any tensor is outside the tolerance.
        """
    )

    @Argument(help: "The model to check: a model file, a checkpoint folder or a --checkpoint-dir.")
    var model: String

    @Argument(help: "The reference model (same forms).")
    var reference: String

    @Option(help: "Largest allowed ‖a − b‖₂ / ‖b‖₂ per tensor.")
    var relativeTolerance: Double = 1e-4

    func run() throws {
        let failures = try reportingErrors { () -> Int in
            let a = try SafetensorsFile(contentsOfFile: try CheckpointLocation.modelFile(for: model))
            let b = try SafetensorsFile(contentsOfFile: try CheckpointLocation.modelFile(for: reference))
            let rows = try compareModels(a, reference: b).sorted { $0.relativeDifference > $1.relativeDifference }
            let failing = rows.filter { !($0.relativeDifference <= relativeTolerance) }
            print("\(rows.count) tensors of \(a.path) against \(b.path): largest ‖a − b‖₂/‖b‖₂ "
                  + "\(rows.first.map { "\($0.relativeDifference) (\($0.name))" } ?? "none"); tolerance \(relativeTolerance)")
            for row in rows.prefix(5) { print("  \(row.name): \(row.relativeDifference)") }
            if !failing.isEmpty { printError("error: \(failing.count) tensor(s) differ by more than \(relativeTolerance): \(failing.prefix(5).map(\.name).joined(separator: ", "))") }
            return failing.count
        }
        if failures > 0 { throw ExitCode.failure }
    }
}
