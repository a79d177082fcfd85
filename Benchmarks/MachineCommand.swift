import ArgumentParser
import MobileNet

/// `mobilenet-bench machine`: the one line that says where a figure was taken, as this
/// executable runs: the CPU (model, family and model), its cores, the vector width this
/// build targets, the OpenBLAS kernels it runs (after ``BLAS/reexecWithBetterKernelIfNeeded()``,
/// so the kernels the figures come from, not OpenBLAS's fallback), the load average and the
/// processors other work kept busy over half a second (``CPUActivity``), with a warning on
/// standard error when that is more than a quarter of one.
/// `make bench-pytorch` prints it first.
struct MachineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "machine",
        abstract: "Print the CPU, the build's vector width, the OpenBLAS core type this executable runs, the load average and how busy other work keeps the processors.")

    func run() {
        let activity = CPUActivity.report(busy: CPUActivity.othersBusyProcessors())
        print("CPU: \(cpuDescription()); load average \(loadAverage()); \(activity.line)")
        if let warning = activity.warning { log(warning) }
    }
}
