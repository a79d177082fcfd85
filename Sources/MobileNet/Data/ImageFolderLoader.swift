import Foundation

/// Per-channel statistics of 8-bit images: the sums of the values and of their squares,
/// exact (integers), so they do not depend on the order images were added in.
public struct ChannelStatistics: Equatable, Sendable {
    /// Σ v per channel (R, G, B), v the byte value.
    public var sums: [UInt64] = [0, 0, 0]
    /// Σ v² per channel.
    public var sumsOfSquares: [UInt64] = [0, 0, 0]
    /// Pixels counted per channel.
    public var pixels: UInt64 = 0

    public init() {}

    /// Adds one image of three planes of `planeBytes` bytes (R, G, B).
    mutating func add(planes image: UnsafePointer<UInt8>, planeBytes: Int) {
        for c in 0..<3 {
            var sum: UInt64 = 0, squares: UInt64 = 0
            for v in UnsafeBufferPointer(start: image + c * planeBytes, count: planeBytes) {
                sum += UInt64(v)
                squares += UInt64(v) * UInt64(v)
            }
            sums[c] += sum
            sumsOfSquares[c] += squares
        }
        pixels += UInt64(planeBytes)
    }

    mutating func add(_ other: ChannelStatistics) {
        for c in 0..<3 {
            sums[c] += other.sums[c]
            sumsOfSquares[c] += other.sumsOfSquares[c]
        }
        pixels += other.pixels
    }

    /// Per channel, the mean of v / 255 over every pixel (torchvision's `ToTensor` scale),
    /// as `Normalize(mean, std)` takes it.
    public var mean: [Float] {
        (0..<3).map { Float(Double(sums[$0]) / Double(max(pixels, 1)) / 255) }
    }

    /// Per channel, the standard deviation of v / 255 over every pixel (population:
    /// √(E[x²] − E[x]²), `torch.std(unbiased=False)` over all the channel's values).
    public var std: [Float] {
        (0..<3).map { c in
            let n = Double(max(pixels, 1))
            let mean = Double(sums[c]) / n / 255
            let meanSquare = Double(sumsOfSquares[c]) / n / (255 * 255)
            return Float(max(meanSquare - mean * mean, 0).squareRoot())
        }
    }
}

/// Decodes image files and brings each to S×S once (``ImageResize/resizeCenterCrop(_:side:)``:
/// torchvision's `Resize(S)` + `CenterCrop(S)` with Pillow's antialiased bilinear filter),
/// on every engine thread, into an ``ImageDataset`` kept as bytes: 3·S² bytes per image
/// (3,072 at 32×32, 150,528 at 224×224). While decoding, each thread holds one image at
/// its full size besides (at most ``ImageDecoder/defaultMaximumPixels`` pixels).
public struct ImageFolderLoader: Sendable {
    /// S, the side images are brought to.
    public var imageSide: Int
    /// Images above this many pixels are refused from their header (the decoder's limit).
    public var maximumPixels: Int
    /// The file-system seam the decoder reads through (tests inject failures).
    var fileAccess: CIFARFileAccess

    /// - Precondition: `imageSide >= 1`.
    public init(imageSide: Int, maximumPixels: Int = ImageDecoder.defaultMaximumPixels) {
        self.init(imageSide: imageSide, maximumPixels: maximumPixels, fileAccess: .system)
    }

    init(imageSide: Int, maximumPixels: Int, fileAccess: CIFARFileAccess) {
        precondition(imageSide >= 1, "imageSide must be ≥ 1, got \(imageSide)")
        self.imageSide = imageSide
        self.maximumPixels = maximumPixels
        self.fileAccess = fileAccess
    }

    /// Bytes one image takes in memory: 3·S².
    public var bytesPerImage: Int { 3 * imageSide * imageSide }

    /// Refuses, before anything is decoded, `images` images that would take more than
    /// `limit` bytes (`flag` names the limit in the message).
    /// - Throws: ``ImageFolderError/exceedsMemory(path:images:imageSide:bytes:limit:flag:)``.
    public func checkMemory(images: Int, limit: Int, path: String, flag: String) throws(ImageFolderError) {
        let (bytes, overflow) = images.multipliedReportingOverflow(by: bytesPerImage)
        if overflow || bytes > limit {
            throw .exceedsMemory(path: path, images: images, imageSide: imageSide, bytes: overflow ? .max : bytes, limit: limit, flag: flag)
        }
    }

