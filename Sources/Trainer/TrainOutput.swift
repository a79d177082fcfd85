import Foundation
import MobileNet

/// What `train` prints: the lines before the first step, after every epoch and after the
/// test pass that follows a run with a validation set.
extension TrainCommand {
    /// The model, data, schedule, threads, data parallelism, resume position and checkpoint folder.
    static func header(_ setup: TrainingRunSetup, engineThreads: Int, ranks: Int) -> [String] {
        let run = setup.run, options = setup.options
        let validationText = setup.validation.map { " / \($0.count) validation (\(setup.data.validationRule))" } ?? ""
        let testText = setup.test.map { " / \($0.count) test" } ?? ""
        var lines = [
            "MobileNetV1 α=\(options.widthMultiplier), \(options.numClasses) classes, \(run.session.model.parameterCount) parameters, recipe \(options.recipe); "
                + "\(setup.data.name): \(setup.train.count) training\(validationText)\(testText) images\(setup.train.imageSide != 32 ? " at \(setup.train.imageSide)×\(setup.train.imageSide)" : "") from \(setup.dataPath)",
            "\(options.epochs) epoch(s) × \(run.session.stepsPerEpoch) step(s) of batch \(min(options.batchSize, setup.train.count)); "
                + "\(engineThreads) thread(s)\(ranks > 1 ? " per rank" : ""), OpenBLAS \(BLAS.coreName)\(BLAS.coreTypeNote)",
        ]
        if let note = setup.lastBatchNote { lines.append(note) }
        lines += setup.data.notes
        if let dataParallel = run.session.dataParallel {
            lines.append("Data-parallel: \(ranks) MPI ranks, each \(options.batchSize / ranks)–\(dataParallel.shard.largestShard(ofBatch: options.batchSize)) image(s) of every batch; "
                + "BatchNorm \(options.syncBatchNorm ? "synchronised (SyncBatchNorm)" : "per rank (DDP), rank 0's running statistics kept"); "
                + "gradients in \(dataParallel.bucketCount(for: run.session.optimizer.parameters)) allreduce bucket(s)")
        }
        lines += recipeLines(options)
        if let checkpoint = setup.checkpoint, run.isComplete {
            lines.append("The checkpoint \(checkpoint.folder) has finished all \(options.epochs) epoch(s) of its run.")
        } else if let checkpoint = setup.checkpoint {
            lines.append("Resuming from \(checkpoint.folder) at epoch \(checkpoint.epoch + 1), step \(checkpoint.step) (global step \(checkpoint.globalStep))")
        }
        lines.append(run.checkpoints.map { "Checkpoints: \($0.path) (last → newest, best.safetensors)" } ?? "No --checkpoint-dir: nothing will be saved.")
        return lines
    }

    /// "Epoch 3/60 (24×24 crops): train loss … | val loss … | 61.2 s (803 img/s), total 3.1 min", the
    /// collectives' share under MPI, and the checkpoint saved.
    static func epochLines(_ report: TrainingRunEvent.EpochReport, options: TrainingOptions) -> [String] {
        let s = report.end.summary
        // Under a crop schedule every epoch line says which size it trained on.
        let crop = options.cropSchedule.phases.isEmpty ? "" : " (\(report.cropSize)×\(report.cropSize) crops)"
        let testText = s.validation.map { String(format: "val loss %.4f acc %.2f%%", $0.loss, 100 * $0.accuracy) }
            ?? s.test.map { String(format: "test loss %.4f acc %.2f%%", $0.loss, 100 * $0.accuracy) }
            ?? (options.evalEvery == 1 ? "no test" : "not evaluated (--eval-every \(options.evalEvery))")
        let emaText = s.ema.map { String(format: " | EMA loss %.4f acc %.2f%%", $0.loss, 100 * $0.accuracy) } ?? ""
        let resumed = s.firstStep > 0 ? " (steps \(s.firstStep + 1)… only, resumed)" : ""
        var lines = [String(format: "Epoch %d/%d%@: train loss %.4f acc %.2f%%%@ | %@ | %.1f s (%.0f img/s), total %.1f min",
                            s.epoch + 1, options.epochs, crop, s.trainLoss, 100 * s.trainAccuracy, resumed, testText + emaText, s.epochSeconds,
                            s.imagesPerSecond, report.elapsedSeconds / 60)]
        if let c = report.collectives {
            lines.append(String(format: "  %d ranks: %.1f s of %.1f s training in MPI collectives (%.1f %%; gradient allreduce %.1f s), waiting for slower ranks included",
                                c.ranks, c.seconds, c.trainSeconds, 100 * c.fraction, c.gradientSeconds))
        }
        if let folder = report.end.checkpoint {
            lines.append("  saved \(folder)\(report.end.isBest ? " and best.safetensors (best \(s.ema != nil ? "EMA " : "")\(s.validation != nil ? "validation" : "test") accuracy so far)" : "")")
        }
        return lines
    }

