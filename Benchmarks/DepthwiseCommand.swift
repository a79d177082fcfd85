import ArgumentParser
import MobileNet

/// `mobilenet-bench depthwise`: the network's thirteen depthwise convolutions alone,
/// forward and backward, each checked once against its scalar twin, then timed (median
/// and minimum milliseconds per call; the minimum is the figure to read on a loaded
/// machine, where a preempted run only ever adds time). Under `valgrind --tool=callgrind` with `--runs 1 --warmup 0`
/// it gives the kernels' instruction counts, which do not depend on the machine's load.
struct DepthwiseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "depthwise",
        abstract: "Time the network's depthwise convolutions one by one (forward, backward).")

    @Option(parsing: .unconditional, help: "Batch size.")
    var batch = 128

    @Option(parsing: .unconditional, help: "Engine threads.")
    var threads = ProcessInfoCores.active

    @Option(parsing: .unconditional, help: "Timed runs per case, at least (median reported).")
    var runs = 10

    @Option(parsing: .unconditional, help: "Untimed warm-up runs per case.")
    var warmup = 2

    @Flag(help: "Skip the check against the scalar twins (for instruction counts of the kernels alone).")
    var noCheck = false

    func validate() throws {
        try requireAtLeast(1, ("--batch", [batch]), ("--threads", [threads]), ("--runs", [runs]))
        try requireAtLeast(0, ("--warmup", [warmup]))
    }

    func run() throws {
        setEngineThreads(threads)
        let repetitions = Repetitions(warmup: warmup, runs: runs, minimumMilliseconds: runs > 1 ? 100 : 0)
        var generator = SeededGenerator(seed: 7)
        var size = 32, totals = (forward: 0.0, forwardMin: 0.0, backward: 0.0, backwardMin: 0.0)
        var table = TextTable(headers: ["block", "C", "stride", "input", "forward ms", "min", "backward ms", "min"])
        for spec in MobileNetV1.blockTable {
            let layer = DepthwiseConv2d(channels: spec.inChannels, stride: spec.stride)
            layer.resetParameters(using: &generator)
            let input = randomMap(FeatureShape(channels: spec.inChannels, height: size, width: size, batch: batch), &generator)
            let gradOutput = randomMap(layer.geometry.outputShape(input.shape, outChannels: spec.inChannels), &generator)
            if !noCheck { try checkDepthwise(spec.name, layer: layer, input: input, gradOutput: gradOutput) }
            let forward = measure(repetitions) { _ = layer.forward(input, training: true) }
            let backward = measure(repetitions) { _ = layer.backward(gradOutput) }
            totals.forward += forward.medianMilliseconds
            totals.backward += backward.medianMilliseconds
            totals.forwardMin += forward.minMilliseconds
            totals.backwardMin += backward.minMilliseconds
            table.append([spec.name, "\(spec.inChannels)", "\(spec.stride)", "\(size)×\(size)",
                       formatFixed(forward.medianMilliseconds, 3), formatFixed(forward.minMilliseconds, 3),
                       formatFixed(backward.medianMilliseconds, 3), formatFixed(backward.minMilliseconds, 3)])
            size = gradOutput.shape.height
        }
        table.append(["total", "", "", "", formatFixed(totals.forward, 3), formatFixed(totals.forwardMin, 3),
                      formatFixed(totals.backward, 3), formatFixed(totals.backwardMin, 3)])
        print("Depthwise convolutions, batch \(batch), \(threads) thread(s), median and minimum of ≥ \(runs) runs:")
        print(table.text())
    }
}
