import Foundation

/// What a deployment needs to know besides the weights, written to the ONNX file's
/// `metadata_props`: the class names (index = logit position), the image size the
/// network was trained on, and the per-channel mean and std the images must be
/// normalised with before they enter the graph (normalisation is not part of the graph).
public struct ONNXModelMetadata: Sendable, Equatable {
    /// Class names, index = label; count = the model's classes.
    public var classNames: [String]
    /// Height = width of the images the network was trained on, in pixels.
    public var imageSize: Int
    /// Per-channel (R, G, B) mean subtracted after scaling pixels to [0, 1].
    public var mean: [Float]
    /// Per-channel (R, G, B) standard deviation divided by after subtracting the mean.
    public var std: [Float]

    public init(classNames: [String], imageSize: Int, mean: [Float], std: [Float]) {
        self.classNames = classNames
        self.imageSize = imageSize
        self.mean = mean
        self.std = std
    }

    /// CIFAR's 32×32 images with the recipe's mean and std (``AugmentationOptions/cifarMean``,
    /// ``AugmentationOptions/cifarStd``).
    public static func cifar(classNames: [String]) -> ONNXModelMetadata {
        ONNXModelMetadata(classNames: classNames, imageSize: CIFARImage.side,
                          mean: AugmentationOptions.cifarMean, std: AugmentationOptions.cifarStd)
    }

    /// The `metadata_props` entries, in this order: `class_names` (a JSON array of strings),
    /// `image_size` (pixels), `mean` and `std` (JSON arrays of three numbers, R G B),
    /// `input_layout`, `normalization` (the formula, in words), `width_multiplier`,
    /// `num_classes`, `producer`.
    public func properties(widthMultiplier: Double, producer: String) -> [(key: String, value: String)] {
        let json = { (values: [Float]) in "[" + values.map { "\($0)" }.joined(separator: ", ") + "]" }
        let names = (try? JSONEncoder().encode(classNames)).map { String(decoding: $0, as: UTF8.self) } ?? "[]"
        return [
            ("class_names", names),
            ("image_size", "\(imageSize)"),
            ("mean", json(mean)),
            ("std", json(std)),
            ("input_layout", "NCHW float32 RGB, [N, 3, \(imageSize), \(imageSize)]"),
            ("normalization", "x = (pixel / 255 - mean[c]) / std[c], outside the graph"),
            ("width_multiplier", "\(widthMultiplier)"),
            ("num_classes", "\(classNames.count)"),
            ("producer", producer),
        ]
    }
}

extension MobileNetV1 {
    /// The ai.onnx operator set the export targets: 13 (Clip takes min and max as inputs
    /// since 11; Gemm, Conv, Flatten and GlobalAveragePool are unchanged since).
    public static let onnxOpset = 13
    /// The IR version that goes with opset 13 (ONNX 1.8).
    public static let onnxIRVersion = 7
    /// The name of the exporting program in `producer_name` and the `producer` property.
    public static let onnxProducer = "mobilenet-train export"

