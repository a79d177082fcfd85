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

    @Test func sixViewsAveragedMatchADirectComputation() throws {
        let data = CheckpointFixture.dataset(count: 7)
        let model = MobileNetV1(numClasses: 10, widthMultiplier: 0.25, seed: 4)
        // Running statistics of these images (the initial 0/1 saturate ReLU6 and make every
        // view alike) and larger logits, so the views' probabilities differ.
        BatchNormRecalibration.recalibrate(model, loader: BatchLoader(dataset: data, configuration: .evaluation(batchSize: 7)))
        for i in 0..<model.linear.weight.value.count { model.linear.weight.value.data[i] *= 30 }
        let loader = BatchLoader(dataset: data, configuration: .evaluation(batchSize: 7))
        let tally = EvaluationTally.evaluate(model: model, loader: loader, testTimeAugmentation: .flipShift)
        let plain = EvaluationTally.evaluate(model: model, loader: loader)

        // The views in N×C×H×W, by hand: byte → (b/255 − mean)/std; black (byte 0) outside.
        let side = 32, n = data.count
        let mean = AugmentationOptions.cifarMean, std = AugmentationOptions.cifarStd
        func view(mirror: Bool, shift: Int) -> [Float] {
            var values: [Float] = []
            for image in 0..<n { for c in 0..<3 { for y in 0..<side { for x in 0..<side {
                let sy = y - shift, mx = x - shift
                let inside = sy >= 0 && sy < side && mx >= 0 && mx < side
                let sx = mirror ? side - 1 - mx : mx
                let byte = inside ? data.images[image * 3072 + c * 1024 + sy * side + sx] : 0
                values.append((Float(byte) / 255 - mean[c]) / std[c])
            } } } }
            return values
        }
        var probabilities = [[Double]](repeating: [Double](repeating: 0, count: 10), count: n)
        for mirror in [false, true] {
            for shift in [0, 1, -1] {
                let logits = model.forward(FeatureMap(nchw: view(mirror: mirror, shift: shift), shape: FeatureShape(channels: 3, height: side, width: side, batch: n)),
                                           training: false)
                for i in 0..<n {
                    let z = (0..<10).map { Double(logits.data[$0 * n + i]) }
                    let top = z.max()!
                    let total = z.map { exp($0 - top) }.reduce(0, +)
                    for k in 0..<10 { probabilities[i][k] += exp(z[k] - top) / total / 6 }
                }
            }
        }
        let loss = (0..<n).map { -log(probabilities[$0][Int(data.labels[$0])]) }.reduce(0, +) / Double(n)
        let correct = (0..<n).filter { i in probabilities[i].firstIndex(of: probabilities[i].max()!) == Int(data.labels[i]) }.count
        #expect(tally.count == n)
        #expect(abs(tally.loss - loss) <= 1e-5 * loss, "loss \(tally.loss), direct \(loss)")
        #expect(tally.top1Correct == correct)
        #expect(abs(plain.loss - loss) > 1e-4, "the six views change the loss")
    }
}
