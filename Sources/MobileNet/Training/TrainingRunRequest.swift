/// What a user asked `train` for: a recipe, the flags given over it (``overrides``), the
/// data, and where to save, resume from and log. ``options(over:)`` resolves it into
/// ``TrainingOptions``; ``TrainingRunSetup`` resolves it, with the data and the
/// checkpoint, into a run ready to go. Option names, defaults and checks come from
/// ``RunOption/all``.
public struct TrainingRunRequest: Sendable {
    /// `--recipe`: replaces the base options (but its class count) before the overrides apply.
    public var recipe: Recipe?
    /// The recorded options given on the command line (see ``TrainingOptions/Override``).
    public var overrides: [TrainingOptions.Override]
    /// `--data`, `--dataset`, `--coarse-labels`.
    public var dataPath: String?
    public var dataset: Dataset?
    public var coarseLabels: Bool
    /// `--max-memory`: bytes an image folder's decoded images may take (nil: ``RunOption/defaultMaxMemory``).
    public var maxMemory: Int?
    /// `--metrics`, `--checkpoint-dir`, `--resume`.
    public var metricsPath: String?
    public var checkpointDirectory: String?
    public var resumeFrom: String?

    public init(recipe: Recipe? = nil, overrides: [TrainingOptions.Override] = [], dataPath: String? = nil, dataset: Dataset? = nil,
                coarseLabels: Bool = false, maxMemory: Int? = nil, metricsPath: String? = nil, checkpointDirectory: String? = nil,
                resumeFrom: String? = nil) {
        self.maxMemory = maxMemory
        self.recipe = recipe
        self.overrides = overrides
        self.dataPath = dataPath
        self.dataset = dataset
        self.coarseLabels = coarseLabels
        self.metricsPath = metricsPath
        self.checkpointDirectory = checkpointDirectory
        self.resumeFrom = resumeFrom
    }

    /// Whether the flag setting `keyPath` was given.
    public func gives(_ keyPath: PartialKeyPath<TrainingOptions>) -> Bool {
        overrides.contains { $0.keyPath == keyPath }
    }

    /// The flags applied over `base` (the defaults, or a resumed checkpoint's options):
    /// `--recipe` replaces `base` (but its class count) with the recipe's options first,
    /// unless it is `base`'s own recipe; flags not given keep `base`'s values. `--epochs`
    /// with a new recipe's crop schedule (and no `--crop-schedule`) keeps the share of the
    /// run each crop phase covers: `--recipe fast --epochs 21` trains 11 epochs on 24×24 crops.
    public func options(over base: TrainingOptions) -> TrainingOptions {
        var options = base
        var replacedByRecipe = false
        if let recipe, recipe.rawValue != base.recipe {
            options = recipe.options
            options.numClasses = base.numClasses
            replacedByRecipe = true
        }
        let (recipeEpochs, recipeSchedule) = (options.epochs, options.cropSchedule)
        for override in overrides { override.apply(&options) }
        if replacedByRecipe && gives(\.epochs) && !gives(\.cropSchedule) {
            options.cropSchedule = recipeSchedule.scaled(fromEpochs: recipeEpochs, toEpochs: options.epochs)
        }
        return options
    }

    /// Checks what the flags say alone, before any file is read: over the defaults, or on
    /// `--resume` over defaults standing in for the checkpoint's (with a validation split,
    /// so a flag that needs one, `--tta`, may rely on the checkpoint's); the resumed
    /// options are checked against the checkpoint by ``TrainingRunSetup``.
    /// - Throws: ``TrainingOptions/InvalidOption`` naming the first bad flag.
    public func validate() throws {
        var base = TrainingOptions()
        if resumeFrom != nil && !gives(\.validationSplit) { base.validationSplit = 1 }
        try options(over: base).validate()
    }
}
