import ArgumentParser
import Foundation
import MobileNet

/// `mobilenet-bench images DIR`: every .png/.jpg/.jpeg file under DIR read, decoded
/// (``ImageDecoder``) and resized to side × side planar bytes (``ImageResize``), the files
/// split over the engine's threads; prints the wall time and images per second, best of
/// `--runs` passes (the first pass also warms the page cache). A file that fails to decode
/// stops the run with its error.
struct ImagesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "images",
        abstract: "Time decoding and resizing every PNG/JPEG image under a folder.")

    @Argument(help: "Folder searched recursively for .png, .jpg and .jpeg files (e.g. from scripts/make_image_folder.py).")
    var folder: String

    @Option(parsing: .unconditional, help: "Output side S (Resize(S) + CenterCrop(S)).")
    var side = 32

    @Option(parsing: .unconditional, help: "Threads.")
    var threads = ProcessInfoCores.active

    @Option(parsing: .unconditional, help: "Timed passes over all files (the fastest is reported).")
    var runs = 3

    func validate() throws {
        try requireAtLeast(1, ("--side", [side]), ("--threads", [threads]), ("--runs", [runs]))
    }

    func run() throws {
        setEngineThreads(threads)
        let extensions: Set<String> = ["png", "jpg", "jpeg"]
        let files = (FileManager.default.enumerator(atPath: folder)?.compactMap { $0 as? String } ?? [])
            .filter { extensions.contains(($0 as NSString).pathExtension.lowercased()) }
            .sorted()
            .map { folder + "/" + $0 }
        guard !files.isEmpty else { throw ValidationError("no .png, .jpg or .jpeg files under \(folder)") }
        let side = side
        var best = Double.infinity
        for _ in 0..<runs {
            let failures = FailureBox()
            let milliseconds = elapsedMilliseconds {
                Parallel.forEachRange(files.count) { range in
                    for index in range {
                        do throws(ImageError) {
                            let image = try ImageDecoder.decode(contentsOf: files[index])
                            _ = ImageResize.resizeCenterCrop(image, side: side)
                        } catch {
                            failures.record(error)
                        }
                    }
                }
            }
            if let error = failures.first { throw ValidationError(error.description) }
            best = min(best, milliseconds)
        }
        print("\(files.count) images decoded and resized to \(side)×\(side) on \(threads) thread(s): "
              + "\(formatFixed(best / 1000, 2)) s, \(formatFixed(Double(files.count) / best * 1000, 0)) images/s (best of \(runs))")
    }
}

/// The first decoding error seen by any thread.
private final class FailureBox: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: ImageError?

    var first: ImageError? { lock.withLock { stored } }

    func record(_ error: ImageError) {
        lock.withLock { if stored == nil { stored = error } }
    }
}
