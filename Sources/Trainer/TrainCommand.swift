import ArgumentParser
import Foundation
import MobileNet

/// `mobilenet-train train`: the reference recipe by default, every knob a flag; checkpoints
/// after every epoch and on SIGINT/SIGTERM/SIGHUP; `--resume` continues a run bit for bit.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train MobileNetV1 on CIFAR or an image folder with SGD + OneCycleLR and report test accuracy each epoch.",
        discussion: """
        --recipe fast is that recipe fitted to an hour on a 2-core AVX-512 machine: its 42 epochs with --val-split 5000, or --epochs 36 on all 50,000 images (docs/results.md); --recipe fast-ls adds label smoothing 0.1; --recipe fast-lowres puts 8 epochs of 16×16 crops in front (50 epochs, the same budget); \
        the defaults reproduce the reference recipe (--recipe reference), that of the original PyTorch CIFAR-10 MobileNetV1 tutorial: batch 128, OneCycleLR (max lr 0.1, 30 % warm-up, \
        cosine, momentum cycled 0.95 → 0.85 → 0.95), SGD weight decay 5e-4, random crop 32 \
        with 4-pixel zero padding, horizontal flip, normalisation with that tutorial's CIFAR-10 mean/std. \
        The schedule spans epochs × steps per epoch; the last partial batch is kept unless --drop-last.

        Your own images: --data DIR with DIR/train/<class>/*.png|jpg|jpeg and DIR/val/<class>/… (or \
        test/), or one tree DIR/<class>/… with --val-split N. Classes are the sorted subfolder names, \
        as torchvision's ImageFolder has them. Every image is decoded and brought to --image-size S \
        (shorter side to S with Pillow's antialiased bilinear filter, then the centre S×S) once, at \
        load time, on every core, and kept as bytes (3·S² each; --max-memory caps the total); mean and \
        std are computed from the training images unless --mean/--std are given. The checkpoint records \
        the classes, S, mean and std for evaluate, predict and export.

        With --checkpoint-dir DIR a checkpoint (DIR/last → DIR/step-N: model.safetensors, loadable \
        in PyTorch, and training_state.safetensors) is saved after every epoch, and the model with \
        the best test accuracy (validation accuracy with --val-split) as DIR/best.safetensors. SIGINT, SIGTERM or SIGHUP finishes the current step, \
        saves, and exits with status 130, 143 or 129. --resume DIR continues the run from its checkpoint \
        with the checkpoint's options; the weights then equal those of an uninterrupted run, bit for \
        bit. A flag that contradicts the checkpoint (--epochs included: a run cannot be extended) is \
        an error naming the flag and both values; --threads, --metrics, --checkpoint-dir, --data \
        (the same images), --max-memory, --distributed and --collective-timeout may be given \
        (docs/run-options.md).
        """
    )

    static let defaultData = RunOption.defaultDataPath
    static let defaults = TrainingOptions()

    // Names, defaults and help text come from the library's table of options (RunOption);
    // RunOptionTests checks that this list and the table agree.
    @Option(name: .entry(.data), help: .entry(.data))
    var data: String?

    @Option(name: .entry(.dataset), help: .entry(.dataset))
    var dataset: Dataset?

    @Flag(name: .entry(.coarseLabels), help: .entry(.coarseLabels))
    var coarseLabels = false

    @Option(name: .entry(.recipe), help: .entry(.recipe))
    var recipe: Recipe?

    @Option(name: .entry(.validationSplit), parsing: .unconditional, help: .entry(.validationSplit))
    var valSplit: Int?

    @Option(name: .entry(.imageSize), parsing: .unconditional, help: .entry(.imageSize))
    var imageSize: Int?

    @Option(name: .entry(.mean), parsing: .unconditional, help: .entry(.mean))
    var mean: ChannelValues?

    @Option(name: .entry(.std), parsing: .unconditional, help: .entry(.std))
    var std: ChannelValues?

    @Option(name: .entry(.maxMemory), help: .entry(.maxMemory))
    var maxMemory: MemoryArgument?

    @Option(name: .entry(.cropPadding), parsing: .unconditional, help: .entry(.cropPadding))
    var cropPadding: Int?

    @Flag(name: .entry(.flip), inversion: .prefixedNo, help: .entry(.flip))
    var flip: Bool?

    @Option(name: .entry(.cropSchedule), parsing: .unconditional, help: .entry(.cropSchedule))
    var cropSchedule: CropSchedule?

    @Option(name: .entry(.testTimeAugmentation), help: .entry(.testTimeAugmentation))
    var tta: TestTimeAugmentation?

    @Option(name: .entry(.epochs), parsing: .unconditional, help: .entry(.epochs))
    var epochs: Int?

    @Option(name: .entry(.batchSize), parsing: .unconditional, help: .entry(.batchSize))
    var batchSize: Int?

    @Option(name: .entry(.testBatchSize), parsing: .unconditional, help: .entry(.testBatchSize))
    var testBatchSize: Int?

    @Option(name: .entry(.maxLearningRate), parsing: .unconditional, help: .entry(.maxLearningRate))
    var maxLR: Double?

    @Option(name: .entry(.weightDecay), parsing: .unconditional, help: .entry(.weightDecay))
    var weightDecay: Double?

    @Option(name: .entry(.noWeightDecayOn), parsing: .upToNextOption, help: .entry(.noWeightDecayOn))
    var noWeightDecayOn: [String] = []

    @Flag(name: .entry(.nesterov), help: .entry(.nesterov))
    var nesterov = false

    @Option(name: .entry(.labelSmoothing), parsing: .unconditional, help: .entry(.labelSmoothing))
    var labelSmoothing: Double?

    @Option(name: .entry(.divFactor), parsing: .unconditional, help: .entry(.divFactor))
    var divFactor: Double?

    @Option(name: .entry(.finalDivFactor), parsing: .unconditional, help: .entry(.finalDivFactor))
    var finalDivFactor: Double?

    @Option(name: .entry(.pctStart), parsing: .unconditional, help: .entry(.pctStart))
    var pctStart: Double?

    @Option(name: .entry(.baseMomentum), parsing: .unconditional, help: .entry(.baseMomentum))
    var baseMomentum: Double?

    @Option(name: .entry(.maxMomentum), parsing: .unconditional, help: .entry(.maxMomentum))
    var maxMomentum: Double?

    @Option(name: .entry(.widthMultiplier), parsing: .unconditional, help: .entry(.widthMultiplier))
    var widthMultiplier: Double?

    @Option(name: .entry(.seed), parsing: .unconditional, help: .entry(.seed))
    var seed: UInt64?

    @Option(name: .entry(.threads), parsing: .unconditional, help: .entry(.threads))
    var threads: Int?

    @Option(name: .entry(.limitTrain), parsing: .unconditional, help: .entry(.limitTrain))
    var limitTrain: Int?

    @Option(name: .entry(.limitTest), parsing: .unconditional, help: .entry(.limitTest))
    var limitTest: Int?

    @Flag(name: .entry(.dropLast), help: .entry(.dropLast))
    var dropLast = false

    @Option(name: .entry(.metrics), help: .entry(.metrics))
    var metrics: String?

    @Option(name: .entry(.checkpointDir), help: .entry(.checkpointDir))
    var checkpointDir: String?

    @Option(name: .entry(.resumeFrom), help: .entry(.resumeFrom))
    var resume: String?

    @Flag(name: .entry(.distributed), help: .entry(.distributed))
    var distributed = false

    @Option(name: .entry(.collectiveTimeout), parsing: .unconditional, help: .entry(.collectiveTimeout))
    var collectiveTimeout: Double = 300

    @Flag(name: .entry(.syncBatchNorm), help: .entry(.syncBatchNorm))
    var syncBN = false

    @Option(name: .entry(.emaDecay), parsing: .unconditional, help: .entry(.emaDecay))
    var emaDecay: Double?

    @Option(name: .entry(.emaEvery), parsing: .unconditional, help: .entry(.emaEvery))
    var emaEvery: Int?

    @Option(name: .entry(.bnRecalibrate), parsing: .unconditional, help: .entry(.bnRecalibrate))
    var bnRecalibrate: Int?

    @Option(name: .entry(.bnRecalibrateTransform), help: .entry(.bnRecalibrateTransform))
    var bnRecalibrateTransform: RecalibrationTransform?

    @Option(name: .entry(.config), help: .entry(.config))
    var config: String?

    @Option(name: .entry(.flipMode), help: .entry(.flipMode))
    var flipMode: FlipMode?

    @Option(name: .entry(.cutout), parsing: .unconditional, help: .entry(.cutout))
    var cutout: Int?

    @Option(name: .entry(.evalEvery), parsing: .unconditional, help: .entry(.evalEvery))
    var evalEvery: Int?

    @Option(name: .entry(.schedule), help: .entry(.schedule))
    var schedule: ScheduleKind?

    @Option(name: .entry(.warmupPct), parsing: .unconditional, help: .entry(.warmupPct))
    var warmupPct: Double?

    @Option(name: .entry(.finalLearningRateFactor), parsing: .unconditional, help: .entry(.finalLearningRateFactor))
    var finalLRFactor: Double?

    /// The recorded options given on the command line (one line per option of the table).
    var overrides: [TrainingOptions.Override] {
        [.set(\.validationSplit, valSplit), .set(\.imageSize, imageSize), .set(\.mean, mean?.values), .set(\.std, std?.values), .set(\.cropPadding, cropPadding), .set(\.horizontalFlip, flip),
         .set(\.cropSchedule, cropSchedule), .set(\.testTimeAugmentation, tta), .set(\.epochs, epochs),
         .set(\.batchSize, batchSize), .set(\.testBatchSize, testBatchSize), .set(\.maxLearningRate, maxLR),
         .set(\.weightDecay, weightDecay), .set(\.noWeightDecayKinds, noWeightDecayOn.isEmpty ? nil : noWeightDecayOn),
         .set(\.nesterov, nesterov ? true : nil), .set(\.labelSmoothing, labelSmoothing), .set(\.divFactor, divFactor),
         .set(\.finalDivFactor, finalDivFactor), .set(\.pctStart, pctStart), .set(\.baseMomentum, baseMomentum),
         .set(\.maxMomentum, maxMomentum), .set(\.widthMultiplier, widthMultiplier), .set(\.seed, seed),
         .set(\.limitTrain, limitTrain), .set(\.limitTest, limitTest), .set(\.dropLast, dropLast ? true : nil),
         .set(\.syncBatchNorm, syncBN ? true : nil), .set(\.emaDecay, emaDecay), .set(\.emaEvery, emaEvery), .set(\.bnRecalibrate, bnRecalibrate), .set(\.bnRecalibrateTransform, bnRecalibrateTransform),
         .set(\.schedule, schedule), .set(\.warmupPct, warmupPct), .set(\.finalLearningRateFactor, finalLRFactor), .set(\.flipMode, flipMode), .set(\.cutout, cutout), .set(\.evalEvery, evalEvery)].compactMap { $0 }
    }

    /// The --config file, read (``validate()`` has already read it once and reported its errors).
    var configFile: RunConfigFile? { config.flatMap { try? RunConfigFile(path: $0) } }

    /// What the command line asks for, as the library's run request: the --config file's
    /// options first, then the flags given.
    var request: TrainingRunRequest {
        TrainingRunRequest(recipe: recipe, config: configFile, overrides: overrides, dataPath: data, dataset: dataset, coarseLabels: coarseLabels,
                           maxMemory: maxMemory?.bytes, metricsPath: metrics, checkpointDirectory: checkpointDir, resumeFrom: resume)
    }

    /// The flags applied over `base` (see ``TrainingRunRequest/options(over:)``).
    func options(over base: TrainingOptions) -> TrainingOptions {
        request.options(over: base)
    }

    func validate() throws {
        if let config {
            do { _ = try RunConfigFile(path: config) } catch let error as RunConfigError { throw ValidationError(error.description) }
        }
        if let threads, threads < 1 { throw ValidationError("\(RunOption.threads.flag): must be at least 1, got \(threads)") }
        if !(collectiveTimeout >= 0) || !collectiveTimeout.isFinite {
            throw ValidationError("\(RunOption.collectiveTimeout.flag): must be 0 (no limit) or a number of seconds, got \(collectiveTimeout)")
        }
        do {
            try request.validate()
        } catch let error as TrainingOptions.InvalidOption {
            throw ValidationError(error.description)
        }
    }

    func run() throws {
        // Read again here so a file changed since parsing is reported, never silently skipped.
        if let config { _ = try reportingErrors { try RunConfigFile(path: config) } }
        let group = try reportingErrors { try ProcessGroup.join(requested: distributed, collectiveTimeout: collectiveTimeout > 0 ? collectiveTimeout : nil) }
        let ranks = group?.size ?? 1
        if syncBN && ranks == 1 {
            printError("note: --sync-bn has no effect in a single process (it shares BatchNorm statistics among MPI ranks); training as without it")
        }
        let engineThreads = threads ?? (group == nil ? ProcessInfoCores.active : ProcessInfoCores.threadsPerRank(localRanks: ProcessGroup.localSize()))
        setEngineThreads(engineThreads)
        let isRoot = group?.isRoot ?? true
        /// Only rank 0 speaks.
        func say(_ line: @autoclosure () -> String) { if isRoot { print(line()) } }

        let (setup, log) = try agreedSetup(group)
        let run = setup.run, options = setup.options
        Self.header(setup, engineThreads: engineThreads, ranks: ranks).forEach { say($0) }

        let stop = StopSignals()
        stop.install()
        let progress = isRoot ? ProgressBar() : nil
        let ending: TrainingRunSetup.Ending
        do {
            // mpirun forwards SIGINT/SIGTERM to every rank, not necessarily before the same
            // step: the ranks agree on stopping (one allreduce of a flag per step).
            ending = try setup.execute(metrics: log, shouldStop: { group?.anyRank(stop.stopRequested) ?? stop.stopRequested }) { event in
                switch event {
                case .step(let p):
                    progress?.update(epoch: p.epoch + 1, epochs: options.epochs, step: p.step, total: p.stepsPerEpoch,
                                     loss: p.runningLoss, learningRate: p.learningRate,
                                     imagesPerSecond: p.imagesPerSecond, elapsedSeconds: p.elapsedSeconds)
                case .epoch(let report):
                    progress?.finish()
                    if isRoot { Self.epochLines(report, options: options).forEach { print($0) } }
                case .test(let result):
                    Self.testLines(result, augmentation: options.testTimeAugmentation).forEach { say($0) }
                }
                flushStandardOutput()
            }
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
        switch ending {
        case .alreadyComplete:
            say("The run is already complete (\(options.epochs) epoch(s)); nothing to do.")
            ProcessGroup.leave(group)
        case .completed:
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
            flushStandardOutput()
            ProcessGroup.leave(group)
            throw ExitCode(stop.exitStatus)
        }
    }

    /// Builds the run (and, on rank 0, checks the checkpoint folder and opens the metrics
    /// file). Under MPI the ranks then agree on the outcome (one allreduce), so a rank whose
    /// setup failed — a missing data file, an unwritable folder — stops every rank cleanly
    /// instead of leaving them waiting in the first collective.
    private func agreedSetup(_ group: (any Communicator)?) throws -> (TrainingRunSetup, MetricsLog?) {
        let isRoot = group?.isRoot ?? true
        let attempt = Result { () throws -> (TrainingRunSetup, MetricsLog?) in
            let setup = try Self.setUp(request, communicator: group)
            for stale in try setup.prepareCheckpointDirectory() {
                print("note: removed \(stale.path) (\(stale.bytes / 1_000_000) MB), a checkpoint save that process \(stale.pid) did not finish; the saved checkpoints are untouched")
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

    /// ``TrainingRunSetup/init(_:communicator:)`` with flags that do not fit the data
    /// reported as a usage error (as a bad flag value is).
    static func setUp(_ request: TrainingRunRequest, communicator: (any Communicator)? = nil) throws -> TrainingRunSetup {
        do {
            return try TrainingRunSetup(request, communicator: communicator)
        } catch TrainingRunSetupError.flagsDoNotFitData(let message) {
            throw ValidationError(message)
        }
    }
}

extension Recipe: ExpressibleByArgument {}

extension ScheduleKind: ExpressibleByArgument {}

extension FlipMode: ExpressibleByArgument {}
extension RecalibrationTransform: ExpressibleByArgument {}

extension CropSchedule: ExpressibleByArgument {
    public init?(argument: String) {
        guard let schedule = try? CropSchedule(parsing: argument) else { return nil }
        self = schedule
    }
}
