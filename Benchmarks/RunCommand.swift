import ArgumentParser
import Foundation
import MobileNet

/// `mobilenet-bench run` (the default): measures, then writes report.md, results.json and SVG charts.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Measure and write report.md, results.json and SVG charts.",
        discussion: "Run in release mode (make bench). Timings swing when other jobs share the cores: compare only figures from one run.")

    enum Section: String, ExpressibleByArgument, CaseIterable {
        case layers, network, breakdown, profile, bound
    }

    @Option(help: "Folder for report.md, results.json and the SVG charts.")
    var output = "bench-results"

    @Flag(help: "Few repetitions and batch 128 only: a smoke run, not figures to quote.")
    var quick = false

    @Option(parsing: .upToNextOption, help: "What to measure: layers, network, breakdown (layers one by one, unfused), profile (the real fused step, profiled), bound (the step and folded inference against this machine's FMA peak and memory bandwidth).")
    var sections: [Section] = Section.allCases

    @Option(parsing: .unconditional, help: "Threads for the per-layer measurements (default: the cores this process may use).")
    var layerThreads: Int = ProcessInfoCores.active

    @Option(parsing: .upToNextOption, help: "Batch sizes for the per-layer measurements.")
    var layerBatchSizes: [Int] = [128, 1]

    @Option(parsing: .upToNextOption, help: "Thread counts for the whole-network measurements.")
    var threads: [Int] = Array(Set([1, ProcessInfoCores.active])).sorted()

    @Option(parsing: .upToNextOption, help: "Batch sizes for the whole-network measurements (the breakdown, profile and bound sections use the first).")
    var networkBatchSizes: [Int] = [128, 100]

    @Option(parsing: .upToNextOption, help: "Image sides S (S×S inputs) for the whole-network measurements: 32, or smaller to price a --crop-schedule phase (the breakdown and profile sections use 32).")
    var imageSizes: [Int] = [CIFARImage.side]

    @Option(parsing: .unconditional, help: "Timed runs per case, at least (median reported).")
    var runs: Int = 10

    @Option(parsing: .unconditional, help: "Untimed warm-up runs per case.")
    var warmup: Int = 2

    func validate() throws {
        try requireAtLeast(1, ("--layer-threads", [layerThreads]), ("--runs", [runs]), ("--layer-batch-sizes", layerBatchSizes),
                           ("--threads", threads), ("--network-batch-sizes", networkBatchSizes), ("--image-sizes", imageSizes))
        try requireAtLeast(0, ("--warmup", [warmup]))
    }

    func run() throws {
        try prepareOutputFolder()
        let repetitions = quick ? Repetitions(warmup: 1, runs: 3, minimumMilliseconds: 20)
                                : Repetitions(warmup: warmup, runs: runs, minimumMilliseconds: 200)
        let layerBatches = quick ? [layerBatchSizes[0]] : layerBatchSizes
        let networkBatches = quick ? [networkBatchSizes[0]] : networkBatchSizes
        let machine = BenchResults.Machine(date: ISO8601DateFormatter().string(from: Date()), cores: ProcessInfoCores.active,
                                           cpu: cpuDescription(), openBLASCore: BLAS.coreName, loadBefore: loadAverage(), loadAfter: "",
                                           layerThreads: layerThreads)
        var results = BenchResults(machine: machine, repetitions: repetitions, costs: CostReport())
        let busy = CPUActivity.othersBusyProcessors()
        results.machine.otherWorkBefore = busy
        results.machine.onlineProcessors = ProcessInfoCores.online
        let activity = CPUActivity.report(busy: busy)
        log("CPU: \(machine.cpu)")
        log("load average before: \(machine.loadBefore); \(activity.line)")
        if let warning = activity.warning { log(warning) }
        log(results.costs.text())

        if sections.contains(.layers) {
            setEngineThreads(layerThreads)
            for batch in layerBatches {
                for rows in distinctBlockShapes(results.costs.table) {
                    let r = try benchmarkBlockShape(rows, batch: batch, repetitions: repetitions)
                    log("batch \(batch) \(r.label): MACs std÷sep \(formatFixed(r.multiplyAddRatio, 2)), time fwd "
                        + "\(formatFixed(r.forwardTimeRatio, 2)), fwd+bwd \(formatFixed(r.trainingTimeRatio, 2))")
                    results.layers.append(r)
                }
            }
        }
        if sections.contains(.network) {
            results.network = try benchmarkThroughput(threads: threads, imageSizes: imageSizes, batches: networkBatches,
                                                      repetitions: repetitions, progress: log)
        }
        if sections.contains(.breakdown) {
            for count in threads {
                let b = try benchmarkBreakdown(threads: count, batch: networkBatches[0], repetitions: repetitions)
                log("step breakdown (one by one, unfused), \(results.label(b)): "
                    + b.kinds.map { "\($0.kind) \(formatFixed(100 * $0.share, 1)) %" }.joined(separator: ", "))
                results.breakdown.append(b)
            }
        }
        if sections.contains(.profile) {
            for count in threads {
                let p = try benchmarkStepProfile(threads: count, batch: networkBatches[0], repetitions: repetitions)
                log("profiled step, \(results.label(p.breakdown)): "
                    + p.breakdown.kinds.map { "\($0.kind) \(formatFixed(100 * $0.share, 1)) %" }.joined(separator: ", ")
                    + "; step \(formatFixed(p.profiledStep.medianMilliseconds, 1)) ms profiled, "
                    + "\(formatFixed(p.unprofiledStep.medianMilliseconds, 1)) ms unprofiled")
                results.profile.append(p)
            }
        }
        if sections.contains(.bound) {
            setEngineThreads(threads.max() ?? 1)
            let arrays = StreamArrays(mebibytes: Self.streamMebibytes)
            let perThreadPeak = measureFMAPeak(threads: 1, repetitions: repetitions)
            for count in threads {
                results.bound.append(try benchmarkBound(threads: count, batch: networkBatches[0], arrays: arrays, perThreadPeak: perThreadPeak,
                                                        repetitions: repetitions, progress: log))
            }
        }
        results.machine.loadAfter = loadAverage()
        try write(results)
    }

    /// MiB of each of the bound section's three bandwidth arrays: far larger than any
    /// last-level cache of the CPUs this runs on (32 MiB on the 2-core Zen 4 and Xeon VMs).
    static let streamMebibytes = 256

    private func write(_ results: BenchResults) throws {
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        let charts = results.charts()
        for chart in charts { try AtomicFile.write(Data(chart.svg.utf8), to: path(chart.file)) }
        try writeJSON(results, to: path("results.json"))
        let report = results.markdown(charts: charts.map { ($0.file, $0.caption) })
        try AtomicFile.write(Data(report.utf8), to: path("report.md"))
        log("load average after: \(results.machine.loadAfter)")
        log("wrote \(path("report.md")), \(path("results.json"))" + charts.map { ", " + path($0.file) }.joined())
    }

    private func path(_ file: String) -> String { (output as NSString).appendingPathComponent(file) }

    /// Creates --output (and its parents) before anything is measured, so a bad path costs
    /// no measuring time.
    /// - Throws: ``ValidationError`` naming --output when it is a file or cannot be created.
    private func prepareOutputFolder() throws {
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: output, isDirectory: &isFolder), !isFolder.boolValue {
            throw ValidationError("--output \(output) is a file; give a folder for report.md, results.json and the charts")
        }
        do {
            try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        } catch {
            throw ValidationError("--output \(output): cannot create the folder (\((error as NSError).localizedDescription)); give a writable folder")
        }
    }
}

/// Progress goes to standard error, so standard output stays clean.
func log(_ message: String) {
    FileHandle.standardError.write(Data((message.hasSuffix("\n") ? message : message + "\n").utf8))
}

/// Throws a ``ValidationError`` naming the first flag with a value below `minimum`, and the value.
func requireAtLeast(_ minimum: Int, _ flags: (name: String, values: [Int])...) throws {
    for flag in flags {
        if let bad = flag.values.first(where: { $0 < minimum }) {
            throw ValidationError("\(flag.name): must be at least \(minimum), got \(bad)")
        }
    }
}
