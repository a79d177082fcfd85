import Foundation
import MobileNet

/// The CPU line of a report: model name with family and model from /proc/cpuinfo, the
/// vector width this build targets, OpenBLAS's kernels (as `mobilenet-bench machine` prints them).
func cpuDescription() -> String {
    var cpu = "unknown CPU"
    if let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) {
        let lines = info.split(separator: "\n")
        func field(_ key: String) -> String? {
            lines.first { $0.hasPrefix(key) }.flatMap { $0.split(separator: ":", maxSplits: 1).last }
                .map { $0.trimmingCharacters(in: .whitespaces) }
        }
        if let name = field("model name") {
            cpu = "\(name) (family \(field("cpu family") ?? "?"), model \(field("model") ?? "?"))"
        }
    }
    return "\(cpu), \(ProcessInfoCores.summary); build vector width \(BuildTarget.vectorName); "
        + "OpenBLAS core type \(BLAS.coreName)\(BLAS.coreTypeNote)"
}

/// Single-precision fused multiply-add throughput of the machine for this build: every
/// thread runs ``FMALoop`` on registers alone. Multiply-adds per second: one FMA lane is
/// one multiply-add (FLOPs = 2 × that).
struct PeakResult: Codable {
    let threads: Int
    /// Bits of the vectors the loop uses (the build's width, ``BuildTarget/vectorBits``).
    let vectorBits: Int
    /// Multiply-adds per second of one thread alone.
    let perThreadMultiplyAddsPerSecond: Double
    /// Multiply-adds per second of `threads` threads at once.
    let multiplyAddsPerSecond: Double
}

/// Ten independent chains acc ← acc + x·y of vectors of the build's width (SIMD16 on a
/// 512-bit build, SIMD8 on 256, SIMD4 otherwise), `iterations` times, all in registers:
/// the FMA latency (4–5 cycles) times the FMA units (two) is at most ten vectors in
/// flight, so ten chains keep every unit busy (16 registers on a 256-bit build: no
/// spill). Each range index is one thread's loop; its sums' total goes to `sink` (so the
/// loop is not removed). Not generic: the worker threads call a kernel through its
/// protocol witness, which for a generic kernel would be the unspecialised code.
struct FMALoop: ParallelKernel {
    let iterations: Int
    let sink: SendablePointer<Float>

    static let chains = 10
    static let lanes = BuildTarget.vectorBits / 32
    var multiplyAddsPerThread: Int { iterations * Self.chains * Self.lanes }

    func run(_ range: Range<Int>) {
        for index in range {
            switch Self.lanes {
            case 16: sink[index] = Self.chains(SIMD16<Float>.self, iterations, index)
            case 8: sink[index] = Self.chains(SIMD8<Float>.self, iterations, index)
            default: sink[index] = Self.chains(SIMD4<Float>.self, iterations, index)
            }
        }
    }

    @inline(__always)
    private static func chains<V: SIMD>(_: V.Type, _ iterations: Int, _ index: Int) -> Float where V.Scalar == Float {
        let x = V(repeating: 1e-3 + Float(index) * 1e-9), y = V(repeating: 1e-3)
        var a0 = V(), a1 = V(), a2 = V(), a3 = V(), a4 = V(), a5 = V(), a6 = V(), a7 = V(), a8 = V(), a9 = V()
        for _ in 0..<iterations {
            a0 = a0.addingProduct(x, y); a1 = a1.addingProduct(x, y); a2 = a2.addingProduct(x, y)
            a3 = a3.addingProduct(x, y); a4 = a4.addingProduct(x, y); a5 = a5.addingProduct(x, y)
            a6 = a6.addingProduct(x, y); a7 = a7.addingProduct(x, y); a8 = a8.addingProduct(x, y)
            a9 = a9.addingProduct(x, y)
        }
        return (a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9).sum()
    }
}

/// Multiply-adds per second of `threads` threads each running ``FMALoop``: the loop is
/// sized to take about `repetitions.minimumMilliseconds` / 4, then timed as usual, and the
/// fastest run counts (a peak: a slower run was slowed by something else, as STREAM's
/// best rate).
func measureFMAPeak(threads: Int, repetitions: Repetitions) -> Double {
    setEngineThreads(threads)
    let sink = UnsafeMutablePointer<Float>.allocate(capacity: threads)
    defer { sink.deallocate() }
    var iterations = 1 << 14
    while true {
        let loop = FMALoop(iterations: iterations, sink: SendablePointer(sink))
        let ms = elapsedMilliseconds { Parallel.forEachRange(threads, loop) }
        if ms >= repetitions.minimumMilliseconds / 4 || iterations >= 1 << 30 { break }
        iterations *= 2
    }
    let loop = FMALoop(iterations: iterations, sink: SendablePointer(sink))
    let timing = measure(repetitions) { Parallel.forEachRange(threads, loop) }
    return Double(loop.multiplyAddsPerThread * threads) / (timing.minMilliseconds / 1e3)
}

