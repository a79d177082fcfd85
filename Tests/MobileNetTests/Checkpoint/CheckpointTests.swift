import Foundation
import Testing
@testable import MobileNet

/// Model files and training checkpoints: round trips, the atomic folder switch, and what
/// a failed, interrupted or diverged save leaves behind. Serialized: several tests set the
/// process-wide ``AtomicFile/failureInjection`` hook (each only for paths in its own folder).
@Suite(.serialized) struct CheckpointTests {
    /// A model whose every parameter, running statistic and counter holds a distinct value.
    static func scrambledModel(widthMultiplier: Double = 0.25, seed: UInt64 = 3) -> MobileNetV1 {
        let model = MobileNetV1(numClasses: 10, widthMultiplier: widthMultiplier, seed: seed)
        var rng = TestRNG(seed: seed)
        for (_, value) in model.namedBuffers {
            switch value {
            case .float(let t): for i in 0..<t.count { t.data[i] = rng.uniform(0.5, 1.5) }
            case .int64(let s): s.value = Int64(rng.next() % 1000) + 1
            }
        }
        return model
    }

    /// Runs `body` with failure injection for paths containing `folder`, then removes the hook.
    static func injecting(_ folder: String, _ hook: @escaping (_ path: String, _ stage: String) -> String?, _ body: () throws -> Void) rethrows {
        AtomicFile.failureInjection = { path, stage in path.contains(folder) ? hook(path, stage) : nil }
        defer { AtomicFile.failureInjection = nil }
        try body()
    }

    @Test func wholeModelRoundTripKeepsEveryNameDtypeShapeAndBit() throws {
        try CIFARFixture.withFolder { folder in
            let model = Self.scrambledModel()
            let path = folder + "/model.safetensors"
            try model.save(to: path)
            let file = try SafetensorsFile(contentsOfFile: path)
            let names = model.namedParameters.map(\.name) + model.namedBuffers.map(\.name)
            #expect(file.names == names.sorted())
            #expect(file.names.count == 164)
            for (name, p) in model.namedParameters {
                #expect(try file.entry(name) .dtype == .f32 && file.entry(name).shape == p.value.shape, "\(name)")
            }
            let counter = try file.entry("stage2.3.pointConv.1.num_batches_tracked")
            #expect(counter.dtype == .i64 && counter.shape == [])
            #expect(file.metadata["width_multiplier"] == "0.25" && file.metadata["num_classes"] == "10")

            let reloaded = try MobileNetV1(contentsOf: file)
            #expect(reloaded.widthMultiplier == 0.25 && reloaded.numClasses == 10)
            #expect(CheckpointFixture.bits(reloaded) == CheckpointFixture.bits(model))
        }
    }

    /// The golden α = 0.25 state (PyTorch's), saved by us and reloaded, gives the same eval
    /// logits bit for bit: the same weights through the same code (NetworkGoldenTests checks
    /// those logits against PyTorch's).
    @Test func modelSavedAndReloadedGivesTheSameLogits() throws {
        try CIFARFixture.withFolder { folder in
            let golden = Fixtures.network025
            let classes = try golden.entry("init.linear.weight").shape[0]
            let original = MobileNetV1(numClasses: classes, widthMultiplier: 0.25)
            try original.load(from: golden, prefix: "init.", strict: false)
            try original.save(to: folder + "/model.safetensors")
            let reloaded = try MobileNetV1(contentsOf: try SafetensorsFile(contentsOfFile: folder + "/model.safetensors"))
            let shape = try golden.entry("batch.input").shape
            let input = FeatureMap(nchw: try golden.floats("batch.input"),
                                   shape: FeatureShape(channels: shape[1], height: shape[2], width: shape[3], batch: shape[0]))
            let expected = original.forward(input, training: false).nchwArray()
            let actual = reloaded.forward(input, training: false).nchwArray()
            #expect(actual.map(\.bitPattern) == expected.map(\.bitPattern))
            #expect(expected.contains { $0 != 0 })
        }
    }

