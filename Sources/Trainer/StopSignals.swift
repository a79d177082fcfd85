import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Turns SIGINT, SIGTERM and SIGHUP (a closed terminal, a dropped ssh) into a request the training loop polls after every step:
/// the first signal lets the current step finish and a checkpoint be saved; a second one
/// exits at once (status 128 + signal) without saving — safe, since checkpoint writes are
/// atomic and the previous checkpoint stays whole.
///
/// The signals are ignored at the process level and delivered through Dispatch signal
/// sources on a background queue, so no code runs inside a signal handler.
final class StopSignals: @unchecked Sendable {
    private let lock = NSLock()
    private var received: Int32?
    private var sources: [DispatchSourceSignal] = []

    /// Starts listening for SIGINT, SIGTERM and SIGHUP.
    func install() {
        for number in Self.handled {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [self] in receive(number) }
            source.resume()
            sources.append(source)
        }
    }

    /// The first signal received, if any.
    var signalNumber: Int32? { lock.withLock { received } }
    var stopRequested: Bool { signalNumber != nil }
    /// 130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP (the shell's 128 + signal).
    var exitStatus: Int32 { 128 + (signalNumber ?? 0) }
    var signalName: String { Self.name(of: signalNumber ?? SIGINT) }

    static let handled: [Int32] = [SIGINT, SIGTERM, SIGHUP]

    static func name(of number: Int32) -> String {
        switch number {
        case SIGTERM: return "SIGTERM"
        case SIGHUP: return "SIGHUP"
        default: return "SIGINT"
        }
    }

    private func receive(_ number: Int32) {
        let first = lock.withLock { () -> Bool in
            if received != nil { return false }
            received = number
            return true
        }
        if first {
            printError("\n\(signalName) received: finishing the current step, then saving a checkpoint (send it again to quit at once without saving).")
        } else {
            printError("\nsecond signal: exiting without saving; the last checkpoint on disk is intact.")
            exit(128 + number)
        }
    }
}
