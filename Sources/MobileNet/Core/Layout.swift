// The engine's activation layout, documented once here.
//
// Every activation (a "feature map") is stored C × H × W × N: channel-major, batch
// innermost, row-major. Element (n, c, y, x) of PyTorch's N×C×H×W tensor lives at
// ((c·H + y)·W + x)·N + n. Viewed as a matrix it is [C, H·W·N], so:
// - a pointwise (1×1) convolution over the whole batch is one SGEMM
//   Y[Cout, HWN] = W[Cout, Cin] · X[Cin, HWN];
// - a depthwise 3×3 tap is a scalar × contiguous N-vector multiply-add;
// - BatchNorm statistics reduce one contiguous slab of H·W·N values per channel;
// - global average pooling gives [C, N], and the classifier is one more SGEMM.
// Data arrive as N×C×H×W (CIFAR's planes) and are converted once at the input.

/// The shape of a feature map in the engine layout C × H × W × N (see Layout.swift).
public struct FeatureShape: Equatable, Hashable, Sendable, CustomStringConvertible {
    public var channels: Int
    public var height: Int
    public var width: Int
    public var batch: Int

    public init(channels: Int, height: Int, width: Int, batch: Int) {
        self.channels = channels
        self.height = height
        self.width = width
        self.batch = batch
    }

    /// C·H·W·N.
    public var count: Int { channels * height * width * batch }
    /// H·W·N: the length of one channel's contiguous slab.
    public var channelStride: Int { height * width * batch }
    /// H·W: pixels per channel per image.
    public var spatial: Int { height * width }

    /// PyTorch's order, N×C×H×W, for messages and conversions.
    public var nchw: [Int] { [batch, channels, height, width] }

    public var description: String { "[C \(channels), H \(height), W \(width), N \(batch)]" }
}

/// An activation in the engine layout C × H × W × N (see Layout.swift).
///
/// Storage is allocated once for `capacity` floats; the shape may change (a smaller
/// last batch) as long as it fits, so no step after the first allocates.
public final class FeatureMap: @unchecked Sendable {
    /// Allocated floats.
    public let capacity: Int
    /// The elements, C × H × W × N.
    public let data: UnsafeMutablePointer<Float>
    /// The current logical shape; `shape.count <= capacity`.
    public private(set) var shape: FeatureShape

    /// Allocates a zero-filled feature map of the given shape.
    public init(shape: FeatureShape) {
        self.capacity = shape.count
        self.shape = shape
        self.data = allocateFloats(shape.count)
    }

    deinit { data.deallocate() }

    /// Changes the logical shape without reallocating.
    /// - Precondition: `shape.count <= capacity`.
    public func reshape(_ newShape: FeatureShape) {
        precondition(newShape.count <= capacity, "feature map of capacity \(capacity) cannot hold \(newShape)")
        shape = newShape
    }

    /// A buffer view of the current elements (no copy).
    public var buffer: UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: data, count: shape.count)
    }

    /// Returns `existing` if it can hold `shape` (reshaped to it), otherwise a new map.
    /// Layers call this at the start of forward/backward: it allocates only when the
    /// batch grows beyond what was seen before.
    public static func reuse(_ existing: FeatureMap?, for shape: FeatureShape) -> FeatureMap {
        if let existing, existing.capacity >= shape.count {
            if existing.shape != shape { existing.reshape(shape) }
            return existing
        }
        return FeatureMap(shape: shape)
    }

    /// The map a layer's backward writes ∂L/∂input into: `shared` (a buffer its caller
    /// passes from layer to layer, reshaped here) if given, else the layer's `owned` map,
    /// reused or allocated as by ``reuse(_:for:)``.
    /// - Precondition: `shared`, if given, can hold `shape`.
    static func gradientTarget(_ shared: FeatureMap?, owned: inout FeatureMap?, for shape: FeatureShape) -> FeatureMap {
        if let shared {
            shared.reshape(shape)
            return shared
        }
        let map = reuse(owned, for: shape)
        owned = map
        return map
    }

    /// Copies from PyTorch's N×C×H×W order into this map (shape must already be set).
    public func load(nchw source: UnsafePointer<Float>) {
        let s = shape
        for n in 0..<s.batch {
            for c in 0..<s.channels {
                for p in 0..<s.spatial {
                    data[(c * s.spatial + p) * s.batch + n] = source[(n * s.channels + c) * s.spatial + p]
                }
            }
        }
    }

    /// Copies this map out in PyTorch's N×C×H×W order.
    public func nchwArray() -> [Float] {
        let s = shape
        var out = [Float](repeating: 0, count: s.count)
        for n in 0..<s.batch {
            for c in 0..<s.channels {
                for p in 0..<s.spatial {
                    out[(n * s.channels + c) * s.spatial + p] = data[(c * s.spatial + p) * s.batch + n]
                }
            }
        }
        return out
    }

    /// Writes this map mirrored left–right into `output` (reshaped to this map's shape):
    /// element (n, c, y, x) goes to (n, c, y, W − 1 − x), as torchvision's `hflip`, for
    /// every image of the batch. In this layout a row (c, y) is W columns of N contiguous
    /// values, so the mirror reverses the order of each row's columns, moving every
    /// N-vector whole. Nothing is allocated: pass a buffer kept from batch to batch.
    /// - Precondition: `output` is another map whose capacity holds this shape.
    public func mirrorLeftRight(into output: FeatureMap) {
        precondition(output !== self, "mirrorLeftRight: expected a separate output map, got the input itself")
        output.reshape(shape)
        let n = shape.batch, width = shape.width, rowLength = width * n
        for row in 0..<(shape.channels * shape.height) {
            let source = data + row * rowLength, target = output.data + row * rowLength
            for x in 0..<width {
                (target + (width - 1 - x) * n).update(from: source + x * n, count: n)
            }
        }
    }

    /// A new map holding PyTorch N×C×H×W data.
    public convenience init(nchw values: [Float], shape: FeatureShape) {
        precondition(values.count == shape.count, "expected \(shape.count) values for \(shape), got \(values.count)")
        self.init(shape: shape)
        values.withUnsafeBufferPointer { load(nchw: $0.baseAddress!) }
    }
}
