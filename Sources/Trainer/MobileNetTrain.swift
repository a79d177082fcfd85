import ArgumentParser
import MobileNet

/// `mobilenet-train`: train, evaluate and inspect MobileNetV1 on CIFAR on CPUs.
@main
struct MobileNetTrain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mobilenet-train",
        abstract: "Train MobileNetV1 on CIFAR-10/100 on CPUs, checked against PyTorch.",
        subcommands: [TrainCommand.self, EvaluateCommand.self, ExportCommand.self, DownloadCommand.self, FlopsCommand.self, PlotCommand.self,
                      CompareCommand.self, AllreduceBenchCommand.self],
        defaultSubcommand: TrainCommand.self
    )

    static func main() async {
        BLAS.reexecWithBetterKernelIfNeeded()
        await main(nil)
    }
}
