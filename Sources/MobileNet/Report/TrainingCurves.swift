import Foundation

/// The curves of a training run, read from its metrics file (``MetricsLog``'s JSON lines):
/// per epoch the training, validation and test loss and top-1 accuracy, per logged step
/// the learning rate, and the test set's once-after-the-run result when there is one.
///
/// A resumed run appends to the same file; for an epoch logged more than once the last
/// line wins, and step lines are kept in step order with the last value for a step.
public struct TrainingCurves: Equatable, Sendable {
    /// One epoch line's figures (nil where the line has no such field).
    public struct Epoch: Equatable, Sendable {
        public var epoch: Int
        public var trainLoss: Double?, trainAccuracy: Double?
        public var validationLoss: Double?, validationAccuracy: Double?
        public var testLoss: Double?, testAccuracy: Double?
        /// The side of the training crops (`crop_size`; nil in files written before it existed).
        public var cropSize: Int? = nil
    }

    /// Epoch lines in epoch order (1-based `epoch`).
    public var epochs: [Epoch]
    /// One logged step's learning rate.
    public struct LearningRatePoint: Equatable, Sendable {
        /// Global optimizer step (1-based).
        public var step: Int
        public var learningRate: Double
    }

    /// The step lines' learning rates, in step order.
    public var learningRates: [LearningRatePoint]
    /// The final weights' test accuracy and the best checkpoint's, from a `test` line.
    public var finalTestAccuracy: Double?
    public var bestTestAccuracy: Double?
    /// The epochs the best checkpoint had completed (1-based), from the `test` line.
    public var bestEpoch: Int?
    /// The test-time augmentation of that test pass (`tta` of the `test` line; nil: none).
    public var testTimeAugmentation: String?

    /// A metrics file that cannot be drawn: the path, the 1-based line, what is wrong.
    public struct ReadError: Error, CustomStringConvertible, Equatable {
        public let path: String
        public let line: Int?
        public let message: String
        public var description: String {
            "metrics file \(path)\(line.map { ", line \($0)" } ?? ""): \(message)"
        }
    }

