/// Synchronous data-parallel training over a ``Communicator``, as PyTorch's
/// DistributedDataParallel: every rank holds the whole model, trains on its shard of each
/// global batch (``BatchShard``), and the gradients are summed over the ranks before the
/// identical SGD step on every rank.
///
/// Gradient averaging: rank r's loss is the mean over its n_r images; the session scales
/// ∂L_r/∂logits by n_r/B before backward (B the global batch), so each rank backpropagates
/// its share of the global-batch mean loss and the allreduced SUM is exactly the global
/// batch's gradient, even for unequal shards (the last batch of an epoch). Weight decay
/// and momentum are applied after the sum, identically on every rank.
///
/// Buckets: the gradients are packed, in backward order (last layer first, as DDP), into
/// one flat buffer cut into buckets of at most ``bucketCapacity`` floats (4 MiB, DDP's
/// default is 25 MiB), one MPI_Allreduce each; the step's loss sum and correct count ride
/// in the last bucket, so reporting costs no extra round trip. The buckets are reduced
/// after the backward pass ends (no overlap with it).
///
/// BatchNorm: per rank (DDP's semantics, ``syncBatchNorm`` false: statistics of the shard,
/// running statistics drift apart between ranks and rank 0's are broadcast before each test
/// pass and checkpoint — DDP broadcasts them before every forward, which leaves rank 0's
/// values the same) or synchronised (true: torch.nn.SyncBatchNorm, see
/// ``MobileNetV1/syncedTrainingForward(_:communicator:)``).
public final class DataParallel {
    /// The group, wrapped so that every collective's wall time is counted.
    public let communicator: any Communicator
    public let syncBatchNorm: Bool
    /// Floats per gradient bucket (the last bucket may hold fewer).
    public let bucketCapacity: Int
    private let timer: CollectiveTimer
    private var flat: UnsafeMutableBufferPointer<Float>?
    private var buckets: [Range<Int>] = []
    private var packOrder: [(parameter: Parameter, offset: Int)] = []

    /// Seconds spent inside collectives (gradient buckets, BatchNorm statistics, stop flags,
    /// evaluation totals) since the start, waiting for slower ranks included.
    public var collectiveSeconds: Double { timer.seconds }
    /// Seconds spent in the gradient buckets' allreduces alone.
    public private(set) var gradientAllreduceSeconds = 0.0

    /// - Parameters:
    ///   - bucketCapacity: floats per bucket, ≥ 1 (default 2²⁰ = 4 MiB: 4 buckets at α = 1).
    public init(communicator: any Communicator, syncBatchNorm: Bool, bucketCapacity: Int = 1 << 20) {
        precondition(bucketCapacity >= 1, "expected bucketCapacity ≥ 1, got \(bucketCapacity)")
        timer = CollectiveTimer(communicator)
        self.communicator = timer
        self.syncBatchNorm = syncBatchNorm
        self.bucketCapacity = bucketCapacity
    }

    deinit { flat?.deallocate() }

    /// This rank's shard of every batch.
    public var shard: BatchShard { BatchShard(rank: communicator.rank, count: communicator.size) }

    /// Number of buckets for `parameters` (tests, reports).
    public func bucketCount(for parameters: [Parameter]) -> Int {
        plan(parameters)
        return buckets.count
    }

    /// Sums every parameter's gradient over the ranks in place, bucket by bucket, together
    /// with the step's loss sum and correct count.
    /// - Returns: the global loss sum (Σ over the global batch of the per-image loss) and correct count.
    public func allreduceGradients(_ parameters: [Parameter], lossSum: Double, correct: Int) -> (lossSum: Double, correct: Int) {
        plan(parameters)
        let flat = flat!, extra = flat.count - 2
        for (parameter, offset) in packOrder {
            (flat.baseAddress! + offset).update(from: parameter.grad.data, count: parameter.grad.count)
        }
        flat[extra] = Float(lossSum)
        flat[extra + 1] = Float(correct)
        let start = monotonicSeconds()
        for bucket in buckets { communicator.allreduceSum(UnsafeMutableBufferPointer(rebasing: flat[bucket])) }
        gradientAllreduceSeconds += monotonicSeconds() - start
        for (parameter, offset) in packOrder {
            parameter.grad.data.update(from: flat.baseAddress! + offset, count: parameter.grad.count)
        }
        return (Double(flat[extra]), Int(flat[extra + 1].rounded()))
    }

