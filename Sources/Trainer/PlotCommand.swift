import ArgumentParser
import Foundation
import MobileNet

/// `mobilenet-train plot`: training curves from a metrics file as one standalone SVG.
struct PlotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plot",
        abstract: "Draw a run's curves from its --metrics file: loss and accuracy per epoch, learning rate per step.",
        discussion: """
        Reads the JSON lines `train --metrics FILE` writes (also while the run goes on) and writes \
        one standalone SVG: training / validation / test loss and top-1 accuracy per epoch, and the \
        learning rate at every logged step (every 100 steps). The output is written atomically.
        """
    )

    @Option(help: "The metrics file written by train --metrics.")
    var metrics: String

    @Option(help: "Where to write the SVG, e.g. curves.svg.")
    var output: String

    @Option(help: "Title above each chart (default: the metrics file's name).")
    var title: String?

    /// Refuses --output before the metrics are read, as the file system follows the path
    /// (links resolved): the metrics file, a file in the default data folder or a training
    /// checkpoint folder, a folder, a file in a missing folder (``OutputPath``).
    /// - Throws: ``CommandFailure`` naming --output.
    func checkOutput() throws {
        try OutputPath(flag: "--output", path: output).check(inputs: [(metrics, "the --metrics file")], dataFolders: [TrainCommand.defaultData])
    }

    func run() throws {
        try reportingErrors { try checkOutput() }
        let curves = try reportingErrors { try TrainingCurves(contentsOfFile: metrics) }
        let name = title ?? (metrics as NSString).lastPathComponent
        try reportingErrors {
            do {
                try AtomicFile.write(Data(curves.svg(title: name).utf8), to: output)
            } catch {
                throw CommandFailure("cannot write --output \(output): \(error)")
            }
        }
        let last = curves.epochs.last!
        let accuracy = [("validation", last.validationAccuracy), ("test", last.testAccuracy)]
            .compactMap { name, value in value.map { "\(name) " + formatFixed(100 * $0, 2) + " %" } }
        let learningRateText = curves.learningRates.isEmpty
            ? "no learning-rate chart (the metrics hold no step lines; a run logs one every 100 steps)"
            : "\(curves.learningRates.count) learning-rate point(s)"
        print("\(output): \(curves.epochs.count) epoch(s), \(learningRateText); "
              + "epoch \(last.epoch): " + (accuracy.isEmpty ? "no evaluation" : accuracy.joined(separator: ", ")))
    }
}
