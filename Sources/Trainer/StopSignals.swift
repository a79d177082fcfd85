import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The first stop signal's number (0: none yet), written by the signal handler only.
/// Allocated before the handler is installed, so the handler touches no lazy global.
nonisolated(unsafe) private let stopSignalSlot: UnsafeMutablePointer<sig_atomic_t> = {
    let slot = UnsafeMutablePointer<sig_atomic_t>.allocate(capacity: 1)
    slot.initialize(to: 0)
    return slot
}()

/// Async-signal-safe: records the first signal; a second one ends the process at once.
private let stopSignalHandler: @convention(c) (Int32) -> Void = { number in
    if stopSignalSlot.pointee == 0 {
        stopSignalSlot.pointee = number
    } else {
        _exit(128 + number)
    }
}

/// Turns SIGINT, SIGTERM and SIGHUP (a closed terminal, a dropped ssh) into a request
/// the training loop polls after every step: the first signal lets the current step
/// finish and a checkpoint be saved; a second one exits at once (status 128 + signal)
/// without saving — safe, since checkpoint writes are atomic and the previous checkpoint
/// stays whole.
///
/// A plain `sigaction` handler that only stores the signal number (async-signal-safe); the
/// message is printed by the thread that polls. It is installed after MPI_Init, so it
/// replaces whatever handler the MPI library set. (A Dispatch signal source, used before,
/// never fired in ranks started by Open MPI 4.1's mpirun: SIGTERM to both ranks left them
/// training to the end; `scripts/mpi_faults_check.sh` checks the handler under mpirun.)
final class StopSignals: @unchecked Sendable {
    private let lock = NSLock()
    private var announced = false

    static let handled: [Int32] = [SIGINT, SIGTERM, SIGHUP]

    /// Starts listening for SIGINT, SIGTERM and SIGHUP.
    func install() {
        _ = stopSignalSlot
        for number in Self.handled {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = stopSignalHandler
            sigemptyset(&action.sa_mask)
            action.sa_flags = SA_RESTART
            sigaction(number, &action, nil)
        }
    }

    /// The first signal received, if any.
    var signalNumber: Int32? {
        let number = stopSignalSlot.pointee
        return number == 0 ? nil : number
    }

    /// Whether a stop signal arrived; the first time it is seen, says what happens next.
    var stopRequested: Bool {
        guard let number = signalNumber else { return false }
        let first = lock.withLock { () -> Bool in
            defer { announced = true }
            return !announced
        }
        if first {
            printError("\n\(Self.name(of: number)) received: finishing the current step, then saving a checkpoint (send it again to quit at once without saving).")
        }
        return true
    }

    /// 130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP (the shell's 128 + signal).
    var exitStatus: Int32 { 128 + (signalNumber ?? 0) }
    var signalName: String { Self.name(of: signalNumber ?? SIGINT) }

    static func name(of number: Int32) -> String {
        switch number {
        case SIGTERM: return "SIGTERM"
        case SIGHUP: return "SIGHUP"
        default: return "SIGINT"
        }
    }
}
