import ArgumentParser
import MobileNet

/// `mobilenet-bench machine`: the one line that says where a figure was taken, as this
/// executable runs: the CPU (model, family and model), its cores, the vector width this
/// build targets, the OpenBLAS kernels it runs (after ``BLAS/reexecWithBetterKernelIfNeeded()``,
/// so the kernels the figures come from, not OpenBLAS's fallback) and the load average.
/// `make bench-pytorch` prints it first.
struct MachineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "machine",
        abstract: "Print the CPU, the build's vector width, the OpenBLAS core type this executable runs and the load average.")

    func run() {
        print("CPU: \(cpuDescription()); load average \(loadAverage())")
    }
}
