import MobileNet

extension EvaluateCommand {
    /// The run options `--bn-recalibrate` recalibrates with: the run's, with the count and
    /// transform given. nil without `--bn-recalibrate`.
    /// - Throws: ``CommandFailure`` for a count below 1, a transform without a count, or a
    ///   model file that belongs to no run (the sample and transform are the run's).
    func recalibrationOptions(modelPath: String) throws -> (options: TrainingOptions, run: TrainingCheckpoint)? {
        guard let count = bnRecalibrate else {
            if bnRecalibrateTransform != nil {
                throw CommandFailure("--bn-recalibrate-transform applies only with --bn-recalibrate N; give --bn-recalibrate N or drop --bn-recalibrate-transform.")
            }
            return nil
        }
        guard count >= 1 else { throw CommandFailure("--bn-recalibrate must be at least 1 image, got \(count).") }
        guard let run = Self.recordedRun(of: model.checkpoint, modelPath: modelPath) else {
            throw CommandFailure("--bn-recalibrate: \(model.checkpoint) belongs to no training run, so its training images, seed and transforms are unknown. Give the run's checkpoint folder or --checkpoint-dir.")
        }
        var options = run.options
        options.bnRecalibrate = count
        options.bnRecalibrateTransform = bnRecalibrateTransform ?? .eval
        return (options, run)
    }

    /// Recalibrates `loaded`'s BatchNorm statistics in memory when `--bn-recalibrate` is
    /// given, over the run's training images read from `dataPath`, with
    /// ``BatchNormRecalibration/loader(for:train:mean:std:)``: the statistics `train` would
    /// have saved with the same flags.
    /// - Returns: the line that says so, nil without `--bn-recalibrate`.
    /// - Throws: ``CommandFailure`` (see ``recalibrationOptions(modelPath:)``); the data's read errors.
    func recalibrate(_ loaded: LoadedModel, dataPath: String) throws -> String? {
        guard let (options, run) = try recalibrationOptions(modelPath: loaded.path) else { return nil }
        let data = try RunData.load(path: dataPath, options: options, dataset: Dataset(rawValue: run.dataset.name),
                                    coarseLabels: run.dataset.coarseLabels, maxMemory: maxMemory?.bytes ?? RunOption.defaultMaxMemory,
                                    recorded: run.dataset)
        guard data.trainImages == run.dataset.trainImages else {
            throw CommandFailure("--bn-recalibrate: \(dataPath) holds \(data.trainImages) training images, but the run in \(run.folder) trained on \(run.dataset.trainImages). Give --data the folder the run trained on.")
        }
        guard let loader = BatchNormRecalibration.loader(for: options, train: data.train, mean: data.mean, std: data.std) else { return nil }
        let batches = BatchNormRecalibration.recalibrate(loaded.model, loader: loader)
        let transform = options.bnRecalibrateTransform == .train ? "the training transform at full size: random crop and flip" : "no augmentation"
        return "BatchNorm recalibrated before evaluating: running statistics over \(min(options.bnRecalibrate, data.train.count)) training images (\(transform)) in \(batches) batches of \(options.batchSize), as train --bn-recalibrate \(options.bnRecalibrate) --bn-recalibrate-transform \(options.bnRecalibrateTransform.rawValue)"
    }
}
