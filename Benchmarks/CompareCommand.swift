import ArgumentParser
import Foundation
import MobileNet

/// A file `compare` cannot use: printed as "Error: …" without the usage text, exit status 1.
struct CompareFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// `mobilenet-bench compare OURS PYTORCH`: ours ÷ PyTorch images/s, training and inference,
/// against PyTorch's contiguous (NCHW) and channels_last runs. Both files come from one
/// shell command (`make bench-pytorch`), so both saw the same machine load.
struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Print ours ÷ PyTorch speed ratios from results.json and scripts/pytorch_bench.py's JSON.")

    /// The one line scripts/pytorch_bench.py prints.
    struct PyTorchReference: Decodable {
        let torch: String
        let threads: Int
        /// Training batch.
        let batch: Int
        /// Inference batch (its --infer-batch); nil in files written before it was recorded.
        let infer_batch: Int?
        /// images/s per memory format ("contiguous", "channels_last").
        let train_img_s: [String: Double]
        let infer_img_s: [String: Double]
    }

    struct Row: Codable {
        let what: String
        let batch: Int
        let oursImagesPerSecond: Double
        let pytorchImagesPerSecond: [String: Double]
        let oursOverPyTorch: [String: Double]
    }

    struct Comparison: Codable {
        let torch: String
        let threads: Int
        let loadBefore: String
        let loadAfter: String
        let rows: [Row]
    }

    @Argument(help: "mobilenet-bench's results.json (with whole-network figures).")
    var ours: String

    @Argument(help: "The JSON printed by scripts/pytorch_bench.py.")
    var pytorch: String

    @Option(parsing: .unconditional, help: "The inference batch scripts/pytorch_bench.py ran with (its --infer-batch).")
    var inferBatch: Int = 100

    @Option(help: "Also write the ratios to this JSON file.")
    var output: String?

    func validate() throws {
        try requireAtLeast(1, ("--infer-batch", [inferBatch]))
    }

    /// Reads `path` as `T`, or a ``CompareFailure`` that names the argument, the file and what to give.
    private func decode<T: Decodable>(_: T.Type, _ path: String, _ what: String, _ origin: String) throws -> T {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CompareFailure("\(what) \(path) could not be read (missing or unreadable); give \(origin).")
        }
        do { return try JSONDecoder().decode(T.self, from: data) } catch {
            throw CompareFailure("\(what) \(path) is not \(origin) (\(error)); "
                                  + "the order is: mobilenet-bench compare RESULTS.json PYTORCH.json.")
        }
    }

    func run() throws {
        let mine = try decode(BenchResults.self, ours, "OURS", "the results.json of mobilenet-bench run --sections network")
        let theirs = try decode(PyTorchReference.self, pytorch, "PYTORCH", "the JSON line scripts/pytorch_bench.py prints")
        if let batch = theirs.infer_batch, batch != inferBatch {
            throw CompareFailure("\(pytorch) measured inference at batch \(batch), not --infer-batch \(inferBatch): "
                                  + "give --infer-batch \(batch), or rerun scripts/pytorch_bench.py with --infer-batch \(inferBatch).")
        }
        if let output, let problem = AtomicFile.placeProblem(for: output) {
            throw CompareFailure("--output \(output): \(problem).")
        }
        func measured(_ batch: Int) throws -> ThroughputResult {
            guard let r = mine.network.first(where: { $0.threads == theirs.threads && $0.batch == batch && $0.side == CIFARImage.side }) else {
                throw CompareFailure("\(ours) has no whole-network figure at \(theirs.threads) thread(s), batch \(batch): run "
                                      + "mobilenet-bench --sections network --threads \(theirs.threads) --network-batch-sizes \(batch)")
            }
            return r
        }
        func row(_ what: String, _ batch: Int, _ value: Double, _ reference: [String: Double]) -> Row {
            Row(what: what, batch: batch, oursImagesPerSecond: value, pytorchImagesPerSecond: reference,
                oursOverPyTorch: reference.mapValues { value / $0 })
        }
        let rows = [row("train", theirs.batch, try measured(theirs.batch).trainImagesPerSecond, theirs.train_img_s),
                    row("inference", inferBatch, try measured(inferBatch).inferenceImagesPerSecond, theirs.infer_img_s)]
        let formats = ["contiguous", "channels_last"]
        var table = TextTable(headers: ["", "batch", "ours images/s"] + formats.map { "PyTorch \($0)" }
                                  + formats.map { "ours ÷ \($0)" })
        for r in rows {
            table.append([r.what, "\(r.batch)", formatFixed(r.oursImagesPerSecond, 1)]
                         + formats.map { r.pytorchImagesPerSecond[$0].map { formatFixed($0, 1) } ?? "—" }
                         + formats.map { r.oursOverPyTorch[$0].map { formatFixed($0, 3) } ?? "—" })
        }
        print("PyTorch \(theirs.torch) and ours, \(theirs.threads) thread(s), measured in one command "
              + "(load average before: \(mine.machine.loadBefore); after ours: \(mine.machine.loadAfter)"
              + (mine.machine.otherWorkLine.map { "; before ours, \($0)" } ?? "") + ")")
        print(table.text(), terminator: "")
        if let output {
            try writeJSON(Comparison(torch: theirs.torch, threads: theirs.threads, loadBefore: mine.machine.loadBefore,
                                     loadAfter: mine.machine.loadAfter, rows: rows), to: output)
        }
    }
}
