import Foundation
import MobileNet

extension EvaluateCommand {
    /// The run options `--bn-recalibrate` recalibrates with: the run's, with the count given
    /// and the transform given (else the run's own when it recalibrated, else eval). nil
    /// without `--bn-recalibrate` (``validate()`` has checked the flags' values).
    /// - Throws: ``CommandFailure`` for a model file that belongs to no run (the sample and
    ///   transforms are the run's).
    func recalibrationOptions(modelPath: String) throws -> (options: TrainingOptions, run: TrainingCheckpoint)? {
        guard let count = bnRecalibrate else { return nil }
        guard let run = Self.recordedRun(of: model.checkpoint, modelPath: modelPath) else {
            throw CommandFailure("--bn-recalibrate: \(model.checkpoint) belongs to no training run, so its training images, seed and transforms are unknown. Give the run's checkpoint folder or --checkpoint-dir.")
        }
        var options = run.options
        options.bnRecalibrateTransform = bnRecalibrateTransform ?? (options.bnRecalibrate > 0 ? options.bnRecalibrateTransform : .eval)
        options.bnRecalibrate = count
        return (options, run)
    }

    /// Recalibrates `loaded`'s BatchNorm statistics in memory when `--bn-recalibrate` is
    /// given, with ``BatchNormRecalibration/loader(for:train:mean:std:)`` over the run's
    /// training images (its held-out ones excluded), read from the folder the run recorded
    /// when it still exists, else `dataPath` (`--data`): the statistics `train` would have
    /// saved in its last checkpoint with the same flags.
    /// - Returns: the line that says so, nil without `--bn-recalibrate`.
    /// - Throws: ``CommandFailure`` (see ``recalibrationOptions(modelPath:)``; a folder
    ///   whose training images are not the run's by count or classes); the data's read errors.
    func recalibrate(_ loaded: LoadedModel, dataPath: String) throws -> String? {
        guard let (options, run) = try recalibrationOptions(modelPath: loaded.path) else { return nil }
        let recorded = run.dataset.dataPath.flatMap { FileManager.default.fileExists(atPath: $0) ? $0 : nil }
        let trainPath = recorded ?? dataPath
        let data = try RunData.load(path: trainPath, options: options, dataset: Dataset(rawValue: run.dataset.name),
                                    coarseLabels: run.dataset.coarseLabels, maxMemory: maxMemory?.bytes ?? RunOption.defaultMaxMemory,
                                    recorded: run.dataset)
        guard data.trainImages == run.dataset.trainImages, data.train.classNames == run.dataset.classNames else {
            throw CommandFailure("--bn-recalibrate: \(trainPath) holds \(data.trainImages) training images of \(data.train.classNames.count) classes, but the run in \(run.folder) trained on \(run.dataset.trainImages) of \(run.dataset.classNames.count). Give --data the folder the run trained on.")
        }
        guard let loader = BatchNormRecalibration.loader(for: options, train: data.train, mean: data.mean, std: data.std) else { return nil }
        let batches = BatchNormRecalibration.recalibrate(loaded.model, loader: loader)
        return "BatchNorm recalibrated before evaluating: running statistics over \(min(options.bnRecalibrate, data.train.count)) training images of \(trainPath) (\(options.bnRecalibrateTransform.summary)) in \(batches) batch(es) of up to \(options.batchSize), as train --bn-recalibrate \(options.bnRecalibrate) --bn-recalibrate-transform \(options.bnRecalibrateTransform.rawValue)"
    }
}
