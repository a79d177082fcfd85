import Foundation
import Testing
@testable import MobileNet
@testable import Trainer

/// Progressive resizing (``CropSchedule``, `--crop-schedule`): smaller random crops at the
/// images' own scale for the first epochs, as torchvision's `RandomCrop(S, padding: p)`.
@Suite struct CropScheduleTests {
    /// `AugmentationTests.image` cropped by `choice`, as [c][y][x] floats (S×S).
    static func transformed(_ choice: CropFlip, options: AugmentationOptions = .training) -> [Float] {
        let side = choice.size
        let output = FeatureMap(shape: FeatureShape(channels: 3, height: side, width: side, batch: 1))
        AugmentationTests.image.withUnsafeBufferPointer {
            ImageTransform(options: options).apply($0.baseAddress!, choice, into: output.data, slot: 0, batch: 1)
        }
        return Array(output.buffer)
    }

    /// The crop computed another way: the image written into an explicit zero-padded
    /// (32 + 2p)² canvas, the S×S window read out of it, then mirrored.
    static func paddedCanvasCrop(_ choice: CropFlip, padding p: Int = 4) -> [Float] {
        ImageSideTests.paddedCanvasCrop(AugmentationTests.image, side: 32, padding: p, choice, transform: ImageTransform(options: .training))
    }

    /// PyTorch 2.13, torchvision's steps by hand on the same image (`AugmentationTests.image`):
    /// `F.pad(img, (4, 4, 4, 4), value=0)[:, top:top+S, left:left+S]`, `.flip(-1)` when
    /// flipped, `.float() / 255`, `(t − mean) / std`; the float64 sum of all values and
    /// elements (c, y, x).
    @Test(arguments: [
        (CropFlip(top: 16, left: 3, flip: true, size: 24), -515.9612630434567,
         [(0, 0, 0, Float(0.6143662929534912)), (0, 0, 23, -2.429065704345703), (1, 5, 7, -1.1005761623382568),
          (2, 23, 23, -2.22139310836792), (2, 23, 0, -2.22139310836792)]),
        (CropFlip(top: 0, left: 20, flip: false, size: 16), -584.3386172097526,
         [(0, 0, 0, Float(-2.429065704345703)), (0, 0, 15, -2.429065704345703), (1, 5, 7, -1.1792436838150024),
          (2, 15, 15, 0.6661302447319031), (2, 15, 0, 0.3734758794307709)]),
    ])
    func smallCropsMatchPyTorch(choice: CropFlip, sum: Double, elements: [(Int, Int, Int, Float)]) {
        let actual = Self.transformed(choice), side = choice.size
        #expect(actual.count == 3 * side * side)
        #expect(abs(actual.reduce(0.0) { $0 + Double($1) } - sum) < 1e-4)
        for (c, y, x, value) in elements {
            #expect(abs(actual[(c * side + y) * side + x] - value) < 1e-6, "element (\(c), \(y), \(x))")
        }
        #expect(actual == Self.paddedCanvasCrop(choice))
    }

    @Test func everySmallCropPositionMatchesThePaddedCanvas() {
        for size in [8, 24, 31] {
            let span = 40 - size
            for (top, left) in [(0, 0), (span, span), (0, span), (span / 2, 3)] {
                for flip in [false, true] {
                    let choice = CropFlip(top: top, left: left, flip: flip, size: size)
                    #expect(Self.transformed(choice) == Self.paddedCanvasCrop(choice), "\(choice)")
                }
            }
        }
    }

    @Test func scheduleGivesEachEpochItsSize() throws {
        let schedule = try CropSchedule(parsing: "16:2, 24:3")
        #expect(schedule.phases == [.init(size: 16, epochs: 2), .init(size: 24, epochs: 3)])
        #expect(schedule.epochs == 5 && schedule.description == "16:2,24:3")
        #expect((0..<7).map { schedule.size(atEpoch: $0) } == [16, 16, 24, 24, 24, nil, nil])
        let options = AugmentationOptions(cropSchedule: schedule)
        #expect((0..<7).map { options.cropSize(atEpoch: $0) } == [16, 16, 24, 24, 24, 32, 32])
        #expect(try CropSchedule(parsing: "none") == .none && CropSchedule.none.description == "none")
        #expect(try CropSchedule(parsing: schedule.description) == schedule)
        for bad in ["24", "24:", ":3", "a:b", "24:3,", "24:3:1", "24;3"] {
            #expect(throws: CropSchedule.ParseError.self, "\(bad)") { try CropSchedule(parsing: bad) }
        }
    }

