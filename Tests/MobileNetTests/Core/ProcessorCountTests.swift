import Foundation
import Testing
@testable import MobileNet

/// ``ProcessInfoCores``: its rules on file texts whose counts are worked out by hand, and
/// this process's affinity against coreutils' `nproc`, which asks the kernel
/// (sched_getaffinity) rather than reading /proc.
@Suite struct ProcessorCountTests {
    @Test(arguments: [
        ("0-1\n", [0, 1]), ("0", [0]), ("1", [1]), ("0-3,8,10-11", [0, 1, 2, 3, 8, 10, 11]), ("\t0,2,4,6\n", [0, 2, 4, 6]),
    ])
    func cpuListsAreRead(list: String, cpus: [Int]) {
        #expect(ProcessInfoCores.cpuList(list) == Set(cpus))
    }

    @Test(arguments: ["", "a-b", "3-1", "0-", "-1", "0--2", "0,,1", "0-99999999999999999999", "70000"])
    func textsThatAreNotCPUListsGiveNothing(list: String) {
        #expect(ProcessInfoCores.cpuList(list) == nil)
    }

    /// The affinity counts only online processors: a mask of 0-7 on a machine with 0-3 and 6
    /// online is 5 processors; with the online list unreadable, all 8.
    @Test func affinityCountsTheOnlineProcessorsAllowed() {
        let status = "Name:\tx\nCpus_allowed:\tff\nCpus_allowed_list:\t0-7\nMems_allowed:\t1\n"
        #expect(ProcessInfoCores.affinityCount(status: status, onlineList: "0-3,6\n") == 5)
        #expect(ProcessInfoCores.affinityCount(status: status, onlineList: nil) == 8)
        #expect(ProcessInfoCores.affinityCount(status: status, onlineList: "garbage") == 8)
        #expect(ProcessInfoCores.affinityCount(status: "Cpus_allowed_list:\t1\n", onlineList: "0-1") == 1)
        #expect(ProcessInfoCores.affinityCount(status: "Name:\tx\n", onlineList: "0-1") == nil)
    }

    /// cgroup v2: the process's group from the "0::" line, then each ancestor.
    @Test func cgroupV2DirectoriesGoUpToTheRoot() {
        #expect(ProcessInfoCores.cgroupV2Directories(procSelfCgroup: "0::/a/b\n") == ["/a/b", "/a", ""])
        #expect(ProcessInfoCores.cgroupV2Directories(procSelfCgroup: "4:memory:/x\n0::/\n") == [""])
        #expect(ProcessInfoCores.cgroupV2Directories(procSelfCgroup: "1:cpu:/\n") == [])
    }

    /// cgroup v2 `cpu.max` is "quota period" in µs, or "max period" for no quota; a part of
    /// a processor counts as a whole one (150 ms per 100 ms → 2), and the tightest group wins.
    @Test func cgroupV2Quota() {
        #expect(ProcessInfoCores.cgroupV2QuotaCount(cpuMaxTexts: ["max 100000\n"]) == nil)
        #expect(ProcessInfoCores.cgroupV2QuotaCount(cpuMaxTexts: ["100000 100000\n"]) == 1)
        #expect(ProcessInfoCores.cgroupV2QuotaCount(cpuMaxTexts: ["150000 100000\n"]) == 2)
        #expect(ProcessInfoCores.cgroupV2QuotaCount(cpuMaxTexts: ["50000 100000"]) == 1)
        #expect(ProcessInfoCores.cgroupV2QuotaCount(cpuMaxTexts: ["max 100000", "400000 100000", "250000 100000"]) == 3)
        #expect(ProcessInfoCores.cgroupV2QuotaCount(cpuMaxTexts: ["garbage"]) == nil)
        #expect(ProcessInfoCores.cgroupV2QuotaCount(cpuMaxTexts: []) == nil)
    }

