import Foundation
import Testing
@testable import MobileNet

/// `--cutout K` (DeVries & Taylor 2017): after crop and flip, a K×K square of each training
/// image set to 0 after normalisation, its centre drawn after the crop and flip draws.
@Suite struct CutoutTests {
    /// The square is set to 0 in every channel, the rest is the image without cutout; the
    /// rows and columns, clipped at the edges, written out by hand for each case.
    @Test(arguments: [
        // (centre y, centre x, side, size, flip, rows, columns): start = centre − ⌊K/2⌋, end = start + K, clipped to 0..<S.
        (10, 12, 8, 32, false, 6..<14, 8..<16),
        (5, 30, 8, 32, true, 1..<9, 26..<32),
        (0, 0, 5, 32, false, 0..<3, 0..<3),
        (31, 31, 8, 32, false, 27..<32, 27..<32),
        (12, 3, 7, 24, true, 9..<16, 0..<7),
        (23, 0, 16, 24, false, 15..<24, 0..<8),
    ])
    func theSquareIsZeroAndTheRestUnchanged(_ c: (Int, Int, Int, Int, Bool, Range<Int>, Range<Int>)) {
        let (centreY, centreX, side, size, flip, rows, columns) = c
        let plain = CropFlip(top: 3, left: 5, flip: flip, size: size)
        var cut = plain
        cut.cutout = CutoutPatch(centreY: centreY, centreX: centreX, side: side)
        let before = CropScheduleTests.transformed(plain), after = CropScheduleTests.transformed(cut)
        var zeroed = 0
        for channel in 0..<3 {
            for y in 0..<size {
                for x in 0..<size {
                    let i = (channel * size + y) * size + x
                    if rows.contains(y) && columns.contains(x) {
                        #expect(after[i] == 0, "(\(channel), \(y), \(x)) inside the square")
                        zeroed += 1
                    } else {
                        #expect(after[i] == before[i], "(\(channel), \(y), \(x)) outside the square")
                    }
                }
            }
        }
        // No byte normalises to exactly 0, so the zeros are the square's alone.
        #expect(before.allSatisfy { $0 != 0 })
        #expect(after.filter { $0 == 0 }.count == zeroed && zeroed == 3 * rows.count * columns.count)
    }

