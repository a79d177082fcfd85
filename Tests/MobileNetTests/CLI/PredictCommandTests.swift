import ArgumentParser
import Foundation
import Testing
@testable import MobileNet
@testable import Trainer

/// `predict`: the images prepared as in training, the folded network's probabilities, the
/// report written whole; its top-1 is `evaluate`'s, image for image.
@Suite(.serialized) struct PredictCommandTests {
    static func command(_ arguments: [String]) throws -> PredictCommand {
        try #require(try MobileNetTrain.parseAsRoot(["predict"] + arguments) as? PredictCommand)
    }

    /// A run on ImageFolderRunTests' folder, saved in `root/ck`.
    static func trainedRun(_ root: String) throws -> TrainingRunSetup {
        ImageFolderRunTests.writeFolder(root + "/data")
        let setup = try TrainingRunSetup(ImageFolderRunTests.request(root + "/data", checkpoints: root + "/ck"))
        try setup.prepareCheckpointDirectory()
        try ImageFolderRunTests.execute(setup)
        return setup
    }

    /// CSV rows of a report: path → [(class index, probability)] by rank.
    static func rows(_ csv: String) -> [String: [(Int, Double)]] {
        var rows: [String: [(Int, Double)]] = [:]
        for line in csv.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: ",").map(String.init)
            rows[fields[0], default: []].append((Int(fields[2])!, Double(fields[4])!))
        }
        return rows
    }

    /// On the labelled val/ folder: `evaluate --dump-logits` (the eval-mode network) and
    /// `predict --format csv` (the folded one) agree on every image's top-1 class, and
    /// predict's probabilities are the softmax of evaluate's logits within the folding's 1e-4.
    @Test func predictsEvaluatesTop1ImageForImage() throws {
        try CIFARFixture.withFolder { root in
            _ = try Self.trainedRun(root)
            let val = root + "/data/val"
            try #require(try MobileNetTrain.parseAsRoot(["evaluate", "--checkpoint", root + "/ck", "--data", val,
                                                         "--dump-logits", root + "/logits.safetensors"]) as? EvaluateCommand).run()
            try Self.command(["--checkpoint", root + "/ck", val, "--format", "csv", "--top-k", "3", "--output", root + "/p.csv"]).run()
            let dumped = try SafetensorsFile(contentsOfFile: root + "/logits.safetensors")
            let logits = try dumped.tensor("logits")
            let samples = try ImageFolder.scan(val).samples
            let rows = Self.rows(try String(contentsOfFile: root + "/p.csv", encoding: .utf8))
            #expect(rows.count == samples.count && samples.count == 6)
            var smallestMargin = Float.infinity
            for (i, sample) in samples.enumerated() {
                let row = Array(logits.buffer[(i * 3)..<(i * 3 + 3)])
                let sorted = row.sorted(by: >)
                smallestMargin = min(smallestMargin, sorted[0] - sorted[1])
                let top1 = row.firstIndex(of: sorted[0])!
                let predicted = try #require(rows[sample.path])
                #expect(predicted.count == 3 && predicted[0].0 == top1, "\(sample.path)")
                let exps = row.map { exp(Double($0 - sorted[0])) }
                for (index, probability) in predicted {
                    #expect(abs(probability - exps[index] / exps.reduce(0, +)) < 1e-4, "\(sample.path) class \(index)")
                }
            }
            // Folding changes logits by ~1e-6 here: with margins far above that, the same top-1 is expected.
            #expect(smallestMargin > 1e-4, "margins \(smallestMargin) too small for this check")
        }
    }

    /// Text, JSON and CSV reports of the same predictions; an unreadable image is left out of
    /// the report, named on standard error, and the exit status is 1; the others are predicted.
    @Test func reportsAndAnUnreadableImage() throws {
        try CIFARFixture.withFolder { root in
            _ = try Self.trainedRun(root)
            let image = root + "/data/val/bee/1.png"
            CIFARFixture.write(Array("not an image".utf8), to: root + "/broken.png")
            #expect(throws: ExitCode.failure) {
                try Self.command(["--checkpoint", root + "/ck", image, root + "/broken.png", "--format", "json", "--output", root + "/p.json"]).run()
            }
            let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: root + "/p.json"))) as? [[String: Any]])
            #expect(json.count == 1 && json[0]["path"] as? String == image)
            let top = try #require(json[0]["predictions"] as? [[String: Any]])
            #expect(top.count == 3 && top.map { $0["class"] as? String }.allSatisfy { ["ant", "bee", "cow"].contains($0 ?? "") })
            let probabilities = top.compactMap { $0["probability"] as? Double }
            #expect(abs(probabilities.reduce(0, +) - 1) < 1e-5 && probabilities == probabilities.sorted(by: >))
            try Self.command(["--checkpoint", root + "/ck", image, "--output", root + "/p.txt", "--top-k", "2"]).run()
            let text = try String(contentsOfFile: root + "/p.txt", encoding: .utf8)
            let first = try #require(top.first?["class"] as? String)
            #expect(text.hasPrefix("\(image): \(first) ") && text.split(separator: "\n").count == 1)
        }
    }

    /// When no image can be read there is nothing to report: the exit status is 1 and an
    /// existing --output file is left as it was, not replaced by an empty report.
    @Test func noReadableImageLeavesTheOutputFileAsItWas() throws {
        try CIFARFixture.withFolder { root in
            _ = try Self.trainedRun(root)
            CIFARFixture.write(Array("not an image".utf8), to: root + "/broken.png")
            CIFARFixture.write(Array("earlier predictions\n".utf8), to: root + "/p.csv")
            #expect(throws: ExitCode.failure) {
                try Self.command(["--checkpoint", root + "/ck", root + "/broken.png", "--format", "csv", "--output", root + "/p.csv"]).run()
            }
            #expect(try String(contentsOfFile: root + "/p.csv", encoding: .utf8) == "earlier predictions\n")
        }
    }

    /// What the user passes must agree with the checkpoint: another --image-size, other class
    /// names or another --mean are refused naming the flag and both values; nothing is written.
    @Test func flagsContradictingTheCheckpointAreRefused() throws {
        try CIFARFixture.withFolder { root in
            _ = try Self.trainedRun(root)
            let image = root + "/data/val/ant/0.png"
            CIFARFixture.write(lines: ["ant", "bee", "cat"], to: root + "/names.txt")
            let cases: [([String], [String])] = [
                (["--image-size", "32"], ["--image-size 32", "16×16"]),
                (["--class-names", root + "/names.txt"], ["--class-names", "ant, bee, cat", "ant, bee, cow"]),
                (["--mean", "0.5,0.5,0.5"], ["--mean 0.5,0.5,0.5"]),
            ]
            for (flags, mentions) in cases {
                let command = try Self.command(["--checkpoint", root + "/ck", image, "--output", root + "/out.csv"] + flags)
                let loaded = try LoadedModel(checkpoint: root + "/ck", strict: true)
                let trainedOn = loaded.trainedOn(checkpoint: root + "/ck")
                #expect {
                    _ = try command.resolvedClassNames(classes: 3, trainedOn: trainedOn, modelPath: loaded.path)
                    _ = try command.resolvedTransforms(trainedOn: trainedOn, modelPath: loaded.path)
                } throws: { error in
                    mentions.allSatisfy { "\(error)".contains($0) }
                }
                #expect(throws: ExitCode.failure) { try command.run() }
                #expect(!FileManager.default.fileExists(atPath: root + "/out.csv"), "\(flags): nothing written")
            }
            // The same values as the run's are accepted.
            let agreeing = try Self.command(["--checkpoint", root + "/ck", image, "--image-size", "16", "--output", root + "/out.csv"])
            try agreeing.run()
            #expect(FileManager.default.fileExists(atPath: root + "/out.csv"))
        }
    }

    @Test func topClassesRankBySoftmaxWithTorchsArgmaxRule() {
        let names = ["a", "b", "c", "d"]
        let logits: [Float] = [1, 3, 3, .nan]
        let top = logits.withUnsafeBufferPointer { ImagePredictor.topClasses($0.baseAddress!, classes: 4, stride: 1, k: 4, names: names) }
        #expect(top.map(\.index) == [1, 2, 0, 3])
        let z = exp(-2.0) + 2
        #expect(abs(top[0].probability - 1 / z) < 1e-12 && abs(top[2].probability - exp(-2.0) / z) < 1e-12 && top[3].probability.isNaN)
        #expect(ImagePredictor.topClasses([Float.nan, .nan], classes: 2, stride: 1, k: 1, names: ["x", "y"]).map(\.index) == [0])
        #expect(PredictionReport.csvField("a,b \"c\"") == "\"a,b \"\"c\"\"\"" && PredictionReport.csvField("plain") == "plain")
    }
}
