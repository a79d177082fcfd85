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

/// No output flag (export, evaluate --plot/--dump-logits, predict --output, plot --output:
/// all check through ``OutputPath``) replaces a run's best model, its options file or a
/// metrics log; `train --metrics` may not land on a file of its own --checkpoint-dir.
@Suite struct RunFilesGuardTests {
    /// DIR/step-3 (model, state), DIR/last → step-3, DIR/best.safetensors, DIR/options.json,
    /// and a metrics log beside DIR whose first line is an options line.
    static func makeRun(in folder: String) throws -> (run: String, metrics: String) {
        let run = folder + "/run", step = run + "/step-3"
        try FileManager.default.createDirectory(atPath: step, withIntermediateDirectories: true)
        for name in [TrainingCheckpoint.modelFileName, TrainingCheckpoint.stateFileName] {
            FileManager.default.createFile(atPath: step + "/" + name, contents: Data("x".utf8))
        }
        try FileManager.default.createSymbolicLink(atPath: run + "/last", withDestinationPath: "step-3")
        for name in [CheckpointDirectory.bestFileName, RunConfigFile.fileName] {
            FileManager.default.createFile(atPath: run + "/" + name, contents: Data("keep".utf8))
        }
        let metrics = folder + "/m.jsonl"
        let lines = [try MetricsLine.options(TrainingOptions()).jsonText(), #"{"kind":"epoch","epoch":1}"#]
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: metrics))
        return (run, metrics)
    }

    @Test func aRunsBestModelOptionsFileAndMetricsLogAreRefused() throws {
        try CIFARFixture.withFolder { folder in
            let (run, metrics) = try Self.makeRun(in: folder)
            let refused = [(run + "/best.safetensors", "is the best model of the run"),
                           (run + "/options.json", "is the options file of the run"),
                           (metrics, "is a training run's metrics log")]
            for (output, reason) in refused {
                #expect(OutputPathTests.refusal(output, dataFolders: [])?.contains(reason) == true, "\(output)")
                let plot = try #require(try MobileNetTrain.parseAsRoot(["plot", "--metrics", folder + "/other.jsonl", "--output", output]) as? PlotCommand)
                #expect(throws: CommandFailure.self, "plot --output \(output)") { try plot.checkOutput() }
                let evaluate = try #require(try MobileNetTrain.parseAsRoot(["evaluate", "--checkpoint", folder + "/m.safetensors", "--data", folder,
                                                                           "--dump-logits", output]) as? EvaluateCommand)
                #expect(throws: CommandFailure.self, "evaluate --dump-logits \(output)") { try evaluate.refuseOverwriting(inputs: [folder + "/m.safetensors"]) }
            }
            // A file that is not a metrics log (a report, a JSON object of another kind) may be replaced.
            try Data(#"{"predictions":[]}"#.utf8 + [10]).write(to: URL(fileURLWithPath: folder + "/report.json"))
            #expect(OutputPathTests.refusal(folder + "/report.json", dataFolders: []) == nil)
            #expect(OutputPathTests.refusal(run + "/notes.txt", dataFolders: []) == nil)
            #expect(try String(contentsOfFile: run + "/best.safetensors", encoding: .utf8) == "keep")
        }
    }

    @Test func trainMetricsOnAFileOfItsCheckpointFolderIsRefusedAtSetup() throws {
        try CIFARFixture.withFolder { folder in
            let ck = folder + "/ck"
            let cases = [(ck + "/best.safetensors", "the run's best model (best.safetensors)"),
                         (ck + "/options.json", "the run's options file (options.json)"),
                         (ck + "/last/m.jsonl", "the link to the run's newest checkpoint (last)"),
                         (ck + "/step-00000001/m.jsonl", "inside the checkpoint folder step-00000001"),
                         (ck, "the checkpoint folder itself")]
            for (metrics, entry) in cases {
                #expect(CheckpointLocation.runEntry(at: metrics, in: CheckpointDirectory(path: ck)) == entry, "\(metrics)")
            }
            #expect(CheckpointLocation.runEntry(at: ck + "/metrics.jsonl", in: CheckpointDirectory(path: ck)) == nil)
            #expect(CheckpointLocation.runEntry(at: folder + "/ck2/best.safetensors", in: CheckpointDirectory(path: ck)) == nil)

            CIFARFixture.writeCIFAR10(in: folder, trainCounts: [4, 4, 4, 2, 2], testCount: 4)
            let request = TrainingRunRequest(overrides: [.set(\.epochs, 1), .set(\.widthMultiplier, 0.125)].compactMap { $0 },
                                             dataPath: folder, metricsPath: ck + "/options.json", checkpointDirectory: ck)
            let setup = try TrainingRunSetup(request)
            #expect(throws: TrainingRunSetupError.cannotRun("--metrics \(ck)/options.json is the run's options file (options.json) in --checkpoint-dir \(ck), which train writes and replaces; give another file, e.g. \(ck)/metrics.jsonl. Nothing was written.")) {
                try setup.prepareCheckpointDirectory()
            }
            #expect(!FileManager.default.fileExists(atPath: ck))
        }
    }

    /// `--resume A --checkpoint-dir B` where B holds another run is refused before a step;
    /// into A's own folder, or a new one, it goes ahead.
    @Test func aResumedRunDoesNotSaveIntoAnotherRunsFolder() throws {
        try CIFARFixture.withFolder { folder in
            CIFARFixture.writeCIFAR10(in: folder, trainCounts: [4, 4, 4, 2, 2], testCount: 4)
            for name in ["a", "b"] {
                let request = TrainingRunRequest(overrides: [.set(\.epochs, 1), .set(\.batchSize, 6), .set(\.widthMultiplier, 0.125)].compactMap { $0 },
                                                 dataPath: folder, checkpointDirectory: folder + "/" + name)
                let setup = try TrainingRunSetup(request)
                try setup.prepareCheckpointDirectory()
                _ = try setup.execute(metrics: nil, shouldStop: { false }) { _ in }
            }
            let bBest = try Data(contentsOf: URL(fileURLWithPath: folder + "/b/best.safetensors"))
            let bLast = try #require(CheckpointDirectory(path: folder + "/b").lastFolder)
            let into = { (directory: String) in try TrainingRunSetup(TrainingRunRequest(checkpointDirectory: directory, resumeFrom: folder + "/a")) }
            do {
                try into(folder + "/b").prepareCheckpointDirectory()
                Issue.record("--resume a --checkpoint-dir b was accepted")
            } catch {
                #expect("\(error)".hasPrefix("--checkpoint-dir \(folder)/b already holds another run's checkpoints, and --resume \(folder)/a"), "\(error)")
            }
            #expect(throws: Never.self) { try into(folder + "/a").prepareCheckpointDirectory() }
            #expect(throws: Never.self) { try into(folder + "/c").prepareCheckpointDirectory() }
            #expect(try Data(contentsOf: URL(fileURLWithPath: folder + "/b/best.safetensors")) == bBest)
            #expect(CheckpointDirectory(path: folder + "/b").lastFolder == bLast)
        }
    }

    /// A folder another process trains into (it holds DIR/.lock, here util-linux's `flock`
    /// standing in for it) is refused at setup, naming that process; once it ends, the run
    /// goes ahead, and a second setup in this process does not lock itself out.
    @Test func aFolderAnotherProcessTrainsIntoIsRefused() throws {
        try CIFARFixture.withFolder { folder in
            CIFARFixture.writeCIFAR10(in: folder, trainCounts: [4, 4, 4, 2, 2], testCount: 4)
            let ck = folder + "/ck"
            try FileManager.default.createDirectory(atPath: ck, withIntermediateDirectories: true)
            let holder = Process()
            holder.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
            holder.arguments = ["-x", ck + "/.lock", "-c", "echo 4242 > \(ck)/.lock; sleep 60"]
            try holder.run()
            defer { if holder.isRunning { holder.terminate() } }
            // Until the holder has written its id, the lock may not be taken yet.
            for _ in 0..<200 where (try? String(contentsOfFile: ck + "/.lock", encoding: .utf8)) != "4242\n" { usleep(10_000) }
            let setup = { try TrainingRunSetup(TrainingRunRequest(overrides: [.set(\.epochs, 1), .set(\.widthMultiplier, 0.125)].compactMap { $0 },
                                                                  dataPath: folder, checkpointDirectory: ck)) }
            #expect(throws: TrainingRunSetupError.cannotRun("--checkpoint-dir \(ck) is in use by another train process (pid 4242): two runs saving into one folder would delete each other's checkpoints. Wait for it to end, or choose another folder; nothing was overwritten.")) {
                try setup().prepareCheckpointDirectory()
            }
            holder.terminate()
            holder.waitUntilExit()
            #expect(throws: Never.self) { try setup().prepareCheckpointDirectory() }
            #expect(throws: Never.self) { try setup().prepareCheckpointDirectory() }
            #expect(try String(contentsOfFile: ck + "/.lock", encoding: .utf8) == "\(getpid())\n")
        }
    }
}
