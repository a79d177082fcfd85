/// torchvision's `Resize(side)` then `CenterCrop(side)` on a PIL image, bit for bit: the
/// shorter edge becomes `side` with Pillow's antialiased BILINEAR filter, then the centre
/// side × side square is kept.
///
/// - Resize: the shorter edge to `side`, the longer to int(side · long / short), as
///   torchvision's `_compute_resized_output_size`; an image already that size is not resampled.
/// - Resampling: Pillow's `Image.resize(…, BILINEAR)`: separable, horizontal pass first (its
///   result rounded to 8 bits), then vertical. For output index i of an axis scaled from n to
///   m: scale = n / m, s = max(scale, 1) (the filter widens when shrinking: antialiasing),
///   centre c = (i + 0.5) · scale, taps x from int(c − s + 0.5) (at least 0) to
///   int(c + s + 0.5) (at most n), weight tent((x − c + 0.5) / s) with tent(t) = max(0, 1 − |t|),
///   normalised to sum 1, then to fixed point int(0.5 + w · 2²²); a sample is
///   clamp((2²¹ + Σ weight · input) >> 22, 0, 255).
/// - CenterCrop: offsets int(round((size − side) / 2)), Python's round (half to even).
///
/// Checked against Pillow 13 + torchvision references with tolerance 0 (ImageResizeTests).
public enum ImageResize {
    /// Fixed-point precision of Pillow's 8-bit resampling: weights are scaled by 2²².
    static let precisionBits = 22

    /// The size torchvision's `Resize(side)` gives a width × height image: the shorter edge
    /// `side`, the longer int(side · long / short) (a width equal to the height counts as the
    /// shorter edge).
    public static func resizedSize(width: Int, height: Int, side: Int) -> (width: Int, height: Int) {
        let (short, long) = width <= height ? (width, height) : (height, width)
        let newLong = Int(Double(side * long) / Double(short))
        return width <= height ? (side, newLong) : (newLong, side)
    }

    /// torchvision `CenterCrop`'s offset of a `side` window in `size`: int(round((size − side) / 2.0)).
    public static func centerCropOffset(size: Int, side: Int) -> Int {
        Int((Double(size - side) / 2).rounded(.toNearestOrEven))
    }

    /// `image` through Resize(side) + CenterCrop(side): 3 × side × side bytes, planar (the R
    /// plane, then G, then B, each row-major: the CIFAR record layout).
    /// - Precondition: side ≥ 1.
    public static func resizeCenterCrop(_ image: RGBImage, side: Int) -> [UInt8] {
        precondition(side >= 1, "expected a positive side, got \(side)")
        let (newWidth, newHeight) = resizedSize(width: image.width, height: image.height, side: side)
        let left = centerCropOffset(size: newWidth, side: side)
        let top = centerCropOffset(size: newHeight, side: side)
        // Only the kept columns and rows are computed: each output sample depends on its own
        // taps alone, so this equals resizing the whole image and cropping.
        let columns = ResampleTaps(inputSize: image.width, outputSize: newWidth, outputs: left..<(left + side))
        let rows = ResampleTaps(inputSize: image.height, outputSize: newHeight, outputs: top..<(top + side))
        let rowRange = rows.inputRange
        // Pass 1: the rows the vertical taps read, each `side` interleaved RGB pixels.
        var intermediate = [UInt8](repeating: 0, count: rowRange.count * 3 * side)
        image.pixels.withUnsafeBufferPointer { pixels in
            intermediate.withUnsafeMutableBufferPointer { rowsOut in
                for (k, y) in rowRange.enumerated() {
                    let source = pixels.baseAddress! + y * 3 * image.width
                    let destination = rowsOut.baseAddress! + k * 3 * side
                    if columns.isIdentity {
                        destination.update(from: source + 3 * columns.outputs.lowerBound, count: 3 * side)
                    } else {
                        columns.withTaps { taps in resampleRow(source, taps: taps, side: side, into: destination) }
                    }
                }
            }
        }
        // Pass 2: each output row from its taps over those rows, written as three planes.
        return [UInt8](unsafeUninitializedCapacity: 3 * side * side) { output, count in
            intermediate.withUnsafeMutableBufferPointer { buffer in
                let rowsIn = buffer.baseAddress!
                if rows.isIdentity {
                    for i in 0..<side { storePlanar(rowsIn + i * 3 * side, row: i, side: side, into: output.baseAddress!) }
                } else {
                    var sums = [Int32](repeating: 0, count: 3 * side)
                    var row = [UInt8](repeating: 0, count: 3 * side)
                    sums.withUnsafeMutableBufferPointer { sums in
                        row.withUnsafeMutableBufferPointer { row in
                            rows.withTaps { taps in
                                for i in 0..<side {
                                    sumRows(rowsIn, firstRow: taps.starts[i] - rowRange.lowerBound, count: taps.counts[i],
                                            weights: taps.weights + i * taps.windowSize, width: 3 * side, into: sums.baseAddress!)
                                    for q in 0..<(3 * side) { row[q] = clamped(sums[q]) }
                                    storePlanar(row.baseAddress!, row: i, side: side, into: output.baseAddress!)
                                }
                            }
                        }
                    }
                }
            }
            count = 3 * side * side
        }
    }

