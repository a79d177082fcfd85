/// A contiguous, row-major float32 array with PyTorch's shape convention, used for
/// parameters, gradients, running statistics and reference data.
///
/// Storage is allocated once (64-byte aligned, zero-filled) and freed with the
/// object; the shape never changes. Activations use ``FeatureMap`` instead, whose
/// batch size can shrink without reallocation.
public final class Tensor: @unchecked Sendable {
    /// PyTorch's shape, e.g. `[outChannels, inChannels / groups, kH, kW]` for a conv weight.
    public let shape: [Int]
    /// Number of elements: the product of `shape` (1 for a scalar, shape `[]`).
    public let count: Int
    /// The elements, row-major.
    public let data: UnsafeMutablePointer<Float>

    /// Allocates a zero-filled tensor of the given shape.
    public init(shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "expected non-negative dimensions, got \(shape)")
        self.shape = shape
        self.count = shape.reduce(1, *)
        self.data = allocateFloats(count)
    }

    /// Allocates a tensor holding a copy of `values`; `values.count` must equal the shape's product.
    public convenience init(shape: [Int], values: [Float]) {
        self.init(shape: shape)
        precondition(values.count == count, "expected \(count) values for shape \(shape), got \(values.count)")
        values.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: count) }
    }

    deinit { data.deallocate() }

    /// A buffer view of the elements (no copy).
    public var buffer: UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: data, count: count)
    }

    /// A copy of the elements as an array.
    public var array: [Float] { Array(buffer) }

    /// Sets every element to zero.
    public func zero() { data.update(repeating: 0, count: count) }

    /// Copies another tensor's elements; the shapes must be equal.
    public func copy(from other: Tensor) {
        precondition(other.shape == shape, "expected shape \(shape), got \(other.shape)")
        data.update(from: other.data, count: count)
    }
}

/// Allocates `count` zero-filled floats, 64-byte aligned (one cache line, one AVX-512 vector).
@inline(__always)
func allocateFloats(_ count: Int) -> UnsafeMutablePointer<Float> {
    let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * MemoryLayout<Float>.stride, alignment: 64)
    let typed = raw.bindMemory(to: Float.self, capacity: max(count, 1))
    typed.initialize(repeating: 0, count: max(count, 1))
    return typed
}
