#if MPI
import CMPI
#if canImport(Glibc)
import Glibc
#endif

/// Open MPI's MPI_COMM_WORLD as a ``Communicator`` (built with the package trait MPI).
///
/// `init` calls MPI_Init_thread (MPI_THREAD_FUNNELED: only the thread that initialised MPI
/// calls it; the engine's worker threads never do) unless MPI is already initialised, and
/// sets MPI_ERRORS_RETURN so a failed call is reported with its name before every rank is
/// ended by MPI_Abort. Call ``finalize()`` once before the process exits normally
/// (MPI_Finalize); a process that exits without it makes mpirun report an error.
public final class MPICommunicator: Communicator {
    public let rank: Int
    public let size: Int
    private let comm: MPI_Comm
    private var finalized = false

    public init() {
        var initialized: Int32 = 0
        MPI_Initialized(&initialized)
        if initialized == 0 {
            var provided: Int32 = 0
            let status = MPI_Init_thread(nil, nil, cmpi_thread_funneled(), &provided)
            if status != cmpi_success() {
                writeStandardError("error: MPI_Init_thread failed with code \(status)")
                exit(1)
            }
        }
        comm = cmpi_comm_world()
        _ = cmpi_errors_return(comm)
        var r: Int32 = 0, s: Int32 = 0
        MPI_Comm_rank(comm, &r)
        MPI_Comm_size(comm, &s)
        rank = Int(r)
        size = Int(s)
    }

    public func broadcast(_ bytes: UnsafeMutableRawBufferPointer, root: Int) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        check(MPI_Bcast(base, Int32(bytes.count), cmpi_byte(), Int32(root), comm), "MPI_Bcast", count: bytes.count)
    }

    public func allreduceSum(_ values: UnsafeMutableBufferPointer<Float>) {
        guard let base = values.baseAddress, values.count > 0 else { return }
        check(MPI_Allreduce(cmpi_in_place(), base, Int32(values.count), cmpi_float(), cmpi_sum(), comm),
              "MPI_Allreduce(MPI_FLOAT, MPI_SUM)", count: values.count)
    }

    public func allreduceSum(_ values: UnsafeMutableBufferPointer<Double>) {
        guard let base = values.baseAddress, values.count > 0 else { return }
        check(MPI_Allreduce(cmpi_in_place(), base, Int32(values.count), cmpi_double(), cmpi_sum(), comm),
              "MPI_Allreduce(MPI_DOUBLE, MPI_SUM)", count: values.count)
    }

    public func allreduceMax(_ values: UnsafeMutableBufferPointer<Double>) {
        guard let base = values.baseAddress, values.count > 0 else { return }
        check(MPI_Allreduce(cmpi_in_place(), base, Int32(values.count), cmpi_double(), cmpi_max(), comm),
              "MPI_Allreduce(MPI_DOUBLE, MPI_MAX)", count: values.count)
    }

    public func barrier() {
        check(MPI_Barrier(comm), "MPI_Barrier", count: 0)
    }

    public func abort(message: String, status: Int32) -> Never {
        writeStandardError(message)
        MPI_Abort(comm, status)
        exit(status)
    }

    /// MPI_Finalize, once; later calls do nothing.
    public func finalize() {
        guard !finalized else { return }
        finalized = true
        MPI_Finalize()
    }

    /// Ends every rank with the call's name and MPI's error text when `status` is not MPI_SUCCESS.
    private func check(_ status: Int32, _ call: String, count: Int) {
        guard status != cmpi_success() else { return }
        var text = [CChar](repeating: 0, count: Int(cmpi_max_error_string()) + 1)
        var length: Int32 = 0
        MPI_Error_string(status, &text, &length)
        let reason = String(decoding: text.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        abort(message: "error: rank \(rank) of \(size): \(call) of \(count) elements failed: \(reason)", status: 1)
    }
}
#endif
