import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A raw pointer that may cross into the parallel-for's worker closures.
///
/// Swift 6 does not let `UnsafeMutablePointer` be captured by a `@Sendable` closure.
/// Every parallel loop in the engine writes disjoint ranges (channels or images), so
/// sharing the pointer is safe by construction; this wrapper is where that promise is made.
public struct SendablePointer<Pointee>: @unchecked Sendable {
    public let base: UnsafeMutablePointer<Pointee>
    @inlinable public init(_ base: UnsafeMutablePointer<Pointee>) { self.base = base }
    @inlinable public subscript(i: Int) -> Pointee {
        get { base[i] }
        nonmutating set { base[i] = newValue }
    }
}

/// The engine's one parallel-for (STYLE: one place). Work is split into at most
/// `Parallel.threadCount` contiguous chunks: the calling thread runs the first, the
/// engine's own worker threads (``WorkerPool``) the others; with one thread it runs inline.
///
/// OpenBLAS runs single-threaded: ``BLAS/sgemm(transposeA:transposeB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:)``
/// splits large products over this same pool, so there is one set of threads and no
/// second pool spinning while the other works. A call made while another parallel loop
/// is running (nested, or from a second thread) runs inline on its caller: nesting
/// never oversubscribes the cores.
public enum Parallel {
    /// Threads used by the engine's loops and GEMMs (see ``setEngineThreads(_:)``).
    nonisolated(unsafe) public static var threadCount: Int = ProcessInfoCores.active

    /// Calls `body(range)` for contiguous, disjoint ranges covering `0..<count`,
    /// in parallel. Which thread runs which range does not depend on timing, and a
    /// caller that reduces must do so per index (not per chunk) to stay
    /// deterministic across thread counts. Allocates nothing after the pool's threads exist.
    @inlinable
    public static func forEachRange(_ count: Int, _ body: @Sendable (Range<Int>) -> Void) {
        forEachChunk(chunkCount(count)) { chunk, chunks in
            body(count * chunk / chunks ..< count * (chunk + 1) / chunks)
        }
    }

    /// How many chunks (threads) `forEachRange(count, …)` splits `0..<count` into: at most
    /// one per thread and per index.
    @inlinable
    static func chunkCount(_ count: Int) -> Int { min(threadCount, count) }

    /// The chunk of `forEachRange(count, …)`, cut into `chunks` ≤ `count` chunks, that holds
    /// `index`: the inverse of the cut (chunk k is `count·k/chunks ..< count·(k+1)/chunks`),
    /// i.e. the largest k with ⌊count·k/chunks⌋ ≤ index.
    @inlinable
    static func chunk(containing index: Int, count: Int, chunks: Int) -> Int {
        ((index + 1) * chunks - 1) / count
    }

    /// Calls `body(i)` for every `i` in `0..<count`, in parallel chunks.
    @inlinable
    public static func forEach(_ count: Int, _ body: @Sendable (Int) -> Void) {
        forEachRange(count) { range in
            for i in range { body(i) }
        }
    }

    /// Runs `kernel.run(range)` for contiguous, disjoint ranges covering `0..<count`, in
    /// parallel, as the closure form does, but without any heap
    /// allocation (a closure handed to other threads needs a heap context; a kernel is
    /// read in place from the caller's stack). The training step's loops use this form.
    @inlinable
    public static func forEachRange<Kernel: ParallelKernel>(_ count: Int, _ kernel: Kernel) {
        let chunks = chunkCount(count)
        if chunks <= 1 {
            if count > 0 { kernel.run(0..<count) }
            return
        }
        let ran = withUnsafePointer(to: kernel) {
            WorkerPool.shared.run(kernel: UnsafeRawPointer($0), type: Kernel.self, count: count, chunks: chunks)
        }
        if !ran { kernel.run(0..<count) }
    }

    /// Calls `body(chunk, chunks)` for every chunk in `0..<chunks`, chunk 0 on the calling
    /// thread and the others on the worker threads (inline and in order if the pool is busy
    /// or `chunks` ≤ 1).
    @inlinable
    public static func forEachChunk(_ chunks: Int, _ body: @Sendable (_ chunk: Int, _ chunks: Int) -> Void) {
        if chunks <= 1 {
            if chunks == 1 { body(0, 1) }
            return
        }
        let ran = withoutActuallyEscaping(body) { WorkerPool.shared.run($0, chunks: chunks) }
        if !ran {
            for chunk in 0..<chunks { body(chunk, chunks) }
        }
    }
}

