import ArgumentParser
import Dispatch
import Foundation
import MobileNet

/// `mobilenet-bench infer`: our folded inference (``FoldedMobileNetV1``) timed as an
/// inference service sees it — images/s at one batch size and per-call latency at batch 1 —
/// printed as one JSON object, for `make bench-peers` (scripts/bench_peers.py), which runs
/// PyTorch and onnxruntime on the same network beside it.
struct InferCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "infer",
        abstract: "Folded inference: images/s at --batch and batch-1 latency (median, p99) per thread count, as JSON.",
        discussion: """
        With --write-model DIR, writes the network measured (random weights from --seed, BatchNorm \
        statistics that keep every layer's activations in range, so no engine meets subnormal \
        numbers) as DIR/model.safetensors and DIR/model.onnx (the export's ONNX) for the peers, \
        and measures nothing.
        """)

    @Option(help: "A model file to measure (default: the network --write-model writes, from --seed).")
    var model: String?

    @Option(help: "Width multiplier of the generated network.")
    var widthMultiplier: Double = 1

    @Option(help: "Seed of the generated network and of the input images.")
    var seed: UInt64 = 1

    @Option(help: "Write the generated network to DIR/model.safetensors and DIR/model.onnx, then stop.")
    var writeModel: String?

    @Option(help: "Batch size of the throughput measurement.")
    var batch: Int = 100

    @Option(help: "Threads of the throughput measurement.")
    var throughputThreads: Int = 2

    @Option(help: "Timed forward passes at --batch (median reported).")
    var runs: Int = 20

    @Option(parsing: .upToNextOption, help: "Thread counts of the batch-1 latency measurement.")
    var latencyThreads: [Int] = [1, 2]

    @Option(help: "Timed batch-1 calls per thread count (median and 99th percentile reported).")
    var calls: Int = 1000

    @Option(help: "Untimed calls before each measurement.")
    var warmup: Int = 50

    func validate() throws {
        for (flag, value) in [("--batch", batch), ("--throughput-threads", throughputThreads), ("--runs", runs), ("--calls", calls)] where value < 1 {
            throw ValidationError("\(flag): must be at least 1, got \(value)")
        }
        if latencyThreads.contains(where: { $0 < 1 }) { throw ValidationError("--latency-threads: each must be at least 1") }
    }

    /// The generated network: `seed`'s weights, BatchNorm γ = 1, β = 0.1, μ = 0 and σ² =
    /// ½ Σ W_c² per output channel (the variance of a convolution's output for unit-variance
    /// inputs, halved for ReLU6), so activations keep their scale through the 27 layers.
    func generatedNetwork() -> MobileNetV1 {
        let network = MobileNetV1(numClasses: 10, widthMultiplier: widthMultiplier, seed: seed)
        let convolutions: [(Tensor, BatchNorm2d)] = [(network.entryConv.weight.value, network.entryNorm)]
            + network.blocks.flatMap { [($0.depthwise.weight.value, $0.depthNorm), ($0.pointwise.weight.value, $0.pointNorm)] }
        for (weight, norm) in convolutions {
            let perChannel = weight.count / weight.shape[0]
            for c in 0..<weight.shape[0] {
                var sum: Float = 0
                for i in 0..<perChannel { sum += weight.data[c * perChannel + i] * weight.data[c * perChannel + i] }
                norm.runningVar.data[c] = sum / 2
                norm.runningMean.data[c] = 0
                norm.weight.value.data[c] = 1
                norm.bias.value.data[c] = 0.1
            }
        }
        return network
    }

    func run() throws {
        if let writeModel {
            let network = generatedNetwork()
            try network.save(to: writeModel + "/model.safetensors")
            let onnx = network.onnxModel(metadata: .cifar(classNames: (0..<10).map { "class\($0)" }))
            try AtomicFile.write(Data(onnx.encoded.bytes), to: writeModel + "/model.onnx")
            return
        }
        let network = try model.map { try MobileNetV1(contentsOf: SafetensorsFile(contentsOfFile: $0), strict: true) } ?? generatedNetwork()
        let folded = network.makeInferenceModel()
        var generator = SeededGenerator(seed: seed &+ 1)
        func images(_ count: Int) -> FeatureMap {
            let map = FeatureMap(shape: FeatureShape(channels: 3, height: 32, width: 32, batch: count))
            for i in 0..<map.shape.count { map.data[i] = generator.uniform(-2, 2) }
            return map
        }
        func nanoseconds(_ body: () -> Void) -> Double {
            let start = DispatchTime.now().uptimeNanoseconds
            body()
            return Double(DispatchTime.now().uptimeNanoseconds - start)
        }

        setEngineThreads(throughputThreads)
        let big = images(batch)
        for _ in 0..<3 { _ = folded.forward(big) }
        let batchTimes = (0..<runs).map { _ in nanoseconds { _ = folded.forward(big) } }.sorted()
        let batchMedian = percentile(batchTimes, 0.5) / 1e6

        var latency: [[String: Any]] = []
        let single = images(1)
        for threads in latencyThreads {
            setEngineThreads(threads)
            for _ in 0..<warmup { _ = folded.forward(single) }
            let times = (0..<calls).map { _ in nanoseconds { _ = folded.forward(single) } }.sorted()
            latency.append(["threads": threads, "calls": calls, "median_ms": percentile(times, 0.5) / 1e6, "p99_ms": percentile(times, 0.99) / 1e6])
        }
        let result: [String: Any] = [
            "engine": "ours", "openblas_core": BLAS.coreName, "openblas_core_note": BLAS.coreTypeNote, "width_multiplier": network.widthMultiplier,
            "throughput": ["threads": throughputThreads, "batch": batch, "runs": runs, "median_ms": batchMedian,
                           "images_per_s": Double(batch) / (batchMedian / 1000)],
            "latency": latency,
        ]
        let json = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
        print(String(decoding: json, as: UTF8.self))
    }

    /// The q-quantile of sorted samples, nearest rank (q = 0.99: the value 99 % of calls stay at or under).
    func percentile(_ sorted: [Double], _ q: Double) -> Double {
        sorted[min(sorted.count - 1, max(0, Int((q * Double(sorted.count)).rounded(.up)) - 1))]
    }
}
