import COpenBLAS
import Foundation

/// The engine's only door to OpenBLAS (STYLE: one file imports COpenBLAS).
///
/// All matrices are row-major. In the engine layout (Layout.swift) a feature map is
/// the matrix [C, H·W·N], so its leading dimension is H·W·N; a PyTorch weight
/// [Cout, Cin, kH, kW] is the matrix [Cout, Cin·kH·kW] with leading dimension Cin·kH·kW.
public enum BLAS {
    /// C ← alpha · op(A) · op(B) + beta · C, single precision (cblas_sgemm, row-major).
    ///
    /// - op(A) is [m, k]: A is stored [m, k] (lda ≥ k) or, with `transposeA`, [k, m] (lda ≥ m).
    /// - op(B) is [k, n]: B is stored [k, n] (ldb ≥ n) or, with `transposeB`, [n, k] (ldb ≥ k).
    /// - C is [m, n] with ldc ≥ n. With beta = 0, C's prior contents are ignored (may be garbage).
    ///
    /// Threading: OpenBLAS runs single-threaded; a product of at least ``parallelMultiplyAdds``
    /// is cut into ``pieces`` blocks of C — columns (in multiples of 16) when n ≥ m, else
    /// rows; never along k — and the blocks run on ``Parallel``'s threads. The cut depends
    /// only on the shape and on `max(2, Parallel.threadCount)`, so results are bitwise the
    /// same with 1 or 2 threads. Must not be called from inside a parallel loop (it would
    /// then run its pieces inline, correct but serial).
    public static func sgemm(
        transposeA: Bool = false, transposeB: Bool = false,
        m: Int, n: Int, k: Int,
        alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        precondition(m >= 0 && n >= 0 && k >= 0, "sgemm: negative size m \(m) n \(n) k \(k)")
        if m == 0 || n == 0 { return }
        record(GEMMCall(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, lda: lda, ldb: ldb, ldc: ldc,
                        beta: beta, route: .split))
        let pieces = m * n * k >= parallelMultiplyAdds ? self.pieces : 1
        if pieces == 1 {
            serialSgemm(transposeA, transposeB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
            return
        }
        Parallel.forEachRange(pieces, GEMMBlocks(
            transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
            a: SendablePointer(UnsafeMutablePointer(mutating: a)), lda: lda,
            b: SendablePointer(UnsafeMutablePointer(mutating: b)), ldb: ldb,
            beta: beta, c: SendablePointer(c), ldc: ldc, pieces: pieces))
    }

    /// Blocks of one product (see ``sgemm(transposeA:transposeB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:)``):
    /// columns of C when n ≥ m, else rows.
    struct GEMMBlocks: ParallelKernel {
        let transposeA: Bool, transposeB: Bool
        let m: Int, n: Int, k: Int
        let alpha: Float
        let a: SendablePointer<Float>, lda: Int
        let b: SendablePointer<Float>, ldb: Int
        let beta: Float
        let c: SendablePointer<Float>, ldc: Int
        let pieces: Int

        func run(_ range: Range<Int>) {
            for piece in range {
                if n >= m {
                    let lo = columnBoundary(piece, of: pieces, n), hi = columnBoundary(piece + 1, of: pieces, n)
                    if hi > lo {
                        serialSgemm(transposeA, transposeB, m, hi - lo, k, alpha, a.base, lda,
                                    b.base + (transposeB ? lo * ldb : lo), ldb, beta, c.base + lo, ldc)
                    }
                } else {
                    let lo = m * piece / pieces, hi = m * (piece + 1) / pieces
                    if hi > lo {
                        serialSgemm(transposeA, transposeB, hi - lo, n, k, alpha, a.base + (transposeA ? lo : lo * lda), lda,
                                    b.base, ldb, beta, c.base + lo * ldc, ldc)
                    }
                }
            }
        }
    }

    /// Products smaller than this many multiply-adds run as one call on the calling thread.
    public static let parallelMultiplyAdds = 1 << 21

    /// Blocks a large product is cut into: `max(2, Parallel.threadCount)`.
    public static var pieces: Int { max(2, Parallel.threadCount) }

    /// Start column of block `piece` of `pieces` over n columns: a multiple of 16 (one
    /// AVX-512 vector, 64 bytes), the last block taking the remainder.
    @inline(__always)
    static func columnBoundary(_ piece: Int, of pieces: Int, _ n: Int) -> Int {
        piece == pieces ? n : (n * piece / pieces) & ~15
    }

    /// One cblas_sgemm call on the calling thread (OpenBLAS set to one thread once).
    @inline(__always)
    static func serialSgemm(_ transposeA: Bool, _ transposeB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
                            _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
                            _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
        _ = singleThreaded
        cblas_sgemm(
            CblasRowMajor,
            transposeA ? CblasTrans : CblasNoTrans,
            transposeB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k),
            alpha, a, Int32(lda), b, Int32(ldb),
            beta, c, Int32(ldc))
    }

