import MobileNet

/// Whole-network speed at one thread count and batch size, on random data.
struct ThroughputResult: Codable {
    let threads: Int
    let batch: Int
    /// Side S of the S×S input images (nil in results written before the option: 32).
    var imageSize: Int?
    /// ``imageSize``, 32 when absent.
    var side: Int { imageSize ?? CIFARImage.side }
    /// TrainingSession.step: forward, cross-entropy, backward, SGD, OneCycleLR.
    let trainStep: Timing
    let trainImagesPerSecond: Double
    /// Inference as deployed: BatchNorm folded into the convolutions
    /// (`model.makeInferenceModel().forward`, equal to the eval-mode forward within 1e-4).
    let inference: Timing
    let inferenceImagesPerSecond: Double
    /// The unfolded eval-mode forward, `model.forward(training: false)`, for comparison.
    let evalModeForward: Timing
    let evalModeImagesPerSecond: Double
}

/// A step's time in one kind of layer, summed over the network's layers of that kind.
struct KindTime: Codable {
    /// ``StepProfiler/Kind/label``.
    let kind: String
    /// Median over steps of the per-step sum, milliseconds.
    let milliseconds: Double
    /// Share of the sum over kinds.
    let share: Double
}

/// Where a training step's time goes, per kind of layer, at one thread count and batch size.
struct StepBreakdown: Codable {
    let threads: Int
    let batch: Int
    let steps: Int
    /// Each kind's median over the steps, with its share of the medians' sum.
    let kinds: [KindTime]
    /// Σ kinds' medians, milliseconds.
    let totalMilliseconds: Double

    init(threads: Int, batch: Int, steps: Int, medians: [(kind: StepProfiler.Kind, milliseconds: Double)]) {
        self.threads = threads
        self.batch = batch
        self.steps = steps
        let total = medians.reduce(0) { $0 + $1.milliseconds }
        kinds = medians.map { KindTime(kind: $0.kind.label, milliseconds: $0.milliseconds, share: $0.milliseconds / total) }
        totalMilliseconds = total
    }
}

/// Where the real training step's time goes (``TrainingSession/step(images:targets:globalBatchSize:)``,
/// fused path and all), measured by ``StepProfiler``, at one thread count and batch size.
struct StepProfileResult: Codable {
    /// Every ``StepProfiler/Kind``, in order, over the profiled steps.
    let breakdown: StepBreakdown
    /// The profiled steps' wall time, as the profiler measured it (all of `step`).
    let profiledStep: Timing
    /// Unprofiled steps of the same session, alternating with the profiled ones.
    let unprofiledStep: Timing

    /// How much longer a profiled step took than an unprofiled one (medians), as a fraction.
    var overhead: Double { profiledStep.medianMilliseconds / unprofiledStep.medianMilliseconds - 1 }
}

extension StepProfiler.Kind {
    /// The kind of one layer of ``MobileNetV1/namedLayers``.
    init(_ layer: any Layer) {
        switch layer {
        case is Conv2d: self = .entryConvolution
        case is DepthwiseConv2d: self = .depthwise
        case is PointwiseConv2d: self = .pointwise
        case is BatchNorm2d, is ReLU6: self = .batchNorm
        default: self = .head  // AdaptiveAvgPool2d, Linear
        }
    }

    /// The kinds the one-by-one breakdown times: all but other (it sums only timed calls).
    static let layerKinds = allCases.filter { $0 != .other }
}

/// A seeded model, a training session over it, and one random batch.
struct NetworkFixture {
    let session: TrainingSession
    let images: FeatureMap
    let targets: [Int32]

    /// - Parameter imageSize: side S of the random S×S images (32: CIFAR's; smaller: a
    ///   ``CropSchedule`` phase's crops).
    init(batch: Int, imageSize: Int = CIFARImage.side, seed: UInt64 = 1) throws {
        let model = MobileNetV1(numClasses: 10, seed: seed)
        // 60 epochs × 391 steps: the schedule never runs out, the learning rate stays near its start.
        session = try TrainingSession(model: model, options: TrainingOptions(), stepsPerEpoch: 391)
        var generator = SeededGenerator(seed: seed &+ 1)
        images = randomMap(FeatureShape(channels: 3, height: imageSize, width: imageSize, batch: batch), &generator)
        targets = (0..<batch).map { _ in Int32(generator.below(10)) }
    }
}

