import Foundation
import Testing
@testable import MobileNet

/// The whole network at step 0 against PyTorch (mobilenet_v1_w025.safetensors in the
/// fixtures; the full-width file from ../shared/golden when present).
@Suite struct NetworkGoldenTests {
    /// Loads `init.*`, runs one training forward + cross-entropy + backward on
    /// `batch.*`, then an eval forward, and compares with `step0.*`.
    func checkStepZero(file: SafetensorsFile, widthMultiplier: Double, gradientRtol: Double,
                       sourceLocation: SourceLocation = #_sourceLocation) throws {
        // Classes from the file's classifier (init.linear.weight [classes, features]); a file
        // that does not fit the model fails the strict load or the shape checks below.
        let linear = try file.entry("init.linear.weight").shape
        guard expectRank(linear, 2, "init.linear.weight", sourceLocation: sourceLocation) else { return }
        let model = MobileNetV1(numClasses: linear[0], widthMultiplier: widthMultiplier)
        try model.load(from: file, prefix: "init.", strict: true)
        let shape = try file.entry("batch.input").shape
        guard expectRank(shape, 4, "batch.input", sourceLocation: sourceLocation),
              expectShape([shape[1]], [model.entryConv.inChannels], "batch.input channels", sourceLocation: sourceLocation)
        else { return }
        let input = FeatureMap(nchw: try file.floats("batch.input"),
                               shape: FeatureShape(channels: shape[1], height: shape[2], width: shape[3], batch: shape[0]))
        let targets = try file.int64s("batch.target").map { Int32($0) }
        guard expectShape([targets.count], [shape[0]], "batch.target count", sourceLocation: sourceLocation) else { return }

        let logits = model.forward(input, training: true)
        // Whole-network rule from the golden README: 1e-4·max|b| + 1e-4·|b|.
        expectAllClose(logits.nchwArray(), try file.floats("step0.logits_train"), atolScale: 1e-4, rtol: 1e-4, "logits_train", sourceLocation: sourceLocation)
        let loss = CrossEntropyLoss()
        let value = targets.withUnsafeBufferPointer { loss.forward(logits, targets: $0) }
        expectAllClose([value], try file.floats("step0.loss"), atolScale: 1e-4, rtol: 1e-4, "loss", sourceLocation: sourceLocation)

        model.zeroGrad()
        model.backward(loss.backward())
        for (name, p) in model.namedParameters {
            expectNormClose(p.grad.array, try file.floats("step0.grad.\(name)"), rtol: gradientRtol, "grad \(name)", sourceLocation: sourceLocation)
        }
        let evalLogits = model.forward(input, training: false)
        expectAllClose(evalLogits.nchwArray(), try file.floats("step0.logits_eval"), atolScale: 1e-4, rtol: 1e-4, "logits_eval", sourceLocation: sourceLocation)
    }

    @Test func quarterWidthStepZeroMatchesPyTorch() throws {
        try checkStepZero(file: Fixtures.network025, widthMultiplier: 0.25, gradientRtol: 1e-3)
    }

    /// Full width: gradients only as a sanity check (1e-1), because a few ReLU6 inputs in
    /// the 2×2 layers sit within float32 rounding of 0 or 6 (golden README).
    @Test(.enabled(if: Fixtures.sharedGolden != nil, "needs ../shared/golden"))
    func fullWidthStepZeroMatchesPyTorch() throws {
        let file = try SafetensorsFile(contentsOfFile: Fixtures.sharedGolden!.appendingPathComponent("mobilenet_v1.safetensors").path)
        try checkStepZero(file: file, widthMultiplier: 1.0, gradientRtol: 1e-1)
    }

    @Test func namesAndCountsAreTheSeedsStateDict() {
        let model = MobileNetV1(numClasses: 10)
        let names = model.namedParameters.map(\.name) + model.namedBuffers.map(\.name)
        let golden = Set(Fixtures.network025.names.filter { $0.hasPrefix("init.") }.map { String($0.dropFirst(5)) })
        #expect(Set(names) == golden)
        #expect(names.count == golden.count)
        #expect(model.parameterCount == 3_217_226)
        #expect(model.namedParameters.first?.name == "entry.0.weight")
        #expect(model.namedParameters.last?.name == "linear.bias")
    }

    @Test func widthMultiplierTruncatesLikePython() {
        #expect(MobileNetV1.scaledChannels(1024, 0.75) == 768)
        #expect(MobileNetV1.scaledChannels(32, 0.25) == 8)
        #expect(MobileNetV1.scaledChannels(32, 0.3) == 9)  // int(9.6) == 9
        let model = MobileNetV1(numClasses: 100, widthMultiplier: 0.5)
        #expect(model.linear.weight.value.shape == [100, 512])
    }
}
