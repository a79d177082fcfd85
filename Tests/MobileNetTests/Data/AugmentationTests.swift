import Testing
@testable import MobileNet

@Suite struct AugmentationTests {
    /// A 32×32×3 image with every byte nonzero and distinct per position: v = 1 + (c·7 + y·32 + x) mod 250.
    static let image: [UInt8] = (0..<3072).map { (i: Int) -> UInt8 in
        let c = i / 1024, p = i % 1024
        return UInt8(1 + (c * 7 + p) % 250)
    }

    static func source(_ c: Int, _ y: Int, _ x: Int) -> UInt8 { image[c * 1024 + y * 32 + x] }

    /// The transformed image as [c][y][x] floats (a batch of one: C × H × W).
    static func transformed(_ choice: CropFlip, options: AugmentationOptions = .training) -> [Float] {
        let output = FeatureMap(shape: FeatureShape(channels: 3, height: 32, width: 32, batch: 1))
        image.withUnsafeBufferPointer {
            ImageTransform(options: options).apply($0.baseAddress!, choice, into: output.data, slot: 0, batch: 1)
        }
        return Array(output.buffer)
    }

    /// Expected output where output pixel (y, x) shows source pixel `map(y, x)`, or padding (0) for nil.
    static func expected(options: AugmentationOptions = .training, _ map: (Int, Int) -> (Int, Int)?) -> [Float] {
        let transform = ImageTransform(options: options)
        var out: [Float] = []
        for c in 0..<3 {
            for y in 0..<32 {
                for x in 0..<32 {
                    let byte = map(y, x).map { source(c, $0.0, $0.1) } ?? 0
                    out.append(transform.normalised(byte, channel: c))
                }
            }
        }
        return out
    }

    @Test func normalisationMatchesTorchvisionValuesByHand() {
        let transform = ImageTransform(options: .evaluation)
        // (v/255 − mean[c]) / std[c] with mean (0.4914, 0.4822, 0.4465), std (0.2023, 0.1994, 0.2010).
        let byHand: [UInt8: [Float]] = [
            0: [-2.4290657, -2.4182549, -2.221393],
            128: [0.05220371, 0.099101394, 0.2759244],
            255: [2.514088, 2.5967903, 2.7537313],
        ]
        for (value, expected) in byHand {
            expectAllClose((0..<3).map { transform.normalised(value, channel: $0) }, expected, "byte \(value)")
        }
    }

    @Test func identityChoiceOnlyNormalises() {
        expectAllClose(Self.transformed(.identity(padding: 4)), Self.expected { ($0, $1) })
    }

    @Test func cropWithPaddingShiftsTheImageAndFillsZeros() {
        // top 0, left 8 in the 40×40 padded image: output (y, x) = source (y − 4, x + 4).
        let actual = Self.transformed(CropFlip(top: 0, left: 8, flip: false))
        expectAllClose(actual, Self.expected { y, x in
            y >= 4 && x < 28 ? (y - 4, x + 4) : nil
        })
        // Padded pixels are the normalised zero byte, (0 − mean)/std, e.g. R at (0, 0) and B at (31, 31).
        expectAllClose([actual[0], actual[2 * 1024 + 31 * 32 + 31]], [-2.4290657, -2.221393], "padding")
    }

    @Test func flipMirrorsColumnsAfterTheCrop() {
        expectAllClose(Self.transformed(CropFlip(top: 4, left: 4, flip: true)),
                       Self.expected { y, x in (y, 31 - x) })
        // Crop first (source column = cropped column − 4), then flip: the padding ends up on the right.
        expectAllClose(Self.transformed(CropFlip(top: 4, left: 0, flip: true)), Self.expected { y, x in
            31 - x - 4 >= 0 ? (y, 31 - x - 4) : nil
        })
    }

    @Test func drawIsAPureFunctionOfSeedEpochAndIndex() {
        let options = AugmentationOptions.training
        // The contract: crop row, crop column, then flip, from derive(seed, epoch, index).
        var generator = SeededGenerator.derive(42, 3, 1234)
        let top = generator.below(9), left = generator.below(9), flip = generator.next() >> 63 == 1
        #expect(CropFlip.draw(seed: 42, epoch: 3, index: 1234, options: options) == CropFlip(top: top, left: left, flip: flip))
        let draws = (0..<400).map { CropFlip.draw(seed: 42, epoch: 3, index: $0, options: options) }
        #expect(draws == (0..<400).map { CropFlip.draw(seed: 42, epoch: 3, index: $0, options: options) })
        #expect(draws != (0..<400).map { CropFlip.draw(seed: 42, epoch: 4, index: $0, options: options) })
        // Every offset in 0...8 and both flips occur; nothing outside.
        #expect(Set(draws.map(\.top)) == Set(0...8) && Set(draws.map(\.left)) == Set(0...8))
        #expect(Set(draws.map(\.flip)) == [false, true])
    }

    @Test func evaluationOptionsAndDisabledFlipDrawNoFlip() {
        #expect(CropFlip.draw(seed: 1, epoch: 0, index: 5, options: .evaluation) == .identity(padding: 0))
        let cropOnly = AugmentationOptions(cropPadding: 2, horizontalFlip: false)
        let draws = (0..<200).map { CropFlip.draw(seed: 1, epoch: 0, index: $0, options: cropOnly) }
        #expect(draws.allSatisfy { !$0.flip && (0...4).contains($0.top) && (0...4).contains($0.left) })
    }

    @Test func epochOrderIsASeededPermutationThatChangesWithTheEpoch() {
        let order = EpochOrder.shuffled(count: 1000, seed: 9, epoch: 0)
        #expect(order.sorted() == EpochOrder.sequential(count: 1000))
        #expect(order != EpochOrder.sequential(count: 1000))
        #expect(order == EpochOrder.shuffled(count: 1000, seed: 9, epoch: 0))
        #expect(order != EpochOrder.shuffled(count: 1000, seed: 9, epoch: 1))
        #expect(order != EpochOrder.shuffled(count: 1000, seed: 10, epoch: 0))
        var reused = EpochOrder.shuffled(count: 1000, seed: 1, epoch: 5)
        EpochOrder.shuffle(&reused, seed: 9, epoch: 0)
        #expect(reused == order)
        #expect(EpochOrder.shuffled(count: 1, seed: 9, epoch: 0) == [0])
        #expect(EpochOrder.shuffled(count: 0, seed: 9, epoch: 0) == [])
    }
}
