import Foundation
import Testing
@testable import MobileNet

/// The metrics file's lines as typed values: what `train` writes (``MetricsLog``) reads
/// back equal, through `plot`'s reader (``TrainingCurves``) too, and the files of earlier
/// versions (a run's metrics.jsonl kept as a fixture) still parse, every field kept.
@Suite struct MetricsLineTests {
    /// Options far from the defaults: every kind of value an options line holds (lists of
    /// strings and floats, a crop schedule, enums, an optional limit).
    static var runOptions: TrainingOptions {
        var options = Recipe.fast.options
        (options.epochs, options.batchSize, options.maxLearningRate, options.seed) = (21, 64, 0.15, 7)
        (options.mean, options.std) = ([0.5, 0.25, 0.125], [0.2023, 0.1994, 0.201])
        (options.noWeightDecayKinds, options.limitTrain, options.validationSplit) = (["depthwiseWeight", "bias"], 5000, 500)
        (options.testTimeAugmentation, options.emaDecay, options.schedule, options.flipMode) = (.flipShift, 0.999, .linear, .alternate)
        return options
    }

    /// Lines with every field set, as `train` writes them.
    static var fullLines: [MetricsLine] {
        var epoch = MetricsLine.Epoch(epoch: 3)
        (epoch.trainLoss, epoch.trainAccuracy, epoch.testLoss, epoch.testAccuracy) = (1.25, 0.5, 1.5, 0.375)
        (epoch.validationLoss, epoch.validationAccuracy) = (1.75, 0.25)
        (epoch.epochSeconds, epoch.trainSeconds, epoch.testSeconds, epoch.imagesPerSecond) = (12.5, 10, 2.5, 400)
        (epoch.trainFromStep, epoch.cropSize, epoch.checkpoint) = (7, 24, "runs/a/step-00000300")
        (epoch.ranks, epoch.collectiveSeconds, epoch.gradientAllreduceSeconds) = (2, 1.5, 1.25)
        var test = MetricsLine.Test()
        (test.finalLoss, test.finalAccuracy, test.finalTop5Accuracy, test.images) = (0.5, 0.875, 0.99, 10_000)
        (test.bestEpoch, test.bestLoss, test.bestAccuracy, test.bestTop5Accuracy) = (2, 0.45, 0.88, 0.995)
        test.testTimeAugmentation = "flip"
        return [
            .step(.init(epoch: 1, step: 100, loss: 2.125, learningRate: 0.004, momentum: 0.95)),
            .epoch(epoch), .test(test),
            .resume(.init(from: "runs/a/step-00000200", epoch: 2, step: 3, globalStep: 203)),
            .interrupted(.init(epoch: 2, step: 9, globalStep: 209, checkpoint: "")),
            .options(runOptions),
        ]
    }

    @Test func everyKindRoundTripsThroughItsJSONText() throws {
        for line in Self.fullLines {
            let text = try line.jsonText()
            #expect(!text.contains("\n"))
            #expect(try MetricsLine(jsonText: text) == line, "\(text)")
        }
    }

