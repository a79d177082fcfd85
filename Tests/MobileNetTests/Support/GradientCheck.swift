import Testing
@testable import MobileNet

/// The one finite-difference gradient check (STYLE): central differences on a few
/// hundred sampled coordinates of `values`, compared with `analytic`.
///
/// - `loss` recomputes the scalar L = Σ forward(·) · dY (accumulate in Double) from the
///   current contents of `values`; the check perturbs `values[i]` by ±epsilon in place
///   and restores it.
/// - Keep inputs away from ReLU6's kinks (0 and 6) when a ReLU6 is involved: a central
///   difference across a kink is not the derivative.
/// - Passes when |analytic − numeric| ≤ tolerance·(|numeric| + 0.1·max|analytic|) for
///   every sampled coordinate: float32 forward passes make the numeric estimate good to
///   about 1e-3 relative, so the default tolerance is 2e-2.
func expectGradientMatchesFiniteDifferences(
    values: UnsafeMutablePointer<Float>, count: Int, analytic: [Float],
    samples: Int = 200, epsilon: Float = 1e-2, tolerance: Double = 2e-2,
    seed: UInt64 = 1, _ what: String = "",
    sourceLocation: SourceLocation = #_sourceLocation,
    loss: () -> Double
) {
    #expect(analytic.count == count, "\(what): analytic gradient has \(analytic.count) values, expected \(count)", sourceLocation: sourceLocation)
    guard analytic.count == count, count > 0 else { return }
    let scale = Double(analytic.reduce(Float(0)) { max($0, abs($1)) })
    var rng = TestRNG(seed: seed)
    let indices = count <= samples ? Array(0..<count) : (0..<samples).map { _ in Int(rng.next() % UInt64(count)) }
    var failures: [String] = []
    for i in indices {
        let saved = values[i]
        values[i] = saved + epsilon
        let plus = loss()
        values[i] = saved - epsilon
        let minus = loss()
        values[i] = saved
        let numeric = (plus - minus) / (2 * Double(epsilon))
        let a = Double(analytic[i])
        if !(abs(a - numeric) <= tolerance * (abs(numeric) + 0.1 * scale)) {
            failures.append("[\(i)] analytic \(a) numeric \(numeric)")
        }
    }
    #expect(failures.isEmpty, "\(what): \(failures.count) of \(indices.count) coordinates differ: \(failures.prefix(5).joined(separator: "; "))", sourceLocation: sourceLocation)
}
