import Dispatch

/// Median and spread of repeated runs of one piece of work, in milliseconds.
struct Timing: Codable, Sendable {
    let medianMilliseconds: Double
    let minMilliseconds: Double
    let maxMilliseconds: Double
    let runs: Int

    /// Seconds of the median run.
    var medianSeconds: Double { medianMilliseconds / 1000 }
}

/// How many times to repeat each measurement.
struct Repetitions: Codable, Sendable {
    /// Untimed runs first (at least one).
    let warmup: Int
    /// Timed runs, at least.
    let runs: Int
    /// Short cases repeat until about this many milliseconds are timed (up to 20 × runs).
    let minimumMilliseconds: Double
}

/// Elapsed wall time of `body` in milliseconds (monotonic clock).
func elapsedMilliseconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
}

/// Runs `body` untimed (warm-up), then timed `runs` times or more for short work; the median.
func measure(_ repetitions: Repetitions, _ body: () throws -> Void) rethrows -> Timing {
    var last = 0.0
    for _ in 0..<max(1, repetitions.warmup) { last = try elapsedMilliseconds(body) }
    let wanted = Int(repetitions.minimumMilliseconds / max(last, 1e-3))
    let runs = max(repetitions.runs, min(20 * repetitions.runs, wanted))
    var samples: [Double] = []
    for _ in 0..<runs { samples.append(try elapsedMilliseconds(body)) }
    return Timing(samples)
}

/// The median of `values` (the mean of the middle two for an even count).
/// - Precondition: at least one value.
func median(_ values: [Double]) -> Double {
    precondition(!values.isEmpty, "median of no values")
    let sorted = values.sorted(), middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

extension Timing {
    /// Summary of samples in milliseconds. - Precondition: at least one sample.
    init(_ samples: [Double]) {
        precondition(!samples.isEmpty, "no timing samples")
        let sorted = samples.sorted()
        medianMilliseconds = median(sorted)
        minMilliseconds = sorted[0]
        maxMilliseconds = sorted[sorted.count - 1]
        runs = sorted.count
    }
}