    /// The file format: field names spelled out here as the files on disk have them.
    @Test func theFieldNamesAreTheFileFormat() throws {
        let texts = try Self.fullLines.map { try $0.jsonText() }
        #expect(texts[0] == #"{"epoch":1,"kind":"step","loss":2.125,"lr":0.004,"momentum":0.95,"step":100}"#)
        let epochKeys = try #require(try JSONSerialization.jsonObject(with: Data(texts[1].utf8)) as? [String: Any]).keys.sorted()
        #expect(epochKeys == ["checkpoint", "collective_seconds", "crop_size", "epoch", "epoch_seconds", "gradient_allreduce_seconds",
                              "images_per_second", "kind", "ranks", "test_accuracy", "test_loss", "test_seconds", "train_accuracy",
                              "train_from_step", "train_loss", "train_seconds", "val_accuracy", "val_loss"])
        #expect(texts[2].contains(#""tta":"flip""#) && texts[2].contains(#""best_top5_accuracy":0.995"#))
        #expect(texts[3] == #"{"epoch":2,"from":"runs/a/step-00000200","global_step":203,"kind":"resume","step":3}"#)
        // The options line holds, in `options`, the object options.json holds.
        let options = try #require(try JSONSerialization.jsonObject(with: Data(texts[5].utf8)) as? [String: Any])
        #expect(options.keys.sorted() == ["kind", "options"] && options["kind"] as? String == "options")
        let optionsJSON = try JSONSerialization.jsonObject(with: Data(TrainingCheckpoint.jsonText(Self.runOptions).utf8))
        #expect((options["options"] as? NSDictionary) == (optionsJSON as? NSDictionary))
        // Fields a line does not have are left out, not written as null.
        #expect(try MetricsLine.epoch(.init(epoch: 1)).jsonText() == #"{"epoch":1,"kind":"epoch"}"#)
    }

    /// A non-finite loss is written (as a string JSON allows) and read back, not dropped.
    @Test func nonFiniteNumbersAreKept() throws {
        let line = MetricsLine.step(.init(epoch: 1, step: 100, loss: .infinity, learningRate: 0.1, momentum: 0.9))
        let text = try line.jsonText()
        #expect(text.contains(#""loss":"inf""#))
        #expect(try MetricsLine(jsonText: text) == line)
    }

    @Test func unknownKindsAreKeptAndNonObjectsRefused() throws {
        #expect(try MetricsLine(jsonText: #"{"kind":"note","text":"x"}"#) == .other(kind: "note"))
        #expect(throws: DecodingError.self) { try MetricsLine(jsonText: "[1, 2]") }
        #expect(throws: MetricsLine.MalformedLine(kind: "epoch", message: "an epoch line without a whole-number \"epoch\"")) {
            try MetricsLine(jsonText: #"{"kind":"epoch","train_loss":1}"#)
        }
        #expect(throws: MetricsLine.MalformedLine(kind: "options", message: "a line without its \"options\" field")) {
            try MetricsLine(jsonText: #"{"kind":"options","epochs":3}"#)
        }
        #expect(throws: MetricsLine.MalformedLine(kind: "step", message: "a line without its \"loss\" field")) {
            try MetricsLine(jsonText: #"{"kind":"step","epoch":1,"step":100,"lr":0.1,"momentum":0.9}"#)
        }
    }

    /// What MetricsLog writes, TrainingCurves reads: the file on disk, appended line by line.
    @Test func theLogWritesWhatPlotReads() throws {
        let folder = NSTemporaryDirectory() + "metrics-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/m.jsonl"
        do {
            let log = try MetricsLog(path: path)
            for line in Self.fullLines { log.write(line) }
        }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let read = try text.split(separator: "\n").map { try MetricsLine(jsonText: $0) }
        #expect(read == Self.fullLines)
        let curves = try TrainingCurves(contentsOfFile: path)
        #expect(curves.epochs.count == 1 && curves.epochs[0].epoch == 3 && curves.epochs[0].cropSize == 24)
        #expect(curves.epochs[0].validationAccuracy == 0.25 && curves.epochs[0].testAccuracy == 0.375)
        #expect(curves.learningRates == [.init(step: 100, learningRate: 0.004)])
        #expect(curves.finalTestAccuracy == 0.875 && curves.bestTestAccuracy == 0.88 && curves.bestEpoch == 2)
        #expect(curves.testTimeAugmentation == "flip")
    }

    /// A run's metrics file written by an earlier version (the fast recipe over 42 epochs,
    /// Fixtures/metrics/fast42.jsonl): every line parses, and re-encoding it gives back the
    /// same JSON object, so no field is lost or renamed. The figures checked were read from
    /// the file with Python's json module.
    @Test func aMetricsFileOfAnEarlierVersionParsesWithEveryField() throws {
        let text = try String(contentsOf: Fixtures.url("metrics/fast42.jsonl"), encoding: .utf8)
        let lines = text.split(separator: "\n")
        #expect(lines.count == 190)
        var kinds: [String: Int] = [:]
        for raw in lines {
            let line = try MetricsLine(jsonText: raw)
            kinds[line.kind ?? "", default: 0] += 1
            let original = try #require(try JSONSerialization.jsonObject(with: Data(raw.utf8)) as? NSDictionary)
            let again = try #require(try JSONSerialization.jsonObject(with: Data(line.jsonText().utf8)) as? NSDictionary)
            #expect(again == original, "\(raw)")
        }
        #expect(kinds == ["step": 147, "epoch": 42, "test": 1])
        let curves = try TrainingCurves(jsonLines: text)
        #expect(curves.epochs.map(\.epoch) == Array(1...42))
        #expect(curves.epochs[41].validationAccuracy == 0.8798 && curves.epochs[41].trainLoss == 0.18308825034035578)
        #expect(curves.learningRates.count == 147 && curves.learningRates.first?.step == 100 && curves.learningRates.last?.step == 14700)
        #expect(curves.learningRates.first?.learningRate == 0.004118024661485337)
        #expect(curves.finalTestAccuracy == 0.8794 && curves.bestEpoch == 42 && curves.testTimeAugmentation == "flip")
    }
}