    /// The draw by hand: generator derive(seed, epoch, index), crop row and column
    /// (0...8 at 32×32 with padding 4; 0...16 at 24×24), the flip's top bit, then the
    /// centre's row and column, each below S. The crop and flip are those without cutout.
    @Test func theCentreIsDrawnAfterTheCropAndFlip() {
        let options = AugmentationOptions(cropSchedule: CropSchedule(phases: [.init(size: 24, epochs: 1)])).cuttingOut(8)
        for (epoch, size, span) in [(0, 24, 17), (1, 32, 9)] {
            for index in 0..<20 {
                var generator = SeededGenerator.derive(11, UInt64(epoch), UInt64(index))
                let top = generator.below(span), left = generator.below(span)
                let flip = generator.next() >> 63 == 1
                let centreY = generator.below(size), centreX = generator.below(size)
                let choice = CropFlip.draw(seed: 11, epoch: epoch, index: index, options: options)
                #expect(choice == CropFlip(top: top, left: left, flip: flip, size: size,
                                           cutout: CutoutPatch(centreY: centreY, centreX: centreX, side: 8)))
                var without = options
                without.cutout = 0
                var expected = choice
                expected.cutout = nil
                #expect(CropFlip.draw(seed: 11, epoch: epoch, index: index, options: without) == expected)
            }
        }
    }

    /// Over many images every centre row and column of a 24×24 crop turns up, none outside.
    @Test func centresCoverTheWholeCrop() {
        let options = AugmentationOptions(cropSchedule: CropSchedule(phases: [.init(size: 24, epochs: 1)])).cuttingOut(6)
        let patches = (0..<3000).compactMap { CropFlip.draw(seed: 2, epoch: 0, index: $0, options: options).cutout }
        #expect(patches.count == 3000)
        #expect(Set(patches.map(\.centreY)) == Set(0..<24) && Set(patches.map(\.centreX)) == Set(0..<24))
        #expect(patches.allSatisfy { $0.side == 6 })
    }

    /// A cutout alone (no crop, no flip) still makes the transform random.
    @Test func cutoutAloneIsNotDeterministic() {
        let options = AugmentationOptions(cropPadding: 0, horizontalFlip: false).cuttingOut(4)
        #expect(!options.isDeterministic)
        #expect(CropFlip.draw(seed: 1, epoch: 0, index: 0, options: options).cutout != nil)
        #expect(options.forEvaluation.cutout == 0)
    }

    /// `--cutout 8` through the options and a loader: each image of a batch is the same
    /// image without cutout with its own drawn square set to 0, so the flag reaches training.
    @Test func theOptionReachesTheLoader() throws {
        var training = TrainingOptions()
        training.cutout = 8
        let augmentation = training.trainingAugmentation
        #expect(augmentation.cutout == 8)
        var without = augmentation
        without.cutout = 0
        let train = CheckpointFixture.dataset(count: 8)
        func images(_ augmentation: AugmentationOptions) -> [Int: [Float]] {
            let loader = BatchLoader(dataset: train, configuration: .training(batchSize: 4, seed: 5, augmentation: augmentation, prefetch: 0))
            loader.start(epoch: 2)
            var byIndex: [Int: [Float]] = [:]
            while let batch = loader.next() {
                let values = batch.images.nchwArray()
                for (n, index) in batch.indices.enumerated() { byIndex[Int(index)] = Array(values[n * 3072 ..< (n + 1) * 3072]) }
            }
            return byIndex
        }
        let (cut, plain) = (images(augmentation), images(without))
        #expect(cut.count == 8)
        for index in 0..<8 {
            let patch = try #require(CropFlip.draw(seed: 5, epoch: 2, index: index, options: augmentation).cutout)
            var expected = plain[index]!
            let rows = max(0, patch.centreY - 4) ..< min(32, patch.centreY + 4)
            let columns = max(0, patch.centreX - 4) ..< min(32, patch.centreX + 4)
            for c in 0..<3 { for y in rows { for x in columns { expected[(c * 32 + y) * 32 + x] = 0 } } }
            #expect(cut[index] == expected, "image \(index)")
            #expect(cut[index] != plain[index], "image \(index) has a square")
        }
    }

    /// BatchNorm recalibration's training transform leaves cutout out (its crops and flips
    /// stay the run's).
    @Test func recalibrationHasNoCutout() {
        var training = TrainingOptions()
        training.cutout = 8
        let recalibration = BatchNormRecalibration.augmentation(.train, training: training.trainingAugmentation)
        #expect(recalibration.cutout == 0 && recalibration.cropPadding == 4 && recalibration.horizontalFlip)
    }

    /// A 16×16 image (an image folder at --image-size 16): centres below 16, the square
    /// clipped at 16, by hand.
    @Test func aSmallerImageSideBoundsTheSquare() {
        let options = AugmentationOptions(imageSide: 16, cropPadding: 2).cuttingOut(6)
        var generator = SeededGenerator.derive(4, 0, 7)
        let (top, left) = (generator.below(5), generator.below(5))
        let flip = generator.next() >> 63 == 1
        let (centreY, centreX) = (generator.below(16), generator.below(16))
        #expect(CropFlip.draw(seed: 4, epoch: 0, index: 7, options: options)
                == CropFlip(top: top, left: left, flip: flip, size: 16, cutout: CutoutPatch(centreY: centreY, centreX: centreX, side: 6)))
        let image = (0..<768).map { UInt8(1 + $0 % 200) }
        let output = FeatureMap(shape: FeatureShape(channels: 3, height: 16, width: 16, batch: 1))
        let choice = CropFlip(top: 2, left: 2, flip: false, size: 16, cutout: CutoutPatch(centreY: 15, centreX: 1, side: 6))
        image.withUnsafeBufferPointer { ImageTransform(options: options).apply($0.baseAddress!, choice, into: output.data, slot: 0, batch: 1) }
        let values = Array(output.buffer)
        // Rows 12..<16 (15 − 3 = 12, 12 + 6 = 18 clipped), columns 0..<4 (1 − 3 = −2 clipped, −2 + 6 = 4).
        for c in 0..<3 {
            for y in 0..<16 {
                for x in 0..<16 {
                    let inside = (12..<16).contains(y) && (0..<4).contains(x)
                    #expect((values[(c * 16 + y) * 16 + x] == 0) == inside, "(\(c), \(y), \(x))")
                }
            }
        }
    }

    /// With --flip-mode alternate the flips alternate as without cutout, and the square is
    /// still drawn after the crop and the (drawn, unused) random flip.
    @Test func alternateFlipsKeepTheirFlips() {
        var options = AugmentationOptions.training.cuttingOut(8)
        options.alternateFlip = true
        var without = options
        without.cutout = 0
        for epoch in 0..<4 {
            for index in 0..<10 {
                var generator = SeededGenerator.derive(6, UInt64(epoch), UInt64(index))
                _ = (generator.below(9), generator.below(9), generator.next())
                let patch = CutoutPatch(centreY: generator.below(32), centreX: generator.below(32), side: 8)
                let choice = CropFlip.draw(seed: 6, epoch: epoch, index: index, options: options)
                var expected = CropFlip.draw(seed: 6, epoch: epoch, index: index, options: without)
                expected.cutout = patch
                #expect(choice == expected, "epoch \(epoch), image \(index)")
            }
        }
    }

    @Test func aSideOutsideTheImageIsRefused() {
        FlagTests.expectRejected(["train", "--cutout", "33"], naming: "--cutout", mentioning: ["0...32", "33"])
        FlagTests.expectRejected(["train", "--cutout", "-1"], naming: "--cutout", mentioning: ["0...32"])
    }

    /// Options saved before the flag existed decode with cutout off.
    @Test func olderOptionsDecodeWithoutCutout() throws {
        var object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(TrainingOptions())) as! [String: Any]
        object["cutout"] = nil
        let decoded = try JSONDecoder().decode(TrainingOptions.self, from: JSONSerialization.data(withJSONObject: object))
        #expect(decoded.cutout == 0 && decoded == TrainingOptions())
    }
}
