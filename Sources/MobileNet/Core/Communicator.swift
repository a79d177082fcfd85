#if canImport(Glibc)
import Glibc
#endif

/// The collective operations data-parallel training needs, as MPI names them, over a
/// group of `size` processes ("ranks") numbered 0..<size. Every rank must make the same
/// collective calls in the same order with the same counts; a call returns on a rank once
/// that rank's part is done (the buffers may be reused).
///
/// Errors: a failed collective cannot be recovered from (the other ranks would wait
/// forever), so an implementation ends every rank through ``abort(message:status:)``
/// instead of returning an error.
/// Implementations: ``SingleProcessCommunicator`` (one rank) and, built with the package
/// trait MPI, `MPICommunicator` (Open MPI's MPI_COMM_WORLD).
public protocol Communicator: AnyObject {
    /// This process's rank, 0..<size (MPI_Comm_rank).
    var rank: Int { get }
    /// Number of ranks (MPI_Comm_size).
    var size: Int { get }
    /// Copies `bytes` of rank `root` into every other rank's `bytes` (MPI_Bcast of MPI_BYTE).
    /// - Precondition: the same count on every rank.
    func broadcast(_ bytes: UnsafeMutableRawBufferPointer, root: Int)
    /// Replaces `values` on every rank by their element-wise sum over the ranks
    /// (MPI_Allreduce with MPI_IN_PLACE, MPI_FLOAT, MPI_SUM). The summation order is the
    /// implementation's, so the result can differ from a serial sum in the last bits.
    func allreduceSum(_ values: UnsafeMutableBufferPointer<Float>)
    /// As the Float form, in Double (MPI_DOUBLE): BatchNorm statistics and reported totals.
    func allreduceSum(_ values: UnsafeMutableBufferPointer<Double>)
    /// Replaces `values` by their element-wise maximum over the ranks (MPI_MAX, MPI_DOUBLE).
    func allreduceMax(_ values: UnsafeMutableBufferPointer<Double>)
    /// Returns once every rank has called it (MPI_Barrier).
    func barrier()
    /// Prints `message` to standard error and ends every rank with `status` (MPI_Abort).
    func abort(message: String, status: Int32) -> Never
}

extension Communicator {
    /// Rank 0 prints, writes metrics and checkpoints.
    public var isRoot: Bool { rank == 0 }

    /// Sums `values` over the ranks and returns the totals (a convenience for a few scalars).
    public func allreduceSum(_ values: [Double]) -> [Double] {
        var copy = values
        copy.withUnsafeMutableBufferPointer { allreduceSum($0) }
        return copy
    }

    /// True on every rank when `flag` is true on any rank (MPI_Allreduce of MPI_MAX): a
    /// stop request or a failure reaches all ranks at the same call.
    public func anyRank(_ flag: Bool) -> Bool {
        var value = flag ? 1.0 : 0.0
        withUnsafeMutablePointer(to: &value) { allreduceMax(UnsafeMutableBufferPointer(start: $0, count: 1)) }
        return value > 0
    }

    /// Broadcasts `count` floats from rank `root` (MPI_Bcast).
    public func broadcast(_ values: UnsafeMutablePointer<Float>, count: Int, root: Int) {
        broadcast(UnsafeMutableRawBufferPointer(start: values, count: count * MemoryLayout<Float>.stride), root: root)
    }
}

/// A group of one: every collective returns its input (the sum over one rank), as
/// MPI_COMM_SELF would. The training code talks to a ``Communicator`` in both cases.
public final class SingleProcessCommunicator: Communicator {
    public init() {}
    public var rank: Int { 0 }
    public var size: Int { 1 }
    public func broadcast(_ bytes: UnsafeMutableRawBufferPointer, root: Int) {
        precondition(root == 0, "broadcast root \(root) outside a group of 1")
    }
    public func allreduceSum(_ values: UnsafeMutableBufferPointer<Float>) {}
    public func allreduceSum(_ values: UnsafeMutableBufferPointer<Double>) {}
    public func allreduceMax(_ values: UnsafeMutableBufferPointer<Double>) {}
    public func barrier() {}
    public func abort(message: String, status: Int32) -> Never {
        writeStandardError(message)
        exit(status)
    }
}

/// Writes `line` and a newline to standard error (file descriptor 2, unbuffered).
func writeStandardError(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}
