import Foundation
import Testing
@testable import MobileNet

/// `--tta flip-shift`: six views (mirror × shift 0, +1/+1, −1/−1, black padding), the mean
/// of their softmax probabilities with equal weights, against views built here pixel by
/// pixel and a softmax in Double.
@Suite struct FlipShiftTTATests {
    /// One channel, 3×3, batch 1, value 10y + x; fill −1. +1/+1 moves the content down-right.
    @Test func shiftMovesTheImageDiagonallyAndPadsWithTheFill() {
        let input = FeatureMap(nchw: (0..<9).map { Float(10 * ($0 / 3) + $0 % 3) }, shape: FeatureShape(channels: 1, height: 3, width: 3, batch: 1))
        let output = FeatureMap(shape: FeatureShape(channels: 1, height: 3, width: 3, batch: 1))
        input.shiftDiagonally(by: 1, fill: [-1], into: output)
        #expect(output.nchwArray() == [-1, -1, -1,
                                       -1, 0, 1,
                                       -1, 10, 11])
        input.shiftDiagonally(by: -1, fill: [-1], into: output)
        #expect(output.nchwArray() == [11, 12, -1,
                                       21, 22, -1,
                                       -1, -1, -1])
    }

    /// The six views of `count` 32×32 images (bytes R, G, B planes) in N×C×H×W, by hand:
    /// byte → (b/255 − mean)/std, black (byte 0) outside; mirrored, then shifted.
    static func view(_ images: [UInt8], count n: Int, mirror: Bool, shift: Int) -> [Float] {
        let side = 32, mean = AugmentationOptions.cifarMean, std = AugmentationOptions.cifarStd
        var values: [Float] = []
        for image in 0..<n { for c in 0..<3 { for y in 0..<side { for x in 0..<side {
            let sy = y - shift, mx = x - shift
            let inside = sy >= 0 && sy < side && mx >= 0 && mx < side
            let sx = mirror ? side - 1 - mx : mx
            let byte = inside ? images[image * 3072 + c * 1024 + sy * side + sx] : 0
            values.append((Float(byte) / 255 - mean[c]) / std[c])
        } } } }
        return values
    }

    /// p̄ per image: the mean over the six views of the softmax (Double) of `model`'s eval logits.
    static func meanProbabilities(_ model: MobileNetV1, images: [UInt8], count n: Int) -> [[Double]] {
        var probabilities = [[Double]](repeating: [Double](repeating: 0, count: model.numClasses), count: n)
        for mirror in [false, true] {
            for shift in [0, 1, -1] {
                let input = FeatureMap(nchw: view(images, count: n, mirror: mirror, shift: shift), shape: FeatureShape(channels: 3, height: 32, width: 32, batch: n))
                let logits = model.forward(input, training: false)
                for i in 0..<n {
                    let z = (0..<model.numClasses).map { Double(logits.data[$0 * n + i]) }
                    let top = z.max()!
                    let total = z.map { exp($0 - top) }.reduce(0, +)
                    for k in z.indices { probabilities[i][k] += exp(z[k] - top) / total / 6 }
                }
            }
        }
        return probabilities
    }

    /// A model whose views' probabilities differ: running statistics of `data` (the initial
    /// 0/1 saturate ReLU6 and make every view alike) and larger logits.
    static func sensitiveModel(_ data: CIFARDataset) -> MobileNetV1 {
        let model = MobileNetV1(numClasses: 10, widthMultiplier: 0.25, seed: 4)
        BatchNormRecalibration.recalibrate(model, loader: BatchLoader(dataset: data, configuration: .evaluation(batchSize: data.count)))
        for i in 0..<model.linear.weight.value.count { model.linear.weight.value.data[i] *= 30 }
        return model
    }

    /// `predict --tta flip-shift`: the classes ranked by p̄, with p̄ as their probabilities.
    @Test func predictRanksByTheSixViewAverage() throws {
        let data = CheckpointFixture.dataset(count: 3)
        let model = Self.sensitiveModel(data)
        try CIFARFixture.withFolder { folder in
            var paths: [String] = []
            for i in 0..<3 {
                // Planes R, G, B → interleaved RGB for the PNG.
                let planes = Array(data.images[i * 3072 ..< (i + 1) * 3072])
                let rgb = (0..<3072).map { planes[($0 % 3) * 1024 + $0 / 3] }
                paths.append(folder + "/\(i).png")
                ImageFolderFixture.writePNG(rgb, width: 32, height: 32, to: paths[i])
            }
            let predictor = ImagePredictor(model: model, classNames: CIFARFixture.cifar10Names, augmentation: AugmentationOptions.evaluation,
                                           testTimeAugmentation: .flipShift)
            let results = predictor.predict(paths, topK: 10)
            let expected = Self.meanProbabilities(model, images: data.images, count: 3)
            for (i, result) in results.enumerated() {
                guard case .predicted(let classes) = result else { Issue.record("image \(i): \(result)"); continue }
                #expect(classes.first?.index == expected[i].firstIndex(of: expected[i].max()!), "image \(i)")
                // The folded inference network against the layer-by-layer one: 1e-4.
                for c in classes { #expect(abs(c.probability - expected[i][c.index]) <= 1e-4, "image \(i) class \(c.index): \(c.probability) vs \(expected[i][c.index])") }
            }
        }
    }

    @Test func sixViewsAveragedMatchADirectComputation() throws {
        let data = CheckpointFixture.dataset(count: 7)
        let model = Self.sensitiveModel(data)
        let loader = BatchLoader(dataset: data, configuration: .evaluation(batchSize: 7))
        let tally = EvaluationTally.evaluate(model: model, loader: loader, testTimeAugmentation: .flipShift)
        let plain = EvaluationTally.evaluate(model: model, loader: loader)

        let n = data.count
        let probabilities = Self.meanProbabilities(model, images: data.images, count: n)
        let loss = (0..<n).map { -log(probabilities[$0][Int(data.labels[$0])]) }.reduce(0, +) / Double(n)
        let correct = (0..<n).filter { i in probabilities[i].firstIndex(of: probabilities[i].max()!) == Int(data.labels[i]) }.count
        #expect(tally.count == n)
        #expect(abs(tally.loss - loss) <= 1e-5 * loss, "loss \(tally.loss), direct \(loss)")
        #expect(tally.top1Correct == correct)
        #expect(abs(plain.loss - loss) > 1e-4, "the six views change the loss")
    }
}
