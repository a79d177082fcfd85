import Foundation
import Testing
@testable import MobileNet

/// A run on an image folder records what later commands need (kind, classes, image size,
/// mean and std) and resumes with it exactly; older checkpoints read as CIFAR at 32.
@Suite struct ImageFolderRunTests {
    /// train/ with 3 classes × 4 PNGs of 20×20 and val/ with 3 × 2, trained at 16×16.
    static func writeFolder(_ root: String) {
        _ = ImageFolderFixture.tree(root, split: "train", classes: ["ant", "bee", "cow"], perClass: 4, side: 20)
        _ = ImageFolderFixture.tree(root, split: "val", classes: ["ant", "bee", "cow"], perClass: 2, side: 20, seed: 70)
    }

    static func request(_ root: String, checkpoints: String? = nil, resume: String? = nil,
                        extra: [TrainingOptions.Override?] = []) -> TrainingRunRequest {
        let flags: [TrainingOptions.Override?] = resume != nil ? extra : [
            .set(\.epochs, 2), .set(\.batchSize, 4), .set(\.widthMultiplier, 0.125), .set(\.imageSize, 16), .set(\.cropPadding, 2),
        ] + extra
        return TrainingRunRequest(overrides: flags.compactMap { $0 }, dataPath: resume == nil ? root : nil,
                                  checkpointDirectory: checkpoints, resumeFrom: resume)
    }

    /// Runs `setup` to the end, or stops it after `steps` steps.
    @discardableResult
    static func execute(_ setup: TrainingRunSetup, stoppingAfter steps: Int = .max) throws -> TrainingRunSetup.Ending {
        var taken = 0
        return try setup.execute(metrics: nil, shouldStop: { taken >= steps }) { event in
            if case .step = event { taken += 1 }
        }
    }

    @Test func checkpointRecordsTheDataAndResumesBitForBit() throws {
        try CIFARFixture.withFolder { root in
            Self.writeFolder(root + "/data")
            let whole = try TrainingRunSetup(Self.request(root + "/data"))
            #expect(whole.data.kind == "image-folder" && whole.train.count == 12 && whole.test?.count == 6 && whole.options.numClasses == 3)
            try Self.execute(whole)

            let interrupted = try TrainingRunSetup(Self.request(root + "/data", checkpoints: root + "/ck"))
            try interrupted.prepareCheckpointDirectory()
            #expect(try Self.execute(interrupted, stoppingAfter: 4) != .completed)
            let checkpoint = try TrainingCheckpoint(folder: root + "/ck/last")
            let statistics = try ImageFolderLoader(imageSide: 16).load(try ImageFolder.scan(root + "/data/train").samples, classNames: ["ant", "bee", "cow"]).1
            #expect(checkpoint.dataset == CheckpointDataset(
                name: "image-folder", coarseLabels: false, classNames: ["ant", "bee", "cow"], trainImages: 12,
                dataPath: CheckpointDataset.absolutePath(root + "/data"), imageSize: 16, mean: statistics.mean, std: statistics.std))

            let resumed = try TrainingRunSetup(Self.request(root + "/data", resume: root + "/ck"))
            #expect(resumed.data.mean == statistics.mean && resumed.options == whole.options)
            #expect(try Self.execute(resumed) == .completed)
            CheckpointFixture.expectIdentical(CheckpointFixture.state(resumed.run.session), CheckpointFixture.state(whole.run.session),
                                              "resumed against uninterrupted")
        }
    }

    /// `--checkpoint-dir` or `--metrics` inside the data folder, directly or through a
    /// symbolic link, is refused before anything is written: a checkpoint folder there would
    /// be read as a fourth class by evaluate and resume.
    @Test func checkpointsAndMetricsInsideTheDataFolderAreRefused() throws {
        try CIFARFixture.withFolder { root in
            Self.writeFolder(root + "/data")
            try FileManager.default.createSymbolicLink(atPath: root + "/link", withDestinationPath: root + "/data")
            let cases: [(TrainingRunRequest, String)] = [
                (Self.request(root + "/data", checkpoints: root + "/data/ck"), "--checkpoint-dir \(root)/data/ck is inside the data folder \(root)/data"),
                (Self.request(root + "/data", checkpoints: root + "/link/train/ck"), "--checkpoint-dir \(root)/link/train/ck is inside the data folder"),
                (Self.request(root + "/link", checkpoints: root + "/data"), "--checkpoint-dir \(root)/data is inside the data folder \(root)/link"),
                (TrainingRunRequest(overrides: [.set(\.epochs, 1)].compactMap { $0 }, dataPath: root + "/data", metricsPath: root + "/link/m.jsonl"),
                 "--metrics \(root)/link/m.jsonl is inside the data folder"),
            ]
            for (request, message) in cases {
                #expect {
                    _ = try TrainingRunSetup(request)
                } throws: { error in
                    guard case TrainingRunSetupError.cannotRun(let text) = error else { return false }
                    return text.hasPrefix(message)
                }
            }
            #expect(!FileManager.default.fileExists(atPath: root + "/data/ck") && !FileManager.default.fileExists(atPath: root + "/data/m.jsonl"))
            // Beside the data folder, not in it: accepted.
            _ = try TrainingRunSetup(Self.request(root + "/data", checkpoints: root + "/data-ck"))
        }
    }

    @Test func aResumeThatContradictsTheImagesIsRefused() throws {
        try CIFARFixture.withFolder { root in
            Self.writeFolder(root + "/data")
            let first = try TrainingRunSetup(Self.request(root + "/data", checkpoints: root + "/ck"))
            try first.prepareCheckpointDirectory()
            try Self.execute(first, stoppingAfter: 1)
            #expect {
                try TrainingRunSetup(Self.request(root + "/data", resume: root + "/ck", extra: [.set(\.imageSize, 24)]))
            } throws: { error in
                "\(error)".contains("--image-size") && "\(error)".contains("24") && "\(error)".contains("16")
            }
            // One training image replaced: same count and classes, other pixels.
            ImageFolderFixture.write([.init(path: "data/train/bee/1.png", width: 20, height: 20, seed: 999)], under: root)
            #expect {
                try TrainingRunSetup(Self.request(root + "/data", resume: root + "/ck"))
            } throws: { error in
                "\(error)".contains("--data") && "\(error)".contains("mean")
            }
        }
    }

    /// A checkpoint written before image folders: no kind-specific fields, read as CIFAR at
    /// 32 with the reference recipe's normalisation.
    @Test func olderCheckpointsMeanCIFARAt32() throws {
        let json = #"{"classNames":["a","b"],"coarseLabels":false,"name":"cifar10","trainImages":50000}"#
        let old = try JSONDecoder().decode(CheckpointDataset.self, from: Data(json.utf8))
        #expect(old.imageSize == nil && !old.isImageFolder && old.resolvedImageSize == 32)
        #expect(old.resolvedMean == [0.4914, 0.4822, 0.4465] && old.resolvedStd == [0.2023, 0.1994, 0.2010])
        #expect(old.evaluationAugmentation == AugmentationOptions.evaluation)
    }
}
