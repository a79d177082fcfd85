import Foundation
import Testing
@testable import MobileNet

/// Small training runs for the checkpoint and resume tests: a generated CIFAR-10-format
/// set in memory, a narrow model, batch 8 (keeps each debug-build step well under a second).
enum CheckpointFixture {
    /// `count` images of pseudo-random bytes with pseudo-random labels.
    static func dataset(count: Int = 24, seed: UInt64 = 11) -> CIFARDataset {
        let split = CIFARFixture.split(count: count, classes: 10, seed: seed)
        return CIFARDataset(dataset: .cifar10, split: .train, images: split.images, labels: split.labels,
                            classNames: CIFARFixture.cifar10Names)
    }

    /// Two epochs of batch 8 at width `widthMultiplier`.
    static func options(widthMultiplier: Double = 0.25, epochs: Int = 2) -> TrainingOptions {
        var options = TrainingOptions()
        options.epochs = epochs
        options.batchSize = 8
        options.widthMultiplier = widthMultiplier
        options.maxLearningRate = 0.05
        options.seed = 5
        return options
    }

    static func description(of train: CIFARDataset) -> CheckpointDataset {
        CheckpointDataset(name: train.dataset.rawValue, coarseLabels: false, classNames: train.classNames, trainImages: train.count)
    }

    /// A fresh run without a test pass. `modelSeed` initialises the model (a resumed run
    /// gets another one to show that the checkpoint overwrites every weight).
    static func run(options: TrainingOptions, train: CIFARDataset, directory: String?, modelSeed: UInt64? = nil) throws -> TrainingRun {
        let model = MobileNetV1(numClasses: options.numClasses, widthMultiplier: options.widthMultiplier, seed: modelSeed ?? options.seed)
        let loader = BatchLoader(dataset: train, configuration: .training(batchSize: options.batchSize, seed: options.seed))
        let session = try TrainingSession(model: model, options: options, stepsPerEpoch: loader.stepsPerEpoch)
        return TrainingRun(loop: TrainingLoop(session: session, trainLoader: loader, testLoader: nil),
                           dataset: description(of: train), checkpoints: directory.map(CheckpointDirectory.init(path:)))
    }

    /// A stop request that turns true once `steps` optimizer steps were taken in total.
    static func stop(after steps: Int, _ run: TrainingRun) -> () -> Bool {
        { run.session.globalStep >= steps }
    }

    /// Bit patterns of everything a resumed run must reproduce: parameters, running
    /// statistics, num_batches_tracked, momentum buffers and the schedule position.
    static func state(_ session: TrainingSession) -> [String: [UInt64]] {
        var state = bits(session.model)
        state["schedule.step"] = [UInt64(session.globalStep)]
        for ((name, _), buffer) in zip(session.model.namedParameters, session.optimizer.momentumBuffers) {
            state["momentum_buffer." + name] = buffer.map { $0.buffer.map { UInt64($0.bitPattern) } } ?? []
        }
        return state
    }

    /// Bit patterns of a model's state_dict: parameters, running statistics, num_batches_tracked.
    static func bits(_ model: MobileNetV1) -> [String: [UInt64]] {
        var state: [String: [UInt64]] = [:]
        for (name, p) in model.namedParameters { state[name] = p.value.buffer.map { UInt64($0.bitPattern) } }
        for (name, value) in model.namedBuffers {
            switch value {
            case .float(let t): state[name] = t.buffer.map { UInt64($0.bitPattern) }
            case .int64(let s): state[name] = [UInt64(bitPattern: s.value)]
            }
        }
        return state
    }

    /// Expects two states to be identical bit for bit, naming the first tensors that differ.
    static func expectIdentical(_ a: [String: [UInt64]], _ b: [String: [UInt64]], _ what: String,
                                sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(a.keys.sorted() == b.keys.sorted(), "\(what): different tensors", sourceLocation: sourceLocation)
        let differing = a.keys.sorted().filter { a[$0] != b[$0] }
        let count = differing.count
        #expect(count == 0, "\(what): tensors differ, e.g. \(differing.prefix(3))", sourceLocation: sourceLocation)
    }

    /// Every file below `folder` (following no links) with its bytes, to show nothing changed.
    static func snapshot(_ folder: String) -> [String: Data] {
        var files: [String: Data] = [:]
        let enumerator = FileManager.default.enumerator(atPath: folder)
        while let entry = enumerator?.nextObject() as? String {
            let path = folder + "/" + entry
            var isFolder: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), !isFolder.boolValue {
                files[entry] = FileManager.default.contents(atPath: path)
            }
        }
        if let link = try? FileManager.default.destinationOfSymbolicLink(atPath: folder + "/last") {
            files["last ->"] = Data(link.utf8)
        }
        return files
    }
}
