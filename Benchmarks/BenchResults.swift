import Foundation
import MobileNet

/// Every figure of one benchmark run: what results.json holds and report.md shows.
struct BenchResults: Codable {
    struct Machine: Codable {
        let date: String
        let cores: Int
        /// CPU model (family, model), the build's vector width, OpenBLAS's kernels (``cpuDescription()``).
        let cpu: String
        let openBLASCore: String
        /// /proc/loadavg before and after the measurements (1, 5, 15-minute load averages).
        let loadBefore: String
        var loadAfter: String
        /// Processors' worth of other work over half a second before the measurements
        /// (``CPUActivity``); nil in files written before it was recorded.
        var otherWorkBefore: Double? = nil
        /// Processors online, the count `otherWorkBefore` is a part of (nil as it).
        var onlineProcessors: Int? = nil
        /// Threads used for the per-layer measurements.
        let layerThreads: Int

        /// "other work: 0.05 of 2 processors busy over 0.5 s" for ``otherWorkBefore`` (a part of
        /// ``onlineProcessors``, else of ``cores`` in files written before it was recorded);
        /// nil when not recorded.
        var otherWorkLine: String? {
            otherWorkBefore.map { CPUActivity.report(busy: $0, online: onlineProcessors ?? cores).line }
        }
    }
    var machine: Machine
    let repetitions: Repetitions
    let costs: CostReport
    var layers: [LayerResult] = []
    var network: [ThroughputResult] = []
    var breakdown: [StepBreakdown] = []
    var profile: [StepProfileResult] = []
    var bound: [BoundResult] = []
}

/// Writes `value` as pretty-printed JSON with sorted keys, atomically.
func writeJSON<T: Encodable>(_ value: T, to path: String) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    try AtomicFile.write(encoder.encode(value), to: path)
}

