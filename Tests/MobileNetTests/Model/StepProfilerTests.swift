import Testing
@testable import MobileNet

/// The in-step profiler (StepProfiler): it changes no result, its kinds account for the
/// whole step, and its attribution rule is the one documented. No assertion about speed.
@Suite struct StepProfilerTests {
    /// Same bits with and without the profiler: losses, accuracy counts, every parameter,
    /// running statistic and momentum buffer after three steps (quarter width, batch 8).
    @Test func profiledStepsEqualUnprofiledStepsBitForBit() throws {
        let plain = try RandomTrainingRun(widthMultiplier: 0.25, seed: 41, stepsPerEpoch: 3)
        let profiled = try RandomTrainingRun(widthMultiplier: 0.25, seed: 41, stepsPerEpoch: 3)
        profiled.session.profiler = StepProfiler()
        for step in 0..<3 {
            let a = try plain.step(), b = try profiled.step()
            #expect(a.loss.bitPattern == b.loss.bitPattern, "loss of step \(step)")
            #expect(a.correct == b.correct, "correct of step \(step)")
        }
        #expect(profiled.session.profiler?.lastStep != nil)
        let differing = zip(plain.stateBits, profiled.stateBits).filter { $0.1 != $1.1 }.map(\.0.0)
        #expect(differing.isEmpty, "tensors differing with the profiler on: \(differing.prefix(5))")
    }

    /// The kinds sum to the step's wall time exactly (other is what the rest leaves), and
    /// that wall time lies within a stopwatch around the call.
    @Test func kindsSumToTheStepsWallTime() throws {
        let run = try RandomTrainingRun(widthMultiplier: 0.25, seed: 42, stepsPerEpoch: 2)
        let profiler = StepProfiler()
        run.session.profiler = profiler
        let start = monotonicNanoseconds()
        try run.step()
        let outside = monotonicNanoseconds() - start
        let profile = try #require(profiler.lastStep)
        #expect(profile.nanoseconds.count == StepProfiler.Kind.allCases.count)
        #expect(profile.nanoseconds.reduce(0, +) == profile.wallNanoseconds)
        #expect(profile.wallNanoseconds <= outside)
        let milliseconds = StepProfiler.Kind.allCases.reduce(0) { $0 + profile.milliseconds($1) }
        #expect(abs(milliseconds - profile.wallMilliseconds) <= 1e-9 * profile.wallMilliseconds)
    }

    /// Every kind the network has gets time, other included (the bookkeeping between parts),
    /// on a steady-state step (the second).
    @Test func everyKindGetsTime() throws {
        let run = try RandomTrainingRun(widthMultiplier: 0.25, seed: 43, stepsPerEpoch: 2)
        let profiler = StepProfiler()
        run.session.profiler = profiler
        for _ in 0..<2 { try run.step() }
        let profile = try #require(profiler.lastStep)
        for kind in StepProfiler.Kind.allCases {
            #expect(profile[kind] > 0, "\(kind.label) got no time")
        }
    }

    /// A fused loop's wall time split in proportion to its stages' times, by hand. Two
    /// threads ran BN → depthwise → BN: thread 0 for 10, 30, 5 ns, thread 1 for 20, 20, 15;
    /// the stage sums are 30, 50, 20 (100), the loop took 120 ns on the calling thread, so
    /// the stages get 120·30/100 = 36, 120·50/100 = 60 and 120·20/100 = 24.
    @Test func fusedLoopWallTimeIsSplitInProportionToStageTimes() {
        #expect(StepProfiler.apportion(120, among: [10 + 20, 30 + 20, 5 + 15]) == [36, 60, 24])
        // Whole nanoseconds summing to the wall time: 1000 over three equal stages is
        // ⌊1000/3⌋ = 333, ⌊2000/3⌋ − 333 = 333, 1000 − 666 = 334.
        #expect(StepProfiler.apportion(1000, among: [7, 7, 7]) == [333, 333, 334])
        // A stage that measured nothing gets nothing; the others share the whole wall.
        #expect(StepProfiler.apportion(90, among: [0, 40, 20]) == [0, 60, 30])
        // Nothing measured: nothing attributed (the wall time falls to other).
        #expect(StepProfiler.apportion(50, among: [0, 0, 0]) == [0, 0, 0])
        // Large times do not overflow: 10¹² ns (16.7 min) over stages of 3·10¹² and 10¹².
        #expect(StepProfiler.apportion(1_000_000_000_000, among: [3_000_000_000_000, 1_000_000_000_000])
                == [750_000_000_000, 250_000_000_000])
    }

    /// A profiled loop finds its thread's slots from the first channel of its range:
    /// chunk(containing:) inverts the cut of forEachRange (chunk k is
    /// count·k/chunks ..< count·(k+1)/chunks).
    @Test func chunkContainingInvertsTheCut() {
        for count in 1...40 {
            for chunks in 1...min(count, 5) {
                for k in 0..<chunks {
                    for index in count * k / chunks ..< count * (k + 1) / chunks {
                        #expect(Parallel.chunk(containing: index, count: count, chunks: chunks) == k,
                                "index \(index) of \(count) in \(chunks) chunks")
                    }
                }
            }
        }
    }
}
