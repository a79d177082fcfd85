/// One GEMM call of the network with what it computes: the list a training step or a
/// folded forward makes, for timing the products alone (`mobilenet-bench run --sections
/// bound`, through ``GEMMReplay``). Tests record the calls a real step makes and compare.
public struct ModelGEMM: Sendable, Equatable, Codable {
    /// Which product of the layer.
    public enum Pass: String, Sendable, Codable {
        /// Y = W·X.
        case forward
        /// ∂L/∂X = Wᵀ·∂L/∂Y.
        case gradInput
        /// ∂L/∂W += ∂L/∂Y·Xᵀ.
        case gradWeight
    }

    /// The layer's module path: "entry.0", "stage1.0.pointConv.0", "linear".
    public let layer: String
    /// The ``StepProfiler/Kind`` the step's profiler charges the call to, by its
    /// ``StepProfiler/Kind/label`` ("entry conv", "pointwise", "pool+linear+loss").
    public let kind: String
    public let pass: Pass
    public let call: GEMMCall
}

extension MobileNetV1 {
    /// The GEMM calls of one single-process training step (``TrainingSession/step(images:targets:globalBatchSize:)``)
    /// on a batch of `batch` images of height × width, in the order the step makes them.
    ///
    /// Forward: the entry conv (W [Cout, Cin·K·K] · im2col [Cin·K·K, F·F'·N]), each
    /// pointwise (W [Cout, Cin] · X [Cin, H·W·N]), the classifier (W [out, in] · X [in, N],
    /// beta 1 on the bias). Backward, last layer first: the classifier's dX (Wᵀ·dY) and dW
    /// (dY·Xᵀ, beta 1), each pointwise's dX and dW, the entry conv's dW (and dX only when
    /// ``Conv2d/computesGradInput``, off in the network). Every call is a
    /// ``BLAS/sgemm(transposeA:transposeB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:)`` (route
    /// `split`), with the layer's own leading dimensions: those of the engine layout, a map
    /// [C, H·W·N] having leading dimension H·W·N.
    public func trainingGEMMs(batch: Int, height: Int, width: Int) -> [ModelGEMM] {
        precondition(batch >= 1 && height >= 1 && width >= 1, "expected a positive batch and size, got \(batch), \(height)×\(width)")
        let entryRows = entryConv.inChannels * entryConv.kernelSize * entryConv.kernelSize
        var shape = entryConv.geometry.outputShape(FeatureShape(channels: inputChannels, height: height, width: width, batch: batch),
                                                   outChannels: entryConv.outChannels)
        let entryColumns = shape.channelStride
        let entry = StepProfiler.Kind.entryConvolution.label, pointwise = StepProfiler.Kind.pointwise.label
        let head = StepProfiler.Kind.head.label
        var forward = [ModelGEMM(layer: "entry.0", kind: entry, pass: .forward,
                                 call: GEMMCall(m: entryConv.outChannels, n: entryColumns, k: entryRows,
                                                lda: entryRows, ldb: entryColumns, ldc: entryColumns))]
        var backward: [ModelGEMM] = []
        for block in blocks {
            shape = block.depthwise.geometry.outputShape(shape, outChannels: shape.channels)
            let layer = block.name + ".pointConv.0", cin = block.pointwise.inChannels, cout = block.pointwise.outChannels
            let columns = shape.channelStride
            forward.append(ModelGEMM(layer: layer, kind: pointwise, pass: .forward,
                                     call: GEMMCall(m: cout, n: columns, k: cin, lda: cin, ldb: columns, ldc: columns)))
            backward.insert(contentsOf: [
                ModelGEMM(layer: layer, kind: pointwise, pass: .gradInput,
                          call: GEMMCall(transposeA: true, m: cin, n: columns, k: cout, lda: cin, ldb: columns, ldc: columns)),
                ModelGEMM(layer: layer, kind: pointwise, pass: .gradWeight,
                          call: GEMMCall(transposeB: true, m: cout, n: cin, k: columns, lda: columns, ldb: columns, ldc: cin, beta: 1)),
            ], at: 0)
            shape.channels = cout
        }
        let features = linear.inFeatures, classes = linear.outFeatures
        forward.append(ModelGEMM(layer: "linear", kind: head, pass: .forward,
                                 call: GEMMCall(m: classes, n: batch, k: features, lda: features, ldb: batch, ldc: batch, beta: 1)))
        backward.insert(contentsOf: [
            ModelGEMM(layer: "linear", kind: head, pass: .gradInput,
                      call: GEMMCall(transposeA: true, m: features, n: batch, k: classes, lda: features, ldb: batch, ldc: batch)),
            ModelGEMM(layer: "linear", kind: head, pass: .gradWeight,
                      call: GEMMCall(transposeB: true, m: classes, n: features, k: batch, lda: batch, ldb: batch, ldc: features, beta: 1)),
        ], at: 0)
        backward.append(ModelGEMM(layer: "entry.0", kind: entry, pass: .gradWeight,
                                  call: GEMMCall(transposeB: true, m: entryConv.outChannels, n: entryRows, k: entryColumns,
                                                 lda: entryColumns, ldb: entryColumns, ldc: entryRows, beta: 1)))
        if entryConv.computesGradInput {
            backward.append(ModelGEMM(layer: "entry.0", kind: entry, pass: .gradInput,
                                      call: GEMMCall(transposeA: true, m: entryRows, n: entryColumns, k: entryConv.outChannels,
                                                     lda: entryRows, ldb: entryColumns, ldc: entryColumns)))
        }
        return forward + backward
    }
}

