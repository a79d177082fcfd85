import Foundation
import MobileNet

/// How `train` takes part in a run: alone, or as one rank of an MPI job
/// (`mpirun -np K mobilenet-train train …`, or `--distributed`).
enum ProcessGroup {
    /// Environment variables mpirun (Open MPI's ORTE/PRRTE, or a PMI launcher such as
    /// Slurm's srun) sets for each rank it starts, with the job's rank count.
    static let launcherSizeVariables = ["OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "PMI_SIZE"]

    /// Ranks of this job according to the launcher's environment (nil outside a launcher).
    static func launcherSize(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> Int? {
        launcherSizeVariables.lazy.compactMap { environment[$0].flatMap(Int.init) }.first
    }

    /// Ranks of this job on the local host (OMPI_COMM_WORLD_LOCAL_SIZE), 1 when unknown.
    static func localSize(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> Int {
        environment["OMPI_COMM_WORLD_LOCAL_SIZE"].flatMap(Int.init).map { max(1, $0) } ?? 1
    }

    /// Whether this build has MPI (the package trait MPI).
    static var isAvailable: Bool {
        #if MPI
        return true
        #else
        return false
        #endif
    }

    /// Joins the MPI job when launched by mpirun with more than one rank, or when
    /// `requested` (--distributed); nil for a single process.
    /// - Throws: ``CommandFailure`` when MPI is needed but this build lacks the MPI trait.
    /// - Parameter collectiveTimeout: seconds one collective may wait for the other ranks
    ///   before this rank ends (``CollectiveWatchdog``); nil for no limit.
    static func join(requested: Bool, collectiveTimeout: Double? = nil) throws -> (any Communicator)? {
        let launched = (launcherSize() ?? 1) > 1
        guard requested || launched else { return nil }
        #if MPI
        let communicator = MPICommunicator()
        if communicator.size == 1 {
            communicator.finalize()
            return nil
        }
        return collectiveTimeout.map { CollectiveWatchdog(communicator, timeout: $0) } ?? communicator
        #else
        throw CommandFailure("""
            \(requested ? "--distributed was given" : "this process was started by mpirun with \(launcherSize() ?? 1) ranks"), \
            but this mobilenet-train was built without MPI. Install Open MPI (apt-get install libopenmpi-dev openmpi-bin) \
            and build with the MPI trait: `make release-mpi` (swift build -c release --traits MPI).
            """)
        #endif
    }

    /// MPI_Finalize before a normal exit (nothing for a single process).
    static func leave(_ communicator: (any Communicator)?) {
        #if MPI
        let watchdog = communicator as? CollectiveWatchdog
        watchdog?.stop()
        ((watchdog?.base ?? communicator) as? MPICommunicator)?.finalize()
        #endif
    }
}
