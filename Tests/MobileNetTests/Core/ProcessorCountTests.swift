import Foundation
import Testing
@testable import MobileNet

/// ``ProcessInfoCores``: the CPU-list and cgroup-quota readings on texts whose counts are
/// worked out by hand, and the affinity count against coreutils' `nproc`, which asks the
/// kernel directly (sched_getaffinity) rather than reading /proc.
@Suite struct ProcessorCountTests {
    @Test(arguments: [
        ("0-1\n", 2), ("0", 1), ("1", 1), ("0-3,8,10-11", 4 + 1 + 2), ("\t0,2,4,6\n", 4), ("0-63", 64),
    ])
    func cpuListsAreCounted(list: String, count: Int) {
        #expect(ProcessInfoCores.cpuListCount(list) == count)
    }

    @Test(arguments: ["", "a-b", "3-1", "0-", "-1", "0--2", "0,,1"])
    func textsThatAreNotCPUListsCountNothing(list: String) {
        #expect(ProcessInfoCores.cpuListCount(list) == nil)
    }

    /// cgroup v2 `cpu.max` is "quota period" in µs, or "max period" for no quota; a part of
    /// a processor counts as a whole one (150 ms per 100 ms → 2).
    @Test func cgroupV2Quota() {
        #expect(ProcessInfoCores.cgroupV2QuotaCount("max 100000\n") == nil)
        #expect(ProcessInfoCores.cgroupV2QuotaCount("100000 100000\n") == 1)
        #expect(ProcessInfoCores.cgroupV2QuotaCount("150000 100000\n") == 2)
        #expect(ProcessInfoCores.cgroupV2QuotaCount("50000 100000") == 1)
        #expect(ProcessInfoCores.cgroupV2QuotaCount("400000 100000") == 4)
        #expect(ProcessInfoCores.cgroupV2QuotaCount("garbage") == nil)
    }

    /// cgroup v1 keeps quota and period in two files; a quota of -1 means none.
    @Test func cgroupV1Quota() {
        #expect(ProcessInfoCores.cgroupV1QuotaCount(quota: "-1\n", period: "100000\n") == nil)
        #expect(ProcessInfoCores.cgroupV1QuotaCount(quota: "200000\n", period: "100000\n") == 2)
        #expect(ProcessInfoCores.cgroupV1QuotaCount(quota: "250000", period: "100000") == 3)
        #expect(ProcessInfoCores.cgroupV1QuotaCount(quota: "100000", period: "0") == nil)
    }

    /// This process's affinity as /proc reports it equals what `nproc` gets from the kernel
    /// (OMP_NUM_THREADS and OMP_THREAD_LIMIT, which nproc also obeys, removed from its environment).
    @Test func affinityMatchesNproc() throws {
        let nproc = Process(), pipe = Pipe()
        nproc.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        nproc.arguments = ["-u", "OMP_NUM_THREADS", "-u", "OMP_THREAD_LIMIT", "nproc"]
        nproc.standardOutput = pipe
        try nproc.run()
        nproc.waitUntilExit()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let kernelCount = try #require(Int(text.trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(ProcessInfoCores.affinity == kernelCount)
        #expect(ProcessInfoCores.active <= kernelCount && ProcessInfoCores.active >= 1)
    }
}
