/// Where the wall time of real training steps goes, by kind of layer: an in-step profiler
/// for ``TrainingSession/step(images:targets:globalBatchSize:)``, fused path and all.
///
/// Set ``TrainingSession/profiler`` to an instance; each single-process step then leaves
/// its ``StepProfile`` in ``lastStep`` (a data-parallel step records nothing). Off (nil, the
/// default), the step runs its usual code: the model looks for a profiler once per GEMM
/// call or parallel loop, never inside a per-channel loop, and allocates nothing.
///
/// Attribution (wall nanoseconds, CLOCK_MONOTONIC), so that the kinds sum to the step's
/// wall time exactly:
/// - A GEMM call (entry conv, pointwise, linear), a serial part (loss, zero_grad, the
///   finite check, SGD's update and the schedule) or a parallel loop of one kind (the
///   last BatchNorm, pooling): its wall time on the calling thread goes to its kind.
/// - A fused per-channel loop (BatchNorm + ReLU6 → depthwise → BatchNorm + ReLU6, forward
///   or backward): every stage is timed per channel and summed per thread; the loop's
///   wall time on the calling thread is split among the stages in proportion to those
///   sums (in whole nanoseconds that add up to the loop's), so waking the workers and
///   waiting for the slowest thread are charged to the stages that ran.
/// - ``Kind/other``: the rest of the step's wall time — bookkeeping between the timed parts
///   (planning buffers, building kernels), which no kind claims.
///
/// Cost when on: three clock reads per channel of a fused loop (about 30,000 per step at
/// α = 1, shared by the threads), two per other timed part, a few small arrays per step.
public final class StepProfiler {
    /// What a step's time is attributed to.
    public enum Kind: Int, CaseIterable, Sendable {
        /// The entry Conv2d (im2col + GEMM), forward and backward.
        case entryConvolution
        /// The 13 depthwise convolutions, forward and backward.
        case depthwise
        /// The 13 pointwise convolutions (one GEMM forward, two backward).
        case pointwise
        /// The 27 BatchNorm2d layers with their fused ReLU6, forward and backward.
        case batchNorm
        /// Average pooling, the linear classifier and the cross-entropy loss.
        case head
        /// zero_grad, the finite-gradient check, SGD's update and the schedule's step.
        case optimizer
        /// Whatever no timed part covers (see ``StepProfiler``).
        case other

        /// The kind's name in tables: "entry conv", "depthwise", "pointwise", "BN+ReLU6",
        /// "pool+linear+loss", "optimizer", "other".
        public var label: String {
            switch self {
            case .entryConvolution: "entry conv"
            case .depthwise: "depthwise"
            case .pointwise: "pointwise"
            case .batchNorm: "BN+ReLU6"
            case .head: "pool+linear+loss"
            case .optimizer: "optimizer"
            case .other: "other"
            }
        }
    }

    /// The last completed profiled step, or nil before the first.
    public private(set) var lastStep: StepProfile?

    /// Nanoseconds per kind of the step in progress, [Kind.allCases.count].
    private let accumulated = UnsafeMutablePointer<UInt64>.allocate(capacity: Kind.allCases.count)
    /// When the step in progress began.
    private var stepStart: UInt64 = 0
    /// True inside ``time(_:_:)`` (timed parts never nest, or time would count twice).
    private var timing = false
    /// Per-thread stage times of the fused loop in progress: three counters per chunk
    /// (one chunk per thread), each written once by its thread at the end of its chunk.
    private var stageSlots: UnsafeMutablePointer<UInt64>
    private var stageSlotChunks: Int

    public init() {
        accumulated.initialize(repeating: 0, count: Kind.allCases.count)
        stageSlotChunks = max(1, Parallel.threadCount)
        stageSlots = .allocate(capacity: Self.stages * stageSlotChunks)
        stageSlots.initialize(repeating: 0, count: Self.stages * stageSlotChunks)
    }

    deinit {
        accumulated.deallocate()
        stageSlots.deallocate()
    }

    /// Starts a step: clears the per-kind times.
    func beginStep() {
        accumulated.update(repeating: 0, count: Kind.allCases.count)
        stepStart = monotonicNanoseconds()
    }

    /// Ends the step begun by ``beginStep()``: what no timed part claimed becomes ``Kind/other``.
    func endStep() {
        let wall = monotonicNanoseconds() - stepStart
        let timed = Kind.allCases.reduce(0) { $0 + ($1 == .other ? 0 : accumulated[$1.rawValue]) }
        accumulated[Kind.other.rawValue] = wall - timed
        lastStep = StepProfile(wallNanoseconds: wall, nanoseconds: Kind.allCases.map { accumulated[$0.rawValue] })
    }

    /// Runs `body`, adding its wall time on this thread to `kind`.
    func time<T>(_ kind: Kind, _ body: () throws -> T) rethrows -> T {
        precondition(!timing, "StepProfiler: timed parts must not nest")
        timing = true
        let start = monotonicNanoseconds()
        defer {
            accumulated[kind.rawValue] += monotonicNanoseconds() - start
            timing = false
        }
        return try body()
    }

    /// Stages of a profiled fused loop (shorter pipelines fill the rest with ``NoStage``).
    static let stages = 5

