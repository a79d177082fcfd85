import Im2Col

/// What this build of the engine targets, for reports.
public enum BuildTarget {
    /// The widest x86 vector registers the build targets, bits: 512 for an AVX-512 build
    /// (`-Xcc -march=native` on an AVX-512 CPU), 256 for AVX/AVX2 (`-Xcc -march=haswell`),
    /// 128 otherwise. Read from the C flags (Im2Col.h), which the Makefile sets together
    /// with Swift's `-target-cpu`.
    public static let vectorBits = Int(IM2COL_TARGET_VECTOR_BITS)

    /// E.g. "AVX-512 (512-bit)", "AVX/AVX2 (256-bit)", "SSE (128-bit)": ``vectorBits`` named as
    /// scripts/machine.py names a CPU's widest vectors.
    public static var vectorName: String {
        switch vectorBits {
        case 512: "AVX-512 (512-bit)"
        case 256: "AVX/AVX2 (256-bit)"
        default: "SSE (128-bit)"
        }
    }
}
