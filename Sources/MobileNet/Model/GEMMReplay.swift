/// GEMM calls run alone, on buffers of their own, threaded as the network runs them: the
/// "GEMMs alone" of `mobilenet-bench run --sections bound`.
///
/// Built from the calls of ``MobileNetV1/trainingGEMMs(batch:height:width:)`` (one piece)
/// or ``FoldedMobileNetV1/inferenceGEMMs(batch:height:width:)`` (one list per piece). Each
/// piece gets its own A, B and C, as large as its largest call needs, shared by its calls
/// (so a call repeated finds its operands as warm as they can be), A and B holding 0.01
/// (no denormals; beta = 1 sums grow by k·10⁻⁴ a call) and C zero.
/// - Memory: at batch 128, α = 1, 32×32, about 100 MB for the training step's calls.
public final class GEMMReplay {
    /// The calls of each piece (``ModelGEMM/call``); every piece has as many.
    public let pieces: [[GEMMCall]]
    private let buffers: [(a: Tensor, b: Tensor, c: Tensor)]

    /// - Precondition: at least one piece, every piece with the same number of calls.
    public init(pieces: [[GEMMCall]]) {
        precondition(!pieces.isEmpty && pieces.allSatisfy({ $0.count == pieces[0].count }),
                     "expected pieces with equal call counts, got \(pieces.map(\.count))")
        self.pieces = pieces
        buffers = pieces.map { calls in
            let a = Tensor(shape: [calls.map(\.aFloats).max() ?? 0]), b = Tensor(shape: [calls.map(\.bFloats).max() ?? 0])
            a.data.update(repeating: 0.01, count: a.count)
            b.data.update(repeating: 0.01, count: b.count)
            return (a, b, Tensor(shape: [calls.map(\.cFloats).max() ?? 0]))
        }
    }

    /// Calls per piece.
    public var count: Int { pieces[0].count }

    /// Call `index` of every piece: with one piece as its route says (split over the
    /// threads for `split`), with several the pieces at once, one per thread,
    /// each call on its piece's thread.
    public func run(_ index: Int) {
        run(index ..< index + 1)
    }

    /// Every call in order, as ``run(_:)`` (with several pieces each thread runs its
    /// piece's calls one after the other, as a folded forward does).
    public func runAll() {
        run(0..<count)
    }

    private func run(_ calls: Range<Int>) {
        if pieces.count == 1 {
            for index in calls { run(piece: 0, index) }
        } else {
            Parallel.forEachRange(pieces.count, Pieces(replay: self, calls: calls))
        }
    }

    /// The pieces of a replay, each on the thread that draws it.
    private struct Pieces: ParallelKernel {
        /// Only read here, except each piece's own C.
        nonisolated(unsafe) let replay: GEMMReplay
        let calls: Range<Int>

        func run(_ range: Range<Int>) {
            for piece in range {
                for index in calls { replay.run(piece: piece, index) }
            }
        }
    }

    private func run(piece: Int, _ index: Int) {
        let call = pieces[piece][index], buffer = buffers[piece]
        switch call.route {
        case .split:
            BLAS.sgemm(transposeA: call.transposeA, transposeB: call.transposeB, m: call.m, n: call.n, k: call.k,
                       a: buffer.a.data, lda: call.lda, b: buffer.b.data, ldb: call.ldb, beta: call.beta, c: buffer.c.data, ldc: call.ldc)
        case .serial:
            BLAS.serialSgemm(call.transposeA, call.transposeB, call.m, call.n, call.k, 1, buffer.a.data, call.lda,
                             buffer.b.data, call.ldb, call.beta, buffer.c.data, call.ldc)
        }
    }
}
