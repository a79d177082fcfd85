import Foundation
import Testing
@testable import MobileNet

/// A run interrupted, saved, and resumed into fresh objects ends with the same bits as a run
/// never interrupted: 24 images, batch 8 → 3 steps per epoch, 2 epochs, α = 0.25.
@Suite struct ExactResumeTests {
    /// The uninterrupted run's state after 4 steps (mid-epoch 1) and after all 6.
    static let reference: (afterFour: [String: [UInt64]], final: [String: [UInt64]]) = {
        let run = try! CheckpointFixture.run(options: CheckpointFixture.options(), train: CheckpointFixture.dataset(), directory: nil)
        var afterFour: [String: [UInt64]] = [:]
        let outcome = try! run.run(onStep: { progress in
            if progress.globalStep == 4 { afterFour = CheckpointFixture.state(run.session) }
        })
        precondition(outcome == .completed && run.session.globalStep == 6)
        return (afterFour, CheckpointFixture.state(run.session))
    }()

    /// Runs until `steps` steps in total, saves, and returns the checkpoint read back.
    func interrupted(after steps: Int, resumingFrom checkpoint: TrainingCheckpoint?, in folder: String) throws -> (TrainingRun, TrainingCheckpoint) {
        let run = try CheckpointFixture.run(options: CheckpointFixture.options(), train: CheckpointFixture.dataset(),
                                            directory: folder, modelSeed: checkpoint == nil ? nil : 1234)
        if let checkpoint { try run.resume(from: checkpoint) }
        let outcome = try run.run(shouldStop: CheckpointFixture.stop(after: steps, run))
        guard case .stopped(let saved?) = outcome else {
            Issue.record("expected a stop with a checkpoint, got \(outcome)")
            throw CheckpointError.notFound(path: folder)
        }
        return (run, try TrainingCheckpoint(folder: saved))
    }

    @Test func twoStepsSaveLoadTwoStepsEqualsFourStepsBitForBit() throws {
        try CIFARFixture.withFolder { folder in
            let (_, first) = try interrupted(after: 2, resumingFrom: nil, in: folder)
            #expect(first.epoch == 0 && first.step == 2 && first.globalStep == 2)
            // Steps 3 and 4 cross the epoch boundary (3 steps per epoch).
            let (second, checkpoint) = try interrupted(after: 4, resumingFrom: first, in: folder)
            #expect(checkpoint.epoch == 1 && checkpoint.step == 1 && checkpoint.globalStep == 4)
            CheckpointFixture.expectIdentical(CheckpointFixture.state(second.session), Self.reference.afterFour, "after 2 + 2 steps")

            let resumed = try CheckpointFixture.run(options: CheckpointFixture.options(), train: CheckpointFixture.dataset(),
                                                    directory: folder, modelSeed: 99)
            try resumed.resume(from: checkpoint)
            CheckpointFixture.expectIdentical(CheckpointFixture.state(resumed.session), Self.reference.afterFour, "loaded from disk")
            #expect(try resumed.run() == .completed)
            CheckpointFixture.expectIdentical(CheckpointFixture.state(resumed.session), Self.reference.final, "after all 6 steps")
        }
    }

    @Test func resumingAtAnEpochBoundaryEqualsTheUninterruptedRun() throws {
        try CIFARFixture.withFolder { folder in
            // A stop requested during the epoch's last step lets the epoch finish: saved at (1, 0).
            let (_, checkpoint) = try interrupted(after: 3, resumingFrom: nil, in: folder)
            #expect(checkpoint.epoch == 1 && checkpoint.step == 0 && checkpoint.globalStep == 3)
            let resumed = try CheckpointFixture.run(options: CheckpointFixture.options(), train: CheckpointFixture.dataset(),
                                                    directory: folder, modelSeed: 7)
            try resumed.resume(from: checkpoint)
            #expect(try resumed.run() == .completed)
            CheckpointFixture.expectIdentical(CheckpointFixture.state(resumed.session), Self.reference.final, "resumed at the epoch boundary")
            // The run saved after its last epoch: the newest checkpoint is the finished run.
            let last = try TrainingCheckpoint(folder: try CheckpointLocation.trainingFolder(for: folder))
            #expect(last.epoch == 2 && last.step == 0 && last.globalStep == 6)
        }
    }

    @Test func restoringIntoDataWithAnotherStepCountIsRefused() throws {
        try CIFARFixture.withFolder { folder in
            let (_, checkpoint) = try interrupted(after: 2, resumingFrom: nil, in: folder)
            // 32 images give 4 steps per epoch instead of 3: the schedule and order would differ.
            let other = try CheckpointFixture.run(options: CheckpointFixture.options(), train: CheckpointFixture.dataset(count: 32),
                                                  directory: nil, modelSeed: 3)
            let before = CheckpointFixture.state(other.session)
            #expect(throws: CheckpointError.stepsPerEpochMismatch(path: checkpoint.statePath, checkpoint: 3, data: 4)) {
                try other.resume(from: checkpoint)
            }
            CheckpointFixture.expectIdentical(CheckpointFixture.state(other.session), before, "a refused restore changes nothing")
        }
    }
}
