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
        return [UInt8](unsafeUninitializedCapacity: 3 * side * side) { output, count in
            image.pixels.withUnsafeBufferPointer { pixels in
                resample(pixels.baseAddress!, width: image.width, columns: columns, rows: rows, side: side,
                         into: output.baseAddress!)
            }
            count = 3 * side * side
        }
    }

    /// The horizontal pass over the input rows the kept outputs need (or those rows as they
    /// are, when the width does not change), into interleaved 8-bit rows of `side` pixels;
    /// then the vertical pass into the planar output.
    private static func resample(_ input: UnsafePointer<UInt8>, width: Int, columns: ResampleTaps, rows: ResampleTaps,
                                 side: Int, into output: UnsafeMutablePointer<UInt8>) {
        let rowRange = rows.inputRange
        let stride = 3 * side
        let rowsNeeded = [UInt8](unsafeUninitializedCapacity: rowRange.count * stride) { buffer, count in
            let rowsOut = buffer.baseAddress!
            for (k, y) in rowRange.enumerated() {
                let source = input + y * 3 * width
                let destination = rowsOut + k * stride
                for j in 0..<side {
                    if let taps = columns.taps(j) {
                        for c in 0..<3 {
                            destination[3 * j + c] = weightedSum(taps, source + c, step: 3)
                        }
                    } else {
                        let x = columns.identityStart + j
                        for c in 0..<3 { destination[3 * j + c] = source[3 * x + c] }
                    }
                }
            }
            count = rowRange.count * stride
        }
        rowsNeeded.withUnsafeBufferPointer { buffer in
            let intermediate = buffer.baseAddress!
            let plane = side * side
            for i in 0..<side {
                if let taps = rows.taps(i) {
                    let shifted = ResampleTaps.Window(start: taps.start - rowRange.lowerBound, weights: taps.weights)
                    for j in 0..<side {
                        for c in 0..<3 {
                            output[c * plane + i * side + j] = weightedSum(shifted, intermediate + 3 * j + c, step: stride)
                        }
                    }
                } else {
                    let source = intermediate + (rows.identityStart + i - rowRange.lowerBound) * stride
                    for j in 0..<side {
                        for c in 0..<3 { output[c * plane + i * side + j] = source[3 * j + c] }
                    }
                }
            }
        }
    }

    /// clamp((2²¹ + Σₖ weightₖ · base[(start + k) · step]) >> 22, 0, 255).
    @inline(__always)
    private static func weightedSum(_ window: ResampleTaps.Window, _ base: UnsafePointer<UInt8>, step: Int) -> UInt8 {
        var sum = 1 << (precisionBits - 1)
        var pointer = base + window.start * step
        for weight in window.weights {
            sum += Int(pointer.pointee) * Int(weight)
            pointer += step
        }
        return UInt8(clamping: sum >> precisionBits)
    }
}

/// The fixed-point taps of Pillow's BILINEAR resampling along one axis, for a range of outputs
/// (the rule is in ``ImageResize``); none when the axis keeps its size.
struct ResampleTaps {
    /// The taps of one output sample: input samples start ..< start + weights.count.
    struct Window {
        var start: Int
        var weights: ArraySlice<Int32>
    }

    let outputs: Range<Int>
    /// Windows' starts and sizes, and their weights (each window's padded to `windowSize`).
    private let starts: [Int]
    private let counts: [Int]
    private let weights: [Int32]
    private let windowSize: Int
    /// The input samples the outputs read.
    let inputRange: Range<Int>
    /// With no resampling, output i is input identityStart + i.
    let identityStart: Int

    init(inputSize: Int, outputSize: Int, outputs: Range<Int>) {
        self.outputs = outputs
        guard inputSize != outputSize else {
            starts = []; counts = []; weights = []; windowSize = 0
            identityStart = outputs.lowerBound
            inputRange = outputs
            return
        }
        identityStart = 0
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

    /// The taps of the `index`-th kept output (0-based within `outputs`), nil with no resampling.
    @inline(__always)
    func taps(_ index: Int) -> Window? {
        guard windowSize > 0 else { return nil }
        let base = index * windowSize
        return Window(start: starts[index], weights: weights[base..<(base + counts[index])])
    }
}