    /// Reads a metrics file.
    /// - Throws: ``ReadError`` when the file cannot be read, a line is not a JSON object
    ///   (a last line cut short by a crash is skipped), or the file has no epoch lines.
    public init(contentsOfFile path: String) throws {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
            throw ReadError(path: path, line: nil, message: "does not exist. Pass the file train wrote with --metrics.")
        }
        if isFolder.boolValue {
            throw ReadError(path: path, line: nil, message: "is a folder. Pass the file train wrote with --metrics.")
        }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw ReadError(path: path, line: nil, message: "cannot be read as UTF-8 text. Pass the file train wrote with --metrics.")
        }
        try self.init(jsonLines: text, path: path)
    }

    /// Parses JSON lines (see ``init(contentsOfFile:)``); `path` names the source in errors.
    public init(jsonLines text: String, path: String = "(metrics)") throws {
        var epochsByNumber: [Int: Epoch] = [:]
        var rates: [Int: Double] = [:]
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let lastLine = lines.lastIndex { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
        for (index, text) in lines.enumerated() where !text.trimmingCharacters(in: .whitespaces).isEmpty {
            let line: MetricsLine
            do {
                line = try MetricsLine(jsonText: text)
            } catch let error as MetricsLine.MalformedLine {
                // Only epoch lines are required; a step or test line of a damaged file is skipped.
                if error.kind == "epoch" { throw ReadError(path: path, line: index + 1, message: error.message) }
                continue
            } catch {
                if index == lastLine { continue }  // a last line cut short while it was written
                throw ReadError(path: path, line: index + 1, message: "not a JSON object; is this a file train wrote with --metrics?")
            }
            switch line {
            case .epoch(let e):
                epochsByNumber[e.epoch] = Epoch(epoch: e.epoch, trainLoss: e.trainLoss, trainAccuracy: e.trainAccuracy,
                                                validationLoss: e.validationLoss, validationAccuracy: e.validationAccuracy,
                                                testLoss: e.testLoss, testAccuracy: e.testAccuracy, cropSize: e.cropSize)
            case .step(let s):
                rates[s.step] = s.learningRate
            case .test(let t):
                finalTestAccuracy = t.finalAccuracy
                bestTestAccuracy = t.bestAccuracy
                bestEpoch = t.bestEpoch
                testTimeAugmentation = t.testTimeAugmentation
            case .options, .resume, .interrupted, .other:
                continue
            }
        }
        guard !epochsByNumber.isEmpty else {
            throw ReadError(path: path, line: nil, message: "holds no epoch lines yet; plot it after the first epoch has finished.")
        }
        epochs = epochsByNumber.keys.sorted().map { epochsByNumber[$0]! }
        learningRates = rates.keys.sorted().map { LearningRatePoint(step: $0, learningRate: rates[$0]!) }
    }

    /// The epochs trained on crops smaller than the full size (a ``CropSchedule``; the full
    /// size is the largest crop of the run, 32×32 on CIFAR), one run of equal sizes each:
    /// "epochs 1–22 on 24×24 crops"; nil when every epoch was full size.
    public var smallCropText: String? {
        var runs: [(first: Int, last: Int, size: Int)] = []
        let fullSize = epochs.compactMap(\.cropSize).max() ?? CIFARImage.side
        for epoch in epochs {
            guard let size = epoch.cropSize, size < fullSize else { continue }
            if let last = runs.last, last.size == size, last.last == epoch.epoch - 1 {
                runs[runs.count - 1].last = epoch.epoch
            } else {
                runs.append((epoch.epoch, epoch.epoch, size))
            }
        }
        guard !runs.isEmpty else { return nil }
        return runs.map { run in
            (run.first == run.last ? "epoch \(run.first)" : "epochs \(run.first)–\(run.last)") + " on \(run.size)×\(run.size) crops"
        }.joined(separator: ", ")
    }

    /// Three charts stacked in one standalone SVG: loss per epoch, top-1 accuracy (%) per
    /// epoch (training, validation, test; series without values are left out; the test set
    /// evaluated once after the run as single points at the final and the best epoch), and
    /// the learning rate per logged step. The accuracy chart's title names the epochs trained
    /// on smaller crops (``smallCropText``): their validation points are full-size images.
    public func svg(title: String) -> String {
        let categories = epochs.map { "\($0.epoch)" }
        func series(_ name: String, _ value: (Epoch) -> Double?, scale: Double = 1) -> ChartSeries? {
            let values = epochs.map { value($0).map { $0 * scale } ?? .nan }
            return values.contains(where: \.isFinite) ? ChartSeries(name: name, values: values) : nil
        }
        let loss = [series("train", \.trainLoss), series("validation", \.validationLoss), series("test", \.testLoss)].compactMap { $0 }
        var accuracy = [series("train", \.trainAccuracy, scale: 100), series("validation", \.validationAccuracy, scale: 100),
                        series("test", \.testAccuracy, scale: 100)].compactMap { $0 }
        // The test set evaluated once after the run: a single point each, at the epoch of the weights.
        func point(_ name: String, _ value: Double?, at epoch: Int?) {
            guard let value, let epoch, let index = epochs.firstIndex(where: { $0.epoch == epoch }) else { return }
            var values = [Double](repeating: .nan, count: epochs.count)
            values[index] = 100 * value
            accuracy.append(ChartSeries(name: name, values: values))
        }
        let augmentation = testTimeAugmentation.map { " (\($0) TTA)" } ?? ""
        point("test\(augmentation), final weights", finalTestAccuracy, at: epochs.last?.epoch)
        point("test\(augmentation), best checkpoint", bestTestAccuracy, at: bestEpoch)
        // A chart without any series (a file whose epoch lines lack those fields) is left out.
        var charts: [String] = []
        if !loss.isEmpty {
            charts.append(SVGChart.lines(title: "\(title): loss per epoch", yLabel: "cross-entropy", categories: categories, series: loss))
        }
        if !accuracy.isEmpty {
            charts.append(SVGChart.lines(title: "\(title): top-1 accuracy per epoch" + (smallCropText.map { " (\($0))" } ?? ""),
                                         yLabel: "accuracy (%)", categories: categories, series: accuracy))
        }
        if !learningRates.isEmpty {
            let every = max(1, learningRates.count / 20)
            let labels = learningRates.enumerated().map { $0.offset % every == 0 ? "\($0.element.step)" : "" }
            charts.append(SVGChart.lines(title: "\(title): learning rate per step", yLabel: "learning rate", categories: labels,
                                         series: [ChartSeries(name: "lr", values: learningRates.map(\.learningRate))]))
        }
        return SVGChart.stacked(charts)
    }
}
