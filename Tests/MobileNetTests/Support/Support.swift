import Foundation
import Testing
@testable import MobileNet

/// Test fixtures copied from ../shared/golden (see Fixtures/ and the golden README).
enum Fixtures {
    static func url(_ name: String) -> URL {
        Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures")!
    }

    static func safetensors(_ name: String) throws -> SafetensorsFile {
        try SafetensorsFile(contentsOfFile: url(name).path)
    }

    /// layers.safetensors, parsed once.
    static let layers: SafetensorsFile = try! safetensors("layers.safetensors")
    /// mobilenet_v1_w025.safetensors, parsed once.
    static let network025: SafetensorsFile = try! safetensors("mobilenet_v1_w025.safetensors")

    /// The package's own folder (the one holding Package.swift), found from this source
    /// file's path, for tests of files the repository ships (recipes/).
    static var repository: URL {
        var dir = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { dir.deleteLastPathComponent() }
        return dir
    }

    /// ../shared/golden next to the project, when present (full-size checks).
    static var sharedGolden: URL? {
        let golden = repository.deletingLastPathComponent().appendingPathComponent("shared/golden")
        return FileManager.default.fileExists(atPath: golden.path) ? golden : nil
    }
}

/// True when `actual` equals `expected`; otherwise records a failed expectation naming
/// `what` (the caller then returns instead of running into a layer's precondition).
func expectShape(_ actual: [Int], _ expected: [Int], _ what: String,
                 sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
    guard actual == expected else {
        Issue.record("\(what): shape \(actual), expected \(expected)", sourceLocation: sourceLocation)
        return false
    }
    return true
}

/// True when `shape` has `rank` dimensions, each at least 1; otherwise records a failure.
func expectRank(_ shape: [Int], _ rank: Int, _ what: String,
                sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
    guard shape.count == rank, shape.allSatisfy({ $0 >= 1 }) else {
        Issue.record("\(what): shape \(shape), expected \(rank) dimensions of at least 1", sourceLocation: sourceLocation)
        return false
    }
    return true
}

/// The fixture tensor `name` (PyTorch N×C×H×W, or N×C for a classifier's logits) as a
/// feature map, or nil with a recorded failure when it has another rank.
func fixtureMap(_ file: SafetensorsFile, _ name: String,
                sourceLocation: SourceLocation = #_sourceLocation) throws -> FeatureMap? {
    let shape = try file.entry(name).shape
    guard shape.count == 2 || shape.count == 4, shape.allSatisfy({ $0 >= 1 }) else {
        Issue.record("\(name): shape \(shape), expected N×C or N×C×H×W", sourceLocation: sourceLocation)
        return nil
    }
    let s = shape.count == 2
        ? FeatureShape(channels: shape[1], height: 1, width: 1, batch: shape[0])
        : FeatureShape(channels: shape[1], height: shape[2], width: shape[3], batch: shape[0])
    return FeatureMap(nchw: try file.floats(name), shape: s)
}

extension FeatureMap {
    /// The shape as PyTorch writes it: [N, C, H, W].
    var nchwShape: [Int] { [shape.batch, shape.channels, shape.height, shape.width] }
}

/// The golden README's elementwise rule: |a − b| ≤ atolScale·max|b| + rtol·|b| for every element.
func expectAllClose(
    _ actual: [Float], _ expected: [Float],
    atolScale: Float = 1e-5, rtol: Float = 1e-4,
    _ what: String = "",
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(actual.count == expected.count, "\(what): count \(actual.count) vs \(expected.count)", sourceLocation: sourceLocation)
    guard actual.count == expected.count else { return }
    let scale = expected.reduce(Float(0)) { max($0, abs($1)) }
    var worst: (index: Int, excess: Float) = (-1, 0)
    for i in 0..<actual.count {
        let bound = atolScale * scale + rtol * abs(expected[i])
        let diff = abs(actual[i] - expected[i])
        if !(diff <= bound) {
            let excess = diff.isNaN ? .infinity : diff - bound
            if worst.index < 0 || excess > worst.excess { worst = (i, excess) }
        }
    }
    #expect(worst.index < 0, "\(what): element \(worst.index) is \(worst.index >= 0 ? actual[worst.index] : 0), expected \(worst.index >= 0 ? expected[worst.index] : 0) (max|b| \(scale))", sourceLocation: sourceLocation)
}

/// The golden README's norm-wise rule: ‖a − b‖₂ ≤ rtol·‖b‖₂.
func expectNormClose(
    _ actual: [Float], _ expected: [Float], rtol: Double,
    _ what: String = "",
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(actual.count == expected.count, "\(what): count \(actual.count) vs \(expected.count)", sourceLocation: sourceLocation)
    guard actual.count == expected.count else { return }
    let relative = relativeL2Difference(actual, expected)
    #expect(relative <= rtol, "\(what): ‖a−b‖/‖b‖ = \(relative) > \(rtol)", sourceLocation: sourceLocation)
}

/// A small seeded generator for test data (SplitMix64), independent of the engine's RNG.
struct TestRNG {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [lo, hi).
    mutating func uniform(_ lo: Float = -1, _ hi: Float = 1) -> Float {
        lo + (hi - lo) * Float(next() >> 40) / Float(1 << 24)
    }
    mutating func floats(_ count: Int, _ lo: Float = -1, _ hi: Float = 1) -> [Float] {
        (0..<count).map { _ in uniform(lo, hi) }
    }
}