    /// Copies rank 0's parameters, buffers (running statistics, num_batches_tracked) and
    /// momentum buffers to every rank (MPI_Bcast), as DDP does when it is constructed: every
    /// rank then starts from the weights rank 0 initialised or restored.
    public func broadcastState(model: MobileNetV1, optimizer: SGD) {
        for (_, parameter) in model.namedParameters {
            communicator.broadcast(parameter.value.data, count: parameter.value.count, root: 0)
        }
        broadcastBuffers(model: model, includingCounts: true)
        var present = optimizer.momentumBuffers.map { $0 == nil ? 0 : 1 } as [UInt8]
        present.withUnsafeMutableBytes { communicator.broadcast($0, root: 0) }
        for (index, flag) in present.enumerated() where flag == 1 {
            let parameter = optimizer.parameters[index]
            if optimizer.momentumBuffers[index] == nil {
                try? optimizer.restoreMomentumBuffer(at: index, from: Tensor(shape: parameter.value.shape))
            }
            let buffer = optimizer.momentumBuffers[index]!
            communicator.broadcast(buffer.data, count: buffer.count, root: 0)
        }
    }

    /// Copies rank 0's running statistics to every rank (and, with `includingCounts`,
    /// num_batches_tracked): DDP's broadcast_buffers. Needed only without ``syncBatchNorm``.
    public func broadcastBuffers(model: MobileNetV1, includingCounts: Bool = false) {
        for (_, buffer) in model.namedBuffers {
            switch buffer {
            case .float(let tensor):
                communicator.broadcast(tensor.data, count: tensor.count, root: 0)
            case .int64(let scalar):
                guard includingCounts else { continue }
                withUnsafeMutableBytes(of: &scalar.value) { communicator.broadcast($0, root: 0) }
            }
        }
    }

    /// Lays the gradients out in the flat buffer (once per parameter list).
    private func plan(_ parameters: [Parameter]) {
        let total = parameters.reduce(0) { $0 + $1.grad.count }
        if let flat, flat.count == total + 2 { return }
        flat?.deallocate()
        let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: total + 2)
        buffer.initialize(repeating: 0)
        flat = buffer
        packOrder = []
        var offset = 0
        for parameter in parameters.reversed() {
            packOrder.append((parameter, offset))
            offset += parameter.grad.count
        }
        buckets = stride(from: 0, to: total + 2, by: bucketCapacity).map { $0 ..< min($0 + bucketCapacity, total + 2) }
        // The two step totals belong to the last bucket, not to a bucket of their own.
        if buckets.count > 1, let last = buckets.last, last.count <= 2 {
            buckets.removeLast()
            buckets[buckets.count - 1] = buckets[buckets.count - 1].lowerBound ..< last.upperBound
        }
    }
}

/// A ``Communicator`` that forwards every call and adds up its wall time.
final class CollectiveTimer: Communicator {
    let base: any Communicator
    private(set) var seconds = 0.0

    init(_ base: any Communicator) { self.base = base }

    var rank: Int { base.rank }
    var size: Int { base.size }

    private func timed(_ body: () -> Void) {
        let start = monotonicSeconds()
        body()
        seconds += monotonicSeconds() - start
    }

    func broadcast(_ bytes: UnsafeMutableRawBufferPointer, root: Int) { timed { base.broadcast(bytes, root: root) } }
    func allreduceSum(_ values: UnsafeMutableBufferPointer<Float>) { timed { base.allreduceSum(values) } }
    func allreduceSum(_ values: UnsafeMutableBufferPointer<Double>) { timed { base.allreduceSum(values) } }
    func allreduceMax(_ values: UnsafeMutableBufferPointer<Double>) { timed { base.allreduceMax(values) } }
    func barrier() { timed { base.barrier() } }
    func abort(message: String, status: Int32) -> Never { base.abort(message: message, status: status) }
}
