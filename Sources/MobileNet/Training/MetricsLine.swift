import Foundation

/// One line of a metrics file (``MetricsLog``), as written by `train` and read by `plot`
/// (``TrainingCurves``): a JSON object whose `kind` says which of these it is. The field
/// names (snake case, e.g. `train_loss`) are the file format; every file written by
/// earlier versions reads back (fields added later are optional).
///
/// Losses are mean cross-entropy (nats), accuracies fractions in [0, 1], times seconds,
/// epochs 1-based, `step` the 1-based global optimizer step.
public enum MetricsLine: Codable, Equatable, Sendable {
    /// When training starts, fresh or resumed (before the `resume` line): the run's resolved
    /// options, in field `options` as `options.json` holds them, so `--config` of that
    /// object repeats the run.
    case options(TrainingOptions)
    /// Every 100 optimizer steps: the batch's loss and the schedule's values.
    case step(Step)
    /// After every complete epoch.
    case epoch(Epoch)
    /// After a run with a validation set: the test set, evaluated once.
    case test(Test)
    /// A run resumed from a checkpoint.
    case resume(Resume)
    /// A run stopped by SIGINT/SIGTERM.
    case interrupted(Interrupted)
    /// A line of a kind this version does not know (kept, not drawn).
    case other(kind: String?)

    public struct Step: Codable, Equatable, Sendable {
        public var epoch: Int
        public var step: Int
        public var loss: Double
        /// OneCycleLR's learning rate and momentum at this step.
        public var learningRate: Double
        public var momentum: Double

        public init(epoch: Int, step: Int, loss: Double, learningRate: Double, momentum: Double) {
            (self.epoch, self.step, self.loss, self.learningRate, self.momentum) = (epoch, step, loss, learningRate, momentum)
        }

        enum CodingKeys: String, CodingKey {
            case epoch, step, loss, learningRate = "lr", momentum
        }
    }

    /// An epoch's figures. `epoch` is required; the others are optional when reading, as
    /// files of earlier versions (and hand-written ones) lack some; `train` writes every
    /// field it has.
    public struct Epoch: Codable, Equatable, Sendable {
        public var epoch: Int
        public var trainLoss: Double?
        public var trainAccuracy: Double?
        /// Per-epoch test figures (nil with a validation set, which is evaluated instead).
        public var testLoss: Double?
        public var testAccuracy: Double?
        public var validationLoss: Double?
        public var validationAccuracy: Double?
        /// The moving average of the weights (--ema-decay) evaluated on the same set as the
        /// test or validation figures; absent without one.
        public var emaLoss: Double?
        public var emaAccuracy: Double?
        /// Wall time of the whole epoch, of its training steps and of its evaluation.
        public var epochSeconds: Double?
        public var trainSeconds: Double?
        public var testSeconds: Double?
        public var imagesPerSecond: Double?
        /// The first step the train figures cover (0-based): 0 when they cover the whole epoch,
        /// as after a resume mid-epoch from a checkpoint holding the epoch's running sums.
        public var trainFromStep: Int?
        /// The side of the training crops (absent in files of versions before crop schedules).
        public var cropSize: Int?
        /// The checkpoint folder saved after the epoch.
        public var checkpoint: String?
        /// Data-parallel runs: the rank count, and the seconds in MPI collectives (all, and the gradient allreduce alone).
        public var ranks: Int?
        public var collectiveSeconds: Double?
        public var gradientAllreduceSeconds: Double?

        public init(epoch: Int) { self.epoch = epoch }

        enum CodingKeys: String, CodingKey {
            case epoch, trainLoss = "train_loss", trainAccuracy = "train_accuracy", testLoss = "test_loss",
                 testAccuracy = "test_accuracy", validationLoss = "val_loss", validationAccuracy = "val_accuracy",
                 emaLoss = "ema_loss", emaAccuracy = "ema_accuracy",
                 epochSeconds = "epoch_seconds", trainSeconds = "train_seconds", testSeconds = "test_seconds",
                 imagesPerSecond = "images_per_second", trainFromStep = "train_from_step", cropSize = "crop_size",
                 checkpoint, ranks, collectiveSeconds = "collective_seconds",
                 gradientAllreduceSeconds = "gradient_allreduce_seconds"
        }

