#if canImport(Glibc)
import Glibc
#endif

/// Monotonic wall-clock seconds (CLOCK_MONOTONIC), for timing epochs and steps.
public func monotonicSeconds() -> Double {
    Double(monotonicNanoseconds()) * 1e-9
}

/// Monotonic wall-clock nanoseconds (CLOCK_MONOTONIC), for timing parts of a step (``StepProfiler``).
@inline(__always)
func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}
