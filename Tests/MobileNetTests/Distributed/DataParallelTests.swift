import Testing
@testable import MobileNet

/// Data-parallel training without MPI: ranks as threads (``ThreadGroup``) or a group of one.
@Suite(.serialized) struct DataParallelTests {
    /// A seeded w0.25 model and session; `group` nil trains in one process.
    static func session(seed: UInt64, steps: Int, dataParallel: DataParallel?, maxLearningRate: Double = 0.1) throws -> TrainingSession {
        var options = TrainingOptions()
        options.epochs = 1
        options.maxLearningRate = maxLearningRate
        options.widthMultiplier = 0.25
        let model = MobileNetV1(numClasses: 10, widthMultiplier: 0.25, seed: seed)
        return try TrainingSession(model: model, options: options, stepsPerEpoch: steps, dataParallel: dataParallel)
    }

    /// `steps` random global batches of `batch` images [3, 32, 32, batch] with their targets.
    static func batches(_ steps: Int, batch: Int, seed: UInt64) -> [(FeatureMap, [Int32])] {
        var rng = TestRNG(seed: seed)
        return (0..<steps).map { _ in
            (randomFeatureMap(FeatureShape(channels: 3, height: 32, width: 32, batch: batch), &rng),
             (0..<batch).map { _ in Int32(rng.next() % 10) })
        }
    }

    /// Images [lower, upper) of a C×H×W×N map (batch innermost) as a new map.
    static func slice(_ map: FeatureMap, _ range: Range<Int>) -> FeatureMap {
        let s = map.shape, n = range.count
        let out = FeatureMap(shape: FeatureShape(channels: s.channels, height: s.height, width: s.width, batch: n))
        for pixel in 0..<(s.channels * s.height * s.width) {
            for i in 0..<n { out.data[pixel * n + i] = map.data[pixel * s.batch + range.lowerBound + i] }
        }
        return out
    }

    /// Every parameter and running statistic of a model, by name.
    static func state(_ model: MobileNetV1) -> [(String, [Float])] {
        var state = model.namedParameters.map { ($0.name, $0.parameter.value.array) }
        for (name, value) in model.namedBuffers {
            if case .float(let tensor) = value { state.append((name, tensor.array)) }
        }
        return state
    }

    static func train(_ session: TrainingSession, _ batches: [(FeatureMap, [Int32])], shard: BatchShard = .whole) throws -> [Double] {
        try batches.map { images, targets in
            let part = shard.range(inBatchOf: targets.count)
            let local = shard.count == 1 ? images : slice(images, part)
            let result = try Array(targets[part]).withUnsafeBufferPointer {
                try session.step(images: local, targets: $0, globalBatchSize: targets.count)
            }
            return result.loss
        }
    }

    @Test func shardsAreContiguousDisjointAndCoverTheBatch() {
        let ranges = (0..<3).map { BatchShard(rank: $0, count: 3).range(inBatchOf: 8) }
        #expect(ranges == [0..<2, 2..<5, 5..<8])
        #expect(BatchShard(rank: 0, count: 3).smallestShard(ofBatch: 8) == 2)
        #expect(BatchShard(rank: 0, count: 3).largestShard(ofBatch: 8) == 3)
        #expect(BatchShard(rank: 1, count: 2).range(inBatchOf: 1) == 0..<1)
        #expect(BatchShard(rank: 0, count: 2).range(inBatchOf: 1).isEmpty)
    }