/// STREAM-like memory bandwidth with the engine's threads (McCalpin's kernels; bytes
/// counted as STREAM counts them: each array element read or written once, 4 bytes, no
/// write-allocate traffic). Bytes per second.
struct BandwidthResult: Codable {
    let threads: Int
    /// Floats per array (three arrays).
    let arrayFloats: Int
    /// s = Σ a.
    let read: Double
    /// c = 1.
    let write: Double
    /// c = a.
    let copy: Double
    /// a = b + 3·c.
    let triad: Double
    /// The fastest of the four: the rate the bound divides bytes by (a lower bound on time
    /// stays one with the most favourable rate measured).
    var best: Double { max(read, write, copy, triad) }
}

/// Three arrays far larger than the last-level cache, for ``measureBandwidth(_:threads:repetitions:)``.
final class StreamArrays {
    let count: Int
    let a: UnsafeMutablePointer<Float>, b: UnsafeMutablePointer<Float>, c: UnsafeMutablePointer<Float>

    /// Three arrays of `mebibytes` MiB each, first touched by the engine's threads in the
    /// chunks the kernels use.
    init(mebibytes: Int) {
        count = mebibytes << 18
        a = .allocate(capacity: count)
        b = .allocate(capacity: count)
        c = .allocate(capacity: count)
        Parallel.forEachRange(count, StreamKernel(operation: .initialize, arrays: self))
    }

    deinit {
        a.deallocate()
        b.deallocate()
        c.deallocate()
    }
}

/// One STREAM kernel over a range of elements; `read` leaves its per-range sums in `sums`
/// (one slot per chunk of `Parallel.forEachRange(count, …)` cut into `chunks`).
struct StreamKernel: ParallelKernel {
    enum Operation { case initialize, read, write, copy, triad }
    let operation: Operation
    let count: Int
    let a: SendablePointer<Float>, b: SendablePointer<Float>, c: SendablePointer<Float>
    var sums: SendablePointer<Float>? = nil
    var chunks = 1

    init(operation: Operation, arrays: StreamArrays, sums: SendablePointer<Float>? = nil, chunks: Int = 1) {
        self.operation = operation
        count = arrays.count
        a = SendablePointer(arrays.a)
        b = SendablePointer(arrays.b)
        c = SendablePointer(arrays.c)
        self.sums = sums
        self.chunks = chunks
    }

    func run(_ range: Range<Int>) {
        let a = a.base, b = b.base, c = c.base
        switch operation {
        case .initialize:
            for i in range { a[i] = 1; b[i] = 2; c[i] = 0 }
        case .read:
            // Four vector sums in flight: float additions are not reordered by the compiler.
            typealias V = SIMD16<Float>
            var s0 = V(), s1 = V(), s2 = V(), s3 = V(), i = range.lowerBound
            let raw = UnsafeRawPointer(a)
            while i + 64 <= range.upperBound {
                s0 += raw.loadUnaligned(fromByteOffset: 4 * i, as: V.self)
                s1 += raw.loadUnaligned(fromByteOffset: 4 * (i + 16), as: V.self)
                s2 += raw.loadUnaligned(fromByteOffset: 4 * (i + 32), as: V.self)
                s3 += raw.loadUnaligned(fromByteOffset: 4 * (i + 48), as: V.self)
                i += 64
            }
            var total = (s0 + s1 + s2 + s3).sum()
            while i < range.upperBound { total += a[i]; i += 1 }
            // The chunk holding the range's first index (the inverse of forEachRange's cut).
            sums?[((range.lowerBound + 1) * chunks - 1) / count] = total
        case .write:
            for i in range { c[i] = 1 }
        case .copy:
            for i in range { c[i] = a[i] }
        case .triad:
            for i in range { a[i] = b[i] + 3 * c[i] }
        }
    }
}

/// Read, write, copy and triad bandwidth of `threads` threads over `arrays`, each from
/// the fastest of the timed passes after warm-up (STREAM reports the best rate too).
func measureBandwidth(_ arrays: StreamArrays, threads: Int, repetitions: Repetitions) -> BandwidthResult {
    setEngineThreads(threads)
    let sums = UnsafeMutablePointer<Float>.allocate(capacity: threads)
    sums.initialize(repeating: 0, count: threads)
    defer { sums.deallocate() }
    let bytes = Double(arrays.count * MemoryLayout<Float>.size)
    func rate(_ operation: StreamKernel.Operation, arraysTouched: Double) -> Double {
        let kernel = StreamKernel(operation: operation, arrays: arrays, sums: SendablePointer(sums), chunks: threads)
        let timing = measure(repetitions) { Parallel.forEachRange(arrays.count, kernel) }
        return arraysTouched * bytes / (timing.minMilliseconds / 1e3)
    }
    return BandwidthResult(threads: threads, arrayFloats: arrays.count, read: rate(.read, arraysTouched: 1),
                           write: rate(.write, arraysTouched: 1), copy: rate(.copy, arraysTouched: 2),
                           triad: rate(.triad, arraysTouched: 3))
}
