import Dispatch

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
/// `Parallel.threadCount` contiguous chunks run on libdispatch's pool; with one
/// thread it runs inline. Never call it from inside another parallel loop, and never
/// while OpenBLAS runs threads of its own (GEMMs are called between loops, not inside).
public enum Parallel {
    /// Threads used by the engine's own loops (and by OpenBLAS, see ``BLAS/setThreads(_:)``).
    nonisolated(unsafe) public static var threadCount: Int = ProcessInfoCores.active

    /// Calls `body(range)` for contiguous, disjoint ranges covering `0..<count`,
    /// in parallel. Which thread runs which range does not depend on timing, and a
    /// caller that reduces must do so per index (not per chunk) to stay
    /// deterministic across thread counts.
    @inlinable
    public static func forEachRange(_ count: Int, _ body: @Sendable (Range<Int>) -> Void) {
        let chunks = min(threadCount, count)
        if chunks <= 1 {
            if count > 0 { body(0..<count) }
            return
        }
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            let lower = count * chunk / chunks
            let upper = count * (chunk + 1) / chunks
            body(lower..<upper)
        }
    }

    /// Calls `body(i)` for every `i` in `0..<count`, in parallel chunks.
    @inlinable
    public static func forEach(_ count: Int, _ body: @Sendable (Int) -> Void) {
        forEachRange(count) { range in
            for i in range { body(i) }
        }
    }
}

/// Active processor count, read once.
public enum ProcessInfoCores {
    public static let active: Int = {
        #if canImport(Glibc)
        return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        #else
        return 1
        #endif
    }()
}

#if canImport(Glibc)
import Glibc
#endif
