import MobileNet

/// One kind of layer of the training step against its bound (`--sections bound`).
struct KindBound: Codable {
    /// "pointwise", "depthwise", "BN+ReLU6", "entry conv", or "rest" (pool+linear+loss,
    /// optimizer and other).
    let kind: String
    /// The real fused step's time in these kinds (``StepProfiler``, medians), milliseconds.
    let realMilliseconds: Double
    /// Σ over the kind's passes of max(bytes ÷ bandwidth, multiply-adds ÷ peak), milliseconds.
    let boundMilliseconds: Double
    /// Σ bytes ÷ bandwidth and Σ multiply-adds ÷ peak over the same passes, milliseconds.
    let memoryMilliseconds: Double
    let arithmeticMilliseconds: Double
    /// The kind's GEMM calls timed alone (medians summed), milliseconds; nil without GEMMs.
    let gemmAloneMilliseconds: Double?
    /// The kind's GEMM calls run alone one after the other in the step's order, the sequence
    /// timed as a whole after each profiled step (median), milliseconds: back to back, so
    /// the engine's threads stay awake between calls as in the step; nil without GEMMs.
    let gemmSequenceMilliseconds: Double?
    let multiplyAdds: Int
    let bytes: Int

    /// bound ÷ real: 1 at the bound.
    var fractionOfBound: Double { boundMilliseconds / realMilliseconds }

    /// The bound with the GEMMs at the speed the library gives them: the larger of the
    /// roofline bound and the kind's GEMMs run alone in sequence (the roofline bound for a
    /// kind without GEMMs), milliseconds. The pointwise convs stay OpenBLAS calls, so this
    /// is what the step can reach without a faster GEMM. When the step ran the kind faster
    /// than its GEMMs alone (caches warmer in the step, or the host's speed moving between
    /// the two measurements), the kind's real time stands in for them: the bound never
    /// credits the step with a GEMM slower than one it ran.
    var measuredGEMMBoundMilliseconds: Double {
        Self.measuredGEMMBound(roofline: boundMilliseconds, gemmSequence: gemmSequenceMilliseconds, real: realMilliseconds)
    }

    /// The rule of ``measuredGEMMBoundMilliseconds`` for one kind, from its roofline bound,
    /// its GEMMs in sequence (nil without GEMMs) and its real time, all in milliseconds:
    /// for the medians of a result and for each profiled step alike.
    static func measuredGEMMBound(roofline: Double, gemmSequence: Double?, real: Double) -> Double {
        max(roofline, gemmSequence.map { min($0, real) } ?? 0)
    }

    /// ``measuredGEMMBoundMilliseconds`` ÷ ``realMilliseconds``.
    var fractionOfMeasuredGEMMBound: Double { measuredGEMMBoundMilliseconds / realMilliseconds }
}

/// One layer's GEMM calls of the training step timed alone (medians summed).
struct LayerGEMMTime: Codable {
    let layer: String
    let kind: String
    var multiplyAdds: Int
    var milliseconds: Double
}

/// Folded inference at one batch size against the machine's peak.
struct InferenceBound: Codable {
    let batch: Int
    /// The whole network's multiply-adds over the batch.
    let multiplyAdds: Int
    /// multiplyAdds ÷ the threads' FMA peak, milliseconds.
    let peakMilliseconds: Double
    /// Its GEMM calls (pointwise and classifier) alone, threaded as the forward runs them.
    let gemmMultiplyAdds: Int
    let gemmAloneMilliseconds: Double
    /// `FoldedMobileNetV1.forward`, median, milliseconds.
    let realMilliseconds: Double
}

