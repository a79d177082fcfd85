import ArgumentParser
import MobileNet

/// `mobilenet-train flops`: what depthwise-separable convolution saves, counted by the
/// engine's own multiply-add counter (``CostReport``): the toy case of Howard et al. §3.1 term by
/// term, the per-layer table of MobileNetV1 and the totals for α ∈ {1, 0.75, 0.5, 0.25}.
struct FlopsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flops",
        abstract: "Count multiply-adds and weights of MobileNetV1, standard vs depthwise-separable convolution.",
        discussion: "Counts are per image, forward pass; FLOPs = 2 × multiply-adds.")

    @Option(help: "Width multiplier α: every channel count becomes Int(n·α) (at least 1).")
    var widthMultiplier: Double = 1.0

    @Option(help: "Side of the square input image, in pixels.")
    var imageSize: Int = 32

    @Option(help: "Classifier outputs.")
    var numClasses: Int = 10

    @Flag(help: "Print Markdown instead of plain text.")
    var markdown = false

    func validate() throws {
        // Upper bounds keep every count inside 64 bits and the model small enough to build.
        guard widthMultiplier > 0, widthMultiplier <= 16 else {
            throw ValidationError("--width-multiplier must lie in (0, 16], got \(widthMultiplier)")
        }
        guard imageSize <= 8192 else { throw ValidationError("--image-size must be at most 8192, got \(imageSize)") }
        guard numClasses <= 1_000_000 else { throw ValidationError("--num-classes must be at most 1000000, got \(numClasses)") }
        // Five stride-2 blocks: a side of at least 1 still gives 1×1 maps; the 3×3 kernels
        // with padding 1 fit any side ≥ 1.
        guard imageSize >= 1 else { throw ValidationError("--image-size must be at least 1, got \(imageSize)") }
        guard numClasses >= 1 else { throw ValidationError("--num-classes must be at least 1, got \(numClasses)") }
    }

    func run() throws {
        let report = CostReport(widthMultiplier: widthMultiplier, imageSize: imageSize, numClasses: numClasses)
        print(markdown ? report.markdown() : report.text(), terminator: "")
    }
}
