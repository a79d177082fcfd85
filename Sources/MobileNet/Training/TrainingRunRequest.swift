/// What a user asked `train` for: a recipe, a `--config` file, the flags given over them
/// (``overrides``), the data, and where to save, resume from and log. ``options(over:)``
/// resolves it into ``TrainingOptions``; ``TrainingRunSetup`` resolves it, with the data and
/// the checkpoint, into a run ready to go. Option names, defaults and checks come from
/// ``RunOption/all``.
public struct TrainingRunRequest: Sendable {
    /// `--recipe`: replaces the base options (but its class count) before the overrides
    /// apply; nil: the `--config` file's recipe, if it names one (``validate()`` refuses two
    /// different ones).
    public var recipe: Recipe?
    /// `--config`: the file's options, applied over the recipe and under the command line's.
    public var config: RunConfigFile?
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

    public init(recipe: Recipe? = nil, config: RunConfigFile? = nil, overrides: [TrainingOptions.Override] = [], dataPath: String? = nil,
                dataset: Dataset? = nil, coarseLabels: Bool = false, maxMemory: Int? = nil, metricsPath: String? = nil,
                checkpointDirectory: String? = nil, resumeFrom: String? = nil) {
        self.maxMemory = maxMemory
        self.recipe = recipe
        self.config = config
        self.overrides = overrides
        self.dataPath = dataPath
        self.dataset = dataset
        self.coarseLabels = coarseLabels
        self.metricsPath = metricsPath
        self.checkpointDirectory = checkpointDirectory
        self.resumeFrom = resumeFrom
    }

    /// Whether the command line or the `--config` file sets the option at `keyPath`.
    public func gives(_ keyPath: PartialKeyPath<TrainingOptions>) -> Bool {
        (overrides + (config?.overrides ?? [])).contains { $0.keyPath == keyPath }
    }

    /// The `--config` key that gives `option`'s value: nil when the command line gives it
    /// (its value replaces the file's) or the file does not.
    public func configKey(for option: RunOption) -> RunConfigKey? {
        let typed = option.name == RunOption.recipe.name ? recipe != nil : overrides.contains { $0.keyPath == option.keyPath }
        return typed ? nil : config?.key(for: option)
    }

    /// The options over `base` (the defaults, or a resumed checkpoint's), in three layers:
    /// the recipe (`--recipe`, else the `--config` file's) replaces `base` (but its class
    /// count) with its options, unless it is `base`'s own recipe; then the file's values;
    /// then the command line's. Options no layer sets keep `base`'s values. A layer that sets
    /// `--epochs` but not `--crop-schedule` keeps each crop phase of the layers below at its
    /// share of the run: `--recipe fast --epochs 21`, and `--epochs 21` over a `--config` file
    /// holding the fast recipe's 42 epochs and crop schedule, both train 11 epochs on 24×24 crops.
    public func options(over base: TrainingOptions) -> TrainingOptions {
        var options = base
        if let recipe = recipe ?? config?.recipe, recipe.rawValue != base.recipe {
            options = recipe.options
            options.numClasses = base.numClasses
        }
        Self.apply(config?.overrides ?? [], to: &options)
        Self.apply(overrides, to: &options)
        return options
    }

    /// Applies one layer of overrides, rescaling the crop schedule to a new `--epochs` when
    /// the layer does not set the schedule itself (an epoch count below 1 is left for
    /// ``TrainingOptions/validate()`` to report).
    private static func apply(_ layer: [TrainingOptions.Override], to options: inout TrainingOptions) {
        let (epochs, schedule) = (options.epochs, options.cropSchedule)
        for override in layer { override.apply(&options) }
        let sets = { (keyPath: PartialKeyPath<TrainingOptions>) in layer.contains { $0.keyPath == keyPath } }
        if sets(\.epochs) && !sets(\.cropSchedule) && epochs >= 1 && options.epochs >= 1 {
            options.cropSchedule = schedule.scaled(fromEpochs: epochs, toEpochs: options.epochs)
        }
    }

    /// Checks what the flags say alone, before any data or checkpoint is read: `--recipe` and
    /// the `--config` file's recipe must agree (the file's values were written over its
    /// recipe, and a run records one); then the options over the defaults, or on
    /// `--resume` over defaults standing in for the checkpoint's (with a validation split,
    /// so a flag that needs one, `--tta`, may rely on the checkpoint's); last, without
    /// `--resume`, that no option is given without what it shapes (``RunOption/requirement``).
    /// The resumed options are checked against the checkpoint by ``TrainingRunSetup``.
    /// - Throws: ``TrainingOptions/InvalidOption`` naming the first bad flag (and the
    ///   `--config` key when the value came from the file).
    public func validate() throws {
        if let recipe, let named = config?.recipe, named != recipe, let source = config?.key(for: .recipe) {
            throw TrainingOptions.InvalidOption(
                flag: RunOption.recipe.flag,
                message: "\(named.rawValue) contradicts --recipe \(recipe.rawValue); name one recipe: drop --recipe, or drop \"\(source.key)\" from the file",
                source: source)
        }
        var base = TrainingOptions()
        if resumeFrom != nil && !gives(\.validationSplit) { base.validationSplit = 1 }
        let options = options(over: base)
        for option in RunOption.all {
            if var problem = option.problem(in: options) {
                problem.source = configKey(for: option)
                throw problem
            }
        }
        if resumeFrom == nil, let problem = givenWithoutEffect(in: options) { throw problem }
    }

    /// The first option given although what it shapes is off (--warmup-pct without
    /// --schedule linear; ``RunOption/requirement``): typed, or in the `--config` file with a
    /// value other than its recipe's (a run's options.json records every option, defaults
    /// included, and must start the same run). A resume is checked against its checkpoint instead.
    private func givenWithoutEffect(in options: TrainingOptions) -> TrainingOptions.InvalidOption? {
        let recipeOptions = (recipe ?? config?.recipe ?? .reference).options
        for option in RunOption.all {
            guard let requirement = option.requirement, !requirement.isMet(options), let keyPath = option.keyPath else { continue }
            if overrides.contains(where: { $0.keyPath == keyPath }) { return requirement.problem(giving: option, at: nil) }
            guard let source = config?.key(for: option) else { continue }
            var fromFile = recipeOptions
            for override in config?.overrides ?? [] where override.keyPath == keyPath { override.apply(&fromFile) }
            if TrainingOptions.text(fromFile[keyPath: keyPath]) != TrainingOptions.text(recipeOptions[keyPath: keyPath]) {
                return requirement.problem(giving: option, at: source)
            }
        }
        return nil
    }
}