/// How close the training step and folded inference are to this machine's bound, at one
/// thread count: measured peak and bandwidth, the step's passes' roofline bound per kind
/// against the real fused step (profiled), and the GEMMs alone.
struct BoundResult: Codable {
    let threads: Int
    let batch: Int
    let peak: PeakResult
    let bandwidth: BandwidthResult
    let kinds: [KindBound]
    /// Σ of the profiled kinds' medians, and Σ of the kinds' bounds, milliseconds.
    let stepMilliseconds: Double
    let stepBoundMilliseconds: Double
    /// Σ of the kinds' ``KindBound/measuredGEMMBoundMilliseconds``.
    var stepMeasuredGEMMBoundMilliseconds: Double { kinds.reduce(0) { $0 + $1.measuredGEMMBoundMilliseconds } }
    /// The step against its bound with the GEMMs as measured, per profiled step (each with
    /// the GEMM sequences timed right after it, so both saw the host at the same speed):
    /// Σ over kinds of max(roofline bound, min(this step's GEMM sequence, the kind's time in
    /// this step)) ÷ Σ of this step's profiled kinds, in the order measured; the report
    /// quotes the median.
    let measuredGEMMBoundFractions: [Double]

    /// The median of ``measuredGEMMBoundFractions`` (0 when there are none).
    var measuredGEMMBoundFraction: Double {
        measuredGEMMBoundFractions.isEmpty ? 0 : median(measuredGEMMBoundFractions)
    }
    /// Every pass of the step with its bound (``TrainingPass``), milliseconds.
    let passes: [PassBound]
    let gemmLayers: [LayerGEMMTime]
    let inference: [InferenceBound]

    struct PassBound: Codable {
        let pass: TrainingPass
        let boundMilliseconds: Double
    }

    var gemmMultiplyAdds: Int { gemmLayers.reduce(0) { $0 + $1.multiplyAdds } }
    var gemmAloneMilliseconds: Double { gemmLayers.reduce(0) { $0 + $1.milliseconds } }
}

/// The rows of the bound table: a name and the ``StepProfiler/Kind``s it gathers.
let boundKinds: [(name: String, kinds: [StepProfiler.Kind])] = [
    ("pointwise", [.pointwise]), ("depthwise", [.depthwise]), ("BN+ReLU6", [.batchNorm]),
    ("entry conv", [.entryConvolution]), ("rest", [.head, .optimizer, .other]),
]

/// Inference batch sizes of the bound section.
let boundInferenceBatches = [100, 1]

