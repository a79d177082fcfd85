import ArgumentParser
import Foundation
import MobileNet

/// `mobilenet-train train`: the seed's recipe by default, every knob a flag; checkpoints
/// after every epoch and on SIGINT/SIGTERM; `--resume` continues a run bit for bit.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train MobileNetV1 on CIFAR with SGD + OneCycleLR and report test accuracy each epoch.",
        discussion: """
        --recipe fast fits the recipe into about an hour on two cores (see the README's results); \
        the defaults reproduce the seed's recipe (--recipe seed): batch 128, OneCycleLR (max lr 0.1, 30 % warm-up, \
        cosine, momentum cycled 0.95 → 0.85 → 0.95), SGD weight decay 5e-4, random crop 32 \
        with 4-pixel zero padding, horizontal flip, normalisation with the seed's mean/std. \
        The schedule spans epochs × steps per epoch; the last partial batch is kept unless --drop-last.

        With --checkpoint-dir DIR a checkpoint (DIR/last → DIR/step-N: model.safetensors, loadable \
        in PyTorch, and training_state.safetensors) is saved after every epoch, and the model with \
        the best test accuracy (validation accuracy with --val-split) as DIR/best.safetensors. SIGINT, SIGTERM or SIGHUP finishes the current step, \
        saves, and exits with status 130, 143 or 129. --resume DIR continues the run from its checkpoint \
        with the checkpoint's options; the weights then equal those of an uninterrupted run, bit for \
        bit. A flag that contradicts the checkpoint (--epochs included: a run cannot be extended) is \
        an error; --threads, --metrics and --data may be given.
        """
    )

    static let defaultData = "data/cifar-10-batches-bin"
    static let defaults = TrainingOptions()

    @Option(help: "CIFAR folder (holding data_batch_1.bin … or train.bin …), or its parent (default \(defaultData); when resuming, the checkpoint's).")
    var data: String?

    @Option(help: "cifar10 or cifar100; recognised from the files when omitted.")
    var dataset: Dataset?

    @Flag(help: "CIFAR-100: train on the 20 coarse superclasses instead of the 100 fine labels.")
    var coarseLabels = false

    @Option(help: "Start from a named recipe, then apply the other flags: seed (the seed's recipe, the default) or fast (the seed's recipe over 42 epochs, the first 22 on 24×24 crops: the best one measured for an hour on two cores; with --epochs, the crop phases keep their share of the run).")
    var recipe: Recipe?

    @Option(name: .customLong("val-split"), parsing: .unconditional, help: "Hold out the last N training images as a validation set: evaluated each epoch in place of the test set and used to pick best.safetensors; the test set is then evaluated once, after the run (default 0).")
    var valSplit: Int?

    @Option(parsing: .unconditional, help: "Zero padding before the random crop; 0 disables the 32×32 crop (smaller --crop-schedule crops still move) (default \(defaults.cropPadding)).")
    var cropPadding: Int?

    @Flag(inversion: .prefixedNo, help: "Random horizontal flip of training images (default on).")
    var flip: Bool?

    @Option(parsing: .unconditional, help: "Progressive resizing: SIZE:EPOCHS[,SIZE:EPOCHS…] trains the first epochs on smaller random crops at the images' own scale (24:22 = epochs 1–22 on 24×24 crops, then 32×32); none for 32×32 throughout (default none).")
    var cropSchedule: CropSchedule?

    @Option(help: "With --val-split: test-time augmentation of the test pass after the run, none or flip (as evaluate --tta; default none).")
    var tta: TestTimeAugmentation?

    @Option(parsing: .unconditional, help: "Epochs; the schedule spans all of them (default \(defaults.epochs)).")
    var epochs: Int?

    @Option(parsing: .unconditional, help: "Training batch size (default \(defaults.batchSize)).")
    var batchSize: Int?

    @Option(parsing: .unconditional, help: "Test batch size (default \(defaults.testBatchSize)).")
    var testBatchSize: Int?

    @Option(name: .customLong("max-lr"), parsing: .unconditional, help: "OneCycleLR's peak learning rate (default \(defaults.maxLearningRate)).")
    var maxLR: Double?

    @Option(parsing: .unconditional, help: "SGD weight decay, L2 (default \(defaults.weightDecay)).")
    var weightDecay: Double?

    @Option(parsing: .upToNextOption, help: ArgumentHelp("Parameter kinds without weight decay: \(Parameter.Kind.allCases.map(\.rawValue).joined(separator: ", ")).", valueName: "kind"))
    var noWeightDecayOn: [String] = []

    @Flag(help: "Nesterov momentum.")
    var nesterov = false

    @Option(parsing: .unconditional, help: "Label smoothing ε of the cross-entropy, PyTorch's label_smoothing (default \(defaults.labelSmoothing)).")
    var labelSmoothing: Double?

    @Option(parsing: .unconditional, help: "OneCycleLR: initial lr = max lr / div factor (default \(defaults.divFactor)).")
    var divFactor: Double?

    @Option(parsing: .unconditional, help: "OneCycleLR: final lr = initial lr / final div factor (default \(defaults.finalDivFactor)).")
    var finalDivFactor: Double?

    @Option(parsing: .unconditional, help: "OneCycleLR: fraction of the steps spent warming up, in (0, 1) (default \(defaults.pctStart)).")
    var pctStart: Double?

    @Option(parsing: .unconditional, help: "OneCycleLR: lowest cycled momentum (default \(defaults.baseMomentum)).")
    var baseMomentum: Double?

    @Option(parsing: .unconditional, help: "OneCycleLR: highest cycled momentum (default \(defaults.maxMomentum)).")
    var maxMomentum: Double?

    @Option(parsing: .unconditional, help: "Width multiplier α (Howard et al. §3.3): channels become int(n·α) (default \(defaults.widthMultiplier)).")
    var widthMultiplier: Double?

    @Option(parsing: .unconditional, help: "Seed for initialisation, order and augmentation (default \(defaults.seed)).")
    var seed: UInt64?

    @Option(parsing: .unconditional, help: "Threads for the engine and OpenBLAS; the default is all cores (under MPI: the cores shared among this machine's ranks). Results do not depend on it.")
    var threads: Int?

    @Option(parsing: .unconditional, help: "Train on the first N training images only (quick runs).")
    var limitTrain: Int?

    @Option(parsing: .unconditional, help: "Test on the first N test images only.")
    var limitTest: Int?

    @Flag(help: "Drop the last partial training batch (PyTorch's drop_last); kept by default as the seed does.")
    var dropLast = false

    @Option(help: "Append JSON lines here (never truncated): one every 100 steps (step, loss, lr, momentum) and one per epoch. On --resume, the run's own metrics file when omitted.")
    var metrics: String?

    @Option(help: "Save a checkpoint here after every epoch and on SIGINT/SIGTERM/SIGHUP (default when resuming: the checkpoint's folder).")
    var checkpointDir: String?

    @Option(help: "Continue a run: a --checkpoint-dir, a checkpoint folder, or a file in one.")
    var resume: String?

    @Flag(help: "Data-parallel training as one rank of an MPI job (automatic under mpirun with more than one rank; needs a build with the MPI trait). --batch-size stays the global batch.")
    var distributed = false

    @Option(parsing: .unconditional, help: "With several ranks: end a rank whose MPI collective waits longer than this many seconds for the others (a rank or host gone without the launcher noticing); 0 for no limit (default 300).")
    var collectiveTimeout: Double = 300

    @Flag(name: .customLong("sync-bn"), help: "With several ranks: BatchNorm statistics over the global batch (PyTorch's SyncBatchNorm) instead of each rank's shard (DDP's default).")
    var syncBN = false

    /// The flags given on the command line applied over `base` (the defaults, or a
    /// resumed checkpoint's options); `--recipe` replaces `base` (but its class count) with
    /// the recipe's options before the other flags apply; flags not given keep the values.
    func options(over base: TrainingOptions) -> TrainingOptions {
        var o = base
        // A recipe replaces the base, unless it is the base's own (e.g. given again on --resume).
        if let recipe, recipe.rawValue != base.recipe {
            o = recipe.options
            o.numClasses = base.numClasses
        }
        if let valSplit { o.validationSplit = valSplit }
        if let cropPadding { o.cropPadding = cropPadding }
        if let flip { o.horizontalFlip = flip }
        if let cropSchedule { o.cropSchedule = cropSchedule }
        if let tta { o.testTimeAugmentation = tta }
        if let epochs {
            // --epochs with a recipe's crop schedule (and no --crop-schedule) keeps the share
            // of the run each phase covers: --recipe fast --epochs 21 trains 11 epochs on 24×24 crops.
            if cropSchedule == nil, let recipe, recipe.rawValue != base.recipe {
                o.cropSchedule = o.cropSchedule.scaled(fromEpochs: o.epochs, toEpochs: epochs)
            }
            o.epochs = epochs
        }
        if let batchSize { o.batchSize = batchSize }
        if let testBatchSize { o.testBatchSize = testBatchSize }
        if let maxLR { o.maxLearningRate = maxLR }
        if let weightDecay { o.weightDecay = weightDecay }
        if !noWeightDecayOn.isEmpty { o.noWeightDecayKinds = noWeightDecayOn }
        if nesterov { o.nesterov = true }
        if let labelSmoothing { o.labelSmoothing = labelSmoothing }
        if let divFactor { o.divFactor = divFactor }
        if let finalDivFactor { o.finalDivFactor = finalDivFactor }
        if let pctStart { o.pctStart = pctStart }
        if let baseMomentum { o.baseMomentum = baseMomentum }
        if let maxMomentum { o.maxMomentum = maxMomentum }
        if let widthMultiplier { o.widthMultiplier = widthMultiplier }
        if let seed { o.seed = seed }
        if let limitTrain { o.limitTrain = limitTrain }
        if let limitTest { o.limitTest = limitTest }
        if dropLast { o.dropLast = true }
        return o
    }

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads: must be at least 1, got \(threads)") }
        if !(collectiveTimeout >= 0) || !collectiveTimeout.isFinite { throw ValidationError("--collective-timeout: must be 0 (no limit) or a number of seconds, got \(collectiveTimeout)") }
        do {
            // On --resume the flags go over the checkpoint's options, and RunSetup refuses any
            // that contradicts them; here only what the flags say alone is checked, so a flag
            // that needs another (--tta needs --val-split) may rely on the checkpoint's.
            var base = Self.defaults
            if resume != nil && valSplit == nil { base.validationSplit = 1 }
            try options(over: base).validate()
        } catch let error as TrainingOptions.InvalidOption {
            throw ValidationError(error.description)
        }
    }

    /// Checks a checkpoint folder before the first step, so a problem costs no training:
    /// a new run never overwrites another run's checkpoints, and the folder must be writable
    /// (a probe file is written atomically and removed).
    static func prepare(_ directory: CheckpointDirectory, resuming: Bool) throws {
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory.path, isDirectory: &isFolder), !isFolder.boolValue {
            throw CommandFailure("--checkpoint-dir \(directory.path) is a file, not a folder. Choose a folder path.")
        }
        if !resuming, directory.lastFolder != nil || FileManager.default.fileExists(atPath: directory.bestPath) {
            throw CommandFailure("--checkpoint-dir \(directory.path) already holds another run's checkpoints. Continue that run with --resume \(directory.path), or choose a new folder; nothing was overwritten.")
        }
        try directory.create()
        for stale in directory.removeStaleSaves() {
            print("note: removed \(stale.path) (\(stale.bytes / 1_000_000) MB), a checkpoint save that process \(stale.pid) did not finish; the saved checkpoints are untouched")
        }
        let probe = directory.path + "/.write-test-\(getpid())"
        do {
            try AtomicFile.write(Data("probe".utf8), to: probe)
        } catch {
            throw CommandFailure("cannot write checkpoints to \(directory.path): \(error) Or choose another --checkpoint-dir.")
        }
        try? FileManager.default.removeItem(atPath: probe)
    }

    func run() throws {
        let group = try reportingErrors { try ProcessGroup.join(requested: distributed, collectiveTimeout: collectiveTimeout > 0 ? collectiveTimeout : nil) }
        let ranks = group?.size ?? 1
        if syncBN && ranks == 1 {
            printError("note: --sync-bn has no effect in a single process (it shares BatchNorm statistics among MPI ranks); training as without it")
        }
        let engineThreads = threads ?? max(1, ProcessInfoCores.active / (group == nil ? 1 : ProcessGroup.localSize()))
        setEngineThreads(engineThreads)
        let isRoot = group?.isRoot ?? true
        /// Only rank 0 speaks.
        func say(_ line: @autoclosure () -> String) { if isRoot { print(line()) } }

        let (setup, log) = try agreedSetup(group)
        let run = setup.run, options = setup.options
        if let dataParallel = run.session.dataParallel {
            // As DDP at construction: every rank starts from rank 0's weights (initialised or resumed).
            dataParallel.broadcastState(model: run.session.model, optimizer: run.session.optimizer)
        }
        let validationText = setup.validation.map { " / \($0.count) validation (the last training images)" } ?? ""
        say("MobileNetV1 α=\(options.widthMultiplier), \(options.numClasses) classes, \(run.session.model.parameterCount) parameters, recipe \(options.recipe); "
            + "\(setup.train.dataset): \(setup.train.count) training\(validationText) / \(setup.test.count) test images from \(setup.dataPath)")
        say("\(options.epochs) epoch(s) × \(run.session.stepsPerEpoch) step(s) of batch \(min(options.batchSize, setup.train.count)); "
            + "\(engineThreads) thread(s)\(ranks > 1 ? " per rank" : ""), OpenBLAS \(BLAS.coreName)")
        if let note = setup.lastBatchNote { say(note) }
        if setup.test.classNamesFileMissing { say(CIFARDataset.fixedClassNamesNote(folder: setup.dataPath)) }
        if let dataParallel = run.session.dataParallel {
            say("Data-parallel: \(ranks) MPI ranks, each \(options.batchSize / ranks)–\(dataParallel.shard.largestShard(ofBatch: options.batchSize)) image(s) of every batch; "
                + "BatchNorm \(syncBN ? "synchronised (SyncBatchNorm)" : "per rank (DDP), rank 0's running statistics kept"); "
                + "gradients in \(dataParallel.bucketCount(for: run.session.optimizer.parameters)) allreduce bucket(s)")
        }
        if let checkpoint = setup.checkpoint {
            say("Resuming from \(checkpoint.folder) at epoch \(checkpoint.epoch + 1), step \(checkpoint.step) (global step \(checkpoint.globalStep))")
            log?.write(["kind": "resume", "from": checkpoint.folder, "epoch": checkpoint.epoch + 1,
                        "step": checkpoint.step, "global_step": checkpoint.globalStep])
        }
        say(run.checkpoints.map { "Checkpoints: \($0.path) (last → newest, best.safetensors)" }
            ?? "No --checkpoint-dir: nothing will be saved.")
        if run.isComplete {
            say("The run is already complete (\(options.epochs) epochs); nothing to do.")
            ProcessGroup.leave(group)
            return
        }

        let stop = StopSignals()
        stop.install()
        let progress = isRoot ? ProgressBar() : nil
        let runStart = monotonicSeconds()
        var collectiveSeconds = 0.0, gradientSeconds = 0.0
        let outcome: TrainingRun.Outcome
        do {
            // mpirun forwards SIGINT/SIGTERM to every rank, not necessarily before the same
            // step: the ranks agree on stopping (one allreduce of a flag per step).
            outcome = try run.run(shouldStop: { group?.anyRank(stop.stopRequested) ?? stop.stopRequested }, onStep: { p in
                progress?.update(epoch: p.epoch + 1, epochs: options.epochs, step: p.step, total: p.stepsPerEpoch,
                                 loss: p.runningLoss, learningRate: p.learningRate,
                                 imagesPerSecond: p.imagesPerSecond, elapsedSeconds: p.elapsedSeconds)
                if p.globalStep % 100 == 0 {
                    log?.write(["kind": "step", "epoch": p.epoch + 1, "step": p.globalStep, "loss": p.loss,
                                "lr": p.learningRate, "momentum": p.momentum])
                }
            }, onEpoch: { end in
                progress?.finish()
                var collectives: CollectiveShare?
                if let dataParallel = run.session.dataParallel {
                    collectives = CollectiveShare(ranks: ranks, seconds: dataParallel.collectiveSeconds - collectiveSeconds,
                                                  gradientSeconds: dataParallel.gradientAllreduceSeconds - gradientSeconds,
                                                  trainSeconds: end.summary.trainSeconds)
                    collectiveSeconds = dataParallel.collectiveSeconds
                    gradientSeconds = dataParallel.gradientAllreduceSeconds
                }
                if isRoot { report(end, options: options, log: log, totalSeconds: monotonicSeconds() - runStart, collectives: collectives) }
            })
        } catch let error as TrainingSession.NonFiniteError {
            // Every rank reads the same allreduced loss and gradients, so all stop here alike.
            progress?.finish()
            let kept = run.checkpoints?.lastFolder.map { " The last good checkpoint, \($0), was kept." } ?? ""
            if isRoot { printError("error: \(error)\(kept)") }
            ProcessGroup.leave(group)
            throw ExitCode.failure
        } catch {
            // A failure of this rank alone (rank 0's checkpoint write): end every rank.
            progress?.finish()
            if let group { group.abort(message: "error: rank \(group.rank) of \(group.size): \(error)", status: 1) }
            printError("error: \(error)")
            throw ExitCode.failure
        }
        switch outcome {
        case .completed:
            if setup.validation != nil {
                try reportingErrors { try reportTest(run, log: log) }
            }
            if let checkpoints = run.checkpoints {
                say("Done. Final checkpoint: \(checkpoints.lastLink)/\(TrainingCheckpoint.modelFileName)"
                    + (run.bestAccuracy != nil ? "; best model: \(checkpoints.bestPath)" : ""))
            }
            ProcessGroup.leave(group)
        case .stopped(let folder):
            progress?.finish()
            let position = "after step \(run.step) of epoch \(run.epoch + 1) (global step \(run.session.globalStep))"
            if let folder {
                say("Interrupted by \(stop.signalName) \(position). Checkpoint saved to \(folder); continue with --resume \(run.checkpoints?.path ?? folder)")
            } else {
                say("Interrupted by \(stop.signalName) \(position). No --checkpoint-dir was given, so nothing was saved.")
            }
            log?.write(["kind": "interrupted", "epoch": run.epoch + 1, "step": run.step, "global_step": run.session.globalStep,
                        "checkpoint": folder ?? ""])
            flushStandardOutput()
            ProcessGroup.leave(group)
            throw ExitCode(stop.exitStatus)
        }
    }

    /// After a run with a validation set: the test set, once, for the final weights and the
    /// best (validation-picked) checkpoint; printed and written as a `test` metrics line.
    func reportTest(_ run: TrainingRun, log: MetricsLog?) throws {
        guard let result = try run.testOnce(), run.session.dataParallel?.communicator.isRoot ?? true else { return }
        let augmentation = run.session.options.testTimeAugmentation
        let label = augmentation == .flip ? "Test set (flip TTA)" : "Test set"
        print("\(label), once, final weights: \(result.final.summaryLine)")
        var fields: [String: Any] = ["kind": "test", "final_loss": result.final.loss, "final_accuracy": result.final.top1Accuracy,
                                     "final_top5_accuracy": result.final.topKAccuracy, "images": result.final.count]
        if augmentation == .flip { fields["tta"] = augmentation.rawValue }
        if let best = result.best {
            print("\(label), once, best checkpoint (epoch \(best.epochsCompleted), best validation accuracy): \(best.tally.summaryLine)")
            fields["best_epoch"] = best.epochsCompleted
            fields["best_loss"] = best.tally.loss
            fields["best_accuracy"] = best.tally.top1Accuracy
            fields["best_top5_accuracy"] = best.tally.topKAccuracy
        }
        flushStandardOutput()
        log?.write(fields)
    }

    /// Builds the run (and, on rank 0, checks the checkpoint folder and opens the metrics
    /// file). Under MPI the ranks then agree on the outcome (one allreduce), so a rank whose
    /// setup failed — a missing data file, an unwritable folder — stops every rank cleanly
    /// instead of leaving them waiting in the first collective.
    private func agreedSetup(_ group: (any Communicator)?) throws -> (RunSetup, MetricsLog?) {
        let isRoot = group?.isRoot ?? true
        let attempt = Result { () throws -> (RunSetup, MetricsLog?) in
            let setup = try RunSetup(command: self, communicator: group)
            if let directory = setup.run.checkpoints {
                try Self.prepare(directory, resuming: setup.checkpoint != nil)
            }
            return (setup, try isRoot ? setup.metricsPath.map { try MetricsLog(path: $0) } : nil)
        }
        guard let group else { return try reportingErrors { try attempt.get() } }
        let failed: Bool
        if case .failure = attempt { failed = true } else { failed = false }
        if group.anyRank(failed) {
            if case .failure(let error) = attempt {
                printError("error: rank \(group.rank) of \(group.size): \(error)")
            } else if isRoot {
                printError("error: another rank could not set up (its error is printed above); every rank stops.")
            }
            ProcessGroup.leave(group)
            throw ExitCode.failure
        }
        // Different flags or data on one rank would hang the first collective: compare first.
        let agreed = try attempt.get()
        if let disagreement = agreed.0.fingerprint.disagreement(over: group) {
            if isRoot || disagreement.localValue != nil { printError("error: \(disagreement)") }
            ProcessGroup.leave(group)
            throw ExitCode.failure
        }
        return agreed
    }

    /// Time spent in collectives during an epoch's training (data-parallel runs).
    struct CollectiveShare {
        let ranks: Int
        /// Every collective (gradient buckets, BatchNorm statistics, stop flags), and the gradient buckets alone.
        let seconds: Double
        let gradientSeconds: Double
        let trainSeconds: Double
        var fraction: Double { trainSeconds > 0 ? seconds / trainSeconds : 0 }
    }

    func report(_ end: TrainingRun.EpochEnd, options: TrainingOptions, log: MetricsLog?, totalSeconds: Double, collectives: CollectiveShare? = nil) {
        let s = end.summary, epochs = options.epochs
        // Under a crop schedule every epoch line says which size it trained on.
        let cropSize = options.trainingAugmentation.cropSize(atEpoch: s.epoch)
        let crop = options.cropSchedule.phases.isEmpty ? "" : " (\(cropSize)×\(cropSize) crops)"
        let testText = s.validation.map { String(format: "val loss %.4f acc %.2f%%", $0.loss, 100 * $0.accuracy) }
            ?? s.test.map { String(format: "test loss %.4f acc %.2f%%", $0.loss, 100 * $0.accuracy) } ?? "no test"
        let resumed = s.firstStep > 0 ? " (steps \(s.firstStep + 1)… only, resumed)" : ""
        print(String(format: "Epoch %d/%d%@: train loss %.4f acc %.2f%%%@ | %@ | %.1f s (%.0f img/s), total %.1f min",
                     s.epoch + 1, epochs, crop, s.trainLoss, 100 * s.trainAccuracy, resumed, testText, s.epochSeconds,
                     s.imagesPerSecond, totalSeconds / 60))
        if let c = collectives {
            print(String(format: "  %d ranks: %.1f s of %.1f s training in MPI collectives (%.1f %%; gradient allreduce %.1f s), waiting for slower ranks included",
                         c.ranks, c.seconds, c.trainSeconds, 100 * c.fraction, c.gradientSeconds))
        }
        if let folder = end.checkpoint {
            print("  saved \(folder)\(end.isBest ? " and best.safetensors (best \(s.validation != nil ? "validation" : "test") accuracy so far)" : "")")
        }
        flushStandardOutput()
        var fields: [String: Any] = ["kind": "epoch", "epoch": s.epoch + 1, "train_loss": s.trainLoss,
                                     "train_accuracy": s.trainAccuracy, "epoch_seconds": s.epochSeconds,
                                     "train_seconds": s.trainSeconds, "test_seconds": s.testSeconds,
                                     "images_per_second": s.imagesPerSecond, "train_from_step": s.firstStep,
                                     "crop_size": cropSize]
        if let t = s.test {
            fields["test_loss"] = t.loss
            fields["test_accuracy"] = t.accuracy
        }
        if let v = s.validation {
            fields["val_loss"] = v.loss
            fields["val_accuracy"] = v.accuracy
        }
        if let folder = end.checkpoint { fields["checkpoint"] = folder }
        if let c = collectives {
            fields["ranks"] = c.ranks
            fields["collective_seconds"] = c.seconds
            fields["gradient_allreduce_seconds"] = c.gradientSeconds
        }
        log?.write(fields)
    }
}

extension Recipe: ExpressibleByArgument {}

extension CropSchedule: ExpressibleByArgument {
    public init?(argument: String) {
        guard let schedule = try? CropSchedule(parsing: argument) else { return nil }
        self = schedule
    }
}
