/// The options of the training-recipe features (weight averaging, BatchNorm
/// recalibration, schedule, flip, cutout, test-time augmentation), entries of ``RunOption/all``.
extension RunOption {
    public static let emaDecay = recorded(
        "ema-decay", \.emaDecay, property: "emaDecay",
        help: "Exponential moving average of the weights and BatchNorm buffers with decay D after a warm-up of min(D, (1+n)/(10+n)) at update n; evaluated each epoch (each --eval-every epochs) beside the raw weights, saved as ema.safetensors in each checkpoint, and the model evaluate, predict and export use (--raw-weights for the others); 0 for none") { o in
            o.emaDecay == 0 || (o.emaDecay > 0 && o.emaDecay < 1) ? nil : "must be 0 (off) or lie strictly between 0 and 1, got \(o.emaDecay)"
        }
    public static let emaEvery = recorded(
        "ema-every", \.emaEvery, property: "emaEvery", help: "With --ema-decay: update the average every K optimizer steps",
        requirement: Requirement(flags: "--ema-decay D") { $0.emaDecay > 0 }) { o in
            o.emaEvery >= 1 ? nil : "must be at least 1, got \(o.emaEvery)"
        }
    public static let schedule = recorded(
        "schedule", \.schedule, property: "schedule",
        help: "Learning-rate schedule: onecycle (OneCycleLR: --pct-start, --div-factor, --final-div-factor, cycled momentum) or linear (PyTorch's SequentialLR of LinearLR(1/--div-factor → 1) over --warmup-pct of the steps and LinearLR(1 → --final-lr-factor) over the rest; momentum --max-momentum throughout)")
    /// What the linear schedule's own options (--warmup-pct, --final-lr-factor) need.
    static let linearSchedule = Requirement(flags: "--schedule linear") { $0.schedule == .linear }
    public static let warmupPct = recorded(
        "warmup-pct", \.warmupPct, property: "warmupPct",
        help: "--schedule linear: fraction of the steps spent warming up, W = ⌊P · steps⌋, in [0, 1)", requirement: linearSchedule) { o in
            o.warmupPct >= 0 && o.warmupPct < 1 ? nil : "must lie in [0, 1), got \(o.warmupPct)"
        }
    public static let finalLearningRateFactor = recorded(
        "final-lr-factor", \.finalLearningRateFactor, property: "finalLearningRateFactor",
        help: "--schedule linear: the last learning rate as a fraction of --max-lr, in [0, 1]", requirement: linearSchedule) { o in
            o.finalLearningRateFactor >= 0 && o.finalLearningRateFactor <= 1 ? nil : "must lie in [0, 1], got \(o.finalLearningRateFactor)"
        }
    public static let flipMode = recorded(
        "flip-mode", \.flipMode, property: "flipMode",
        help: "With --flip: random (each image flipped with probability 0.5 every epoch) or alternate (epoch 1 at random from the seed, then each image flipped on every other epoch: flip in epoch e iff its first flip XOR e odd, e 0-based)") { o in
            o.flipMode == .random || o.horizontalFlip ? nil : "alternate flips need the flip on; drop --no-flip"
        }
    public static let cutout = recorded(
        "cutout", \.cutout, property: "cutout",
        help: "Cutout (DeVries & Taylor 2017): after crop and flip, set a K×K square of every training image to 0 after normalisation (the channel mean), its centre uniform over the crop and the square clipped at the edges (so near an edge less of it lands on the image; a K of twice a crop's side or more can blank a whole crop); in every epoch, --crop-schedule's smaller crops included; not in evaluation, nor in --bn-recalibrate's images; 0 for none") { o in
            (0...o.imageSize).contains(o.cutout) ? nil : "must lie in 0...\(o.imageSize) (--image-size), got \(o.cutout)"
        }
    public static let config = commandLine(
        "config", help: "Read recorded options from a JSON file first (keys: options.json's names, e.g. batchSize, or flag names, e.g. batch-size; flags on the command line override it, --epochs keeping the file's crop phases at their share of the run as it does a recipe's; on --resume its values are checked as flags are). Every run with --checkpoint-dir writes its resolved options as DIR/options.json, so --config DIR/options.json repeats it.",
        resume: .free)
    public static let bnRecalibrate = recorded(
        "bn-recalibrate", \.bnRecalibrate, property: "bnRecalibrate",
        help: "At the end of the run, recompute every BatchNorm's running mean and variance (of the trained weights and of the --ema-decay average) over N training images (a seeded sample, in the --bn-recalibrate-transform) in batches of --batch-size, averaging the batches' statistics as torch.optim.swa_utils.update_bn; before the last evaluation and checkpoint, so export gets them; 0 for none") { o in
            o.bnRecalibrate >= 0 ? nil : "must be zero or positive, got \(o.bnRecalibrate)"
        }
    public static let bnRecalibrateTransform = recorded(
        "bn-recalibrate-transform", \.bnRecalibrateTransform, property: "bnRecalibrateTransform",
        help: "With --bn-recalibrate: the transform of its images: eval (normalise only, as PreciseBN) or train (the run's random crop with its zero padding and a random flip, p = 0.5 also with --flip-mode alternate, at full size whatever --crop-schedule says, without --cutout, drawn from --seed)",
        requirement: Requirement(flags: "--bn-recalibrate N") { $0.bnRecalibrate > 0 })
    public static let evalEvery = recorded(
        "eval-every", \.evalEvery, property: "evalEvery",
        help: "Run the evaluation pass (the validation set, else the test set; the --ema-decay average too) after every N-th epoch and after the last; 0: after the last only. The weights trained are the same; an epoch without it logs no evaluation, is not checked for an evaluation-mode overflow, and best.safetensors is chosen among the epochs evaluated") { o in
            o.evalEvery >= 0 ? nil : "must be zero or positive, got \(o.evalEvery)"
        }
}