/// Measures ``BoundResult`` at `threads` threads for training batches of `batch` 32×32
/// images (α = 1, 10 classes): the step is profiled here, each profiled step followed by
/// each kind's GEMMs run alone in sequence; `perThreadPeak` is the one-thread FMA peak
/// (multiply-adds/s), nil to measure it here.
func benchmarkBound(threads: Int, batch: Int, arrays: StreamArrays, perThreadPeak: Double?,
                    repetitions: Repetitions, progress: (String) -> Void) throws -> BoundResult {
    let side = CIFARImage.side
    let perThread = perThreadPeak ?? measureFMAPeak(threads: 1, repetitions: repetitions)
    let peak = PeakResult(threads: threads, vectorBits: BuildTarget.vectorBits, perThreadMultiplyAddsPerSecond: perThread,
                          multiplyAddsPerSecond: threads == 1 ? perThread : measureFMAPeak(threads: threads, repetitions: repetitions))
    let bandwidth = measureBandwidth(arrays, threads: threads, repetitions: repetitions)
    progress("bound, \(threads) thread(s): FMA peak \(formatFixed(peak.multiplyAddsPerSecond / 1e9, 1)) G multiply-adds/s "
             + "(\(formatFixed(peak.perThreadMultiplyAddsPerSecond / 1e9, 1)) per thread, \(peak.vectorBits)-bit vectors); bandwidth GB/s "
             + "read \(formatFixed(bandwidth.read / 1e9, 1)), write \(formatFixed(bandwidth.write / 1e9, 1)), "
             + "copy \(formatFixed(bandwidth.copy / 1e9, 1)), triad \(formatFixed(bandwidth.triad / 1e9, 1))")
    if let warning = peakScalingWarning(peak) { progress(warning) }
    let model = MobileNetV1(numClasses: 10, seed: 1)
    let gemms = model.trainingGEMMs(batch: batch, height: side, width: side)
    let passes = TrainingPass.passes(of: model, batch: batch, height: side, width: side).map { pass in
        BoundResult.PassBound(pass: pass, boundMilliseconds: 1e3 * pass.boundSeconds(bytesPerSecond: bandwidth.best,
                                                                                    multiplyAddsPerSecond: peak.multiplyAddsPerSecond))
    }
    // Each row's passes, GEMM calls (run alone in sequence, right after each profiled step)
    // and real time in a profile.
    let rows = boundKinds.map { row in
        let labels = Set(row.kinds.map(\.label))
        let calls = gemms.filter { labels.contains($0.kind) }.map(\.call)
        return (name: row.name, labels: labels, kinds: row.kinds, passes: passes.filter { labels.contains($0.pass.kind) },
                replay: calls.isEmpty ? nil : GEMMReplay(pieces: [calls]))
    }
    let rowBounds = rows.map { row in row.passes.reduce(0) { $0 + $1.boundMilliseconds } }
    setEngineThreads(threads)
    for row in rows { row.replay?.runAll() }  // untimed: the first sequence's page faults and cold caches
    var sequences: [[Double]] = rows.map { _ in [] }, fractions: [Double] = []
    let profile = try benchmarkStepProfile(threads: threads, batch: batch, repetitions: repetitions) { step in
        var bound = 0.0, real = 0.0
        for (index, row) in rows.enumerated() {
            let rowReal = row.kinds.reduce(0) { $0 + step.milliseconds($1) }
            real += rowReal
            let sequence = row.replay.map { replay in elapsedMilliseconds { replay.runAll() } }
            if let sequence { sequences[index].append(sequence) }
            bound += KindBound.measuredGEMMBound(roofline: rowBounds[index], gemmSequence: sequence, real: rowReal)
        }
        fractions.append(bound / real)
    }

    setEngineThreads(threads)
    // GEMM calls are short and many: the same runs, but a shorter least timed time each.
    let gemmRepetitions = Repetitions(warmup: repetitions.warmup, runs: repetitions.runs,
                                      minimumMilliseconds: min(20, repetitions.minimumMilliseconds))
    let alone = timeAlone(GEMMReplay(pieces: [gemms.map(\.call)]), gemmRepetitions)
    var gemmLayers: [LayerGEMMTime] = []
    for (gemm, ms) in zip(gemms, alone) {
        if let index = gemmLayers.firstIndex(where: { $0.layer == gemm.layer }) {
            gemmLayers[index].multiplyAdds += gemm.call.multiplyAdds
            gemmLayers[index].milliseconds += ms
        } else {
            gemmLayers.append(LayerGEMMTime(layer: gemm.layer, kind: gemm.kind, multiplyAdds: gemm.call.multiplyAdds, milliseconds: ms))
        }
    }

    let kinds = rows.enumerated().map { index, row in
        let labels = row.labels, mine = row.passes
        let gemmTimes = gemmLayers.filter { labels.contains($0.kind) }
        return KindBound(kind: row.name,
                         realMilliseconds: profile.breakdown.kinds.filter { labels.contains($0.kind) }.reduce(0) { $0 + $1.milliseconds },
                         boundMilliseconds: rowBounds[index],
                         memoryMilliseconds: mine.reduce(0) { $0 + 1e3 * Double($1.pass.bytes) / bandwidth.best },
                         arithmeticMilliseconds: mine.reduce(0) { $0 + 1e3 * Double($1.pass.multiplyAdds) / peak.multiplyAddsPerSecond },
                         gemmAloneMilliseconds: gemmTimes.isEmpty ? nil : gemmTimes.reduce(0) { $0 + $1.milliseconds },
                         gemmSequenceMilliseconds: sequences[index].isEmpty ? nil : Timing(sequences[index]).medianMilliseconds,
                         multiplyAdds: mine.reduce(0) { $0 + $1.pass.multiplyAdds }, bytes: mine.reduce(0) { $0 + $1.pass.bytes })
    }

    var inference: [InferenceBound] = []
    let networkMultiplyAdds = CostTable(model: model, imageHeight: side, imageWidth: side).multiplyAdds
    let folded = model.makeInferenceModel()
    for inferenceBatch in boundInferenceBatches {
        let pieces = folded.inferenceGEMMs(batch: inferenceBatch, height: side, width: side)
        let gemmTime = timeAlone(GEMMReplay(pieces: pieces.map { $0.map(\.call) }), gemmRepetitions).reduce(0, +)
        var generator = SeededGenerator(seed: 7)
        let images = randomMap(FeatureShape(channels: 3, height: side, width: side, batch: inferenceBatch), &generator)
        let real = measure(repetitions) { _ = folded.forward(images) }
        let macs = networkMultiplyAdds * inferenceBatch
        inference.append(InferenceBound(batch: inferenceBatch, multiplyAdds: macs,
                                        peakMilliseconds: 1e3 * Double(macs) / peak.multiplyAddsPerSecond,
                                        gemmMultiplyAdds: pieces.joined().reduce(0) { $0 + $1.call.multiplyAdds },
                                        gemmAloneMilliseconds: gemmTime, realMilliseconds: real.medianMilliseconds))
    }
    let result = BoundResult(threads: threads, batch: batch, peak: peak, bandwidth: bandwidth, kinds: kinds,
                             stepMilliseconds: profile.breakdown.totalMilliseconds,
                             stepBoundMilliseconds: kinds.reduce(0) { $0 + $1.boundMilliseconds },
                             measuredGEMMBoundFractions: fractions, passes: passes, gemmLayers: gemmLayers, inference: inference)
    progress("bound, \(threads) thread(s), batch \(batch): step \(formatFixed(result.stepMilliseconds, 1)) ms against a bound of "
             + "\(formatFixed(result.stepBoundMilliseconds, 1)) ms (\(formatFixed(100 * result.stepBoundMilliseconds / result.stepMilliseconds, 1)) %); "
             + kinds.map { "\($0.kind) \(formatFixed(100 * $0.fractionOfBound, 1)) %" }.joined(separator: ", ")
             + "; GEMMs alone \(formatFixed(100 * gemmPeakFraction(result.gemmMultiplyAdds, result.gemmAloneMilliseconds, peak), 1)) % of peak")
    progress("bound with the GEMMs as measured, \(threads) thread(s), batch \(batch): step against "
             + "\(formatFixed(result.stepMeasuredGEMMBoundMilliseconds, 1)) ms of medians (\(formatFixed(100 * result.stepMeasuredGEMMBoundMilliseconds / result.stepMilliseconds, 1)) %), "
             + "per step \(formatFixed(100 * result.measuredGEMMBoundFraction, 1)) % median [\(formatFixed(100 * (fractions.min() ?? 0), 1))–\(formatFixed(100 * (fractions.max() ?? 0), 1))]; "
             + kinds.map { "\($0.kind) \(formatFixed(100 * $0.fractionOfMeasuredGEMMBound, 1)) %" }.joined(separator: ", "))
    return result
}