    /// The test set, once, for the final weights and the best (validation-picked) checkpoint.
    static func testLines(_ result: TrainingRun.TestResult, augmentation: TestTimeAugmentation) -> [String] {
        let label = augmentation == .none ? "Test set" : "Test set (\(augmentation.rawValue) TTA)"
        var lines = ["\(label), once, final weights\(result.finalIsAverage ? " (EMA)" : ""): \(result.final.summaryLine)"]
        if let best = result.best {
            lines.append("\(label), once, best checkpoint (epoch \(best.epochsCompleted), best validation accuracy): \(best.tally.summaryLine)")
        }
        return lines
    }
}

extension TrainCommand {
    /// The header's lines for the training-recipe features that are on (none with the defaults).
    static func recipeLines(_ options: TrainingOptions) -> [String] {
        var lines: [String] = []
        if let crops = cropScheduleLine(options.cropSchedule, epochs: options.epochs, imageSide: options.imageSize) { lines.append(crops) }
        if options.emaDecay > 0 {
            lines.append("EMA of the weights and BatchNorm buffers: decay \(options.emaDecay) (warm-up min(D, (1+n)/(10+n))), updated every \(options.emaEvery) step(s); evaluated beside the raw weights, saved as ema.safetensors, selects best.safetensors")
        }
        if options.schedule == .linear {
            lines.append("Schedule: linear warm-up over \(options.warmupPct) of the steps from \(options.maxLearningRate / options.divFactor) to \(options.maxLearningRate), then linear decay to \(options.finalLearningRateFactor) × \(options.maxLearningRate); momentum \(options.maxMomentum)")
        }
        if options.evalEvery != 1 {
            lines.append("Evaluation pass (\(options.validationSplit > 0 ? "validation" : "test") set) after " + (options.evalEvery == 0 || options.evalEvery >= options.epochs ? "the last epoch only" : "every \(options.evalEvery) epochs and the last"))
        }
        if options.flipMode == .alternate {
            lines.append("Flip: alternate (epoch 1 at random from the seed, then each image mirrored on every other epoch)")
        }
        if options.cutout > 0 {
            lines.append("Cutout: a \(options.cutout)×\(options.cutout) square of each training image set to the mean (centre uniform over the crop, clipped at the edges)")
        }
        if options.bnRecalibrate > 0 {
            lines.append("BatchNorm recalibration after the last epoch: running statistics recomputed over \(options.bnRecalibrate) training images (\(options.bnRecalibrateTransform.summary)), batch averages as update_bn")
        }
        return lines
    }

    /// "Crops: epochs 1–8 at 16×16, epochs 9–30 at 24×24, epochs 31–50 at 32×32 (--crop-schedule 16:8,24:22)",
    /// so a schedule rescaled by --epochs (a phase rounded away included) shows before the
    /// first step; nil without a schedule.
    static func cropScheduleLine(_ schedule: CropSchedule, epochs: Int, imageSide: Int) -> String? {
        guard !schedule.phases.isEmpty else { return nil }
        var first = 1, parts: [String] = []
        for phase in schedule.phases {
            let last = first + phase.epochs - 1
            parts.append("\(first == last ? "epoch \(first)" : "epochs \(first)–\(last)") at \(phase.size)×\(phase.size)")
            first = last + 1
        }
        if first <= epochs {
            parts.append("\(first == epochs ? "epoch \(first)" : "epochs \(first)–\(epochs)") at \(imageSide)×\(imageSide)")
        }
        return "Crops: " + parts.joined(separator: ", ") + " (--crop-schedule \(schedule))"
    }
}
