import MallocCounter
import Testing
@testable import MobileNet

/// A steady-state training step (forward, loss, backward, finite check, SGD update,
/// schedule step) makes no heap allocation on the thread that runs it: buffers are
/// planned on the first step, parallel loops hand kernels (not closures) to the worker
/// threads, and OpenBLAS runs single-threaded. The counter interposes malloc and counts
/// per thread (Tests/MallocCounter).
@Suite struct StepAllocationTests {
    /// Whether this is an optimised build. Unoptimised Swift allocates in unspecialised
    /// generic and SIMD code (about 30,000 allocations per step here), so the zero-allocation
    /// check runs in release test builds: `swift test -c release --filter StepAllocationTests`.
    static var optimized: Bool {
        #if DEBUG
        return false
        #else
        return true
        #endif
    }

    @Test(.enabled(if: optimized, "needs an optimised build: swift test -c release --filter StepAllocationTests"))
    func steadyStateTrainingStepsAllocateNothing() throws {
        let run = try RandomTrainingRun(widthMultiplier: 0.25, seed: 3, stepsPerEpoch: 6)
        // Warm-up: the first steps allocate activations, gradients and momentum buffers.
        for _ in 0..<2 { try run.step() }
        malloc_counter_start()
        for _ in 0..<4 { try run.step() }
        let allocations = malloc_counter_stop()
        #expect(allocations == 0, "steps 3–6 made \(allocations) heap allocations")
    }

    /// The counter itself sees allocations (so a zero above means something).
    @Test func counterSeesAnAllocation() {
        malloc_counter_start()
        let tensor = Tensor(shape: [3])
        let allocations = malloc_counter_stop()
        #expect(allocations >= 1)
        #expect(tensor.count == 3)
    }
}
