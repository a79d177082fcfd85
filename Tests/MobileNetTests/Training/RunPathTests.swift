import Foundation
import Testing
@testable import MobileNet
@testable import Trainer

/// A checkpoint records its run's --data and --metrics as absolute paths, so `--resume`
/// works from any working directory.
@Suite struct RunPathTests {
    /// `path` (absolute) written relative to the current directory, without changing it.
    static func relativeToCurrentDirectory(_ path: String) -> String {
        let here = FileManager.default.currentDirectoryPath.split(separator: "/")
        return String(repeating: "../", count: here.count) + path.drop { $0 == "/" }
    }

    static func command(_ arguments: [String]) throws -> TrainCommand {
        try #require(try MobileNetTrain.parseAsRoot(["train"] + arguments) as? TrainCommand)
    }

    @Test func relativeDataAndMetricsAreRecordedAbsolute() throws {
        try CIFARFixture.withFolder { folder in
            try FileManager.default.createDirectory(atPath: folder + "/cifar", withIntermediateDirectories: true)
            CIFARFixture.writeCIFAR10(in: folder + "/cifar")
            let data = Self.relativeToCurrentDirectory(folder + "/cifar")
            let metrics = Self.relativeToCurrentDirectory(folder + "/m.jsonl")
            #expect(!data.hasPrefix("/") && FileManager.default.fileExists(atPath: data + "/data_batch_1.bin"))
            let setup = try TrainCommand.setUp(Self.command(["--data", data, "--metrics", metrics, "--epochs", "1",
                                                                 "--batch-size", "4", "--width-multiplier", "0.03125"]).request)
            #expect(setup.run.dataset.dataPath == (folder as NSString).standardizingPath + "/cifar")
            #expect(setup.run.dataset.metricsPath == (folder as NSString).standardizingPath + "/m.jsonl")
        }
    }

    /// A checkpoint written before paths were absolute, resumed from another folder.
    @Test func anOldRelativeDataPathThatIsNotHereIsNamed() {
        var recorded = CheckpointDataset(name: "cifar10", coarseLabels: false, classNames: [], trainImages: 1, dataPath: "no/such/cifar")
        #expect(recorded.unreachableRelativeDataPath == "no/such/cifar")
        recorded.dataPath = "/no/such/cifar"
        #expect(recorded.unreachableRelativeDataPath == nil)
        #expect(CheckpointDataset.absolutePath("/a/./b/../c") == "/a/c")
        #expect(CheckpointDataset.absolutePath("x/y") == FileManager.default.currentDirectoryPath + "/x/y")
    }
}

/// A metrics file belongs to one run: a fresh run, or another run's resume, is refused it.
@Suite struct MetricsOwnershipTests {
    @Test func anotherRunsMetricsFileIsRefusedUnlessResumingIt() throws {
        try CIFARFixture.withFolder { folder in
            try FileManager.default.createDirectory(atPath: folder + "/cifar", withIntermediateDirectories: true)
            CIFARFixture.writeCIFAR10(in: folder + "/cifar")
            let metrics = folder + "/m.jsonl"
            let base = ["--data", folder + "/cifar", "--epochs", "1", "--batch-size", "4", "--width-multiplier", "0.03125", "--metrics", metrics]
            // Missing or empty: fine.
            _ = try TrainCommand.setUp(RunPathTests.command(base).request)
            FileManager.default.createFile(atPath: metrics, contents: Data())
            _ = try TrainCommand.setUp(RunPathTests.command(base).request)
            try Data("{\"kind\":\"epoch\",\"epoch\":1}\n{\"kind\":\"epoch\",\"epoch\":2}\n".utf8).write(to: URL(fileURLWithPath: metrics))
            #expect(throws: MetricsLog.Error.holdsAnotherRun(path: metrics, lines: 2)) { try TrainCommand.setUp(RunPathTests.command(base).request) }
            #expect(MetricsLog.Error.holdsAnotherRun(path: metrics, lines: 2).description.contains("--resume"))
            // The run that wrote it (its checkpoint records the file) may append.
            #expect(throws: Never.self) { try MetricsLog.checkBelongs(path: metrics, toRunWritingTo: metrics) }
            #expect(throws: MetricsLog.Error.self) { try MetricsLog.checkBelongs(path: metrics, toRunWritingTo: folder + "/other.jsonl") }
        }
    }
}

/// export --output never replaces a file of a training run.
@Suite struct ExportGuardTests {
    @Test func outputInsideACheckpointFolderOrTheRunsBestModelIsRefused() throws {
        try CIFARFixture.withFolder { folder in
            let run = folder + "/run", step = run + "/step-3"
            try FileManager.default.createDirectory(atPath: step, withIntermediateDirectories: true)
            for name in [TrainingCheckpoint.modelFileName, TrainingCheckpoint.stateFileName] {
                FileManager.default.createFile(atPath: step + "/" + name, contents: Data("x".utf8))
            }
            try FileManager.default.createSymbolicLink(atPath: run + "/last", withDestinationPath: "step-3")
            FileManager.default.createFile(atPath: run + "/best.safetensors", contents: Data("x".utf8))
            for output in [step + "/training_state.safetensors", run + "/last/model.safetensors", step + "/other.safetensors", run + "/best.safetensors"] {
                #expect(throws: CommandFailure.self, "\(output)") { try OutputPath(flag: "--output", path: output).check(inputs: [], dataFolders: []) }
            }
            #expect(CheckpointLocation.runFileOverwritten(by: step + "/training_state.safetensors")?.contains("could no longer be resumed") == true)
            let fine = try #require(try MobileNetTrain.parseAsRoot(["export", "--checkpoint", step, "--output", folder + "/exported.safetensors"]) as? ExportCommand)
            #expect(throws: Never.self) { try fine.refuseOverwriting(input: step + "/model.safetensors") }
            let itself = try #require(try MobileNetTrain.parseAsRoot(["export", "--checkpoint", folder + "/m.safetensors", "--output", folder + "/./m.safetensors"]) as? ExportCommand)
            #expect(throws: CommandFailure.self) { try itself.refuseOverwriting(input: folder + "/m.safetensors") }
        }
    }
}
