import ArgumentParser
import MobileNet

/// `mobilenet-train allreduce-bench`: MPI_Allreduce of a gradient-sized buffer, timed.
struct AllreduceBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "allreduce-bench",
        abstract: "Time MPI_Allreduce (sum, float32) of the gradients' size across the ranks of an mpirun job.",
        discussion: """
        Run under mpirun with the MPI build, e.g. `mpirun -np 2 mobilenet-train allreduce-bench`. \
        Prints the median time and two bandwidths: algorithm bandwidth = bytes / time, and bus \
        bandwidth = 2(K − 1)/K · bytes / time, the per-link rate a ring allreduce needs (the \
        convention of nccl-tests), comparable across rank counts.
        """
    )

    @Option(help: "Floats per allreduce; the default is MobileNetV1's parameter count at α = 1.")
    var floats = 3_217_226

    @Option(help: "Floats per bucket, as the trainer's gradient buckets (2^20).")
    var bucketFloats = 1 << 20

    @Option(help: "Timed repetitions (median reported).")
    var repeats = 20

    @Option(help: "Untimed warm-up repetitions.")
    var warmup = 3

    func validate() throws {
        if floats < 1 || bucketFloats < 1 || repeats < 1 || warmup < 0 {
            throw ValidationError("--floats, --bucket-floats and --repeats must be at least 1, --warmup at least 0")
        }
    }

    func run() throws {
        guard let group = try reportingErrors({ try ProcessGroup.join(requested: true) }) else {
            throw ValidationError("allreduce-bench needs at least 2 ranks: run it under mpirun -np K (K ≥ 2)")
        }
        let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: floats)
        defer { buffer.deallocate() }
        buffer.initialize(repeating: 1)
        var times: [Double] = []
        for repetition in 0..<(warmup + repeats) {
            group.barrier()
            let start = monotonicSeconds()
            for lower in stride(from: 0, to: floats, by: bucketFloats) {
                group.allreduceSum(UnsafeMutableBufferPointer(rebasing: buffer[lower..<min(lower + bucketFloats, floats)]))
            }
            let elapsed = monotonicSeconds() - start
            if repetition >= warmup { times.append(elapsed) }
        }
        // The slowest rank's time is the collective's time.
        var slowest = times
        slowest.withUnsafeMutableBufferPointer { group.allreduceMax($0) }
        let median = slowest.sorted()[slowest.count / 2]
        let bytes = Double(floats * MemoryLayout<Float>.size), k = Double(group.size)
        if group.isRoot {
            print(String(format: "allreduce of %d floats (%.1f MB) in %d bucket(s), %d ranks: median %.3f ms over %d runs; "
                         + "algorithm bandwidth %.2f GB/s, bus bandwidth %.2f GB/s (%.1f Gbit/s)",
                         floats, bytes / 1e6, (floats + bucketFloats - 1) / bucketFloats, group.size, median * 1e3, repeats,
                         bytes / median / 1e9, 2 * (k - 1) / k * bytes / median / 1e9, 2 * (k - 1) / k * bytes / median * 8 / 1e9))
        }
        ProcessGroup.leave(group)
    }
}