extension FoldedMobileNetV1 {
    /// The GEMM calls of one ``forward(_:)`` of `batch` images of height × width, per batch
    /// piece (``pieceCount(batch:)`` pieces of consecutive images; the pieces run at once,
    /// one per thread, each making its calls in order on its thread).
    ///
    /// Per piece of n images: each pointwise (W [Cout, Cin] · X [Cin, H·W·n]), then the
    /// classifier into the piece's logit columns (ldc = the whole batch, beta 1 on the
    /// bias). With one piece every call is ``BLAS/sgemm(transposeA:transposeB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:)``
    /// (route `split`), however few its columns; with several, each is one OpenBLAS call on
    /// the piece's thread (`serial`).
    public func inferenceGEMMs(batch: Int, height: Int, width: Int) -> [[ModelGEMM]] {
        precondition(batch >= 1 && height >= 1 && width >= 1, "expected a positive batch and size, got \(batch), \(height)×\(width)")
        let pieces = Self.pieceCount(batch: batch)
        let pointwise = StepProfiler.Kind.pointwise.label, head = StepProfiler.Kind.head.label
        return (0..<pieces).map { piece in
            let images = batch * (piece + 1) / pieces - batch * piece / pieces
            let route: GEMMCall.Route = pieces == 1 ? .split : .serial
            var shape = entryGeometry.outputShape(FeatureShape(channels: inputChannels, height: height, width: width, batch: images),
                                                  outChannels: entry.bias.count)
            var calls: [ModelGEMM] = []
            for (index, block) in blocks.enumerated() {
                let dwShape = block.geometry.outputShape(shape, outChannels: shape.channels)
                shape = FeatureShape(channels: block.pointwise.bias.count, height: dwShape.height, width: dwShape.width, batch: images)
                let n = shape.channelStride, k = dwShape.channels
                calls.append(ModelGEMM(layer: MobileNetV1.blockTable[index].name + ".pointConv.0", kind: pointwise, pass: .forward,
                                       call: GEMMCall(m: shape.channels, n: n, k: k, lda: k, ldb: n, ldc: n, route: route)))
            }
            calls.append(ModelGEMM(layer: "linear", kind: head, pass: .forward,
                                   call: GEMMCall(m: numClasses, n: images, k: shape.channels, lda: shape.channels, ldb: images,
                                                  ldc: batch, beta: 1, route: route)))
            return calls
        }
    }
}