    /// The synchronised path with a group of one (layer by layer, statistics from Double
    /// sums) against the fused single-process path: same weights after three steps.
    @Test func syncBatchNormInAGroupOfOneMatchesTheFusedPath() throws {
        let data = Self.batches(3, batch: 8, seed: 5)
        let plain = try Self.session(seed: 3, steps: 3, dataParallel: nil)
        let synced = try Self.session(seed: 3, steps: 3, dataParallel: DataParallel(communicator: SingleProcessCommunicator(), syncBatchNorm: true))
        let plainLosses = try Self.train(plain, data), syncedLosses = try Self.train(synced, data)
        for (a, b) in zip(syncedLosses, plainLosses) { #expect(abs(a - b) <= 1e-5 * abs(b), "loss \(a) vs \(b)") }
        for ((name, a), (_, b)) in zip(Self.state(synced.model), Self.state(plain.model)) {
            expectNormClose(a, b, rtol: 1e-5, name)
        }
    }

    /// Trains `ranks` thread-ranks on their shards of the same batches; returns every rank's
    /// session and step losses (the global batch's mean loss, as reported).
    static func trainInGroup(ranks: Int, syncBatchNorm: Bool, data: [(FeatureMap, [Int32])], seed: UInt64,
                             maxLearningRate: Double = 0.1, bucketCapacity: Int = 1 << 20) throws -> (sessions: [TrainingSession], losses: [[Double]]) {
        let group = ThreadGroup(size: ranks)
        let sessions = try (0..<ranks).map { rank in
            try session(seed: seed, steps: data.count,
                        dataParallel: DataParallel(communicator: group.communicator(rank: rank), syncBatchNorm: syncBatchNorm,
                                                   bucketCapacity: bucketCapacity),
                        maxLearningRate: maxLearningRate)
        }
        let box = SessionBox(sessions: sessions, data: data)
        return (sessions, try group.run { rank in try box.train(rank: rank) })
    }

    /// The acceptance case in-process (the MPI twin is scripts/distributed_check.sh):
    /// with SyncBatchNorm, 2 ranks × global batch 8 (and 7: shards of 3 and 4 images) give
    /// the weights and running statistics of 1 process after 3 steps, per tensor
    /// ‖a − b‖₂ ≤ 1e-4·‖b‖₂, and the same step losses.
    ///
    /// Why max lr 5e-4 and not the reference recipe's 0.1: the comparison measures summation-order
    /// rounding (~1e-5 here), but this training amplifies rounding. The BatchNorm biases start
    /// at 0 and their gradients Σdy' are sums that largely cancel, and a pre-activation that
    /// lands within rounding of ReLU6's kinks (0, 6) switches its gradient on or off: perturbing
    /// every weight of the 1-process run by 1e-6 (relative) moves these gradients by ~5 %, and
    /// with OneCycleLR compressed into 3 steps (step 2 at lr 0.1, batch 8) the weights then
    /// differ by 10–60 %. A small lr keeps the three steps in the regime where the
    /// difference stays rounding-sized: ~1.5e-5 for data seeds 10, 11 and 12 at batch 7, and
    /// 10 and 11 at batch 8, while a trajectory that crosses a kink (seed 9 at batch 7, seed 12
    /// at batch 8) differs by 5–10 % in a few BatchNorm biases — the rounding, amplified.
    @Test(arguments: [8, 7])
    func twoRanksWithSyncBatchNormMatchOneProcess(batch: Int) throws {
        let data = Self.batches(3, batch: batch, seed: 10)
        let single = try Self.session(seed: 4, steps: 3, dataParallel: nil, maxLearningRate: 5e-4)
        let singleLosses = try Self.train(single, data)
        let (ranks, losses) = try Self.trainInGroup(ranks: 2, syncBatchNorm: true, data: data, seed: 4, maxLearningRate: 5e-4)
        for ((name, a), (_, b)) in zip(Self.state(ranks[0].model), Self.state(single.model)) {
            expectNormClose(a, b, rtol: 1e-4, name)
        }
        #expect(losses[0] == losses[1])
        for (a, b) in zip(losses[0], singleLosses) { #expect(abs(a - b) <= 1e-5 * b, "step loss \(a) vs \(b)") }
        // Every rank holds the same weights, bit for bit.
        #expect(Self.state(ranks[0].model).map(\.1) == Self.state(ranks[1].model).map(\.1))
    }

    /// Per-rank BatchNorm (DDP): after 3 steps both ranks hold the same parameters bit for
    /// bit, and bucketing does not change the sums (buckets of 10,000 floats — 22 of them — give
    /// the same bits as one bucket). The running statistics are each rank's own until
    /// ``DataParallel/broadcastBuffers(model:includingCounts:)`` copies rank 0's.
    @Test func ddpRanksStayIdenticalWhateverTheBuckets() throws {
        let data = Self.batches(3, batch: 8, seed: 2)
        let large = try Self.trainInGroup(ranks: 2, syncBatchNorm: false, data: data, seed: 1).sessions
        let small = try Self.trainInGroup(ranks: 2, syncBatchNorm: false, data: data, seed: 1, bucketCapacity: 10_000).sessions
        #expect(small[0].dataParallel!.bucketCount(for: small[0].optimizer.parameters) == 22)
        #expect(large[0].dataParallel!.bucketCount(for: large[0].optimizer.parameters) == 1)
        let parameters = { (s: TrainingSession) in s.model.namedParameters.map { $0.parameter.value.array.map(\.bitPattern) } }
        #expect(parameters(large[0]) == parameters(large[1]))
        #expect(parameters(large[0]) == parameters(small[0]))
        let runningMean = { (s: TrainingSession) in s.model.entryNorm.runningMean.array }
        #expect(runningMean(large[0]) != runningMean(large[1]))
        let group = ThreadGroup(size: 2)
        let box = SessionBox(sessions: large, data: [])
        _ = try group.run { rank in
            DataParallel(communicator: group.communicator(rank: rank), syncBatchNorm: false).broadcastBuffers(model: box.sessions[rank].model)
        }
        #expect(runningMean(large[0]) == runningMean(large[1]))
    }
}

/// The sessions and data the thread-ranks share (each rank touches only its own session).
final class SessionBox: @unchecked Sendable {
    let sessions: [TrainingSession]
    let data: [(FeatureMap, [Int32])]
    init(sessions: [TrainingSession], data: [(FeatureMap, [Int32])]) {
        self.sessions = sessions
        self.data = data
    }
    func train(rank: Int) throws -> [Double] {
        let session = sessions[rank]
        return try DataParallelTests.train(session, data, shard: session.dataParallel!.shard)
    }
}