/// The 1, 5 and 15-minute load averages and process counts ("" where unavailable).
func loadAverage() -> String {
    ((try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
}

extension BenchResults {
    /// The report a person reads; charts are linked by file name.
    func markdown(charts: [(file: String, caption: String)]) -> String {
        var out = "# Standard vs depthwise-separable convolution: counted and timed\n\n"
        out += "Machine: \(machine.cpu); \(machine.date). "
        out += "Load average (1, 5, 15 min) before: \(machine.loadBefore); after: \(machine.loadAfter)"
        out += (machine.otherWorkLine.map { "; \($0) before" } ?? "") + ".\n"
        out += "Each case: \(repetitions.warmup) warm-up run(s), then ≥ \(repetitions.runs) timed runs, median. "
        out += "FLOPs = 2 × multiply-adds (MACs), from the engine's counter.\n\n"
        out += "## Counted\n\n" + costs.markdown() + "\n"
        if !layers.isEmpty { out += layerSection() }
        if !network.isEmpty { out += networkSection() }
        if !breakdown.isEmpty { out += breakdownSection() }
        if !profile.isEmpty { out += profileSection() }
        if !bound.isEmpty { out += boundSection() }
        for chart in charts { out += "![\(chart.caption)](\(chart.file))\n\n" }
        return out
    }

    private func layerSection() -> String {
        var out = "## Measured per layer shape (\(machine.layerThreads) threads)\n\n"
        out += "(a) standard 3×3 Conv2d, im2col + SGEMM; (b) the separable block: depthwise, BN+ReLU6, pointwise, "
        out += "BN+ReLU6; \"convs only\" is (b) without its BatchNorms. Training-mode forward; fwd+bwd adds the "
        out += "backward pass (∂input and ∂weight). Ratios are standard ÷ separable. Each case was checked against "
        out += "its scalar reference before it was timed.\n\n"
        for batch in Array(Set(layers.map(\.batch))).sorted(by: >) {
            var table = TextTable(headers: ["layers", "MACs std÷sep", "time fwd std÷sep", "time fwd+bwd std÷sep",
                                            "std fwd ms", "sep fwd ms", "std fwd+bwd ms", "sep fwd+bwd ms",
                                            "convs only fwd+bwd ms", "std GFLOP/s fwd", "sep GFLOP/s fwd",
                                            "std GFLOP/s fwd+bwd", "sep GFLOP/s fwd+bwd"])
            for r in layers where r.batch == batch {
                table.append([r.label, formatFixed(r.multiplyAddRatio, 2), formatFixed(r.forwardTimeRatio, 2),
                              formatFixed(r.trainingTimeRatio, 2), milliseconds(r.standardForward),
                              milliseconds(r.separableForward), milliseconds(r.standardTraining),
                              milliseconds(r.separableTraining), milliseconds(r.convolutionsTraining),
                              formatFixed(r.standardForwardGFLOPS, 1), formatFixed(r.separableForwardGFLOPS, 1),
                              formatFixed(r.standardTrainingGFLOPS, 1), formatFixed(r.separableTrainingGFLOPS, 1)])
            }
            out += "### Batch \(batch)\n\n" + table.markdown() + "\n"
        }
        return out
    }

    private func networkSection() -> String {
        var table = TextTable(headers: ["threads", "batch", "image", "train step ms", "train images/s", "inference ms", "inference images/s",
                                        "eval-mode forward images/s"])
        for r in network {
            table.append(["\(r.threads)", "\(r.batch)", "\(r.side)×\(r.side)", milliseconds(r.trainStep), formatFixed(r.trainImagesPerSecond, 1),
                          milliseconds(r.inference), formatFixed(r.inferenceImagesPerSecond, 1),
                          formatFixed(r.evalModeImagesPerSecond, 1)])
        }
        return "## Whole network (random data, 10 classes)\n\n"
            + "Inference runs the deployment path, BatchNorm folded into the convolutions; the last column is the unfolded eval-mode forward.\n\n"
            + table.markdown() + "\n"
    }

    private func breakdownSection() -> String {
        let table = kindTable(breakdown)
        return "## Share of a training step per layer kind: layers driven one by one, unfused\n\n"
            + "Each layer's forward and backward called on its own and timed, summed per kind; not the step users "
            + "run (that one fuses BatchNorm + ReLU6, depthwise and BatchNorm + ReLU6 channel by channel: see the "
            + "profiled step below).\n\n" + table.markdown() + "\n"
    }

    private func profileSection() -> String {
        var table = kindTable(profile.map(\.breakdown))
        table.append(["step wall, profiled"] + profile.flatMap { [milliseconds($0.profiledStep), ""] })
        table.append(["step, unprofiled (same run)"] + profile.flatMap { [milliseconds($0.unprofiledStep), ""] })
        table.append(["profiler overhead"] + profile.flatMap { ["", formatFixed(100 * $0.overhead, 1) + " %"] })
        return "## Share of a training step per layer kind: the real fused step, profiled\n\n"
            + "`TrainingSession.step` as training runs it, with a `StepProfiler` set: GEMM calls and serial parts "
            + "timed on the calling thread; each fused per-channel loop's wall time split among its stages in "
            + "proportion to their per-thread times; other is the rest of the step (bookkeeping between the timed "
            + "parts). Medians over \(profile.first?.breakdown.steps ?? 0) profiled steps, which alternate with unprofiled "
            + "steps of the same session.\n\n" + table.markdown() + "\n"
    }

    /// Kinds as rows, (ms, share) per measured case as columns, and a closing sum row.
    private func kindTable(_ cases: [StepBreakdown]) -> TextTable {
        var table = TextTable(headers: ["kind"] + cases.flatMap { ["ms (\(label($0)))", "share (\(label($0)))"] })
        for (i, kind) in (cases.first?.kinds ?? []).enumerated() {
            table.append([kind.kind] + cases.flatMap { c in
                [formatFixed(c.kinds[i].milliseconds, 2), formatFixed(100 * c.kinds[i].share, 1) + " %"]
            })
        }
        table.append(["sum"] + cases.flatMap { [formatFixed($0.totalMilliseconds, 2), "100 %"] })
        return table
    }

    func label(_ b: StepBreakdown) -> String { "\(b.threads) thr, batch \(b.batch)" }

    private func milliseconds(_ t: Timing) -> String { formatFixed(t.medianMilliseconds, t.medianMilliseconds < 10 ? 3 : 1) }

    /// The charts: per-layer multiply-add ratio against measured time ratios, and step time per kind.
    func charts() -> [(file: String, caption: String, svg: String)] {
        var charts: [(file: String, caption: String, svg: String)] = []
        let batches = Array(Set(layers.map(\.batch))).sorted(by: >)
        if let first = batches.first {
            let shapes = layers.filter { $0.batch == first }
            var series = [ChartSeries(name: "multiply-adds", values: shapes.map(\.multiplyAddRatio))]
            for batch in batches {
                let rows = layers.filter { $0.batch == batch }
                series.append(ChartSeries(name: "time fwd, batch \(batch)", values: rows.map(\.forwardTimeRatio)))
                series.append(ChartSeries(name: "time fwd+bwd, batch \(batch)", values: rows.map(\.trainingTimeRatio)))
            }
            charts.append(("ratios.svg", "standard ÷ separable: multiply-adds vs measured time, per layer shape",
                           SVGChart.bars(title: "Standard ÷ depthwise-separable, per layer shape (\(machine.layerThreads) threads)",
                                         yLabel: "standard ÷ separable", categories: shapes.map(\.label), series: series)))
        }
        if !breakdown.isEmpty || !profile.isEmpty {
            let kinds = StepProfiler.Kind.allCases
            let milliseconds = { (times: [KindTime]) in kinds.map { kind in times.first { $0.kind == kind.label }?.milliseconds ?? 0 } }
            let series = breakdown.map { ChartSeries(name: "one by one, " + label($0), values: milliseconds($0.kinds)) }
                + profile.map { ChartSeries(name: "fused, profiled, " + label($0.breakdown), values: milliseconds($0.breakdown.kinds)) }
            charts.append(("step-kinds.svg", "training step time per layer kind: layers one by one (unfused) and the real fused step (profiled)",
                           SVGChart.bars(title: "Training step time per layer kind", yLabel: "milliseconds per step",
                                         categories: kinds.map(\.label), series: series)))
        }
        return charts
    }
}
