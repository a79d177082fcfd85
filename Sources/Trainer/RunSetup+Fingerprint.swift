import MobileNet

extension TrainingRunSetup {
    /// What this rank will do, for the setup-time comparison across ranks: every option,
    /// --sync-bn, the data (image counts and checksums of each split, so a shorter or other
    /// copy on one host is caught), the steps per epoch and the resumed position. Paths are
    /// left out: hosts may keep the same data in different folders.
    var fingerprint: RunFingerprint {
        var fields = RunFingerprint.fields(of: options)
        let session = run.session
        fields += [
            .init(name: "--sync-bn", value: "\(session.dataParallel?.syncBatchNorm ?? false)"),
            .init(name: "--data (data set)", value: run.dataset.name),
            .init(name: "--data (training images)", value: train.fingerprint),
            .init(name: "--data (validation images)", value: validation?.fingerprint ?? "none"),
            .init(name: "--data (test images)", value: test?.fingerprint ?? "none"),
            .init(name: "steps per epoch", value: "\(session.stepsPerEpoch)"),
            .init(name: "--resume (checkpoint position)", value: checkpoint.map { "global step \($0.globalStep)" } ?? "none (a new run)"),
        ]
        return RunFingerprint(fields: fields)
    }
}
