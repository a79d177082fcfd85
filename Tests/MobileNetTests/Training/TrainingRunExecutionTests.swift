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

            // The file holds one line per reported epoch and the test line, nothing else (fewer than 100 steps).
            let lines = try String(contentsOfFile: metricsPath, encoding: .utf8).split(separator: "\n").map { try MetricsLine(jsonText: $0) }
            #expect(lines == epochs.map { .epoch(MetricsLine.Epoch($0)) } + [.test(MetricsLine.Test(test, testTimeAugmentation: .flip))])
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
}
