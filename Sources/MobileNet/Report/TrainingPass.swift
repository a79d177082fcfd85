/// One pass over memory of a training step with the least traffic and arithmetic it
/// needs: the terms of the step's roofline bound (`mobilenet-bench run --sections bound`).
///
/// Rules (``passes(of:batch:height:width:)``), 4 bytes a float:
/// - A pass reads each map it consumes (activation or gradient, C·H·W·N floats) once and
///   writes each map it produces once, except inside a fused per-channel loop (BatchNorm +
///   ReLU6 → depthwise → BatchNorm + ReLU6, forward and backward): a map one stage writes
///   and the next stage reads costs nothing there (that channel is still in cache, and the
///   maps the engine keeps in per-thread slots, ``ChannelMap``, are never written out); a
///   map read by two stages is charged to the first, a map written twice in place to the
///   last writer.
/// - A GEMM: ``GEMMCall/minimumBytes`` (A and B read once, C written once, and read once
///   more when it accumulates).
/// - The entry conv as a convolution, not as im2col + GEMM: forward reads the images and
///   writes its output; backward reads the images and ∂L/∂output (the images need no
///   gradient).
/// - Weights are read once, weight gradients read and written once (they accumulate);
///   per-channel vectors (γ, β, batch statistics: a few floats per channel, under 1 % of
///   any pass) are left out. The optimizer: zero_grad writes every gradient, the finite
///   check reads them, SGD reads weight, gradient and momentum and writes weight and
///   momentum: 7 floats per parameter.
/// - Arithmetic: the multiply-adds of the convolutions and GEMMs (backward: two products
///   each, one for the entry conv; the depthwise forward once more, recomputed in
///   backward); BatchNorm, ReLU6, pooling, the loss and SGD count as memory only.
public struct TrainingPass: Codable, Sendable, Equatable {
    /// E.g. "stage1.0 depthwise backward", "stage1.0.pointConv.0 gradWeight".
    public let name: String
    /// The ``StepProfiler/Kind`` the step's profiler charges the pass to, by its label.
    public let kind: String
    /// Multiply-adds over the whole batch (0 for a memory-only pass).
    public let multiplyAdds: Int
    /// Least bytes moved to or from memory.
    public let bytes: Int

    /// The roofline bound of the pass, seconds: the larger of its bytes at `bytesPerSecond`
    /// and its multiply-adds at `multiplyAddsPerSecond`.
    public func boundSeconds(bytesPerSecond: Double, multiplyAddsPerSecond: Double) -> Double {
        max(Double(bytes) / bytesPerSecond, Double(multiplyAdds) / multiplyAddsPerSecond)
    }

    /// The passes of one single-process training step of `model` on `batch` images of
    /// height × width, in the step's order (see ``TrainingPass`` for the rules). The GEMMs
    /// are those of ``MobileNetV1/trainingGEMMs(batch:height:width:)`` but the entry conv's.
    public static func passes(of model: MobileNetV1, batch: Int, height: Int, width: Int) -> [TrainingPass] {
        let float = MemoryLayout<Float>.size
        let bn = StepProfiler.Kind.batchNorm.label, depthwise = StepProfiler.Kind.depthwise.label
        let head = StepProfiler.Kind.head.label, entryKind = StepProfiler.Kind.entryConvolution.label
        let gemms = model.trainingGEMMs(batch: batch, height: height, width: width)
        func gemm(_ layer: String, _ pass: ModelGEMM.Pass) -> TrainingPass {
            guard let found = gemms.first(where: { $0.layer == layer && $0.pass == pass }) else {
                preconditionFailure("no \(pass) GEMM for \(layer)")
            }
            return TrainingPass(name: "\(layer) \(pass.rawValue)", kind: found.kind, multiplyAdds: found.call.multiplyAdds,
                                bytes: found.call.minimumBytes)
        }
        func memory(_ name: String, _ kind: String, floats: Int) -> TrainingPass {
            TrainingPass(name: name, kind: kind, multiplyAdds: 0, bytes: float * floats)
        }

        let images = FeatureShape(channels: model.inputChannels, height: height, width: width, batch: batch)
        let entry = model.entryConv
        var shape = entry.geometry.outputShape(images, outChannels: entry.outChannels)
        let entryMACs = batch * entry.multiplyAdds(inputHeight: height, inputWidth: width)
        let entryWeights = entry.weight.value.count
        var forward = [TrainingPass(name: "entry.0 forward", kind: entryKind, multiplyAdds: entryMACs,
                                    bytes: float * (images.count + shape.count + entryWeights))]
        var backward = [TrainingPass(name: "entry.0 backward", kind: entryKind, multiplyAdds: entryMACs,
                                     bytes: float * (images.count + shape.count + 2 * entryWeights))]
        var normName = "entry.1"
        for block in model.blocks {
            let input = shape
            let output = block.depthwise.geometry.outputShape(input, outChannels: input.channels)
            let macs = batch * block.depthwise.multiplyAdds(inputHeight: input.height, inputWidth: input.width)
            let weights = block.depthwise.weight.value.count, pointwise = block.name + ".pointConv.0"
            forward += [
                // Reads the previous conv's output; its normalised channel stays in a slot.
                memory("\(normName) forward", bn, floats: input.count),
                // From slot to slot.
                TrainingPass(name: "\(block.name) depthwise forward", kind: depthwise, multiplyAdds: macs,
                             bytes: float * weights),
                // Reads from cache, writes the pointwise conv's input.
                memory("\(block.name).depthConv.1 forward", bn, floats: output.count),
                gemm(pointwise, .forward),
            ]
            backward.insert(contentsOf: [
                gemm(pointwise, .gradInput), gemm(pointwise, .gradWeight),
                // The saved input of the BatchNorm before the depthwise conv read, its output
                // recomputed into a slot; from it the depthwise output, into another.
                memory("\(normName) recompute", bn, floats: input.count),
                TrainingPass(name: "\(block.name) depthwise recompute", kind: depthwise, multiplyAdds: macs,
                             bytes: float * weights),
                // ∂L/∂output read, the input from its slot, ∂L/∂input to a slot.
                memory("\(block.name).depthConv.1 backward", bn, floats: output.count),
                // Both operands from slots; ∂L/∂input written, then overwritten in place below.
                TrainingPass(name: "\(block.name) depthwise backward", kind: depthwise, multiplyAdds: 2 * macs,
                             bytes: float * 3 * weights),
                // The saved input and ∂L/∂output from cache; ∂L/∂input written (in place).
                memory("\(normName) backward", bn, floats: input.count),
            ], at: 0)
            shape = FeatureShape(channels: block.pointwise.outChannels, height: output.height, width: output.width, batch: batch)
            normName = block.name + ".pointConv.1"
        }
        let features = model.linear.inFeatures, classes = model.linear.outFeatures
        forward += [
            memory("\(normName) forward", bn, floats: 2 * shape.count),
            memory("avgpool forward", head, floats: shape.count + features * batch),
            gemm("linear", .forward),
            memory("loss forward and backward", head, floats: 2 * classes * batch),
        ]
        backward.insert(contentsOf: [
            gemm("linear", .gradInput), gemm("linear", .gradWeight),
            memory("avgpool backward", head, floats: features * batch + shape.count),
            memory("\(normName) backward", bn, floats: 3 * shape.count),
        ], at: 0)
        let optimizer = memory("zero_grad, finite check, SGD", StepProfiler.Kind.optimizer.label, floats: 7 * model.parameterCount)
        return forward + backward + [optimizer]
    }
}
