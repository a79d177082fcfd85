/// The model's executor: every GEMM call, parallel loop and fused per-channel loop of
/// ``MobileNetV1``'s training forward and backward runs through these three functions on
/// its optional ``StepProfiler``. With no profiler (nil, the default) each runs exactly the
/// plain code: the body, `Parallel.forEachRange`, or the three kernels fused channel by
/// channel in one ``ChannelPipeline``. With a profiler set, the same work runs timed, and
/// the profiler only records where the wall time went.
extension Optional where Wrapped == StepProfiler {
    /// `body`, timed as `kind` when a profiler is set, run as is when not.
    @inline(__always)
    func timed<T>(_ kind: StepProfiler.Kind, _ body: () throws -> T) rethrows -> T {
        guard let profiler = self else { return try body() }
        return try profiler.time(kind, body)
    }

    /// `kernel` over `0..<count` in parallel, timed as `kind` when a profiler is set.
    @inline(__always)
    func run<Kernel: ParallelKernel>(_ count: Int, _ kernel: Kernel, as kind: StepProfiler.Kind) {
        timed(kind) { Parallel.forEachRange(count, kernel) }
    }

    /// Three per-channel kernels fused channel by channel in one parallel loop
    /// (``ChannelPipeline``); profiled stage by stage when a profiler is set, else exactly
    /// the plain pipeline.
    @inline(__always)
    func runChannels<A: ParallelKernel, B: ParallelKernel, C: ParallelKernel>(
        _ count: Int, _ a: (kernel: A, kind: StepProfiler.Kind), _ b: (kernel: B, kind: StepProfiler.Kind),
        _ c: (kernel: C, kind: StepProfiler.Kind)
    ) {
        guard let profiler = self else {
            Parallel.forEachRange(count, ChannelPipeline(first: ChannelPipeline(first: a.kernel, second: b.kernel), second: c.kernel))
            return
        }
        profiler.runChannels(count, a, b, c, (NoStage(), c.kind), (NoStage(), c.kind))
    }

    /// Five per-channel kernels fused channel by channel in one parallel loop, as
    /// ``runChannels(_:_:_:_:)``.
    @inline(__always)
    func runChannels<A: ParallelKernel, B: ParallelKernel, C: ParallelKernel, D: ParallelKernel, E: ParallelKernel>(
        _ count: Int, _ a: (kernel: A, kind: StepProfiler.Kind), _ b: (kernel: B, kind: StepProfiler.Kind),
        _ c: (kernel: C, kind: StepProfiler.Kind), _ d: (kernel: D, kind: StepProfiler.Kind),
        _ e: (kernel: E, kind: StepProfiler.Kind)
    ) {
        guard let profiler = self else {
            Parallel.forEachRange(count, ChannelPipeline(first: ChannelPipeline(first: ChannelPipeline(first: a.kernel, second: b.kernel),
                                                                                second: ChannelPipeline(first: c.kernel, second: d.kernel)),
                                                         second: e.kernel))
            return
        }
        profiler.runChannels(count, a, b, c, d, e)
    }
}

/// A stage that does nothing: fills the unused places of a shorter profiled pipeline.
struct NoStage: ParallelKernel {
    func run(_ range: Range<Int>) {}
}
