import Foundation
import Testing
@testable import MobileNet

/// Ranks compare what they will do before training (three ranks as threads): a differing
/// flag or data copy is named, with the rank and both values, on every rank alike.
@Suite struct RunAgreementTests {
    static func fingerprints(_ change: @escaping @Sendable (Int, inout TrainingOptions, inout [RunFingerprint.Field]) -> Void) throws -> [RunFingerprint.Disagreement?] {
        let group = ThreadGroup(size: 3)
        return try group.run { rank in
            var options = TrainingOptions()
            var extra = [RunFingerprint.Field(name: "--data (training images)", value: "50000 images, checksum 1f")]
            change(rank, &options, &extra)
            return RunFingerprint(fields: RunFingerprint.fields(of: options) + extra).disagreement(over: group.communicator(rank: rank))
        }
    }

    @Test func identicalRanksAgree() throws {
        #expect(try Self.fingerprints { _, _, _ in } == [nil, nil, nil])
    }

    @Test func aDifferentFlagIsNamedWithTheRankAndBothValues() throws {
        let results = try Self.fingerprints { rank, options, _ in if rank == 2 { options.limitTrain = 100 } }
        #expect(results.map { $0?.field } == ["--limit-train", "--limit-train", "--limit-train"])
        #expect(results.map { $0?.rank } == [2, 2, 2])
        #expect(results[2]?.localValue == "100" && results[2]?.rootValue == "none")
        #expect(results[1]?.localValue == nil)
        #expect(results[2]?.description.contains("rank 2: --limit-train is 100 here but none on rank 0") == true)
        #expect(results[0]?.description.contains("the ranks disagree on --limit-train: rank 2 differs") == true)
    }

    @Test func aShorterDataCopyIsNamed() throws {
        let results = try Self.fingerprints { rank, _, extra in
            if rank == 1 { extra[0].value = "40000 images, checksum 2e" }
        }
        #expect(results.map { $0?.field } == Array(repeating: "--data (training images)", count: 3))
        #expect(results[1]?.localValue == "40000 images, checksum 2e")
    }

    /// The checksum tells copies of one size apart; equal data give equal text.
    @Test func datasetFingerprintSeesAChangedImage() {
        let split = CIFARFixture.split(count: 4, classes: 10, seed: 3)
        let a = CIFARDataset(dataset: .cifar10, split: .train, images: split.images, labels: split.labels, classNames: CIFARFixture.cifar10Names)
        var b = a
        #expect(a.fingerprint == b.fingerprint)
        b.images[61 * 7] &+= 1
        #expect(a.fingerprint != b.fingerprint)
        #expect(a.fingerprint.hasPrefix("4 images, checksum "))
    }
}

/// The test pass after a run with a validation set, over two thread-ranks: each rank
/// evaluates its shards and the summed tally equals the single process's.
@Suite struct ShardedTestOnceTests {
    @Test func summedShardTalliesEqualTheWholeSet() throws {
        let data = CheckpointFixture.dataset(count: 13, seed: 4)
        let model = MobileNetV1(numClasses: 10, widthMultiplier: 0.125, seed: 1)
        let whole = EvaluationTally.evaluate(model: model, loader: BatchLoader(dataset: data, configuration: .evaluation(batchSize: 5)))
        let group = ThreadGroup(size: 2)
        let models = [model, MobileNetV1(numClasses: 10, widthMultiplier: 0.125, seed: 1)]
        let box = ModelBox(models: models, data: data)
        let tallies = try group.run { rank in
            let loader = BatchLoader(dataset: box.data, configuration: .evaluation(batchSize: 5, shard: BatchShard(rank: rank, count: 2)))
            var tally = EvaluationTally.evaluate(model: box.models[rank], loader: loader)
            tally.sum(over: group.communicator(rank: rank))
            return tally
        }
        for tally in tallies {
            #expect(tally.count == 13 && tally.top1Correct == whole.top1Correct && tally.confusion == whole.confusion)
            // Per-batch mean losses are Float: shards of other sizes round differently in the last bits.
            #expect(abs(tally.lossSum - whole.lossSum) <= 1e-6 * abs(whole.lossSum))
        }
    }
}

final class ModelBox: @unchecked Sendable {
    let models: [MobileNetV1]
    let data: CIFARDataset
    init(models: [MobileNetV1], data: CIFARDataset) {
        self.models = models
        self.data = data
    }
}

/// A collective that waits past the timeout is reported (rank 1 of 2 never arrives).
@Suite struct CollectiveWatchdogTests {
    final class Messages: @unchecked Sendable {
        let lock = NSLock()
        var texts: [String] = []
        func add(_ text: String) { lock.withLock { texts.append(text) } }
        var all: [String] { lock.withLock { texts } }
    }

    @Test func aCollectiveThatWaitsTooLongIsReported() async throws {
        let group = ThreadGroup(size: 2)
        let messages = Messages()
        let watchdog = CollectiveWatchdog(group.communicator(rank: 0), timeout: 0.5) { messages.add($0) }
        // A quick collective stays silent.
        _ = try group.run { rank in
            rank == 0 ? watchdog.anyRank(false) : group.communicator(rank: 1).anyRank(false)
        }
        #expect(messages.all.isEmpty)
        // Rank 1 arrives 1.5 s late: the watchdog speaks while rank 0 waits.
        _ = try group.run { rank in
            if rank == 1 { usleep(1_500_000) }
            return rank == 0 ? watchdog.anyRank(false) : group.communicator(rank: 1).anyRank(false)
        }
        watchdog.stop()
        #expect(messages.all.count == 1)
        #expect(messages.all.first?.contains("rank 0 of 2: MPI_Allreduce has waited 0.5 s for the other ranks (--collective-timeout)") == true)
    }
}