        /// Reads an epoch line; a field of the wrong type, or a count that is no whole
        /// number (a damaged file), reads as absent.
        /// - Throws: `DecodingError.dataCorrupted` for a missing or fractional `epoch`.
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            guard let epoch = c.wholeNumber(.epoch) else {
                throw DecodingError.dataCorruptedError(forKey: .epoch, in: c, debugDescription: "an epoch line without a whole-number \"epoch\"")
            }
            self.epoch = epoch
            trainLoss = c.number(.trainLoss)
            trainAccuracy = c.number(.trainAccuracy)
            testLoss = c.number(.testLoss)
            testAccuracy = c.number(.testAccuracy)
            validationLoss = c.number(.validationLoss)
            validationAccuracy = c.number(.validationAccuracy)
            emaLoss = c.number(.emaLoss)
            emaAccuracy = c.number(.emaAccuracy)
            epochSeconds = c.number(.epochSeconds)
            trainSeconds = c.number(.trainSeconds)
            testSeconds = c.number(.testSeconds)
            imagesPerSecond = c.number(.imagesPerSecond)
            trainFromStep = c.wholeNumber(.trainFromStep)
            cropSize = c.wholeNumber(.cropSize)
            checkpoint = try? c.decodeIfPresent(String.self, forKey: .checkpoint)
            ranks = c.wholeNumber(.ranks)
            collectiveSeconds = c.number(.collectiveSeconds)
            gradientAllreduceSeconds = c.number(.gradientAllreduceSeconds)
        }
    }

    /// The test set evaluated once after a run that selected its best checkpoint on a
    /// validation set: the final weights and (when saved) the best checkpoint.
    public struct Test: Codable, Equatable, Sendable {
        public var finalLoss: Double?
        public var finalAccuracy: Double?
        public var finalTop5Accuracy: Double?
        /// Test images evaluated.
        public var images: Int?
        /// The test-time augmentation ("flip"); absent for none.
        public var testTimeAugmentation: String?
        /// True when the final figures are those of the moving average of the weights
        /// (--ema-decay); absent otherwise.
        public var finalIsAverage: Bool?
        /// The epochs the best checkpoint had completed (1-based) and its figures.
        public var bestEpoch: Int?
        public var bestLoss: Double?
        public var bestAccuracy: Double?
        public var bestTop5Accuracy: Double?

        public init() {}

        enum CodingKeys: String, CodingKey {
            case finalLoss = "final_loss", finalAccuracy = "final_accuracy", finalTop5Accuracy = "final_top5_accuracy",
                 images, testTimeAugmentation = "tta", finalIsAverage = "final_ema", bestEpoch = "best_epoch", bestLoss = "best_loss",
                 bestAccuracy = "best_accuracy", bestTop5Accuracy = "best_top5_accuracy"
        }

        /// Reads a test line; mistyped fields read as absent.
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            finalLoss = c.number(.finalLoss)
            finalAccuracy = c.number(.finalAccuracy)
            finalTop5Accuracy = c.number(.finalTop5Accuracy)
            images = c.wholeNumber(.images)
            testTimeAugmentation = try? c.decodeIfPresent(String.self, forKey: .testTimeAugmentation)
            finalIsAverage = (try? c.decodeIfPresent(Bool.self, forKey: .finalIsAverage)) ?? nil
            bestEpoch = c.wholeNumber(.bestEpoch)
            bestLoss = c.number(.bestLoss)
            bestAccuracy = c.number(.bestAccuracy)
            bestTop5Accuracy = c.number(.bestTop5Accuracy)
        }
    }

    /// Where a resumed run continues: the checkpoint folder, 1-based epoch, step within it, global step.
    public struct Resume: Codable, Equatable, Sendable {
        public var from: String
        public var epoch: Int
        public var step: Int
        public var globalStep: Int

        public init(from: String, epoch: Int, step: Int, globalStep: Int) {
            (self.from, self.epoch, self.step, self.globalStep) = (from, epoch, step, globalStep)
        }

        enum CodingKeys: String, CodingKey { case from, epoch, step, globalStep = "global_step" }
    }

    /// Where a run was stopped, and the checkpoint saved then ("" without a checkpoint folder).
    public struct Interrupted: Codable, Equatable, Sendable {
        public var epoch: Int
        public var step: Int
        public var globalStep: Int
        public var checkpoint: String

        public init(epoch: Int, step: Int, globalStep: Int, checkpoint: String) {
            (self.epoch, self.step, self.globalStep, self.checkpoint) = (epoch, step, globalStep, checkpoint)
        }

        enum CodingKeys: String, CodingKey { case epoch, step, globalStep = "global_step", checkpoint }
    }

    private enum KindKey: String, CodingKey { case kind }
    private enum OptionsKey: String, CodingKey { case options }

    /// The `kind` field's value.
    public var kind: String? {
        switch self {
        case .options: "options"
        case .step: "step"
        case .epoch: "epoch"
        case .test: "test"
        case .resume: "resume"
        case .interrupted: "interrupted"
        case .other(let kind): kind
        }
    }

    /// A JSON object of a known kind without a required field, or with one of the wrong type.
    public struct MalformedLine: Error, CustomStringConvertible, Equatable {
        /// The line's `kind`.
        public let kind: String
        /// What is wrong, e.g. `a line without its "lr" field`.
        public let message: String
        public var description: String { message }
    }

    /// - Throws: ``MalformedLine`` for a line of a known kind that lacks a required field;
    ///   `DecodingError` when the text is not a JSON object.
    public init(from decoder: any Decoder) throws {
        let kind = try? decoder.container(keyedBy: KindKey.self).decodeIfPresent(String.self, forKey: .kind)
        do {
            switch kind {
            case "options": self = .options(try decoder.container(keyedBy: OptionsKey.self).decode(TrainingOptions.self, forKey: .options))
            case "step": self = .step(try Step(from: decoder))
            case "epoch": self = .epoch(try Epoch(from: decoder))
            case "test": self = .test(try Test(from: decoder))
            case "resume": self = .resume(try Resume(from: decoder))
            case "interrupted": self = .interrupted(try Interrupted(from: decoder))
            default:
                // Not an object at all is an error; an object of another kind is kept as such.
                _ = try decoder.container(keyedBy: KindKey.self)
                self = .other(kind: kind)
            }
        } catch let error as DecodingError {
            guard let kind, let message = Self.fieldProblem(error) else { throw error }
            throw MalformedLine(kind: kind, message: message)
        }
    }

    /// What is wrong with a field; nil when the error is about the whole text (no JSON object).
    private static func fieldProblem(_ error: DecodingError) -> String? {
        switch error {
        case .keyNotFound(let key, _):
            return "a line without its \"\(key.stringValue)\" field"
        case .typeMismatch(_, let context) where !context.codingPath.isEmpty,
             .valueNotFound(_, let context) where !context.codingPath.isEmpty:
            return "\"\(context.codingPath.last!.stringValue)\": \(context.debugDescription)"
        case .dataCorrupted(let context) where !context.codingPath.isEmpty:
            return context.debugDescription
        default:
            return nil
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: KindKey.self)
        try c.encodeIfPresent(kind, forKey: .kind)
        switch self {
        case .options(let options):
            var fields = encoder.container(keyedBy: OptionsKey.self)
            try fields.encode(options, forKey: .options)
        case .step(let line): try line.encode(to: encoder)
        case .epoch(let line): try line.encode(to: encoder)
        case .test(let line): try line.encode(to: encoder)
        case .resume(let line): try line.encode(to: encoder)
        case .interrupted(let line): try line.encode(to: encoder)
        case .other: break
        }
    }

    /// The JSON text of this line (keys sorted; no newline). Non-finite numbers are
    /// written as the strings "nan", "inf", "-inf" (JSON has none), and read back as numbers.
    public func jsonText() throws -> String {
        String(decoding: try Self.encoder.encode(self), as: UTF8.self)
    }

    /// Parses one line of a metrics file.
    /// - Throws: `DecodingError` when the text is not a JSON object; ``MalformedLine``
    ///   for a line of a known kind without its required fields (an epoch line without `epoch`).
    public init(jsonText text: some StringProtocol) throws {
        self = try Self.decoder.decode(MetricsLine.self, from: Data(text.utf8))
    }

    private static let nonFinite = (positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")

    private static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: nonFinite.positiveInfinity, negativeInfinity: nonFinite.negativeInfinity, nan: nonFinite.nan)
        return encoder
    }

    private static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: nonFinite.positiveInfinity, negativeInfinity: nonFinite.negativeInfinity, nan: nonFinite.nan)
        return decoder
    }
}

extension KeyedDecodingContainer {
    /// A number field, nil when absent or not a number.
    fileprivate func number(_ key: Key) -> Double? {
        (try? decodeIfPresent(Double.self, forKey: key)) ?? nil
    }

    /// A count field, nil when absent, not a number, or not a whole number that fits an Int.
    fileprivate func wholeNumber(_ key: Key) -> Int? {
        number(key).flatMap { Int(exactly: $0) }
    }
}
