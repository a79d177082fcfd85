import Foundation
import Testing
@testable import MobileNet
@testable import Trainer

/// `evaluate` on image folders: the run's classes, image size and normalisation are read
/// from the checkpoint, so its figures are the run's own test figures.
@Suite struct ImageFolderEvaluateTests {
    static func evaluate(_ arguments: [String]) throws -> EvaluateCommand {
        try #require(try MobileNetTrain.parseAsRoot(["evaluate"] + arguments) as? EvaluateCommand)
    }

    /// The images `evaluate` would score for `arguments`, as the command resolves them.
    static func images(_ arguments: [String]) throws -> (EvaluateCommand.EvaluationImages, LoadedModel) {
        let command = try evaluate(arguments)
        let loaded = try LoadedModel(checkpoint: command.model.checkpoint, strict: true)
        let trainedOn = loaded.trainedOn(checkpoint: command.model.checkpoint)
        let held = command.split == .validation ? try command.heldOut(modelPath: loaded.path) : nil
        let path = command.dataPath(trainedOn: trainedOn)
        return (try command.folderImages(loaded, trainedOn: trainedOn, held: held, dataPath: path), loaded)
    }

    /// Without --data, a CIFAR run's recorded folder is used while it exists (else the
    /// default folder, as before the run recorded one); --data always wins.
    @Test func aCIFARRunsRecordedFolderIsUsedWhileItExists() throws {
        try CIFARFixture.withFolder { root in
            func recorded(_ path: String) -> CheckpointDataset {
                CheckpointDataset(name: "cifar10", coarseLabels: false, classNames: Dataset.cifar10ClassNames, trainImages: 10, dataPath: path)
            }
            let command = try Self.evaluate(["--checkpoint", root + "/model.safetensors"])
            #expect(command.dataPath(trainedOn: recorded(root)) == root)
            #expect(command.dataPath(trainedOn: recorded(root + "/gone")) == TrainCommand.defaultData)
            #expect(command.dataPath(trainedOn: nil) == TrainCommand.defaultData)
            let given = try Self.evaluate(["--checkpoint", root + "/model.safetensors", "--data", root + "/other"])
            #expect(given.dataPath(trainedOn: recorded(root)) == root + "/other")
        }
    }

    @Test func evaluateGivesTheRunsOwnTestFiguresWithoutRetypingAnything() throws {
        try CIFARFixture.withFolder { root in
            ImageFolderRunTests.writeFolder(root + "/data")
            let setup = try TrainingRunSetup(ImageFolderRunTests.request(root + "/data", checkpoints: root + "/ck"))
            try setup.prepareCheckpointDirectory()
            var lastTest: EvaluationResult?
            _ = try setup.execute(metrics: nil, shouldStop: { false }) { event in
                if case .epoch(let report) = event { lastTest = report.end.summary.test }
            }
            let runTest = try #require(lastTest)
            for checkpoint in [root + "/ck", root + "/ck/best.safetensors"] {
                let (evaluation, loaded) = try Self.images(["--checkpoint", checkpoint])
                #expect(evaluation.images == setup.test && evaluation.augmentation == setup.run.loop.testLoader?.configuration.augmentation)
                #expect(evaluation.line.contains("\(root)/data/val: 6 images at 16×16"))
                let loader = BatchLoader(dataset: evaluation.images, configuration: .evaluation(batchSize: 100, augmentation: evaluation.augmentation))
                let tally = EvaluationTally.evaluate(model: loaded.model, loader: loader)
                if checkpoint.hasSuffix("ck") {
                    #expect(tally.top1Accuracy == runTest.accuracy && abs(tally.loss - runTest.loss) < 1e-6, "\(checkpoint)")
                }
            }
            // The model file alone, copied away from its run, still says how to prepare images.
            try FileManager.default.copyItem(atPath: root + "/ck/best.safetensors", toPath: root + "/moved.safetensors")
            let (moved, _) = try Self.images(["--checkpoint", root + "/moved.safetensors"])
            #expect(moved.images == setup.test && moved.augmentation.mean == setup.data.mean)
        }
    }

    @Test func aFolderWithOtherClassesIsRefusedNamingBoth() throws {
        try CIFARFixture.withFolder { root in
            ImageFolderRunTests.writeFolder(root + "/data")
            _ = ImageFolderFixture.tree(root + "/other", classes: ["ant", "bee", "cat"], perClass: 1, side: 20)
            let setup = try TrainingRunSetup(ImageFolderRunTests.request(root + "/data", checkpoints: root + "/ck"))
            try setup.prepareCheckpointDirectory()
            try ImageFolderRunTests.execute(setup, stoppingAfter: 1)
            #expect {
                _ = try Self.images(["--checkpoint", root + "/ck", "--data", root + "/other"])
            } throws: { error in
                let text = "\(error)"
                return text.contains("\(root)/other has 3 classes (ant, bee, cat)") && text.contains("\(root)/ck/")
                    && text.contains("trained on 3 classes (ant, bee, cow)")
            }
        }
    }

    /// A run on one tree with --val-split: `evaluate --split validation` scores exactly the
    /// images the run held out (spread over the classes), read from the checkpoint.
    @Test func validationSplitOfATreeIsTheRunsHeldOutImages() throws {
        try CIFARFixture.withFolder { root in
            _ = ImageFolderFixture.tree(root + "/tree", classes: ["p", "q", "r"], perClass: 4, side: 16)
            let request = TrainingRunRequest(overrides: [.set(\.epochs, 1), .set(\.batchSize, 4), .set(\.widthMultiplier, 0.125),
                                                         .set(\.imageSize, 16), .set(\.validationSplit, 3)].compactMap { $0 },
                                             dataPath: root + "/tree", checkpointDirectory: root + "/ck")
            let setup = try TrainingRunSetup(request)
            try setup.prepareCheckpointDirectory()
            try ImageFolderRunTests.execute(setup)
            let (evaluation, _) = try Self.images(["--checkpoint", root + "/ck", "--split", "validation"])
            #expect(evaluation.images == setup.validation && evaluation.images.labels == [0, 1, 2])
            let (all, _) = try Self.images(["--checkpoint", root + "/ck"])
            #expect(all.images.count == 12 && all.line.contains("every image of \(root)/tree"))
            // Those 12 include the 9 the run trained on: the user is told, and told the way out.
            #expect(all.notes == ["note: every image of \(root)/tree includes the 9 images \(root)/ck trained on, so these figures are not a test of it; "
                                  + "--split validation scores the 3 it held out, or give --data a folder of other images."], "\(all.notes)")
            #expect(evaluation.notes.isEmpty)
        }
    }
}