/// A parallel loop body as a value: `run(range)` handles the indices `range` of a
/// `Parallel.forEachRange(count, kernel)` call. Kernels hold pointers
/// (``SendablePointer``) and sizes; ranges are disjoint, so writes never race.
public protocol ParallelKernel: Sendable {
    func run(_ range: Range<Int>)
}

extension ParallelKernel {
    /// Chunk `chunk` of `chunks` over `0..<count`, for a kernel stored at `kernel`.
    @usableFromInline
    static func runChunk(_ kernel: UnsafeRawPointer, count: Int, chunk: Int, chunks: Int) {
        kernel.assumingMemoryBound(to: Self.self).pointee.run(count * chunk / chunks ..< count * (chunk + 1) / chunks)
    }
}

/// Two per-channel kernels run channel by channel: `second` handles channel c right after
/// `first` wrote it, while it is still in cache (e.g. depthwise conv then its BatchNorm).
/// `second` may read for channel c only what `first` wrote for channel c.
struct ChannelPipeline<First: ParallelKernel, Second: ParallelKernel>: ParallelKernel {
    let first: First
    let second: Second

    func run(_ channels: Range<Int>) {
        for c in channels {
            first.run(c ..< c + 1)
            second.run(c ..< c + 1)
        }
    }
}

/// Persistent worker threads behind ``Parallel`` (created on first use, grown to
/// `Parallel.threadCount − 1`, never torn down). One job at a time: the caller writes its
/// kernel (or closure) and count, publishes the job's generation and chunk count in one
/// atomic store, runs chunk 0 itself and waits until the others are done. A job allocates
/// nothing.
///
/// Waiting spins first, then sleeps: a worker polls for the next job for about
/// ``spinPolls`` loads (tens of microseconds) before it sleeps on a condition variable, and
/// the caller polls for the workers' chunks, yielding its core after as many polls. A batch-1
/// forward is some forty parallel loops of 5–50 µs each, and waking a sleeping thread through
/// the kernel costs about as much as such a loop: with sleeping alone, two threads were
/// slower than one.
@usableFromInline
final class WorkerPool: @unchecked Sendable {
    @usableFromInline typealias Task = @Sendable (_ chunk: Int, _ chunks: Int) -> Void

    @usableFromInline static let shared = WorkerPool()

    /// The published job, written by its caller before it stores ``published`` and read by
    /// the workers after they load it (raw memory: no Swift exclusivity tracking across threads).
    private struct Job {
        var task: Task?
        var kernel: UnsafeRawPointer?
        var kernelType: (any ParallelKernel.Type)?
        var count = 0
    }

    /// Polls of a waiting thread before it sleeps (worker) or yields (caller).
    static let spinPolls = 1 << 16

    /// The current job: generation · 2¹⁶ + its chunk count (chunks < 2¹⁶).
    private let published = Atomic<Int>(0)
    /// Chunks of the current job not yet finished by the workers.
    private let remaining = Atomic<Int>(0)
    /// Whether a job is running (a second caller then runs its loop inline).
    private let busy = Atomic<Bool>(false)
    /// Workers sleeping on `wake` (or about to): the publisher broadcasts only when nonzero.
    private let sleepers = Atomic<Int>(0)

    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let job = UnsafeMutablePointer<Job>.allocate(capacity: 1)
    /// Worker threads started; changed only by the caller holding `busy`.
    private var workers = 0

