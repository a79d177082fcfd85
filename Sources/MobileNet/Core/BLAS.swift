import COpenBLAS

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