    /// Runs five per-channel kernels channel by channel over `0..<count` in one parallel
    /// loop (as ``ChannelPipeline``), each stage timed, and splits the loop's wall time
    /// among the stages' kinds (see ``StepProfiler``).
    func runChannels<A: ParallelKernel, B: ParallelKernel, C: ParallelKernel, D: ParallelKernel, E: ParallelKernel>(
        _ count: Int, _ a: (kernel: A, kind: Kind), _ b: (kernel: B, kind: Kind), _ c: (kernel: C, kind: Kind),
        _ d: (kernel: D, kind: Kind), _ e: (kernel: E, kind: Kind)
    ) {
        precondition(!timing, "StepProfiler: timed parts must not nest")
        let chunks = Parallel.chunkCount(count), stages = Self.stages
        if chunks > stageSlotChunks {
            stageSlots.deallocate()
            stageSlotChunks = chunks
            stageSlots = .allocate(capacity: stages * chunks)
            stageSlots.initialize(repeating: 0, count: stages * chunks)
        }
        stageSlots.update(repeating: 0, count: stages * chunks)
        let slots = SendablePointer(stageSlots)
        let start = monotonicNanoseconds()
        Parallel.forEachRange(count, TimedChannelPipeline(stages: (a.kernel, b.kernel, c.kernel, d.kernel, e.kernel),
                                                          slots: slots, count: count, chunks: chunks))
        let wall = monotonicNanoseconds() - start
        let stageTotals = (0..<stages).map { stage in (0..<chunks).reduce(0) { $0 + slots[stages * $1 + stage] } }
        for (kind, share) in zip([a.kind, b.kind, c.kind, d.kind, e.kind], Self.apportion(wall, among: stageTotals)) {
            accumulated[kind.rawValue] += share
        }
    }

    /// The attribution rule of a fused loop: its wall time split among its stages in
    /// proportion to their measured times (each summed over the threads). With Sᵢ the sum
    /// of the times of the stages before stage i and S the total, stage i gets
    /// ⌊wall·Sᵢ₊₁/S⌋ − ⌊wall·Sᵢ/S⌋ nanoseconds: whole numbers that sum to `wall` exactly.
    /// All zero when the stages measured nothing (the wall time then counts as other).
    static func apportion(_ wall: UInt64, among stageTimes: [UInt64]) -> [UInt64] {
        let total = stageTimes.reduce(0, +)
        guard total > 0 else { return stageTimes.map { _ in 0 } }
        var before: UInt64 = 0, shares: [UInt64] = []
        for time in stageTimes {
            shares.append(scaled(wall, before + time, total) - scaled(wall, before, total))
            before += time
        }
        return shares
    }

    /// ⌊wall·part/total⌋ for part ≤ total, without overflow.
    private static func scaled(_ wall: UInt64, _ part: UInt64, _ total: UInt64) -> UInt64 {
        total.dividingFullWidth(wall.multipliedFullWidth(by: part)).quotient
    }
}

/// One profiled training step: wall nanoseconds per ``StepProfiler/Kind``, which sum to
/// ``wallNanoseconds`` (see ``StepProfiler`` for how time is attributed).
public struct StepProfile: Sendable, Equatable {
    /// The whole of ``TrainingSession/step(images:targets:globalBatchSize:)``, nanoseconds.
    public let wallNanoseconds: UInt64
    /// Nanoseconds per kind, indexed by ``StepProfiler/Kind/rawValue``.
    public let nanoseconds: [UInt64]

    /// Nanoseconds attributed to `kind`.
    public subscript(kind: StepProfiler.Kind) -> UInt64 { nanoseconds[kind.rawValue] }

    /// Milliseconds attributed to `kind`.
    public func milliseconds(_ kind: StepProfiler.Kind) -> Double { Double(self[kind]) / 1e6 }

    /// The step's wall time in milliseconds.
    public var wallMilliseconds: Double { Double(wallNanoseconds) / 1e6 }
}

/// ``ChannelPipeline`` of five stages, timed: channel by channel, the stages run in order
/// as in the plain nested pipeline, with a clock read after each; the chunk's five stage
/// times go to its slots in `slots` ([chunks, 5], the chunk of `0..<count` the range starts
/// in: one chunk per thread).
struct TimedChannelPipeline<A: ParallelKernel, B: ParallelKernel, C: ParallelKernel, D: ParallelKernel, E: ParallelKernel>: ParallelKernel {
    let stages: (A, B, C, D, E)
    let slots: SendablePointer<UInt64>
    let count: Int, chunks: Int

    func run(_ channels: Range<Int>) {
        var times: (UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0)
        var start = monotonicNanoseconds()
        /// Runs `stage` on channel c and adds its time to `time`.
        func timed<K: ParallelKernel>(_ stage: K, _ c: Int, _ time: inout UInt64) {
            stage.run(c ..< c + 1)
            let end = monotonicNanoseconds()
            time += end - start
            start = end
        }
        for c in channels {
            timed(stages.0, c, &times.0)
            timed(stages.1, c, &times.1)
            timed(stages.2, c, &times.2)
            timed(stages.3, c, &times.3)
            timed(stages.4, c, &times.4)
        }
        let slot = slots.base + StepProfiler.stages * Parallel.chunk(containing: channels.lowerBound, count: count, chunks: chunks)
        slot[0] += times.0
        slot[1] += times.1
        slot[2] += times.2
        slot[3] += times.3
        slot[4] += times.4
    }
}