    @Test func widthAndClassesAreInferredFromTheShapesOfAFileWithoutMetadata() throws {
        let golden = try ModelArchitecture(of: Fixtures.network025, prefix: "init.")
        #expect(golden.widthMultiplier == 0.25 && golden.numClasses == 10 && golden.inputChannels == 3 && golden.source == .shapes)
        // int(n·0.3) and int(n·0.75) for every layer; a state_dict without metadata, as PyTorch writes it.
        for alpha in [0.3, 0.75, 1.0] {
            let model = MobileNetV1(numClasses: 7, widthMultiplier: alpha)
            let file = try SafetensorsFile(data: model.stateDictWriter().serialized(), path: "pytorch.safetensors")
            let architecture = try ModelArchitecture(of: file)
            #expect(architecture.widthMultiplier == alpha && architecture.numClasses == 7 && architecture.source == .shapes)
            #expect(try MobileNetV1(contentsOf: file).linear.inFeatures == model.linear.inFeatures)
        }
    }

    @Test func savingSwitchesLastToTheNewFolderAndRemovesTheOldOne() throws {
        try CIFARFixture.withFolder { folder in
            let run = try CheckpointFixture.run(options: CheckpointFixture.options(widthMultiplier: 0.125), train: CheckpointFixture.dataset(),
                                                directory: folder)
            let first = try #require(try run.saveCheckpoint())
            #expect(first == folder + "/step-00000000")
            #expect(try run.run(shouldStop: CheckpointFixture.stop(after: 1, run)) == .stopped(checkpoint: folder + "/step-00000001"))
            #expect(CheckpointDirectory(path: folder).lastFolder == folder + "/step-00000001")
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder).sorted() == ["last", "step-00000001"])
            let checkpoint = try TrainingCheckpoint(folder: try CheckpointLocation.trainingFolder(for: folder))
            #expect(checkpoint.globalStep == 1 && checkpoint.step == 1 && checkpoint.options == run.session.options)
            #expect(checkpoint.state.names.count == run.session.model.namedParameters.count)
        }
    }

    /// Saves one good checkpoint at step 1, then tries a second save at step 2 with `hook`
    /// injected; returns the error and checks the first checkpoint is untouched and loads.
    func failedSecondSave(_ hook: @escaping (String, String) -> String?) throws -> Error? {
        try CIFARFixture.withFolder { folder in
            let run = try CheckpointFixture.run(options: CheckpointFixture.options(widthMultiplier: 0.125), train: CheckpointFixture.dataset(),
                                                directory: folder)
            _ = try run.run(shouldStop: CheckpointFixture.stop(after: 1, run))
            let before = CheckpointFixture.snapshot(folder)
            let goodState = CheckpointFixture.state(run.session)
            var failure: Error?
            Self.injecting(folder, hook) {
                do { _ = try run.run(shouldStop: CheckpointFixture.stop(after: 2, run)) } catch { failure = error }
            }
            #expect(CheckpointFixture.snapshot(folder) == before, "the previous checkpoint's files and link are unchanged")
            let resumed = try CheckpointFixture.run(options: CheckpointFixture.options(widthMultiplier: 0.125), train: CheckpointFixture.dataset(),
                                                    directory: nil, modelSeed: 8)
            try resumed.resume(from: TrainingCheckpoint(folder: try CheckpointLocation.trainingFolder(for: folder)))
            CheckpointFixture.expectIdentical(CheckpointFixture.state(resumed.session), goodState, "the previous checkpoint loads")
            // The failed save left the training state alone: a retry succeeds.
            #expect(try run.saveCheckpoint() == folder + "/step-00000002")
            return failure
        }
    }

    @Test func writeInterruptedBetweenWriteAndRenameLeavesThePreviousCheckpoint() throws {
        let error = try failedSecondSave { path, stage in
            path.hasSuffix("/model.safetensors") && stage == "rename" ? "simulated crash before rename" : nil
        }
        guard case .saveFailed(_, "model.safetensors", "simulated crash before rename", let previous?)? = error as? CheckpointError else {
            Issue.record("expected saveFailed naming model.safetensors, got \(String(describing: error))")
            return
        }
        #expect(previous.hasSuffix("/step-00000001"))
    }

    @Test func failureBeforeTheLinkSwitchLeavesThePreviousCheckpoint() throws {
        let error = try failedSecondSave { path, stage in stage == "publish" ? "simulated crash before the switch" : nil }
        #expect((error as? CheckpointError)?.description.contains("simulated crash before the switch") == true)
    }

    @Test func fullDiskIsReportedNamingTheFile() throws {
        let error = try failedSecondSave { path, stage in
            path.hasSuffix("/training_state.safetensors") && stage == "write" ? "No space left on device" : nil
        }
        let message = (error as? CheckpointError)?.description ?? "\(String(describing: error))"
        #expect(message.contains("training_state.safetensors") && message.contains("No space left on device"))
        #expect(message.contains("step-00000001 is intact"))
    }

    @Test func readOnlyFolderIsReportedNamingTheFolder() throws {
        let error = try failedSecondSave { _, stage in stage == "mkdir" ? "Read-only file system" : nil }
        let message = (error as? CheckpointError)?.description ?? "\(String(describing: error))"
        #expect(message.contains(".incoming-") && message.contains("Read-only file system"))
    }

    @Test func leftoversOfACrashedSaveAreIgnoredThenRemoved() throws {
        try CIFARFixture.withFolder { folder in
            let run = try CheckpointFixture.run(options: CheckpointFixture.options(widthMultiplier: 0.125), train: CheckpointFixture.dataset(),
                                                directory: folder)
            _ = try run.run(shouldStop: CheckpointFixture.stop(after: 1, run))
            // A crash mid-save leaves a half-filled hidden folder and maybe a renamed but unpublished one.
            try FileManager.default.createDirectory(atPath: folder + "/.incoming-99999", withIntermediateDirectories: false)
            #expect(FileManager.default.createFile(atPath: folder + "/.incoming-99999/model.safetensors", contents: Data([1, 2, 3])))
            try FileManager.default.createDirectory(atPath: folder + "/step-00000002", withIntermediateDirectories: false)
            #expect(FileManager.default.createFile(atPath: folder + "/notes.txt", contents: Data("mine".utf8)))
            #expect(try TrainingCheckpoint(folder: try CheckpointLocation.trainingFolder(for: folder)).globalStep == 1)
            _ = try run.run(shouldStop: CheckpointFixture.stop(after: 2, run))
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder).sorted() == ["last", "notes.txt", "step-00000002-1"])
        }
    }

    @Test func divergedRunKeepsTheLastGoodCheckpointAndNoNaNIsEverWritten() throws {
        try CIFARFixture.withFolder { folder in
            let run = try CheckpointFixture.run(options: CheckpointFixture.options(widthMultiplier: 0.125), train: CheckpointFixture.dataset(),
                                                directory: folder)
            _ = try run.run(shouldStop: CheckpointFixture.stop(after: 1, run))
            let before = CheckpointFixture.snapshot(folder)
            run.session.model.linear.bias.value.data[3] = .nan
            #expect(throws: TrainingSession.NonFiniteError.self) { try run.run() }
            #expect(CheckpointFixture.snapshot(folder) == before)
            #expect(throws: CheckpointError.nonFinite(tensor: "linear.bias")) {
                try CheckpointDirectory(path: folder).save(globalStep: 1) { inner in
                    try TrainingCheckpoint.write(session: run.session, epoch: 0, step: 1, dataset: run.dataset,
                                                 bestAccuracy: nil, into: inner)
                }
            }
            #expect(CheckpointFixture.snapshot(folder) == before)
            #expect(try TrainingCheckpoint(folder: try CheckpointLocation.trainingFolder(for: folder)).globalStep == 1)
        }
    }
}

/// `--checkpoint-dir runs/a/` names the folder runs/a: the paths built from it (and printed)
/// have no doubled slash.
@Suite struct CheckpointDirectoryPathTests {
    @Test func trailingSlashesAreDropped() {
        #expect(CheckpointDirectory(path: "runs/a//").path == "runs/a")
        #expect(CheckpointDirectory(path: "runs/a/").lastLink == "runs/a/last")
        #expect(CheckpointDirectory(path: "runs/a/").bestPath == "runs/a/best.safetensors")
        #expect(CheckpointDirectory(path: "/").path == "/")
        #expect(CheckpointDirectory(path: "runs/a").path == "runs/a")
    }
}
