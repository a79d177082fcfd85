import Foundation
import MobileNet
#if canImport(Glibc)
import Glibc
#endif

/// Per-epoch progress: on a terminal, one line redrawn in place (bar, step/total,
/// loss, lr, images/s, elapsed and remaining time); otherwise a plain line every
/// `plainInterval` steps, as the original tutorial's script prints, so logs stay readable.
final class ProgressBar {
    let isTerminal: Bool
    let plainInterval: Int
    private var lastDraw: Double = 0

    /// Whether to redraw one line in place: only on a terminal and outside an MPI launcher.
    /// Open MPI hands its ranks a pseudo-terminal when mpirun's own output is one, and then
    /// forwards (and, across hosts, interleaves) what they print, so escape codes would end
    /// up in the log; under a launcher the plain lines are printed instead.
    static func redrawsInPlace(isTerminal: Bool = isatty(STDOUT_FILENO) != 0,
                               environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool {
        isTerminal && ProcessGroup.launcherSize(environment) == nil
    }

    init(isTerminal: Bool = ProgressBar.redrawsInPlace(), plainInterval: Int = 100) {
        self.isTerminal = isTerminal
        self.plainInterval = plainInterval
    }

    /// Reports step `step` (1-based) of `total` in `epoch` of `epochs`.
    func update(epoch: Int, epochs: Int, step: Int, total: Int, loss: Double, learningRate: Double,
                imagesPerSecond: Double, elapsedSeconds: Double) {
        if isTerminal {
            let now = monotonicSeconds()
            guard step == total || now - lastDraw >= 0.1 else { return }
            lastDraw = now
            let width = 24
            let filled = total > 0 ? min(width, width * step / total) : 0
            let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
            let remaining = step > 0 ? elapsedSeconds / Double(step) * Double(total - step) : 0
            let line = String(format: "epoch %d/%d %@ %d/%d loss %.4f lr %.5f %.0f img/s %@<%@",
                              epoch, epochs, bar, step, total, loss, learningRate, imagesPerSecond,
                              Self.clock(elapsedSeconds), Self.clock(remaining))
            FileHandle.standardOutput.write(Data(("\r\u{1B}[2K" + line).utf8))
        } else if step % plainInterval == 0 || step == total {
            print(String(format: "Epoch [%d/%d], Step [%d/%d], Loss: %.4f, LR: %.6f, %.0f img/s",
                         epoch, epochs, step, total, loss, learningRate, imagesPerSecond))
            flushStandardOutput()
        }
    }

    /// Ends the epoch's progress line.
    func finish() {
        if isTerminal { FileHandle.standardOutput.write(Data("\n".utf8)) }
    }

    /// "m:ss" or "h:mm:ss".
    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
                         : String(format: "%d:%02d", s / 60, s % 60)
    }
}

/// Flushes buffered standard output (fflush(NULL) flushes every stream; Swift 6 forbids
/// touching the global `stdout` directly).
func flushStandardOutput() { fflush(nil) }
