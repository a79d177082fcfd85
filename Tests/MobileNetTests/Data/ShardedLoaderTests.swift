import Testing
@testable import MobileNet

/// The loader's shards (data-parallel training): rank r of K gets images [⌊r·b/K⌋, ⌊(r+1)·b/K⌋)
/// of every global batch, augmented exactly as the single-process batch.
@Suite struct ShardedLoaderTests {
    /// The K shards of every batch, put side by side, equal the single-process batch bit for
    /// bit (images, labels, dataset indices), including the last partial batch (12 = 5 + 5 + 2).
    @Test(arguments: [2, 3])
    func shardsConcatenateToTheSingleProcessBatch(ranks: Int) throws {
        try CIFARFixture.withFolder { folder in
            CIFARFixture.writeCIFAR10(in: folder, trainCounts: [3, 2, 4, 1, 2])
            let data = try CIFARDataset.load(directory: folder, split: .train)
            let whole = BatchLoader(dataset: data, configuration: .training(batchSize: 5, seed: 3, prefetch: 0))
            let shards = (0..<ranks).map { rank in
                BatchLoader(dataset: data, configuration: .training(batchSize: 5, seed: 3, prefetch: 1,
                                                                   shard: BatchShard(rank: rank, count: ranks), minimumShardImages: 0))
            }
            #expect(shards.allSatisfy { $0.stepsPerEpoch == whole.stepsPerEpoch })
            whole.start(epoch: 1)
            for loader in shards { loader.start(epoch: 1) }
            var steps = 0
            while let batch = whole.next() {
                let wholeImages = Array(batch.images.buffer.prefix(batch.images.shape.count)), wholeLabels = Array(batch.labels), wholeIndices = Array(batch.indices)
                let pixels = wholeImages.count / batch.size
                var images = [Float](repeating: 0, count: wholeImages.count)
                var labels: [Int32] = [], indices: [Int32] = []
                for (rank, loader) in shards.enumerated() {
                    let part = try #require(loader.next())
                    let range = BatchShard(rank: rank, count: ranks).range(inBatchOf: batch.size)
                    #expect(part.size == range.count && part.globalSize == batch.size)
                    labels += Array(part.labels)
                    indices += Array(part.indices)
                    let partImages = Array(part.images.buffer.prefix(part.images.shape.count))
                    for pixel in 0..<pixels {
                        for i in 0..<part.size { images[pixel * batch.size + range.lowerBound + i] = partImages[pixel * part.size + i] }
                    }
                }
                #expect(labels == wholeLabels && indices == wholeIndices)
                #expect(images.map(\.bitPattern) == wholeImages.map(\.bitPattern))
                steps += 1
            }
            #expect(steps == 3)
        }
    }

    /// The last batch is dropped when a rank would get fewer images than BatchNorm needs:
    /// 12 images, batch 5, 2 ranks → the last batch (2 images) gives each rank 1.
    @Test func lastBatchTooSmallForARankIsDropped() throws {
        try CIFARFixture.withFolder { folder in
            CIFARFixture.writeCIFAR10(in: folder, trainCounts: [3, 2, 4, 1, 2])
            let data = try CIFARDataset.load(directory: folder, split: .train)
            let perRank = BatchLoader(dataset: data, configuration: .training(batchSize: 5, seed: 3, shard: BatchShard(rank: 1, count: 2), minimumShardImages: 2))
            let synced = BatchLoader(dataset: data, configuration: .training(batchSize: 5, seed: 3, shard: BatchShard(rank: 1, count: 2), minimumShardImages: 1))
            #expect(perRank.stepsPerEpoch == 2)
            #expect(synced.stepsPerEpoch == 3)
        }
    }
}
