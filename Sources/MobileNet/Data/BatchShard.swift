/// Which part of every global batch a rank trains on: rank r of K takes the images at
/// positions [⌊r·b/K⌋, ⌊(r+1)·b/K⌋) of a global batch of b images, so shards are
/// contiguous, disjoint, cover the batch, and differ in size by at most one image. Every
/// rank draws the same seeded epoch order and each image's crop and flip from (seed, epoch,
/// dataset index), so the K shards hold exactly the images, augmented alike, of the
/// single-process batch.
public struct BatchShard: Sendable, Equatable {
    public let rank: Int
    public let count: Int

    /// The whole batch (one process).
    public static let whole = BatchShard(rank: 0, count: 1)

    /// - Precondition: 0 ≤ rank < count.
    public init(rank: Int, count: Int) {
        precondition(count >= 1 && (0..<count).contains(rank), "expected 0 ≤ rank < count, got rank \(rank) of \(count)")
        self.rank = rank
        self.count = count
    }

    /// This rank's positions in a global batch of `batchSize` images.
    public func range(inBatchOf batchSize: Int) -> Range<Int> {
        batchSize * rank / count ..< batchSize * (rank + 1) / count
    }

    /// The smallest shard of a global batch of `batchSize` images: ⌊b/K⌋.
    public func smallestShard(ofBatch batchSize: Int) -> Int { batchSize / count }

    /// The largest shard: ⌈b/K⌉ (the buffer each rank plans for).
    public func largestShard(ofBatch batchSize: Int) -> Int { (batchSize + count - 1) / count }
}
