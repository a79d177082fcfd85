import Foundation
import Testing
@testable import MobileNet

/// A checkpoint saved mid-epoch carries the epoch's running sums, so the resumed epoch's
/// train loss and accuracy equal those of the uninterrupted epoch, bit for bit.
@Suite struct EpochTallyResumeTests {
    @Test func resumedEpochReportsTheWholeEpochsFigures() throws {
        // Uninterrupted: one epoch of 3 steps (24 images, batch 8).
        let options = CheckpointFixture.options(epochs: 1)
        let whole = try CheckpointFixture.run(options: options, train: CheckpointFixture.dataset(), directory: nil)
        var reference: EpochSummary?
        _ = try whole.run(onEpoch: { reference = $0.summary })
        let expected = try #require(reference)
        try CIFARFixture.withFolder { folder in
            let first = try CheckpointFixture.run(options: options, train: CheckpointFixture.dataset(), directory: folder)
            guard case .stopped(let saved?) = try first.run(shouldStop: CheckpointFixture.stop(after: 1, first)) else {
                Issue.record("expected a stop with a checkpoint")
                return
            }
            let checkpoint = try TrainingCheckpoint(folder: saved)
            let tally = try #require(checkpoint.epochTally)
            #expect(tally.steps == 1 && tally.images == 8)
            let second = try CheckpointFixture.run(options: options, train: CheckpointFixture.dataset(), directory: folder, modelSeed: 99)
            try second.resume(from: checkpoint)
            var resumed: EpochSummary?
            _ = try second.run(onEpoch: { resumed = $0.summary })
            let summary = try #require(resumed)
            #expect(summary.firstStep == 0)
            #expect(summary.trainLoss.bitPattern == expected.trainLoss.bitPattern)
            #expect(summary.trainAccuracy == expected.trainAccuracy)
        }
    }

    /// A carried tally that does not count the steps before startStep is not used: the figures
    /// then cover the steps after the resume, and firstStep says so.
    @Test func aTallyThatDisagreesWithTheStepIsIgnoredByTheLoop() throws {
        let options = CheckpointFixture.options(epochs: 1)
        let run = try CheckpointFixture.run(options: options, train: CheckpointFixture.dataset(), directory: nil)
        let (summary, completed) = try run.loop.runEpoch(0, startStep: 1, carried: EpochTally(steps: 2, images: 16, correct: 3, lossSum: 30))
        #expect(completed)
        #expect(summary.firstStep == 1)
    }
}
