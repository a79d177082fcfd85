/// The engine's seeded random numbers (STYLE: one RNG, passed explicitly, never a global).
///
/// SplitMix64 (Steele, Lea & Flood 2014): a 64-bit state advanced by a Weyl constant and
/// mixed; fast, statistically sound for initialisation and augmentation, and fully
/// reproducible across platforms. ``derive(_:)`` builds an independent stream from a
/// tuple of integers, so crops, flips and epoch orders can be computed from
/// (seed, epoch, index) alone — no state to save in checkpoints, nothing that depends
/// on thread scheduling.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    public private(set) var state: UInt64

    public init(seed: UInt64) { state = seed }

    /// A generator whose stream is a pure function of `seed` and `keys`
    /// (e.g. `SeededGenerator.derive(seed, [epoch, imageIndex])`).
    public static func derive(_ seed: UInt64, _ keys: [UInt64]) -> SeededGenerator {
        var s = mix(seed ^ 0x6A09_E667_F3BC_C908)
        for k in keys { s = mix(s ^ mix(k &+ 0x9E37_79B9_7F4A_7C15)) }
        return SeededGenerator(seed: s)
    }

    /// The same derivation without an array, for hot paths: (seed, a, b).
    public static func derive(_ seed: UInt64, _ a: UInt64, _ b: UInt64) -> SeededGenerator {
        var s = mix(seed ^ 0x6A09_E667_F3BC_C908)
        s = mix(s ^ mix(a &+ 0x9E37_79B9_7F4A_7C15))
        s = mix(s ^ mix(b &+ 0x9E37_79B9_7F4A_7C15))
        return SeededGenerator(seed: s)
    }

    /// SplitMix64's finaliser.
    @inlinable
    public static func mix(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return Self.mix(state)
    }

    /// Uniform Float in [lower, upper), 24 random bits.
    public mutating func uniform(_ lower: Float, _ upper: Float) -> Float {
        lower + (upper - lower) * Float(next() >> 40) * 0x1p-24
    }

    /// Uniform integer in 0..<bound (Lemire's method via the standard library).
    public mutating func below(_ bound: Int) -> Int {
        Int.random(in: 0..<bound, using: &self)
    }
}
