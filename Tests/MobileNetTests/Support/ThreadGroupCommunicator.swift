import Foundation
@testable import MobileNet

/// K ranks as K threads of one process, for testing the data-parallel code without MPI.
/// Collectives meet at a barrier; a sum adds the ranks' values in rank order (as a
/// deterministic MPI_Allreduce would), so every rank gets the same bits.
final class ThreadGroup: @unchecked Sendable {
    let size: Int
    private let condition = NSCondition()
    private var arrived = 0
    private var generation = 0
    private var slots: [UnsafeMutableRawPointer?]

    init(size: Int) {
        self.size = size
        slots = Array(repeating: nil, count: size)
    }

    /// The communicator of `rank`.
    func communicator(rank: Int) -> ThreadGroupCommunicator { ThreadGroupCommunicator(group: self, rank: rank) }

    /// Runs `body(rank)` on `size` threads and returns their results in rank order.
    func run<T>(_ body: @escaping @Sendable (Int) throws -> T) throws -> [T] {
        let results = UnsafeMutablePointer<Result<T, Error>?>.allocate(capacity: size)
        results.initialize(repeating: nil, count: size)
        defer { results.deinitialize(count: size); results.deallocate() }
        let pointer = SendablePointer(results)
        let done = DispatchGroup()
        for rank in 0..<size {
            done.enter()
            let thread = Thread {
                pointer[rank] = Result { try body(rank) }
                done.leave()
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
        done.wait()
        return try (0..<size).map { try results[$0]!.get() }
    }

    func barrier() {
        condition.lock()
        let current = generation
        arrived += 1
        if arrived == size {
            arrived = 0
            generation += 1
            condition.broadcast()
        } else {
            while generation == current { condition.wait() }
        }
        condition.unlock()
    }

    /// Publishes `pointer` as `rank`'s buffer, waits for every rank, runs `body` with all
    /// buffers, and waits again so no buffer changes while another rank reads it.
    func exchange(rank: Int, _ pointer: UnsafeMutableRawPointer, _ body: ([UnsafeMutableRawPointer]) -> Void) {
        condition.lock(); slots[rank] = pointer; condition.unlock()
        barrier()
        condition.lock(); let all = slots.map { $0! }; condition.unlock()
        body(all)
        barrier()
    }
}

final class ThreadGroupCommunicator: Communicator, @unchecked Sendable {
    let group: ThreadGroup
    let rank: Int
    var size: Int { group.size }

    init(group: ThreadGroup, rank: Int) {
        self.group = group
        self.rank = rank
    }

    func broadcast(_ bytes: UnsafeMutableRawBufferPointer, root: Int) {
        var copy = [UInt8](repeating: 0, count: bytes.count)
        group.exchange(rank: rank, bytes.baseAddress!) { all in
            copy.withUnsafeMutableBytes { $0.copyMemory(from: UnsafeRawBufferPointer(start: all[root], count: bytes.count)) }
        }
        copy.withUnsafeBytes { bytes.copyMemory(from: $0) }
        group.barrier()
    }

    private func reduce<T: FloatingPoint>(_ values: UnsafeMutableBufferPointer<T>, _ combine: (T, T) -> T) {
        var result = [T](repeating: 0, count: values.count)
        group.exchange(rank: rank, UnsafeMutableRawPointer(values.baseAddress!)) { all in
            let buffers = all.map { $0.assumingMemoryBound(to: T.self) }
            for i in 0..<values.count {
                var total = buffers[0][i]
                for r in 1..<buffers.count { total = combine(total, buffers[r][i]) }
                result[i] = total
            }
        }
        for i in 0..<values.count { values[i] = result[i] }
        group.barrier()
    }

    func allreduceSum(_ values: UnsafeMutableBufferPointer<Float>) { reduce(values, +) }
    func allreduceSum(_ values: UnsafeMutableBufferPointer<Double>) { reduce(values, +) }
    func allreduceMax(_ values: UnsafeMutableBufferPointer<Double>) { reduce(values) { max($0, $1) } }
    func barrier() { group.barrier() }
    func abort(message: String, status: Int32) -> Never { fatalError("rank \(rank) aborted: \(message)") }
}
