import ArgumentParser
import MobileNet

/// `mobilenet-bench`: what depthwise-separable convolution saves, counted and timed.
/// Release builds only (`make bench`, `make bench-pytorch`).
@main
struct MobileNetBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mobilenet-bench",
        abstract: "Count and time standard vs depthwise-separable convolution, layer by layer and for the whole network.",
        subcommands: [RunCommand.self, CompareCommand.self, DepthwiseCommand.self, InferCommand.self, ImagesCommand.self,
                      MachineCommand.self],
        defaultSubcommand: RunCommand.self)

    /// Re-executes with better OpenBLAS kernels when OpenBLAS fell back to generic ones.
    static func main() {
        BLAS.reexecWithBetterKernelIfNeeded()
        main(nil)
    }
}
