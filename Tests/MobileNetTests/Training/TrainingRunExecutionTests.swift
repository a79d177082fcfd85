import Foundation
import Testing
@testable import MobileNet

/// A whole run through the library's request → setup → execute, as `train` drives it: the
/// events the caller prints and the metrics file `plot` reads say the same thing.
@Suite struct TrainingRunExecutionTests {
    @Test func aRunWritesTheMetricsItReportsAndAResumeOfACompleteRunTrainsNothing() throws {
        try CIFARFixture.withFolder { folder in
            CIFARFixture.writeCIFAR10(in: folder, trainCounts: [4, 4, 4, 2, 2], testCount: 4)
            let metricsPath = folder + "/m.jsonl"
            let request = TrainingRunRequest(
                overrides: [.set(\.epochs, 2), .set(\.batchSize, 6), .set(\.widthMultiplier, 0.125), .set(\.validationSplit, 4),
                            .set(\.testTimeAugmentation, .flip)].compactMap { $0 },
                dataPath: folder, metricsPath: metricsPath, checkpointDirectory: folder + "/ck")
            try request.validate()
            let setup = try TrainingRunSetup(request)
            try setup.prepareCheckpointDirectory()
            #expect(setup.train.count == 12 && setup.validation?.count == 4 && setup.options.numClasses == 10)
            var steps: [StepProgress] = [], epochs: [TrainingRunEvent.EpochReport] = [], tests: [TrainingRun.TestResult] = []
            let ending = try setup.execute(metrics: try MetricsLog(path: metricsPath), shouldStop: { false }) { event in
                switch event {
                case .step(let progress): steps.append(progress)
                case .epoch(let report): epochs.append(report)
                case .test(let result): tests.append(result)
                }
            }
            #expect(ending == .completed)
            #expect(steps.map(\.globalStep) == [1, 2, 3, 4], "12 images in batches of 6, 2 epochs")
            #expect(epochs.map(\.end.summary.epoch) == [0, 1] && epochs.allSatisfy { $0.cropSize == 32 && $0.collectives == nil })
            let test = try #require(tests.first)
            #expect(tests.count == 1 && test.final.count == 4)

            // The file holds the options line, one line per reported epoch and the test line, nothing else (fewer than 100 steps).
            let text = try String(contentsOfFile: metricsPath, encoding: .utf8)
            let lines = try text.split(separator: "\n").map { try MetricsLine(jsonText: $0) }
            #expect(lines == [.options(setup.options)] + epochs.map { .epoch(MetricsLine.Epoch($0)) }
                    + [.test(MetricsLine.Test(test, testTimeAugmentation: .flip))])
            // The options line's object, given to --config, resolves to the run's options.
            #expect(try Self.optionsRepeated(fromLine: String(text.split(separator: "\n")[0]), in: folder) == setup.options)
            let curves = try TrainingCurves(contentsOfFile: metricsPath)
            #expect(curves.epochs.map(\.validationAccuracy) == epochs.map { $0.end.summary.validation?.accuracy })
            #expect(curves.epochs.map(\.trainLoss) == epochs.map { $0.end.summary.trainLoss })
            #expect(curves.finalTestAccuracy == test.final.top1Accuracy && curves.testTimeAugmentation == "flip")
            #expect(curves.bestEpoch == test.best?.epochsCompleted)

            // Resuming the finished run: no training, and the metrics file left as it was (no resume line).
            let before = try Data(contentsOf: URL(fileURLWithPath: metricsPath))
            let resumed = try TrainingRunSetup(TrainingRunRequest(resumeFrom: folder + "/ck"))
            #expect(resumed.options == setup.options && resumed.metricsPath == metricsPath)
            #expect(resumed.run.isComplete && resumed.checkpoint?.epoch == 2)
            var events = 0
            #expect(try resumed.execute(metrics: try MetricsLog(path: metricsPath), shouldStop: { false }) { _ in events += 1 } == .alreadyComplete)
            #expect(events == 0)
            #expect(try Data(contentsOf: URL(fileURLWithPath: metricsPath)) == before)
        }
    }

    /// A file where the checkpoint folder or one of its parents must go stops the run before
    /// its first step, naming the flag and the file, and leaves the file as it was.
    @Test func aFileOnTheCheckpointFoldersPathStopsTheRunAtSetup() throws {
        try CIFARFixture.withFolder { folder in
            CIFARFixture.writeCIFAR10(in: folder, trainCounts: [4, 4, 4, 2, 2], testCount: 4)
            let notes = folder + "/notes.txt"
            try Data("keep".utf8).write(to: URL(fileURLWithPath: notes))
            let cases = [(notes + "/runs/ck", "--checkpoint-dir \(notes)/runs/ck: \(notes) is a file, not a folder"),
                         (notes, "--checkpoint-dir \(notes) is a file, not a folder"),
                         (notes + "/", "--checkpoint-dir \(notes) is a file, not a folder")]
            for (path, expected) in cases {
                let request = TrainingRunRequest(overrides: [.set(\.epochs, 1), .set(\.widthMultiplier, 0.125)].compactMap { $0 },
                                                 dataPath: folder, checkpointDirectory: path)
                let setup = try TrainingRunSetup(request)
                #expect(throws: TrainingRunSetupError.cannotRun(expected + ". Choose a folder path; nothing was moved or overwritten.")) {
                    try setup.prepareCheckpointDirectory()
                }
            }
            #expect(try String(contentsOfFile: notes, encoding: .utf8) == "keep")
        }
    }

    /// The `options` object of an options line, written to a file and read as `--config`
    /// over the defaults.
    static func optionsRepeated(fromLine line: String, in folder: String) throws -> TrainingOptions {
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["kind"] as? String == "options")
        let options = try #require(object["options"])
        let path = folder + "/from-metrics.json"
        try JSONSerialization.data(withJSONObject: options).write(to: URL(fileURLWithPath: path))
        return TrainingRunRequest(config: try RunConfigFile(path: path)).options(over: TrainingOptions())
    }

    /// A run stopped and resumed: each start of training writes the options line, the resume
    /// a resume line after it; both options lines are the run's options.
    @Test func everyStartOfTrainingWritesTheOptionsLine() throws {
        try CIFARFixture.withFolder { folder in
            CIFARFixture.writeCIFAR10(in: folder, trainCounts: [4, 4, 4, 2, 2], testCount: 4)
            let metricsPath = folder + "/m.jsonl"
            let request = TrainingRunRequest(
                recipe: .fast, overrides: [.set(\.epochs, 2), .set(\.batchSize, 6), .set(\.widthMultiplier, 0.125), .set(\.seed, 3)].compactMap { $0 },
                dataPath: folder, metricsPath: metricsPath, checkpointDirectory: folder + "/ck")
            let setup = try TrainingRunSetup(request)
            try setup.prepareCheckpointDirectory()
            #expect(setup.options.recipe == "fast" && setup.options.cropSchedule == CropSchedule(phases: [.init(size: 24, epochs: 1)]))
            let stopped = try setup.execute(metrics: try MetricsLog(path: metricsPath), shouldStop: { setup.run.session.globalStep >= 1 }) { _ in }
            guard case .stopped(let checkpoint?) = stopped else {
                Issue.record("expected a stop with a checkpoint, got \(stopped)")
                return
            }
            let resumed = try TrainingRunSetup(TrainingRunRequest(resumeFrom: folder + "/ck"))
            #expect(try resumed.execute(metrics: try MetricsLog(path: metricsPath), shouldStop: { false }) { _ in } == .completed)

            let texts = try String(contentsOfFile: metricsPath, encoding: .utf8).split(separator: "\n").map(String.init)
            let lines = try texts.map { try MetricsLine(jsonText: $0) }
            #expect(lines.map(\.kind) == ["options", "interrupted", "options", "resume", "epoch", "epoch"])
            #expect(lines[0] == .options(setup.options) && lines[2] == .options(setup.options))
            #expect(lines[3] == .resume(.init(from: checkpoint, epoch: 1, step: 1, globalStep: 1)))
            #expect(try Self.optionsRepeated(fromLine: texts[2], in: folder) == setup.options)
            #expect(try TrainingCurves(contentsOfFile: metricsPath).epochs.map(\.cropSize) == [24, 32])
        }
    }
}