    /// cgroup v1 keeps quota and period in two files; a quota of -1 means none.
    @Test func cgroupV1Quota() {
        #expect(ProcessInfoCores.cgroupV1QuotaCount(quota: "-1\n", period: "100000\n") == nil)
        #expect(ProcessInfoCores.cgroupV1QuotaCount(quota: "200000\n", period: "100000\n") == 2)
        #expect(ProcessInfoCores.cgroupV1QuotaCount(quota: "250000", period: "100000") == 3)
        #expect(ProcessInfoCores.cgroupV1QuotaCount(quota: "100000", period: "0") == nil)
        #expect(ProcessInfoCores.cgroupV1QuotaCount(quota: "\(Int.max)", period: "1000") == Int.max / 1000 + 1)
    }

    /// The smallest of the three counts; what is unknown narrows nothing; the summary says why.
    @Test func usableIsTheSmallestCount() {
        #expect(ProcessInfoCores.usable(online: 8, affinity: nil, quota: nil) == 8)
        #expect(ProcessInfoCores.usable(online: 8, affinity: 3, quota: nil) == 3)
        #expect(ProcessInfoCores.usable(online: 8, affinity: 6, quota: 2) == 2)
        #expect(ProcessInfoCores.usable(online: 8, affinity: 12, quota: 20) == 8)
        #expect(ProcessInfoCores.summary(online: 2, affinity: 2, quota: nil) == "2 cores")
        #expect(ProcessInfoCores.summary(online: 2, affinity: 1, quota: nil) == "1 core usable (affinity 1 of 2 online)")
        #expect(ProcessInfoCores.summary(online: 4, affinity: 3, quota: 2) == "2 cores usable (affinity 3, cgroup quota 2 of 4 online)")
    }

    /// Under MPI the host's processors and quota are shared among its ranks, while a rank's
    /// affinity is its own: 4 ranks on 32 cores bound to a 16-core socket each get 8 threads;
    /// 2 ranks bound to one core each on 2 cores, 1.
    @Test func threadsPerRankShareTheHost() {
        #expect(ProcessInfoCores.threadsPerRank(localRanks: 4, online: 32, affinity: 16, quota: nil) == 8)
        #expect(ProcessInfoCores.threadsPerRank(localRanks: 2, online: 2, affinity: 1, quota: nil) == 1)
        #expect(ProcessInfoCores.threadsPerRank(localRanks: 2, online: 2, affinity: 2, quota: nil) == 1)
        #expect(ProcessInfoCores.threadsPerRank(localRanks: 2, online: 16, affinity: 2, quota: nil) == 2)
        #expect(ProcessInfoCores.threadsPerRank(localRanks: 2, online: 16, affinity: nil, quota: 4) == 2)
        #expect(ProcessInfoCores.threadsPerRank(localRanks: 3, online: 2, affinity: nil, quota: nil) == 1)
    }

    /// This process's affinity as read from /proc and /sys equals what `nproc` gets from the
    /// kernel (its environment without OMP_NUM_THREADS and OMP_THREAD_LIMIT, which it obeys).
    /// Newer coreutils also apply a cgroup v2 quota in `nproc`: compared only without one.
    @Test func affinityMatchesNproc() throws {
        let nproc = Process(), pipe = Pipe()
        nproc.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        nproc.arguments = ["-u", "OMP_NUM_THREADS", "-u", "OMP_THREAD_LIMIT", "nproc"]
        nproc.standardOutput = pipe
        try nproc.run()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        nproc.waitUntilExit()
        let kernelCount = try #require(Int(text.trimmingCharacters(in: .whitespacesAndNewlines)))
        if ProcessInfoCores.quota == nil {
            #expect(ProcessInfoCores.affinity == kernelCount)
            #expect(ProcessInfoCores.active == kernelCount)
        } else {
            #expect(ProcessInfoCores.active >= 1 && ProcessInfoCores.active <= ProcessInfoCores.affinity ?? ProcessInfoCores.online)
        }
    }
}