/// Training-step and inference images/s for every thread count, image size and batch size.
func benchmarkThroughput(threads: [Int], imageSizes: [Int] = [CIFARImage.side], batches: [Int], repetitions: Repetitions,
                         progress: (String) -> Void) throws -> [ThroughputResult] {
    var results: [ThroughputResult] = []
    for count in threads {
        setEngineThreads(count)
        for (imageSize, batch) in imageSizes.flatMap({ size in batches.map { (size, $0) } }) {
            let fixture = try NetworkFixture(batch: batch, imageSize: imageSize)
            let train = try fixture.targets.withUnsafeBufferPointer { targets in
                try measure(repetitions) { _ = try fixture.session.step(images: fixture.images, targets: targets) }
            }
            let evalMode = measure(repetitions) { _ = fixture.session.model.forward(fixture.images, training: false) }
            let folded = fixture.session.model.makeInferenceModel()
            let infer = measure(repetitions) { _ = folded.forward(fixture.images) }
            let result = ThroughputResult(threads: count, batch: batch, imageSize: imageSize, trainStep: train,
                                          trainImagesPerSecond: Double(batch) / train.medianSeconds,
                                          inference: infer, inferenceImagesPerSecond: Double(batch) / infer.medianSeconds,
                                          evalModeForward: evalMode, evalModeImagesPerSecond: Double(batch) / evalMode.medianSeconds)
            progress("network, \(count) thread(s), batch \(batch), \(imageSize)×\(imageSize): train \(formatFixed(result.trainImagesPerSecond, 1)) images/s, "
                     + "inference \(formatFixed(result.inferenceImagesPerSecond, 1)) images/s (BatchNorm folded; "
                     + "eval-mode forward \(formatFixed(result.evalModeImagesPerSecond, 1)))")
            results.append(result)
        }
    }
    return results
}

/// Drives the network's layers one by one (unfused) through training steps, timing each
/// call, and sums the times by ``StepProfiler/Kind``.
func benchmarkBreakdown(threads: Int, batch: Int, repetitions: Repetitions) throws -> StepBreakdown {
    setEngineThreads(threads)
    let fixture = try NetworkFixture(batch: batch)
    let model = fixture.session.model, loss = fixture.session.criterion, optimizer = fixture.session.optimizer
    var samples: [StepProfiler.Kind: [Double]] = [:]
    let steps = max(1, repetitions.warmup) + repetitions.runs
    fixture.targets.withUnsafeBufferPointer { targets in
        for step in 0..<steps {
            var times: [StepProfiler.Kind: Double] = [:]
            var x = fixture.images
            for entry in model.namedLayers {
                times[StepProfiler.Kind(entry.layer), default: 0] += elapsedMilliseconds { x = entry.layer.forward(x, training: true) }
            }
            var g = x
            times[.head, default: 0] += elapsedMilliseconds { _ = loss.forward(x, targets: targets); g = loss.backward() }
            times[.optimizer, default: 0] += elapsedMilliseconds { optimizer.zeroGrad() }
            for entry in model.namedLayers.reversed() {
                times[StepProfiler.Kind(entry.layer), default: 0] += elapsedMilliseconds { g = entry.layer.backward(g) }
            }
            times[.optimizer, default: 0] += elapsedMilliseconds {
                precondition(optimizer.gradientsAreFinite(), "random-data step produced a non-finite gradient")
                optimizer.step()
            }
            guard step >= max(1, repetitions.warmup) else { continue }
            for (kind, ms) in times { samples[kind, default: []].append(ms) }
        }
    }
    return StepBreakdown(threads: threads, batch: batch, steps: repetitions.runs, medians: StepProfiler.Kind.layerKinds.map { kind in
        (kind, samples[kind].map { Timing($0).medianMilliseconds } ?? 0)
    })
}

/// Runs real training steps, alternately unprofiled (timed from outside) and profiled
/// (``StepProfiler``): warm-up pairs first, then `repetitions.runs` timed pairs.
///
/// `afterEach`, when given, runs after each timed pair with that pair's profile (for work
/// timed between the steps, so that both see the host at the same speed).
func benchmarkStepProfile(threads: Int, batch: Int, repetitions: Repetitions,
                          afterEach: ((StepProfile) -> Void)? = nil) throws -> StepProfileResult {
    setEngineThreads(threads)
    let fixture = try NetworkFixture(batch: batch)
    let session = fixture.session, profiler = StepProfiler()
    defer { session.profiler = nil }
    var profiles: [StepProfile] = [], unprofiled: [Double] = []
    try fixture.targets.withUnsafeBufferPointer { targets in
        for pair in 0..<(max(1, repetitions.warmup) + repetitions.runs) {
            session.profiler = nil
            let plain = try elapsedMilliseconds { _ = try session.step(images: fixture.images, targets: targets) }
            session.profiler = profiler
            _ = try session.step(images: fixture.images, targets: targets)
            guard pair >= max(1, repetitions.warmup), let profile = profiler.lastStep else { continue }
            unprofiled.append(plain)
            profiles.append(profile)
            afterEach?(profile)
        }
    }
    let breakdown = StepBreakdown(threads: threads, batch: batch, steps: profiles.count, medians: StepProfiler.Kind.allCases.map { kind in
        (kind, Timing(profiles.map { $0.milliseconds(kind) }).medianMilliseconds)
    })
    return StepProfileResult(breakdown: breakdown, profiledStep: Timing(profiles.map(\.wallMilliseconds)),
                             unprofiledStep: Timing(unprofiled))
}