    private init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(wake, nil)
        job.initialize(to: Job())
    }

    /// Runs `task` for chunks 0..<chunks; false (nothing run) if the pool is already
    /// running a job, so the caller runs the chunks inline. The pool drops its reference
    /// to `task` before returning.
    @usableFromInline
    func run(_ task: @escaping Task, chunks: Int) -> Bool {
        guard publish(chunks: chunks, Job(task: task)) else { return false }
        task(0, chunks)
        finish()
        return true
    }

    /// Runs the kernel of type `type` stored at `kernel` over `0..<count` in `chunks` chunks;
    /// false (nothing run) if the pool is busy. Allocates nothing.
    @usableFromInline
    func run(kernel: UnsafeRawPointer, type: any ParallelKernel.Type, count: Int, chunks: Int) -> Bool {
        guard publish(chunks: chunks, Job(kernel: kernel, kernelType: type, count: count)) else { return false }
        type.runChunk(kernel, count: count, chunk: 0, chunks: chunks)
        finish()
        return true
    }

    /// Claims the pool and publishes `newJob` in `chunks` chunks, waking sleeping workers.
    private func publish(chunks: Int, _ newJob: Job) -> Bool {
        precondition(chunks < 1 << 16, "at most 65535 chunks, got \(chunks)")
        guard busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else { return false }
        if workers < chunks - 1 {
            pthread_mutex_lock(mutex)
            while workers < chunks - 1 { startWorker(index: workers + 1) }
            pthread_mutex_unlock(mutex)
        }
        job.pointee = newJob
        remaining.store(chunks - 1, ordering: .relaxed)
        let generation = (published.load(ordering: .relaxed) >> 16) + 1
        published.store(generation << 16 | chunks, ordering: .sequentiallyConsistent)
        // A worker counts itself in `sleepers` before its last look at `published` (both
        // sequentially consistent): either it sees this job, or this sees it and wakes it.
        if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
            pthread_mutex_lock(mutex)
            pthread_cond_broadcast(wake)
            pthread_mutex_unlock(mutex)
        }
        return true
    }

    /// Waits for the workers' chunks and releases the pool.
    private func finish() {
        var polls = 0
        while remaining.load(ordering: .acquiring) > 0 {
            polls += 1
            if polls >= Self.spinPolls { sched_yield() }
        }
        job.pointee = Job()
        busy.store(false, ordering: .releasing)
    }

    /// `seen`: the generation when the worker was created (a job published after that is run).
    fileprivate func workerLoop(index: Int, seen generation: Int) {
        var seen = generation
        while true {
            var current = published.load(ordering: .acquiring)
            var polls = 0
            while current >> 16 == seen {
                polls += 1
                if polls >= Self.spinPolls {
                    pthread_mutex_lock(mutex)
                    sleepers.add(1, ordering: .sequentiallyConsistent)
                    while published.load(ordering: .sequentiallyConsistent) >> 16 == seen { pthread_cond_wait(wake, mutex) }
                    sleepers.subtract(1, ordering: .relaxed)
                    pthread_mutex_unlock(mutex)
                    polls = 0
                }
                current = published.load(ordering: .acquiring)
            }
            seen = current >> 16
            let chunks = current & 0xFFFF
            guard index < chunks else { continue }
            runChunk(index, of: chunks)
            remaining.subtract(1, ordering: .releasing)
        }
    }

    /// Runs one chunk of the published job. A separate frame, so the worker's reference to
    /// the caller's closure is gone before it reports the chunk done (the caller's
    /// `withoutActuallyEscaping` checks that nothing kept it).
    @inline(never)
    private func runChunk(_ index: Int, of chunks: Int) {
        if let kernel = job.pointee.kernel, let type = job.pointee.kernelType {
            type.runChunk(kernel, count: job.pointee.count, chunk: index, chunks: chunks)
        } else {
            job.pointee.task?(index, chunks)
        }
    }

    /// Starts worker `index`; called with the mutex held.
    private func startWorker(index: Int) {
        let context = Unmanaged.passRetained(WorkerStart(pool: self, index: index,
                                                         generation: published.load(ordering: .relaxed) >> 16)).toOpaque()
        #if canImport(Glibc)
        var thread = pthread_t()
        #else
        var thread: pthread_t?
        #endif
        let status = pthread_create(&thread, nil, { raw in
            #if canImport(Glibc)
            let start = Unmanaged<WorkerStart>.fromOpaque(raw!).takeRetainedValue()
            #else
            let start = Unmanaged<WorkerStart>.fromOpaque(raw).takeRetainedValue()
            #endif
            start.pool.workerLoop(index: start.index, seen: start.generation)
            return nil
        }, context)
        precondition(status == 0, "cannot start a worker thread (pthread_create returned \(status))")
        pthread_detach(thread)
        workers = index
    }
}

/// What a new worker thread needs: its pool, its index and the job generation it starts from.
private final class WorkerStart {
    let pool: WorkerPool
    let index: Int
    let generation: Int
    init(pool: WorkerPool, index: Int, generation: Int) {
        self.pool = pool
        self.index = index
        self.generation = generation
    }
}
