import ArgumentParser
import Foundation
import Testing
@testable import MobileNet
@testable import Trainer

/// Output refusals compare the paths the file system follows: a symbolic link (or a `..`
/// after one) to the data folder, a checkpoint folder or an output already named does not
/// get a file written there.
@Suite struct OutputPathTests {
    static func refusal(_ output: String, inputs: [(path: String, role: String)] = [], dataFolders: [String]) -> String? {
        do { try OutputPath(flag: "--output", path: output).check(inputs: inputs, dataFolders: dataFolders) } catch { return "\(error)" }
        return nil
    }

    static func link(_ path: String, to destination: String) throws {
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: destination)
    }

    /// The check every output flag shares (the trainer's and `mobilenet-bench compare`'s):
    /// a folder, a file in a missing folder or in a dangling link; a new file in a folder, or
    /// in a linked folder, can be tried.
    @Test func placeProblemNamesAFolderOrAMissingFolder() throws {
        try CIFARFixture.withFolder { folder in
            try FileManager.default.createDirectory(atPath: folder + "/out", withIntermediateDirectories: true)
            try Self.link(folder + "/dangling", to: folder + "/gone")
            try Self.link(folder + "/linked", to: folder + "/out")
            #expect(AtomicFile.placeProblem(for: folder + "/out") == "it is a folder; give a file name")
            #expect(AtomicFile.placeProblem(for: folder + "/linked") == "it is a folder; give a file name")
            #expect(AtomicFile.placeProblem(for: folder + "/missing/r.json") == "the folder \(folder)/missing does not exist; create it or give another path")
            #expect(AtomicFile.placeProblem(for: folder + "/dangling/r.json") == "the folder \(folder)/dangling does not exist; create it or give another path")
            #expect(AtomicFile.placeProblem(for: folder + "/out/r.json") == nil)
            #expect(AtomicFile.placeProblem(for: folder + "/linked/r.json") == nil)
            CIFARFixture.write(Array("x".utf8), to: folder + "/notes.txt")
            #expect(AtomicFile.placeProblem(for: folder + "/notes.txt/r.json") == "\(folder)/notes.txt is a file, not a folder; give another path")
        }
    }

    /// A file where a folder of the path should be is named, for --checkpoint-dir and
    /// --metrics as for outputs; nothing is created.
    @Test func aFileInTheWayOfAFolderIsNamed() throws {
        try CIFARFixture.withFolder { folder in
            CIFARFixture.write(Array("x".utf8), to: folder + "/notes.txt")
            #expect(ResolvedPath.fileInTheWay(of: folder + "/notes.txt/ck/step-1") == folder + "/notes.txt")
            #expect(ResolvedPath.fileInTheWay(of: folder + "/notes.txt") == folder + "/notes.txt")
            #expect(ResolvedPath.fileInTheWay(of: folder + "/missing/ck") == nil)
            #expect(ResolvedPath.fileInTheWay(of: folder) == nil)
            #expect(throws: FileWriteError.fileInTheWay(path: folder + "/notes.txt/ck", file: folder + "/notes.txt")) {
                try CheckpointDirectory(path: folder + "/notes.txt/ck").create()
            }
            #expect(throws: MetricsLog.Error.cannotOpen(path: folder + "/notes.txt/m.jsonl",
                                                     reason: "its folder \(folder)/notes.txt cannot be created (\(folder)/notes.txt is a file, not a folder)")) {
                _ = try MetricsLog(path: folder + "/notes.txt/m.jsonl")
            }
            #expect((try? FileManager.default.contentsOfDirectory(atPath: folder)) == ["notes.txt"])
        }
    }

    @Test func aDataFolderReachedThroughALinkIsRefused() throws {
        try CIFARFixture.withFolder { folder in
            let data = folder + "/cifar"
            try FileManager.default.createDirectory(atPath: data + "/batches", withIntermediateDirectories: true)
            try Self.link(folder + "/data", to: data)
            try Self.link(folder + "/batches", to: data + "/batches")
            // A new file through the link, the data folder recorded resolved or through the link.
            #expect(Self.refusal(folder + "/data/m.onnx", dataFolders: [data])?.contains("inside the data folder \(data)") == true)
            #expect(Self.refusal(data + "/m.onnx", dataFolders: [folder + "/data"])?.contains("inside the data folder") == true)
            #expect(Self.refusal(folder + "/data/m.onnx", dataFolders: [folder + "/data"])?.contains("inside the data folder") == true)
            // `..` after a link is the link's target's parent, as the kernel follows it.
            #expect(Self.refusal(folder + "/batches/../m.onnx", dataFolders: [data])?.contains("inside the data folder") == true)
            #expect(Self.refusal(folder + "/m.onnx", dataFolders: [folder + "/data"]) == nil)
        }
    }

    @Test func aCheckpointFolderOrAnInputReachedThroughALinkIsRefused() throws {
        try CIFARFixture.withFolder { folder in
            let step = folder + "/run/step-3"
            try FileManager.default.createDirectory(atPath: step + "/extra", withIntermediateDirectories: true)
            CIFARFixture.write(Array("x".utf8), to: step + "/" + TrainingCheckpoint.stateFileName)
            CIFARFixture.write(Array("x".utf8), to: folder + "/m.safetensors")
            try Self.link(folder + "/step", to: step)
            try Self.link(folder + "/extra", to: step + "/extra")
            try Self.link(folder + "/models", to: folder)
            #expect(Self.refusal(folder + "/step/model.onnx", dataFolders: [])?.contains("inside the training checkpoint folder \(step)") == true)
            #expect(Self.refusal(folder + "/extra/../model.onnx", dataFolders: [])?.contains("inside the training checkpoint folder \(step)") == true)
            #expect(CheckpointLocation.runFileOverwritten(by: folder + "/extra/../model.onnx")?.contains("could no longer be resumed") == true)
            let model = [(path: folder + "/m.safetensors", role: "the model")]
            #expect(Self.refusal(folder + "/models/m.safetensors", inputs: model, dataFolders: [])?.contains("is the model") == true)
        }
    }

    /// evaluate: --plot into a linked data folder, and --plot and --dump-logits naming one
    /// new file by two routes.
    @Test func evaluateRefusesLinkedRoutes() throws {
        try CIFARFixture.withFolder { folder in
            let data = folder + "/cifar"
            try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: folder + "/plots", withIntermediateDirectories: true)
            try Self.link(folder + "/data", to: data)
            try Self.link(folder + "/linked-plots", to: folder + "/plots")
            func refusal(_ arguments: [String]) throws -> String? {
                let command = try #require(try MobileNetTrain.parseAsRoot(["evaluate", "--checkpoint", folder + "/m.safetensors", "--data", data] + arguments) as? EvaluateCommand)
                do { try command.refuseOverwriting(inputs: [folder + "/m.safetensors"]) } catch { return "\(error)" }
                return nil
            }
            #expect(try refusal(["--plot", folder + "/data/c.svg"])?.contains("inside the data folder") == true)
            #expect(try refusal(["--plot", folder + "/plots/out.svg", "--dump-logits", folder + "/linked-plots/out.svg"])?.contains("same file") == true)
            #expect(try refusal(["--plot", folder + "/c.svg"]) == nil)
        }
    }
}
