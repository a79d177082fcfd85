import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One matrix product as the engine makes it: C[m, n] ← op(A)·op(B) + beta·C, row-major,
/// with its transposes, leading dimensions (in floats, as ``BLAS/sgemm(transposeA:transposeB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:)``
/// takes them) and the way it is run (``Route``). alpha is always 1 in the engine.
///
/// The model lists its calls as values of this type (``MobileNetV1/trainingGEMMs(batch:height:width:)``)
/// so that they can be timed alone (``GEMMReplay``) and checked against the calls a real
/// step makes (the tests record them).
public struct GEMMCall: Hashable, Sendable, Codable, CustomStringConvertible {
    /// How the call runs.
    public enum Route: String, Hashable, Sendable, Codable {
        /// ``BLAS/sgemm(transposeA:transposeB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:)``: one
        /// OpenBLAS call, or, from ``BLAS/parallelMultiplyAdds`` on, ``BLAS/pieces`` blocks
        /// of C on the engine's threads.
        case split
        /// One OpenBLAS call on the calling thread (a piece of folded inference).
        case serial
    }

    public var transposeA: Bool
    public var transposeB: Bool
    public var m: Int
    public var n: Int
    public var k: Int
    /// Leading dimensions, floats: A is stored [m, k] (or [k, m] transposed), B [k, n] (or
    /// [n, k]), C [m, n].
    public var lda: Int
    public var ldb: Int
    public var ldc: Int
    /// 0 (C overwritten) or 1 (C accumulated, as gradient GEMMs do).
    public var beta: Float
    public var route: Route

    public init(transposeA: Bool = false, transposeB: Bool = false, m: Int, n: Int, k: Int, lda: Int, ldb: Int, ldc: Int,
                beta: Float = 0, route: Route = .split) {
        self.transposeA = transposeA
        self.transposeB = transposeB
        self.m = m
        self.n = n
        self.k = k
        self.lda = lda
        self.ldb = ldb
        self.ldc = ldc
        self.beta = beta
        self.route = route
    }

    /// m·n·k.
    public var multiplyAdds: Int { m * n * k }

    /// Floats the stored A, B and C span (rows × leading dimension): the buffers a call needs.
    public var aFloats: Int { (transposeA ? k : m) * lda }
    public var bFloats: Int { (transposeB ? n : k) * ldb }
    public var cFloats: Int { m * ldc }

    /// The least memory traffic of the product, bytes: A's m·k and B's k·n floats read once,
    /// C's m·n floats written once, and read once more when beta ≠ 0.
    public var minimumBytes: Int {
        MemoryLayout<Float>.size * (m * k + k * n + m * n * (beta == 0 ? 1 : 2))
    }

    /// E.g. "sgemm NT m 64 n 131072 k 32 lda 32 ldb 131072 ldc 131072 beta 0 (split)".
    public var description: String {
        "sgemm \(transposeA ? "T" : "N")\(transposeB ? "T" : "N") m \(m) n \(n) k \(k) lda \(lda) ldb \(ldb) ldc \(ldc) "
            + "beta \(beta == 0 ? "0" : "1") (\(route.rawValue))"
    }
}

extension BLAS {
    /// The thread recording its calls (``recordingCalls(_:)``), 0 when none.
    private static let recordingThread = Atomic<UInt>(0)
    /// Calls recorded so far; touched only by the recording thread.
    nonisolated(unsafe) private static var recordedCalls: [GEMMCall] = []

    /// Runs `body` and returns the GEMM calls it made on the calling thread, in order: each
    /// ``sgemm(transposeA:transposeB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:)`` as one `split`
    /// call (not its blocks), and folded inference's calls with their own route. Calls from
    /// other threads (other tests, a piece run by a worker) are not recorded. A test hook:
    /// off, it costs one atomic load per call.
    static func recordingCalls(_ body: () throws -> Void) rethrows -> [GEMMCall] {
        let me = currentThreadID()
        while !recordingThread.compareExchange(expected: 0, desired: me, ordering: .acquiringAndReleasing).exchanged {
            sched_yield()
        }
        defer {
            recordedCalls = []
            recordingThread.store(0, ordering: .releasing)
        }
        recordedCalls = []
        try body()
        return recordedCalls
    }

    /// Adds `call` to the recording if this thread is recording (``recordingCalls(_:)``).
    @inline(__always)
    static func record(_ call: @autoclosure () -> GEMMCall) {
        let recorder = recordingThread.load(ordering: .acquiring)
        guard recorder != 0, recorder == currentThreadID() else { return }
        recordedCalls.append(call())
    }

    private static func currentThreadID() -> UInt {
        #if canImport(Glibc)
        return UInt(pthread_self())
        #else
        return UInt(bitPattern: pthread_self())
        #endif
    }
}