    /// Output row i of the planes from one interleaved RGB row of `side` pixels.
    @inline(__always)
    private static func storePlanar(_ row: UnsafePointer<UInt8>, row i: Int, side: Int, into output: UnsafeMutablePointer<UInt8>) {
        let plane = side * side
        for j in 0..<side {
            for c in 0..<3 { output[c * plane + i * side + j] = row[3 * j + c] }
        }
    }

    /// Horizontal pass of one row: output pixel j (each of R, G, B) is
    /// clamp((2²¹ + Σₖ weightₖ · source[starts[j] + k]) >> 22).
    private static func resampleRow(_ source: UnsafePointer<UInt8>, taps: ResampleTaps.Buffers, side: Int,
                                    into destination: UnsafeMutablePointer<UInt8>) {
        let half = Int32(1 << (precisionBits - 1))
        for j in 0..<side {
            let weights = taps.weights + j * taps.windowSize
            var pixel = source + 3 * taps.starts[j]
            var (r, g, b) = (half, half, half)
            for k in 0..<taps.counts[j] {
                let weight = weights[k]
                r &+= Int32(pixel[0]) &* weight
                g &+= Int32(pixel[1]) &* weight
                b &+= Int32(pixel[2]) &* weight
                pixel += 3
            }
            destination[3 * j] = clamped(r)
            destination[3 * j + 1] = clamped(g)
            destination[3 * j + 2] = clamped(b)
        }
    }

    /// Vertical pass of one output row: sums[q] = 2²¹ + Σₖ weightₖ · rows[(firstRow + k) · width + q].
    private static func sumRows(_ rows: UnsafePointer<UInt8>, firstRow: Int, count: Int, weights: UnsafePointer<Int32>,
                                width: Int, into sums: UnsafeMutablePointer<Int32>) {
        sums.update(repeating: Int32(1 << (precisionBits - 1)), count: width)
        for k in 0..<count {
            let weight = weights[k]
            let row = rows + (firstRow + k) * width
            for q in 0..<width { sums[q] &+= Int32(row[q]) &* weight }
        }
    }

    /// clamp(sum >> 22, 0, 255): Pillow's rounding back to 8 bits (sums are at most ~2³⁰).
    @inline(__always)
    private static func clamped(_ sum: Int32) -> UInt8 {
        UInt8(clamping: sum >> Int32(precisionBits))
    }
}

/// The fixed-point taps of Pillow's BILINEAR resampling along one axis, for a range of outputs
/// (the rule is in ``ImageResize``); none when the axis keeps its size.
struct ResampleTaps {
    /// The taps as pointers, valid inside ``withTaps(_:)``: kept output i reads inputs
    /// starts[i] ..< starts[i] + counts[i] with weights[i · windowSize + k].
    struct Buffers {
        let starts: UnsafePointer<Int>
        let counts: UnsafePointer<Int>
        let weights: UnsafePointer<Int32>
        let windowSize: Int
    }

    let outputs: Range<Int>
    let starts: [Int]
    let counts: [Int]
    /// Each window's weights, padded with zeros to `windowSize`.
    let weights: [Int32]
    let windowSize: Int
    /// The input samples the kept outputs read.
    let inputRange: Range<Int>
    /// True when the axis keeps its size: output i is input i, nothing is resampled.
    var isIdentity: Bool { windowSize == 0 }

    init(inputSize: Int, outputSize: Int, outputs: Range<Int>) {
        self.outputs = outputs
        guard inputSize != outputSize else {
            starts = []; counts = []; weights = []; windowSize = 0
            inputRange = outputs
            return
        }
        let scale = Double(inputSize) / Double(outputSize)
        let filterScale = max(scale, 1)
        let support = filterScale          // BILINEAR's support is 1, widened by the scale
        let inverseScale = 1.0 / filterScale
        windowSize = Int(support.rounded(.up)) * 2 + 1
        var starts: [Int] = [], counts: [Int] = [], weights: [Int32] = []
        var real = [Double](repeating: 0, count: windowSize)
        for output in outputs {
            let center = (Double(output) + 0.5) * scale
            let first = max(Int(center - support + 0.5), 0)
            let count = min(Int(center + support + 0.5), inputSize) - first
            var total = 0.0
            for k in 0..<count {
                let t = abs((Double(k + first) - center + 0.5) * inverseScale)
                real[k] = t < 1 ? 1 - t : 0
                total += real[k]
            }
            for k in 0..<windowSize {
                let normalised = k < count && total != 0 ? real[k] / total : 0
                weights.append(Int32(0.5 + normalised * Double(1 << ImageResize.precisionBits)))
            }
            starts.append(first)
            counts.append(count)
        }
        self.starts = starts
        self.counts = counts
        self.weights = weights
        inputRange = (starts.min() ?? 0)..<(zip(starts, counts).map { $0 + $1 }.max() ?? 0)
    }

    /// Calls `body` with the taps as pointers. - Precondition: not ``isIdentity``.
    func withTaps<R>(_ body: (Buffers) -> R) -> R {
        starts.withUnsafeBufferPointer { starts in
            counts.withUnsafeBufferPointer { counts in
                weights.withUnsafeBufferPointer { weights in
                    body(Buffers(starts: starts.baseAddress!, counts: counts.baseAddress!,
                                 weights: weights.baseAddress!, windowSize: windowSize))
                }
            }
        }
    }
}
