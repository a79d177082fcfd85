import Dispatch
import Foundation

/// One preallocated batch buffer: images [3, L, L, ≤ capacity], labels and dataset indices.
final class BatchSlot: @unchecked Sendable {
    let images: FeatureMap
    let labels: UnsafeMutablePointer<Int32>
    let indices: UnsafeMutablePointer<Int32>
    var step = 0
    var size = 0
    /// Images in the whole global batch this slot holds a shard of.
    var globalSize = 0

    /// - Parameter imageSide: L, the largest side a batch of this slot holds.
    init(capacity: Int, imageSide: Int) {
        images = FeatureMap(shape: FeatureShape(channels: CIFARImage.channels, height: imageSide,
                                                width: imageSide, batch: capacity))
        labels = .allocate(capacity: capacity)
        labels.initialize(repeating: 0, count: capacity)
        indices = .allocate(capacity: capacity)
        indices.initialize(repeating: 0, count: capacity)
    }

    deinit {
        labels.deallocate()
        indices.deallocate()
    }
}

/// What an epoch's batches are made from; read by the producer thread, changed by the
/// loader only while no producer runs.
final class EpochPlan: @unchecked Sendable {
    let assembler: BatchAssembler
    let batchSize: Int
    let shard: BatchShard
    let slots: [BatchSlot]
    /// Dataset indices in visiting order for the current epoch.
    var order: [Int32]
    var epoch = 0

    init(assembler: BatchAssembler, batchSize: Int, shard: BatchShard, slotCount: Int) {
        self.assembler = assembler
        self.batchSize = batchSize
        self.shard = shard
        self.slots = (0..<slotCount).map { _ in BatchSlot(capacity: shard.largestShard(ofBatch: batchSize), imageSide: assembler.imageSide) }
        self.order = EpochOrder.sequential(count: assembler.count)
    }

    /// Prepares this rank's shard of batch `step` of the current epoch into `slot`. Allocates nothing.
    func fill(_ slot: BatchSlot, step: Int) {
        let globalLower = step * batchSize
        let globalSize = min(batchSize, order.count - globalLower)
        let part = shard.range(inBatchOf: globalSize)
        let lower = globalLower + part.lowerBound, upper = globalLower + part.upperBound
        slot.step = step
        slot.size = upper - lower
        slot.globalSize = globalSize
        let positions = order[lower..<upper]
        for (n, index) in zip(0..., positions) { slot.indices[n] = index }
        assembler.assemble(indices: positions, epoch: epoch, into: slot.images, labels: slot.labels)
    }
}

/// One background thread preparing an epoch's batches into a ring of slots.
///
/// Semaphores: `free` counts slots the producer may fill (all at first), `filled` counts
/// prepared batches. The producer fills slot k mod S for its k-th batch; the consumer takes
/// them in the same order and returns one before taking the next, so slot k mod S is free
/// again exactly when batch k − S has been handed back. A plain Foundation thread, not
/// Dispatch's concurrent pool, which the engine's compute loops use.
final class BatchPrefetcher: @unchecked Sendable {
    private let plan: EpochPlan
    private let free = DispatchSemaphore(value: 0)
    private let filled = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var cancelled = false
    private var taken = 0
    private var joined = false

    /// Starts the thread preparing `steps` of `plan.epoch`.
    init(plan: EpochPlan, steps: Range<Int>) {
        self.plan = plan
        // Created at 0 and raised: libdispatch traps when a semaphore is freed below its initial value.
        for _ in plan.slots { free.signal() }
        let thread = Thread { [self] in produce(steps) }
        thread.name = "batch-prefetch"
        thread.start()
    }

    private var isCancelled: Bool {
        lock.lock()
        defer { lock.unlock() }
        return cancelled
    }

    private func produce(_ steps: Range<Int>) {
        for (k, step) in zip(0..., steps) {
            free.wait()
            if isCancelled { break }
            plan.fill(plan.slots[k % plan.slots.count], step: step)
            filled.signal()
        }
        finished.signal()
    }

    /// The next prepared batch, waiting for it if needed. The caller must have handed back
    /// the previous one with ``recycle()``.
    func take() -> BatchSlot {
        filled.wait()
        defer { taken += 1 }
        return plan.slots[taken % plan.slots.count]
    }

    /// Hands the oldest taken slot back to the producer.
    func recycle() { free.signal() }

    /// Stops the thread and waits until it has exited; idempotent.
    func join() {
        guard !joined else { return }
        joined = true
        lock.lock()
        cancelled = true
        lock.unlock()
        // Wakes the producer if it waits for a slot; it then sees the flag and exits.
        free.signal()
        finished.wait()
    }
}
