/// The one SIMD vector of the kernels and its helpers: loads and stores of 16 contiguous
/// floats (the depthwise and direct convolutions' batch vectors), and reductions over
/// contiguous floats (BatchNorm2d, ReLU6's gradient mask).
///
/// Elementwise passes are plain loops (LLVM vectorises them); reductions need explicit
/// vectors because float addition may not be reordered by the compiler. Sixteen lanes: one
/// AVX-512 register in the Makefile's `-target-cpu native` builds (about twice as fast as
/// four lanes there), four SSE registers otherwise. Swift SIMD arithmetic is defined per
/// lane, so the sums are the same bits on either target.
enum FloatLanes {
    typealias Vector = SIMD16<Float>
    typealias Mask = SIMDMask<SIMD16<Int32>>
    static let width = 16

    /// The 16 floats at `p` (no alignment needed).
    @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> Vector {
        UnsafeRawPointer(p).loadUnaligned(as: Vector.self)
    }

    /// Stores `v` as the 16 floats at `p` (no alignment needed).
    @inline(__always)
    static func store(_ v: Vector, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: Vector.self)
    }

    /// Loads `lanes` (1…16) floats; missing lanes hold `pad`.
    @inline(__always)
    static func load(_ p: UnsafeMutablePointer<Float>, _ lanes: Int, pad: Float = 0) -> Vector {
        if lanes == width { return UnsafeRawPointer(p).loadUnaligned(as: Vector.self) }
        var v = Vector(repeating: pad)
        for j in 0..<lanes { v[j] = p[j] }
        return v
    }

    /// `v` where `mask` is set, +0 elsewhere (a bitwise and, no per-lane branch).
    @inline(__always)
    static func keep(_ v: Vector, where mask: Mask) -> Vector {
        unsafeBitCast(unsafeBitCast(v, to: SIMD16<Int32>.self) & unsafeBitCast(mask, to: SIMD16<Int32>.self), to: Vector.self)
    }

    /// Floats summed in Float vectors before a block's total is added in Double: SIMD
    /// speed, and an error that does not grow with the slab length. A multiple of 2·width.
    static let blockLength = 1024

    /// The two sums Σ a and Σ b over vectors covering `0..<count`, where
    /// `(a, b) = terms(offset, lanes)`; padded lanes must contribute zero. The summation
    /// order depends only on `count`, so results do not depend on the thread count.
    @inline(__always)
    static func sums(_ count: Int, _ terms: (_ offset: Int, _ lanes: Int) -> (Vector, Vector)) -> (Double, Double) {
        var total0 = 0.0, total1 = 0.0
        var start = 0
        while start < count {
            let end = min(start + blockLength, count)
            // Two accumulators per sum hide the add latency.
            var a0 = Vector(), a1 = Vector(), b0 = Vector(), b1 = Vector()
            var i = start
            while i + 2 * width <= end {
                let (p, q) = terms(i, width)
                a0 += p
                a1 += q
                let (r, s) = terms(i + width, width)
                b0 += r
                b1 += s
                i += 2 * width
            }
            while i < end {
                let (p, q) = terms(i, min(width, end - i))
                a0 += p
                a1 += q
                i += width
            }
            total0 += Double((a0 + b0).sum())
            total1 += Double((a1 + b1).sum())
            start = end
        }
        return (total0, total1)
    }
}