    /// The draw is torchvision's: row then column, each uniform over every position of the
    /// S×S window in the padded image (0...32 + 2p − S), then the flip; past the schedule it
    /// is the reference recipe's 32×32 draw, number for number.
    @Test func drawCoversEveryWindowPositionAndKeepsTheSeedsDrawAfterwards() throws {
        let options = AugmentationOptions(cropSchedule: try CropSchedule(parsing: "24:1"))
        var generator = SeededGenerator.derive(42, 0, 7)
        let top = generator.below(17), left = generator.below(17), flip = generator.next() >> 63 == 1
        #expect(CropFlip.draw(seed: 42, epoch: 0, index: 7, options: options) == CropFlip(top: top, left: left, flip: flip, size: 24))
        let draws = (0..<2000).map { CropFlip.draw(seed: 42, epoch: 0, index: $0, options: options) }
        #expect(draws.allSatisfy { $0.size == 24 })
        #expect(Set(draws.map(\.top)) == Set(0...16) && Set(draws.map(\.left)) == Set(0...16))
        for index in 0..<200 {
            #expect(CropFlip.draw(seed: 42, epoch: 1, index: index, options: options)
                == CropFlip.draw(seed: 42, epoch: 1, index: index, options: .training))
        }
        // Without padding a 32×32 crop draws nothing, but a smaller one still moves.
        let unpadded = AugmentationOptions(cropPadding: 0, horizontalFlip: false, cropSchedule: try CropSchedule(parsing: "30:1"))
        #expect(!unpadded.isDeterministic)
        let moves = (0..<200).map { CropFlip.draw(seed: 1, epoch: 0, index: $0, options: unpadded) }
        #expect(Set(moves.map(\.top)) == Set(0...2) && moves.allSatisfy { $0.size == 30 && !$0.flip })
        #expect(CropFlip.draw(seed: 1, epoch: 1, index: 0, options: unpadded) == .identity(padding: 0))
    }

    @Test func batchesTakeTheEpochsSize() throws {
        let dataset = CIFARDataset(dataset: .cifar10, split: .train, images: AugmentationTests.image + AugmentationTests.image,
                                   labels: [3, 5], classNames: CIFARFixture.cifar10Names)
        let options = AugmentationOptions(cropSchedule: try CropSchedule(parsing: "24:1"))
        let assembler = BatchAssembler(dataset: dataset, options: options, seed: 9)
        let images = FeatureMap(shape: FeatureShape(channels: 3, height: 32, width: 32, batch: 2))
        var labels = [Int32](repeating: 0, count: 2)
        assembler.assemble(indices: [1, 0], epoch: 0, into: images, labels: &labels)
        #expect(images.shape == FeatureShape(channels: 3, height: 24, width: 24, batch: 2) && labels == [5, 3])
        // Slot 0 holds image 1 as its own draw crops it (batch-innermost layout).
        let expected = Self.paddedCanvasCrop(CropFlip.draw(seed: 9, epoch: 0, index: 1, options: options))
        #expect((0..<(3 * 24 * 24)).map { images.data[$0 * 2] } == expected)
        assembler.assemble(indices: [0, 1], epoch: 1, into: images, labels: &labels)
        #expect(images.shape == FeatureShape(channels: 3, height: 32, width: 32, batch: 2))
    }

    @Test func optionsCheckTheScheduleAndNameTheFlag() throws {
        var options = TrainingOptions()
        options.epochs = 5
        options.cropSchedule = try CropSchedule(parsing: "16:2,24:3")
        try options.validate()
        for (text, mentioning) in [("24:6", "more than the run's 5"), ("33:1", "1...32"), ("0:1", "1...32"), ("24:0", "at least 1 epoch")] {
            options.cropSchedule = try CropSchedule(parsing: text)
            #expect {
                try options.validate()
            } throws: { error in
                let invalid = error as? TrainingOptions.InvalidOption
                return invalid?.flag == "--crop-schedule" && invalid?.message.contains(mentioning) == true
            }
        }
        let command = try RecipeTests.trainCommand(["--epochs", "4", "--crop-schedule", "20:3"])
        #expect(command.options(over: TrainCommand.defaults).trainingAugmentation
            == AugmentationOptions(cropSchedule: CropSchedule(phases: [.init(size: 20, epochs: 3)])))
        #expect(try RecipeTests.trainCommand(["--recipe", "fast", "--crop-schedule", "none"]).options(over: TrainCommand.defaults).cropSchedule == .none)
        // --epochs after a recipe keeps each phase's share of the run; --crop-schedule wins.
        let shortened = try RecipeTests.trainCommand(["--recipe", "fast", "--epochs", "21"]).options(over: TrainCommand.defaults)
        #expect(shortened.cropSchedule == CropSchedule(phases: [.init(size: 24, epochs: 11)]))
        #expect(try RecipeTests.trainCommand(["--recipe", "fast", "--epochs", "21", "--crop-schedule", "20:2"])
            .options(over: TrainCommand.defaults).cropSchedule == CropSchedule(phases: [.init(size: 20, epochs: 2)]))
        let phases = try CropSchedule(parsing: "16:10,24:20")
        #expect(phases.scaled(fromEpochs: 40, toEpochs: 8) == CropSchedule(phases: [.init(size: 16, epochs: 2), .init(size: 24, epochs: 4)]))
        // A run that ended on full-size epochs still does: its last epoch sets BatchNorm's
        // running statistics for the 32×32 test images.
        #expect(phases.scaled(fromEpochs: 40, toEpochs: 1) == .none)
        #expect(phases.scaled(fromEpochs: 40, toEpochs: 2) == CropSchedule(phases: [.init(size: 16, epochs: 1)]))
        #expect(try RecipeTests.trainCommand(["--recipe", "fast", "--epochs", "1"]).options(over: TrainCommand.defaults).cropSchedule == .none)
        #expect(try RecipeTests.trainCommand(["--recipe", "fast", "--epochs", "2"]).options(over: TrainCommand.defaults).cropSchedule
            == CropSchedule(phases: [.init(size: 24, epochs: 1)]))
        #expect(try CropSchedule(parsing: "24:5").scaled(fromEpochs: 5, toEpochs: 3) == CropSchedule(phases: [.init(size: 24, epochs: 3)]))
        FlagTests.expectRejected(["train", "--crop-schedule", "24x3"], naming: "--crop-schedule", mentioning: ["24x3"])
        FlagTests.expectRejected(["train", "--epochs", "3", "--crop-schedule", "24:4"], naming: "--crop-schedule", mentioning: ["raise --epochs"])
        // A resumed run with another schedule is refused by name, as every option is.
        var other = TrainingOptions()
        other.cropSchedule = try CropSchedule(parsing: "24:2")
        let difference = try #require(other.differences(from: TrainingOptions()).first)
        #expect(difference == .init(flag: "--crop-schedule", value: "24:2", otherValue: "none"))
    }

    /// Phases whose epochs add up past `Int.max` are refused by name, not summed into a trap;
    /// a negative size reaches the range check instead of being taken for a flag.
    @Test func hugeOrNegativeValuesAreRefusedByName() {
        FlagTests.expectRejected(["train", "--epochs", "5", "--crop-schedule", "24:\(Int.max),24:1"],
                                 naming: "--crop-schedule", mentioning: ["more than the run's 5"])
        FlagTests.expectRejected(["train", "--crop-schedule", "-1:1"], naming: "--crop-schedule", mentioning: ["1...32", "got -1"])
    }

    /// `plot` names the epochs trained on smaller crops (their validation points are full-size images).
    @Test func curvesNameTheSmallCropEpochs() throws {
        let sizes = [16, 24, 24, 32, 32, 24]
        let lines = sizes.enumerated().map { #"{"kind":"epoch","epoch":\#($0.offset + 1),"val_accuracy":0.5,"crop_size":\#($0.element)}"# }
        let curves = try TrainingCurves(jsonLines: lines.joined(separator: "\n"))
        #expect(curves.epochs.map(\.cropSize) == sizes)
        #expect(curves.smallCropText == "epoch 1 on 16×16 crops, epochs 2–3 on 24×24 crops, epoch 6 on 24×24 crops")
        #expect(curves.svg(title: "run").contains("top-1 accuracy per epoch (epoch 1 on 16×16 crops, epochs 2–3 on 24×24 crops, epoch 6 on 24×24 crops)"))
        let fullSize = try TrainingCurves(jsonLines: #"{"kind":"epoch","epoch":1,"crop_size":32}"# + "\n" + #"{"kind":"epoch","epoch":2}"#)
        #expect(fullSize.smallCropText == nil && fullSize.epochs.map(\.cropSize) == [32, nil])
    }

    /// A number that is no whole `Int` (a damaged or hand-edited file) is skipped where it is
    /// optional and a read error where it is not, never a trap.
    @Test func curvesSkipOrRefuseNumbersThatAreNoWholeInt() throws {
        let curves = try TrainingCurves(jsonLines: #"{"kind":"epoch","epoch":1,"val_accuracy":0.5,"crop_size":1e30}"# + "\n"
            + #"{"kind":"epoch","epoch":2,"val_accuracy":0.5,"crop_size":24.5}"# + "\n" + #"{"kind":"step","step":1e300,"lr":0.1}"# + "\n"
            + #"{"kind":"test","final_accuracy":0.5,"best_epoch":-1e30}"#)
        #expect(curves.epochs.map(\.cropSize) == [nil, nil] && curves.learningRates.isEmpty && curves.bestEpoch == nil)
        #expect(throws: TrainingCurves.ReadError(path: "m.jsonl", line: 1, message: "an epoch line without a whole-number \"epoch\"")) {
            try TrainingCurves(jsonLines: #"{"kind":"epoch","epoch":1e30}"#, path: "m.jsonl")
        }
    }
}
