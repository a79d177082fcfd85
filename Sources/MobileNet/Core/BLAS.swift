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
    @inlinable
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
        cblas_sgemm(
            CblasRowMajor,
            transposeA ? CblasTrans : CblasNoTrans,
            transposeB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k),
            alpha, a, Int32(lda), b, Int32(ldb),
            beta, c, Int32(ldc))
    }

    /// Sets the number of threads OpenBLAS uses inside each call (openblas_set_num_threads).
    public static func setThreads(_ count: Int) {
        openblas_set_num_threads(Int32(max(1, count)))
    }

    /// Threads OpenBLAS currently uses.
    public static var threads: Int { Int(openblas_get_num_threads()) }

    /// The kernel OpenBLAS selected for this CPU (e.g. "Cooperlake"), for reports.
    public static var coreName: String { String(cString: openblas_get_corename()) }

    /// OpenBLAS's build configuration string, for reports.
    public static var config: String { String(cString: openblas_get_config()) }
}

/// Sets the engine's thread count for both its own loops and OpenBLAS's.
public func setEngineThreads(_ count: Int) {
    precondition(count >= 1, "expected at least one thread, got \(count)")
    Parallel.threadCount = count
    BLAS.setThreads(count)
}

extension BLAS {
    /// Kernels OpenBLAS falls back to when it does not recognise the CPU.
    static let genericCores: Set<String> = ["prescott", "generic", "nehalem", "core2", "katmai"]

    /// A better OPENBLAS_CORETYPE for this CPU when OpenBLAS fell back to generic kernels.
    ///
    /// OpenBLAS builds with DYNAMIC_ARCH pick a kernel from the CPU model number; a CPU
    /// newer than the build (e.g. model 207 with Debian 12's 0.3.21) gets "Prescott", SSE3
    /// kernels 4–5× slower than its AVX-512 ones. This reads the instruction-set flags from
    /// /proc/cpuinfo instead: AVX-512 (F, BW, DQ, VL) → "SkylakeX", AVX2 + FMA → "Haswell".
    /// - Returns: nil when OpenBLAS's own choice is not a generic fallback, or no better one is known.
    public static func betterCoreType() -> String? {
        guard genericCores.contains(coreName.lowercased()) else { return nil }
        guard let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let flagsLine = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return nil }
        let flags = Set(flagsLine.split(separator: " ").map(String.init))
        if flags.isSuperset(of: ["avx512f", "avx512bw", "avx512dq", "avx512vl"]) { return "SkylakeX" }
        if flags.isSuperset(of: ["avx2", "fma"]) { return "Haswell" }
        return nil
    }

    /// For executables, first thing in `main`: when OpenBLAS fell back to generic kernels
    /// and the user has not chosen one (OPENBLAS_CORETYPE unset), re-executes the program
    /// with OPENBLAS_CORETYPE set to ``betterCoreType()``. OpenBLAS reads the variable
    /// only when it loads, so the process must start again. Returns if nothing is to be done
    /// or the re-exec fails.
    public static func reexecWithBetterKernelIfNeeded() {
        guard getenv("OPENBLAS_CORETYPE") == nil, let core = betterCoreType() else { return }
        setenv("OPENBLAS_CORETYPE", core, 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        unsetenv("OPENBLAS_CORETYPE")
    }
}