/// Each call of `replay` timed alone (medians, milliseconds), in order.
private func timeAlone(_ replay: GEMMReplay, _ repetitions: Repetitions) -> [Double] {
    (0..<replay.count).map { index in measure(repetitions) { replay.run(index) }.medianMilliseconds }
}

/// A warning when `threads` threads together reach less than 0.75 × threads × one thread's
/// FMA peak (a quiet 2-core machine gives 1.7–2.0 × one thread's): other work, or sibling
/// hyperthreads sharing FMA units: the first makes every "% of bound" computed from the
/// peak read high, the second is the hardware's own peak. nil when the peak scales.
func peakScalingWarning(_ peak: PeakResult) -> String? {
    guard peak.threads > 1 else { return nil }
    let scaling = peak.multiplyAddsPerSecond / peak.perThreadMultiplyAddsPerSecond
    guard scaling < 0.75 * Double(peak.threads) else { return nil }
    return "warning: \(peak.threads) threads reached only \(formatFixed(scaling, 2)) × one thread's FMA peak. If other work "
        + "shared the cores while it was measured, the % of bound below reads high: measure on a quiet machine. If the threads "
        + "run on sibling hyperthreads of one core (lscpu), that is the hardware's peak and the figures stand."
}

/// multiplyAdds done in `milliseconds`, as a fraction of the threads' FMA peak.
func gemmPeakFraction(_ multiplyAdds: Int, _ milliseconds: Double, _ peak: PeakResult) -> Double {
    Double(multiplyAdds) / (milliseconds / 1e3) / peak.multiplyAddsPerSecond
}