    /// Decodes and resizes `samples`, in parallel; image i of the result is `samples[i]`.
    /// - Returns: the images (classes `classNames`, side S) and the channel statistics of
    ///   their S×S pixels (what the network sees; for `--mean`/`--std` computed from them).
    /// - Throws: ``ImageFolderError/unreadableImages(count:failures:)`` naming the first
    ///   ten files that failed (each with the decoder's reason), after trying them all.
    public func load(_ samples: [ImageFolder.Sample], classNames: [String]) throws(ImageFolderError) -> (ImageDataset, ChannelStatistics) {
        let decoded = decodeEach(samples.map(\.path))
        let failed = decoded.failures.compactMap { $0 }
        if !failed.isEmpty { throw .unreadableImages(count: failed.count, failures: Array(failed.prefix(10)).map(\.description)) }
        let dataset = ImageDataset(images: decoded.images, labels: samples.map(\.label), classNames: classNames, imageSide: imageSide)
        return (dataset, decoded.statistics)
    }

    /// Decodes and resizes each file of `paths`, in parallel, whatever happens to the others.
    /// - Returns: `images`, 3·S² bytes per path in order (zeros for a file that failed),
    ///   `failures[i]` the decoder's error for path i (nil when it was read), and the channel
    ///   statistics of the images read.
    public func decodeEach(_ paths: [String]) -> (images: [UInt8], failures: [ImageError?], statistics: ChannelStatistics) {
        let count = paths.count, bytes = bytesPerImage, side = imageSide
        var images = [UInt8](repeating: 0, count: count * bytes)
        var failures = [ImageError?](repeating: nil, count: count)
        let chunks = max(1, min(Parallel.threadCount, count))
        var statistics = [ChannelStatistics](repeating: ChannelStatistics(), count: chunks)
        let queue = WorkQueue(count: count, block: 8)
        images.withUnsafeMutableBufferPointer { imageBuffer in
            failures.withUnsafeMutableBufferPointer { failureBuffer in
                statistics.withUnsafeMutableBufferPointer { statisticsBuffer in
                    let output = SendablePointer(imageBuffer.baseAddress!), failed = SendablePointer(failureBuffer.baseAddress!)
                    let totals = SendablePointer(statisticsBuffer.baseAddress!)
                    Parallel.forEachChunk(chunks) { chunk, _ in
                        var local = ChannelStatistics()
                        while let range = queue.next() {
                            for i in range {
                                let decoded: RGBImage
                                do throws(ImageError) {
                                    decoded = try ImageDecoder.decode(contentsOf: paths[i], maximumPixels: maximumPixels, fileAccess: fileAccess)
                                } catch {
                                    failed[i] = error
                                    continue
                                }
                                ImageResize.resizeCenterCrop(decoded, side: side).withUnsafeBufferPointer { pixels in
                                    (output.base + i * bytes).update(from: pixels.baseAddress!, count: bytes)
                                    local.add(planes: pixels.baseAddress!, planeBytes: side * side)
                                }
                            }
                        }
                        totals[chunk] = local
                    }
                }
            }
        }
        var total = ChannelStatistics()
        for part in statistics { total.add(part) }
        return (images, failures, total)
    }
}

/// Hands out consecutive blocks of `0..<count` to whichever thread asks next, so threads
/// that draw small images take more of them.
private final class WorkQueue: @unchecked Sendable {
    private let lock = NSLock()
    private var start = 0
    private let count: Int, block: Int

    init(count: Int, block: Int) {
        self.count = count
        self.block = block
    }

    func next() -> Range<Int>? {
        lock.lock()
        defer { lock.unlock() }
        guard start < count else { return nil }
        let range = start ..< min(count, start + block)
        start = range.upperBound
        return range
    }
}

/// Which positions of a listing to take when only some are wanted: `count` of `total`,
/// spread evenly (position i is taken when ⌊(i + 1)·count / total⌋ > ⌊i·count / total⌋,
/// exactly `count` positions). An image folder lists its images class by class, so its
/// last N images would be one class: `--val-split` and `--limit-train` on an image folder
/// take spread positions instead, the same for every seed, each class in proportion to its
/// images (±1).
public enum EvenSpread {
    /// The positions taken, ascending.
    /// - Precondition: `0 <= count <= total`.
    public static func positions(_ count: Int, of total: Int) -> [Int] {
        precondition((0...total).contains(count), "cannot take \(count) of \(total)")
        guard count > 0 else { return [] }
        return (0..<total).filter { ($0 + 1) * count / total > $0 * count / total }
    }
}
