import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A ``Communicator`` that ends this process when one collective call takes longer than
/// `timeout` seconds: another rank is gone without its launcher noticing (a host that lost
/// power or its network, a rank stopped with SIGSTOP), and this rank would otherwise wait
/// forever. The launcher (mpirun) then sees this rank exit with status 1 and ends the others.
///
/// A background thread checks once a second; it never calls MPI (Open MPI is initialised
/// for one calling thread), it prints the message and calls `_exit(1)`. Checkpoints are
/// written atomically, so the last one stays loadable.
public final class CollectiveWatchdog: Communicator, @unchecked Sendable {
    public let base: any Communicator
    /// Seconds one collective may take before the process ends.
    public let timeout: Double
    private let lock = NSLock()
    private var current: (name: String, start: Double)?
    private var stopped = false

    /// - Parameter onTimeout: what to do instead of `_exit(1)` (tests).
    public init(_ base: any Communicator, timeout: Double, onTimeout: (@Sendable (String) -> Void)? = nil) {
        self.base = base
        self.timeout = timeout
        let thread = Thread { [weak self] in
            while let self, !self.isStopped {
                if let message = self.overdue() {
                    if let onTimeout { onTimeout(message); return }
                    writeStandardError(message)
                    _exit(1)
                }
                usleep(200_000)
            }
        }
        thread.start()
    }

    deinit { stop() }

    /// Ends the background check (before MPI_Finalize, whose wait for slower ranks is not a collective of the run).
    public func stop() { lock.withLock { stopped = true } }

    private var isStopped: Bool { lock.withLock { stopped } }

    /// The message when the running collective is overdue, else nil.
    func overdue() -> String? {
        lock.withLock {
            guard let current, monotonicSeconds() - current.start > timeout else { return nil }
            return "error: rank \(base.rank) of \(base.size): \(current.name) has waited \(String(format: "%g", timeout)) s for the other ranks (--collective-timeout); a rank or its host is gone or stuck. Ending this rank; the last checkpoint is intact, continue with --resume."
        }
    }

    private func timed<T>(_ name: String, _ body: () -> T) -> T {
        lock.withLock { current = (name, monotonicSeconds()) }
        defer { lock.withLock { current = nil } }
        return body()
    }

    public var rank: Int { base.rank }
    public var size: Int { base.size }
    public func broadcast(_ bytes: UnsafeMutableRawBufferPointer, root: Int) { timed("MPI_Bcast") { base.broadcast(bytes, root: root) } }
    public func allreduceSum(_ values: UnsafeMutableBufferPointer<Float>) { timed("MPI_Allreduce") { base.allreduceSum(values) } }
    public func allreduceSum(_ values: UnsafeMutableBufferPointer<Double>) { timed("MPI_Allreduce") { base.allreduceSum(values) } }
    public func allreduceMax(_ values: UnsafeMutableBufferPointer<Double>) { timed("MPI_Allreduce") { base.allreduceMax(values) } }
    public func barrier() { timed("MPI_Barrier") { base.barrier() } }
    public func abort(message: String, status: Int32) -> Never { base.abort(message: message, status: status) }
}
