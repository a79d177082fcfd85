import Foundation
import Testing
@testable import MobileNet

/// `--flip-mode alternate`: epoch 0's flip drawn from the seeded generator as the random
/// flip is, then each image flipped iff that first flip XOR (epoch odd).
@Suite struct AlternateFlipTests {
    /// The first flip by hand: generator derive(seed, 0, index), the two crop draws
    /// (0...8 with padding 4), then the top bit of the next draw.
    @Test func flipsAlternateFromTheSeededFirstFlip() {
        var options = AugmentationOptions.training
        options.alternateFlip = true
        for index in 0..<6 {
            var first = SeededGenerator.derive(5, 0, UInt64(index))
            _ = first.below(9)
            _ = first.below(9)
            let firstFlip = first.next() >> 63 == 1
            for epoch in 0..<5 {
                let choice = CropFlip.draw(seed: 5, epoch: epoch, index: index, options: options)
                #expect(choice.flip == (firstFlip != (epoch % 2 == 1)), "image \(index), epoch \(epoch)")
                // The crop is the random flip's own for this epoch.
                var generator = SeededGenerator.derive(5, UInt64(epoch), UInt64(index))
                #expect(choice.top == generator.below(9) && choice.left == generator.below(9))
            }
        }
        // Without --flip there is nothing to alternate.
        options.horizontalFlip = false
        #expect(!CropFlip.draw(seed: 5, epoch: 1, index: 0, options: options).flip)
    }

    /// Through the options and a loader (no crop): every image of epoch 1 is the mirror of
    /// itself in epoch 0, and again in epoch 2 as in epoch 0; a resume at step 1 of epoch 1
    /// gives the same batch as the whole epoch did.
    @Test func aLoaderShowsEachImageMirroredEveryOtherEpoch() throws {
        var training = TrainingOptions()
        (training.flipMode, training.cropPadding) = (.alternate, 0)
        let augmentation = training.trainingAugmentation
        #expect(augmentation.alternateFlip)
        let train = CheckpointFixture.dataset(count: 8)
        func images(epoch: Int, step: Int = 0) -> [Int: [Float]] {
            let loader = BatchLoader(dataset: train, configuration: .training(batchSize: 4, seed: 5, augmentation: augmentation, prefetch: 0))
            loader.start(epoch: epoch, step: step)
            var byIndex: [Int: [Float]] = [:]
            while let batch = loader.next() {
                let values = batch.images.nchwArray()
                for (n, index) in batch.indices.enumerated() { byIndex[Int(index)] = Array(values[n * 3072 ..< (n + 1) * 3072]) }
            }
            return byIndex
        }
        func mirrored(_ image: [Float]) -> [Float] {
            (0..<3072).map { i in image[(i / 32) * 32 + 31 - i % 32] }
        }
        let (e0, e1, e2) = (images(epoch: 0), images(epoch: 1), images(epoch: 2))
        #expect(e0.count == 8)
        for index in 0..<8 {
            #expect(e1[index] == mirrored(e0[index]!), "image \(index): epoch 1 mirrors epoch 0")
            #expect(e2[index] == e0[index], "image \(index): epoch 2 as epoch 0")
        }
        for (index, image) in images(epoch: 1, step: 1) { #expect(image == e1[index], "resumed, image \(index)") }
    }

    @Test func alternateWithoutTheFlipIsRefused() {
        var options = TrainingOptions()
        (options.flipMode, options.horizontalFlip) = (.alternate, false)
        #expect(throws: TrainingOptions.InvalidOption(flag: "--flip-mode", message: "alternate flips need the flip on; drop --no-flip")) {
            try options.validate()
        }
    }
}
