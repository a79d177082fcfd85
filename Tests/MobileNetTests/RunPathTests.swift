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
            let setup = try RunSetup(command: Self.command(["--data", data, "--metrics", metrics, "--epochs", "1",
                                                            "--batch-size", "4", "--width-multiplier", "0.03125"]))
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