    /// OpenBLAS's own threads are never used (see ``sgemm(transposeA:transposeB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:)``).
    private static let singleThreaded: Void = openblas_set_num_threads(1)

    /// Threads OpenBLAS uses inside one call: always 1 (the engine threads GEMMs itself).
    public static var threads: Int { Int(openblas_get_num_threads()) }

    /// The kernel OpenBLAS selected for this CPU (e.g. "Cooperlake"), for reports.
    public static var coreName: String { String(cString: openblas_get_corename()) }

    /// OpenBLAS's build configuration string, for reports.
    public static var config: String { String(cString: openblas_get_config()) }
}

/// Sets the engine's thread count: its own loops and the blocks of its GEMMs
/// (OpenBLAS itself stays single-threaded).
public func setEngineThreads(_ count: Int) {
    precondition(count >= 1, "expected at least one thread, got \(count)")
    Parallel.threadCount = count
}

extension BLAS {
    /// Kernels OpenBLAS falls back to when it does not recognise the CPU.
    static let genericCores: Set<String> = ["prescott", "generic", "nehalem", "core2", "katmai"]

    /// A better OPENBLAS_CORETYPE for this CPU than the kernels OpenBLAS picked, from
    /// /proc/cpuinfo (``betterCoreType(openBLASCore:cpuinfo:)``).
    /// - Returns: nil when OpenBLAS's own choice stands, or /proc/cpuinfo cannot be read.
    public static func betterCoreType() -> String? {
        guard let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return nil }
        return betterCoreType(openBLASCore: coreName, cpuinfo: cpuinfo)
    }

    /// The OPENBLAS_CORETYPE to use instead of `openBLASCore` on the CPU `cpuinfo` describes
    /// (the text of /proc/cpuinfo; its first processor's `vendor_id`, `cpu family` and `flags`).
    ///
    /// Two rules:
    /// - A generic fallback. OpenBLAS builds with DYNAMIC_ARCH pick a kernel from the CPU
    ///   model number; a CPU newer than the build (e.g. model 207 with Debian 12's 0.3.21)
    ///   gets "Prescott", SSE3 kernels 4–5× slower than its AVX-512 ones. The instruction-set
    ///   flags decide instead: AVX-512 (F, BW, DQ, VL) → "SkylakeX", AVX2 + FMA → "Haswell".
    /// - AMD Zen 4 (`AuthenticAMD`, family 25 with AVX-512F). OpenBLAS 0.3.21 gives it its
    ///   Intel AVX-512 kernels (SkylakeX, Cooperlake); Zen 4 runs a 512-bit instruction as
    ///   two 256-bit halves, and there OpenBLAS's AVX2 "Haswell" SGEMM kernel is faster:
    ///   the training step's GEMMs alone at 82–85 % of the FMA peak against 70–74 %, the
    ///   whole step 7–10 % faster (AMD EPYC family 25 model 17, 1 and 2 threads, batch 128,
    ///   `mobilenet-bench run --sections bound` with and without OPENBLAS_CORETYPE=Haswell,
    ///   two interleaved rounds; docs/cost.md). Family 26 (Zen 5, full-width AVX-512) and
    ///   family 25 without AVX-512 (Zen 3, which OpenBLAS already gives "Zen") keep
    ///   OpenBLAS's choice.
    /// - Returns: nil when `openBLASCore` stands.
    public static func betterCoreType(openBLASCore: String, cpuinfo: String) -> String? {
        let lines = cpuinfo.split(separator: "\n")
        func field(_ key: String) -> String? {
            lines.first { $0.hasPrefix(key) && $0.dropFirst(key.count).drop { $0 == " " || $0 == "\t" }.first == ":" }
                .flatMap { $0.split(separator: ":", maxSplits: 1).last }
                .map { $0.trimmingCharacters(in: .whitespaces) }
        }
        let flags = Set((field("flags") ?? "").split(separator: " ").map(String.init))
        let core = openBLASCore.lowercased()
        if genericCores.contains(core) {
            if flags.isSuperset(of: ["avx512f", "avx512bw", "avx512dq", "avx512vl"]) { return "SkylakeX" }
            if flags.isSuperset(of: ["avx2", "fma"]) { return "Haswell" }
            return nil
        }
        if field("vendor_id") == "AuthenticAMD", field("cpu family") == "25", flags.contains("avx512f"),
           avx512Cores.contains(core) {
            return "Haswell"
        }
        return nil
    }

    /// OpenBLAS's Intel AVX-512 kernels.
    static let avx512Cores: Set<String> = ["skylakex", "cooperlake", "sapphirerapids"]

    /// The environment variable set beside OPENBLAS_CORETYPE when ``reexecWithBetterKernelIfNeeded()``
    /// chose the kernels, so that reports can say the choice was the program's, not the user's.
    public static let chosenCoreTypeVariable = "MOBILENET_CHOSE_OPENBLAS_CORETYPE"

    /// OPENBLAS_CORETYPE as the process sees it, who set it, and whether OpenBLAS took it:
    /// ``coreTypeNote(requested:chosenByProgram:coreName:)`` for this process.
    public static var coreTypeNote: String {
        coreTypeNote(requested: coreTypeVariable, chosenByProgram: getenv(chosenCoreTypeVariable) != nil, coreName: coreName)
    }

    /// OPENBLAS_CORETYPE's value in this process, nil when unset.
    static var coreTypeVariable: String? { getenv("OPENBLAS_CORETYPE").map { String(cString: $0) } }

    /// The value of OPENBLAS_CORETYPE (`value`, nil when unset) as a choice of kernels: nil
    /// when unset or empty (an empty value names no kernels: OpenBLAS picks its own, and
    /// 0.3.21 then goes by the CPU's instruction sets, as for a name it does not know,
    /// rather than by its model number as when the variable is unset).
    static func requestedCoreType(_ value: String?) -> String? {
        value.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// A note for report lines after ``coreName``: "" when OPENBLAS_CORETYPE (`requested`) is
    /// unset or empty; " (OPENBLAS_CORETYPE=Haswell)" when the user set it, ", chosen for this
    /// CPU" added when ``reexecWithBetterKernelIfNeeded()`` did (`chosenByProgram`); and when
    /// `coreName`, the kernels OpenBLAS runs, is not the name asked for (compared without
    /// regard to case, as OpenBLAS does), that OpenBLAS did not take it: OpenBLAS ignores a
    /// name it does not know, or cannot use on this CPU or build, without a word.
    static func coreTypeNote(requested: String?, chosenByProgram: Bool, coreName: String) -> String {
        guard let requested = requestedCoreType(requested) else { return "" }
        if requested.lowercased() != coreName.lowercased() {
            return " (OPENBLAS_CORETYPE=\(requested), not a core type OpenBLAS knows or can use here: it chose its own)"
        }
        return chosenByProgram ? " (OPENBLAS_CORETYPE=\(requested), chosen for this CPU)" : " (OPENBLAS_CORETYPE=\(requested))"
    }

    /// For executables, first thing in `main`: when OpenBLAS's kernels are not the best
    /// known for this CPU (``betterCoreType()``) and the user has not chosen any
    /// (OPENBLAS_CORETYPE unset or empty, ``requestedCoreType(_:)``), re-executes the program
    /// with OPENBLAS_CORETYPE set to the better ones (and ``chosenCoreTypeVariable`` set to 1).
    /// OpenBLAS reads the variable only when it loads, so the process must start again. A
    /// user who sets OPENBLAS_CORETYPE (e.g. to Cooperlake) keeps that choice; one OpenBLAS
    /// does not take is named in ``coreTypeNote``. Returns if nothing is to be done or the
    /// re-exec fails.
    public static func reexecWithBetterKernelIfNeeded() {
        guard requestedCoreType(coreTypeVariable) == nil, let core = betterCoreType() else { return }
        setenv("OPENBLAS_CORETYPE", core, 1)
        setenv(chosenCoreTypeVariable, "1", 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        unsetenv("OPENBLAS_CORETYPE")
        unsetenv(chosenCoreTypeVariable)
    }
}
