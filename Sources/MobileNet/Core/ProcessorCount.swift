import Foundation

/// How many processors this process may use, read once: the default thread count of the
/// engine and of every command's `--threads`.
///
/// The online count, narrowed by the process's CPU affinity (`taskset`, `numactl`, a
/// container's cpuset: the online processors in `Cpus_allowed_list` of /proc/self/status,
/// proc(5)) and by its CPU bandwidth quota, rounded up to whole processors: cgroup v2
/// `cpu.max` of its own group and every ancestor (the smallest), or v1
/// `cpu.cfs_quota_us` ÷ `cpu.cfs_period_us` (Linux docs: cgroup-v2.rst, sched-bwc.rst).
/// Python's `os.process_cpu_count()` counts the affinity, the JDK's container support
/// the quota. Any file missing or unreadable narrows nothing.
public enum ProcessInfoCores {
    /// Processors online (`sysconf(_SC_NPROCESSORS_ONLN)`), at least 1.
    public static let online: Int = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))

    /// Online processors in this process's affinity mask, or nil where /proc does not say.
    public static let affinity: Int? = {
        guard let status = read("/proc/self/status") else { return nil }
        return affinityCount(status: status, onlineList: read("/sys/devices/system/cpu/online"))
    }()

    /// Whole processors' worth of this process's CPU bandwidth quota (rounded up), or nil
    /// when there is none or no cgroup file says.
    public static let quota: Int? = {
        if let cgroup = read("/proc/self/cgroup"),
           let v2 = cgroupV2QuotaCount(cpuMaxTexts: cgroupV2Directories(procSelfCgroup: cgroup).compactMap { read("/sys/fs/cgroup\($0)/cpu.max") }) {
            return v2
        }
        if let quota = read("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"), let period = read("/sys/fs/cgroup/cpu/cpu.cfs_period_us") {
            return cgroupV1QuotaCount(quota: quota, period: period)
        }
        return nil
    }()

    /// The processors this process may use: min(online, affinity, quota), at least 1.
    public static let active: Int = usable(online: online, affinity: affinity, quota: quota)

    /// Engine threads for one of `localRanks` processes on one host (MPI): each rank's own
    /// affinity (a rank bound to its cores sees only them), and the host's online processors
    /// and quota shared among the ranks; at least 1.
    public static func threadsPerRank(localRanks: Int) -> Int {
        threadsPerRank(localRanks: localRanks, online: online, affinity: affinity, quota: quota)
    }

    /// What narrowed the online count, for a machine line: "2 cores", "1 core usable
    /// (affinity 1 of 2 online)", "2 cores usable (affinity 3, cgroup quota 2 of 4 online)".
    public static var summary: String { summary(online: online, affinity: affinity, quota: quota) }

    // MARK: - The rules, as functions of what the files say

    /// min(online, affinity, quota), at least 1; nil narrows nothing.
    static func usable(online: Int, affinity: Int?, quota: Int?) -> Int {
        max(1, min(online, affinity ?? online, quota ?? online))
    }

    /// See ``threadsPerRank(localRanks:)``.
    static func threadsPerRank(localRanks: Int, online: Int, affinity: Int?, quota: Int?) -> Int {
        max(1, min(affinity ?? online, usable(online: online, affinity: nil, quota: quota) / max(1, localRanks)))
    }

    /// See ``summary``.
    static func summary(online: Int, affinity: Int?, quota: Int?) -> String {
        let active = usable(online: online, affinity: affinity, quota: quota)
        let unit = active == 1 ? "core" : "cores"
        guard active < online else { return "\(active) \(unit)" }
        var why: [String] = []
        if let affinity, affinity < online { why.append("affinity \(affinity)") }
        if let quota, quota < online { why.append("cgroup quota \(quota)") }
        return "\(active) \(unit) usable (\(why.joined(separator: ", ")) of \(online) online)"
    }

    /// The online processors among those a /proc/<pid>/status text allows
    /// (`Cpus_allowed_list`, which may name offline ones), or nil when the text has no valid
    /// list. `onlineList` (/sys/devices/system/cpu/online): nil counts them all.
    static func affinityCount(status: String, onlineList: String?) -> Int? {
        let key = "Cpus_allowed_list:"
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(key) }),
              let allowed = cpuList(String(line.dropFirst(key.count)))
        else { return nil }
        guard let onlineList, let onlineSet = cpuList(onlineList) else { return allowed.count }
        let both = allowed.intersection(onlineSet).count
        return both > 0 ? both : nil
    }

    /// The processors of a Linux CPU list ("0-3,8,10-11" → {0, 1, 2, 3, 8, 10, 11}), or nil
    /// when the text is not one (or names a processor beyond 65,535).
    static func cpuList(_ list: String) -> Set<Int>? {
        var cpus = Set<Int>()
        for item in list.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ",", omittingEmptySubsequences: false) {
            let bounds = item.split(separator: "-", omittingEmptySubsequences: false)
            guard (1...2).contains(bounds.count), let low = Int(bounds[0]), let high = Int(bounds[bounds.count - 1]),
                  low >= 0, high >= low, high < 65_536
            else { return nil }
            cpus.formUnion(low...high)
        }
        return cpus.isEmpty ? nil : cpus
    }

    /// The cgroup v2 directories (under /sys/fs/cgroup) whose `cpu.max` limits this process:
    /// its own group from the "0::" line of /proc/self/cgroup, then each ancestor up to the
    /// root ("0::/a/b" → ["/a/b", "/a", ""]); empty without that line (cgroup v1 only).
    static func cgroupV2Directories(procSelfCgroup: String) -> [String] {
        guard let line = procSelfCgroup.split(separator: "\n").first(where: { $0.hasPrefix("0::") }) else { return [] }
        var path = String(line.dropFirst(3)).trimmingCharacters(in: .whitespaces)
        if path.hasSuffix("/") { path.removeLast() }
        var directories = [path]
        while let slash = path.lastIndex(of: "/") {
            path = String(path[..<slash])
            directories.append(path)
        }
        return directories
    }

    /// The smallest quota among cgroup v2 `cpu.max` texts ("quota period", µs per period;
    /// "max period": no quota), in processors rounded up ("150000 100000" → 2); nil when
    /// none sets one.
    static func cgroupV2QuotaCount(cpuMaxTexts: [String]) -> Int? {
        cpuMaxTexts.compactMap { text -> Int? in
            let fields = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
            guard fields.count == 2 else { return nil }
            return quotaCount(quota: Int(fields[0]), period: Int(fields[1]))
        }.min()
    }

    /// Processors' worth of cgroup v1 `cpu.cfs_quota_us` and `cpu.cfs_period_us` (µs),
    /// rounded up; "-1" → nil: no quota.
    static func cgroupV1QuotaCount(quota: String, period: String) -> Int? {
        quotaCount(quota: Int(quota.trimmingCharacters(in: .whitespacesAndNewlines)),
                   period: Int(period.trimmingCharacters(in: .whitespacesAndNewlines)))
    }

    private static func quotaCount(quota: Int?, period: Int?) -> Int? {
        guard let quota, let period, quota > 0, period > 0 else { return nil }
        return max(1, quota / period + (quota % period == 0 ? 0 : 1))
    }

    private static func read(_ path: String) -> String? { try? String(contentsOfFile: path, encoding: .utf8) }
}
