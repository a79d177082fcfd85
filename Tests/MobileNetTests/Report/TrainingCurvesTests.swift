import Foundation
import Testing
@testable import MobileNet
@testable import Trainer

/// `mobilenet-train plot`'s reading of metrics files and the SVG it draws.
@Suite struct TrainingCurvesTests {
    static let lines = """
        {"kind":"step","epoch":1,"step":100,"loss":2.1,"lr":0.004,"momentum":0.95}
        {"kind":"epoch","epoch":1,"train_loss":2.0,"train_accuracy":0.25,"val_loss":1.6,"val_accuracy":0.4}
        {"kind":"resume","from":"x","epoch":2,"step":3,"global_step":103}
        {"kind":"step","epoch":2,"step":200,"loss":1.5,"lr":0.008,"momentum":0.9}
        {"kind":"epoch","epoch":2,"train_loss":1.5,"train_accuracy":0.45,"val_loss":1.2,"val_accuracy":0.55}
        {"kind":"epoch","epoch":2,"train_loss":1.4,"train_accuracy":0.5,"val_loss":1.1,"val_accuracy":0.6}
        {"kind":"test","final_accuracy":0.61,"best_accuracy":0.62,"best_epoch":1,"final_loss":1.0}
        {"kind":"epoch","epo
        """

    @Test func readsEpochsStepsAndTheTestLineLastLineWinning() throws {
        let curves = try TrainingCurves(jsonLines: Self.lines)
        #expect(curves.epochs.map(\.epoch) == [1, 2])
        #expect(curves.epochs[1].trainLoss == 1.4 && curves.epochs[1].validationAccuracy == 0.6)
        #expect(curves.epochs[0].testAccuracy == nil)
        #expect(curves.learningRates.map(\.step) == [100, 200] && curves.learningRates.map(\.learningRate) == [0.004, 0.008])
        #expect(curves.finalTestAccuracy == 0.61 && curves.bestTestAccuracy == 0.62 && curves.bestEpoch == 1)
    }

    @Test func drawsThreeChartsWithOnePointPerEpochAndStep() throws {
        let svg = try TrainingCurves(jsonLines: Self.lines).svg(title: "run")
        #expect(svg.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"960\" height=\"1560\""))
        #expect(svg.components(separatedBy: "<svg y=").count - 1 == 3)
        // loss: train, val; accuracy: train, val, test once (final, best); lr
        #expect(svg.components(separatedBy: "<polyline").count - 1 == 7)
        #expect(svg.contains("<title>validation, 2: 60</title>"))
        #expect(svg.contains("<title>lr, 200: 0.008</title>"))
        #expect(svg.contains("<title>test, final weights, 2: 61</title>"))
        #expect(svg.contains("<title>test, best checkpoint, 1: 62</title>"))
        #expect(!svg.contains("<title>test, 1"), "no per-epoch test series without per-epoch test values")
        // A run tested once with flip TTA says so on its points.
        let flipped = Self.lines.replacingOccurrences(of: "\"final_loss\":1.0}", with: "\"final_loss\":1.0,\"tta\":\"flip\"}")
        let flippedSVG = try TrainingCurves(jsonLines: flipped).svg(title: "run")
        #expect(flippedSVG.contains("<title>test (flip TTA), final weights, 2: 61</title>"))
        #expect(flippedSVG.contains("<title>test (flip TTA), best checkpoint, 1: 62</title>"))
    }

    @Test func aDamagedLineOrAnEmptyFileIsAClearError() {
        #expect(throws: TrainingCurves.ReadError(path: "m.jsonl", line: 2, message: "not a JSON object; is this a file train wrote with --metrics?")) {
            try TrainingCurves(jsonLines: "{\"kind\":\"epoch\",\"epoch\":1}\nnot json\n{\"kind\":\"epoch\",\"epoch\":2}\n", path: "m.jsonl")
        }
        #expect(throws: TrainingCurves.ReadError.self) { try TrainingCurves(jsonLines: "{\"kind\":\"step\",\"step\":1,\"lr\":0.1}\n") }
        #expect(throws: TrainingCurves.ReadError(path: "/nonexistent/metrics.jsonl", line: nil,
                                                 message: "does not exist. Pass the file train wrote with --metrics.")) {
            try TrainingCurves(contentsOfFile: "/nonexistent/metrics.jsonl")
        }
        #expect(throws: TrainingCurves.ReadError.self) { try TrainingCurves(contentsOfFile: NSTemporaryDirectory()) }
    }

    @Test func plotCommandWritesTheSVG() throws {
        let folder = NSTemporaryDirectory() + "plot-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try Self.lines.write(toFile: folder + "/m.jsonl", atomically: true, encoding: .utf8)
        let command = try #require(try MobileNetTrain.parseAsRoot(["plot", "--metrics", folder + "/m.jsonl", "--output", folder + "/c.svg"]) as? PlotCommand)
        try command.run()
        let svg = try String(contentsOfFile: folder + "/c.svg", encoding: .utf8)
        #expect(svg == (try TrainingCurves(jsonLines: Self.lines).svg(title: "m.jsonl")))
    }

    /// plot's --output check (which its run makes before reading the metrics) follows the path
    /// as the file system does: the metrics file by another route, a file in a missing folder,
    /// a folder; nothing is written.
    @Test func plotRefusesABadOutputBeforeReading() throws {
        let folder = NSTemporaryDirectory() + "plot-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder + "/charts", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try Self.lines.write(toFile: folder + "/m.jsonl", atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: folder + "/link.jsonl", withDestinationPath: folder + "/m.jsonl")
        let cases = [(folder + "/link.jsonl", "is the --metrics file"), (folder + "/charts/../m.jsonl", "is the --metrics file"),
                     (folder + "/./m.jsonl", "writing it would replace the --metrics file"),
                     (folder + "/missing/c.svg", "the folder \(folder)/missing does not exist"),
                     (folder + "/charts", "it is a folder")]
        for (output, words) in cases {
            var message = "accepted"
            let command = try #require(try MobileNetTrain.parseAsRoot(["plot", "--metrics", folder + "/m.jsonl", "--output", output]) as? PlotCommand)
            do { try command.checkOutput() } catch { message = "\(error)" }
            #expect(message.contains("--output") && message.contains(words), "\(output): \(message)")
        }
        #expect(try String(contentsOfFile: folder + "/m.jsonl", encoding: .utf8) == Self.lines)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder + "/charts").isEmpty)
    }
}