    /// This network in eval mode as an ONNX graph, BatchNorm folded into the convolutions.
    ///
    /// Graph: input `input` [N, C, S, S] float32 (N a dynamic dimension named "N", S =
    /// `metadata.imageSize`) → Conv 3×3 stride 1 pad 1 → Clip(0, 6) → 13 × (Conv 3×3
    /// depthwise, group = channels → Clip → Conv 1×1 → Clip) → GlobalAveragePool → Flatten
    /// (axis 1) → Gemm (transB = 1) → output `logits` [N, classes]. 57 nodes; every Conv
    /// carries its folded bias; the two Clip bounds are scalar initializers shared by all Clips.
    ///
    /// Why folded: the weights are those of ``FoldedMobileNetV1`` (``makeInferenceModel()``),
    /// so onnxruntime runs the same numbers as our inference; 27 BatchNormalization nodes
    /// fewer; and onnxruntime folds Conv+BatchNormalization itself at graph optimisation, so
    /// unfolded nodes would buy nothing at run time.
    /// - Precondition: `metadata.classNames.count == numClasses`, three means and stds.
    public func onnxModel(metadata: ONNXModelMetadata) -> ONNXModel {
        precondition(metadata.classNames.count == numClasses, "\(metadata.classNames.count) class names for \(numClasses) classes")
        precondition(metadata.mean.count == inputChannels && metadata.std.count == inputChannels, "one mean and std per input channel")
        let folded = makeInferenceModel()
        var nodes: [ONNXNode] = []
        var initializers = [ONNXTensor(name: "relu6_min", dims: [], values: [0]),
                            ONNXTensor(name: "relu6_max", dims: [], values: [6])]
        var current = "input"

        /// Conv (+ folded bias) then Clip(0, 6); `channels` in, weight [Cout, Cin/groups, K, K].
        func convReLU6(_ name: String, _ conv: FoldedMobileNetV1.FoldedConv, _ geometry: ConvGeometry, groups: Int) {
            let outChannels = conv.bias.count, k = geometry.kernelSize
            let perGroup = conv.weight.count / (outChannels * k * k)
            initializers.append(ONNXTensor(name: name + ".weight", dims: [outChannels, perGroup, k, k], values: Array(conv.weight.buffer)))
            initializers.append(ONNXTensor(name: name + ".bias", dims: [outChannels], values: Array(conv.bias.buffer)))
            let p = geometry.padding
            nodes.append(ONNXNode("Conv", name: name, inputs: [current, name + ".weight", name + ".bias"], outputs: [name + ".conv"],
                                  attributes: [ONNXAttribute("group", .int(groups)),
                                               ONNXAttribute("kernel_shape", .ints([k, k])),
                                               ONNXAttribute("pads", .ints([p, p, p, p])),
                                               ONNXAttribute("strides", .ints([geometry.stride, geometry.stride]))]))
            nodes.append(ONNXNode("Clip", name: name + ".relu6", inputs: [name + ".conv", "relu6_min", "relu6_max"],
                                  outputs: [name + ".relu6"]))
            current = name + ".relu6"
        }

        convReLU6("entry", folded.entry, folded.entryGeometry, groups: 1)
        for (spec, block) in zip(Self.blockTable, folded.blocks) {
            convReLU6(spec.name + ".depthwise", block.depthwise, block.geometry, groups: block.depthwise.bias.count)
            convReLU6(spec.name + ".pointwise", block.pointwise, ConvGeometry(kernelSize: 1), groups: 1)
        }
        nodes.append(ONNXNode("GlobalAveragePool", name: "pool", inputs: [current], outputs: ["pool"]))
        nodes.append(ONNXNode("Flatten", name: "flatten", inputs: ["pool"], outputs: ["features"],
                              attributes: [ONNXAttribute("axis", .int(1))]))
        initializers.append(ONNXTensor(name: "linear.weight", dims: folded.linearWeight.shape, values: Array(folded.linearWeight.buffer)))
        initializers.append(ONNXTensor(name: "linear.bias", dims: [numClasses], values: Array(folded.linearBias.buffer)))
        nodes.append(ONNXNode("Gemm", name: "linear", inputs: ["features", "linear.weight", "linear.bias"], outputs: ["logits"],
                              attributes: [ONNXAttribute("transB", .int(1))]))

        let size = metadata.imageSize
        let graph = ONNXGraph(
            name: "mobilenet_v1",
            nodes: nodes, initializers: initializers,
            inputs: [ONNXValueInfo(name: "input", shape: [.parameter("N"), .value(inputChannels), .value(size), .value(size)])],
            outputs: [ONNXValueInfo(name: "logits", shape: [.parameter("N"), .value(numClasses)])])
        return ONNXModel(
            irVersion: Self.onnxIRVersion, opsetVersion: Self.onnxOpset,
            producerName: Self.onnxProducer, producerVersion: "",
            docString: "MobileNetV1 (CIFAR variant, width multiplier \(widthMultiplier)), eval mode, BatchNorm folded into the convolutions. "
                + "Input: images normalised per channel, (pixel / 255 - mean) / std (metadata 'mean', 'std'), NCHW. Output: logits.",
            graph: graph,
            metadataProps: metadata.properties(widthMultiplier: widthMultiplier, producer: Self.onnxProducer))
    }
}
