/// A trainable tensor and its gradient, as torch.nn.Parameter plus its `.grad`.
///
/// `name` is the local name inside its layer ("weight", "bias"); the model prefixes
/// it with the module path to form the PyTorch state_dict name.
public final class Parameter: @unchecked Sendable {
    /// What kind of weight this is, for optimizer parameter groups
    /// (e.g. no weight decay on BatchNorm and depthwise weights, MobileNets §4).
    public enum Kind: String, Sendable, CaseIterable {
        case convolutionWeight, depthwiseWeight, linearWeight, bias, batchNormWeight, batchNormBias
    }

    public let name: String
    public let kind: Kind
    /// The value, PyTorch's shape.
    public let value: Tensor
    /// ∂L/∂value, same shape. Layers accumulate into it in backward (`+=`); call
    /// ``zeroGrad()`` before each step, as optimizer.zero_grad().
    public let grad: Tensor

    public init(name: String, kind: Kind, shape: [Int]) {
        self.name = name
        self.kind = kind
        self.value = Tensor(shape: shape)
        self.grad = Tensor(shape: shape)
    }

    public func zeroGrad() { grad.zero() }
}

/// A 64-bit integer buffer (BatchNorm's num_batches_tracked, shape [] in PyTorch).
public final class Int64Scalar: @unchecked Sendable {
    public var value: Int64
    public init(_ value: Int64 = 0) { self.value = value }
}

/// A non-trainable entry of a state_dict.
public enum BufferValue: @unchecked Sendable {
    case float(Tensor)
    case int64(Int64Scalar)
}

/// A layer with an explicit forward and backward pass (STYLE: forward above backward,
/// caches owned by the layer).
///
/// Activations are ``FeatureMap``s in the engine layout C × H × W × N. `forward`
/// keeps whatever backward needs inside the layer and returns a map the layer owns
/// (valid until its next forward); `backward` returns ∂L/∂input (owned by the layer
/// too) and accumulates ∂L/∂θ into its parameters' `grad`. Buffers are allocated on
/// the first call and reused, so steady-state steps do not allocate.
public protocol Layer: AnyObject {
    /// - Parameter training: batch statistics and caches for backward (true), or eval mode.
    func forward(_ input: FeatureMap, training: Bool) -> FeatureMap
    /// - Precondition: called after a `forward(_:training: true)` with a matching batch.
    func backward(_ gradOutput: FeatureMap) -> FeatureMap
    /// Trainable parameters, local names.
    var parameters: [Parameter] { get }
    /// Buffers (running statistics), local names, in PyTorch's state_dict order.
    var buffers: [(name: String, value: BufferValue)] { get }
}

extension Layer {
    public var buffers: [(name: String, value: BufferValue)] { [] }
}
