import Foundation

/// How many processors this process may use, read once: the default thread count of the
/// engine and of every command's `--threads`.
///
/// The online count, narrowed by the process's CPU affinity (`taskset`, `numactl`, a
/// container's cpuset: `Cpus_allowed_list` in /proc/self/status) and by a CPU bandwidth
/// quota (cgroup v2 `cpu.max`, v1 `cpu.cfs_quota_us` ÷ `cpu.cfs_period_us`, rounded up), as
/// Python's `os.process_cpu_count()` (affinity) and the JDK's container support (quota) do.
/// A count the system does not state (a file missing or unreadable) narrows nothing.
public enum ProcessInfoCores {
    /// Processors online (`sysconf(_SC_NPROCESSORS_ONLN)`), at least 1.
    public static let online: Int = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))

    /// Processors in this process's affinity mask, or nil where /proc does not say.
    public static let affinity: Int? = {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed_list:") })
        else { return nil }
        return cpuListCount(String(line.dropFirst("Cpus_allowed_list:".count)))
    }()

    /// Whole processors' worth of this process's CPU bandwidth quota (rounded up), or nil
    /// when there is no quota or no cgroup file says.
    public static let quota: Int? = {
        func read(_ path: String) -> String? { try? String(contentsOfFile: path, encoding: .utf8) }
        if let v2 = read("/sys/fs/cgroup/cpu.max") { return cgroupV2QuotaCount(v2) }
        if let quota = read("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"), let period = read("/sys/fs/cgroup/cpu/cpu.cfs_period_us") {
            return cgroupV1QuotaCount(quota: quota, period: period)
        }
        return nil
    }()

    /// The processors this process may use: min(online, affinity, quota), at least 1.
    public static let active: Int = max(1, min(online, affinity ?? online, quota ?? online))

    /// "2 cores", or what narrowed the online count: "1 core (taskset/cpuset; 2 online)".
    public static var description: String {
        let unit = active == 1 ? "core" : "cores"
        guard active < online else { return "\(active) \(unit)" }
        var why: [String] = []
        if let affinity, affinity < online { why.append("affinity \(affinity)") }
        if let quota, quota < online { why.append("cgroup quota \(quota)") }
        return "\(active) \(unit) usable (\(why.joined(separator: ", ")) of \(online) online)"
    }

    /// The number of processors in a Linux CPU list ("0-3,8,10-11" → 7), or nil when
    /// the text is not one.
    public static func cpuListCount(_ list: String) -> Int? {
        var count = 0
        for item in list.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ",", omittingEmptySubsequences: false) {
            let bounds = item.split(separator: "-", omittingEmptySubsequences: false)
            guard (1...2).contains(bounds.count), let low = Int(bounds[0]), let high = Int(bounds[bounds.count - 1]),
                  low >= 0, high >= low
            else { return nil }
            count += high - low + 1
        }
        return count > 0 ? count : nil
    }

    /// Processors' worth of a cgroup v2 `cpu.max` ("150000 100000" → 2; "max 100000" → nil).
    public static func cgroupV2QuotaCount(_ text: String) -> Int? {
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard fields.count == 2 else { return nil }
        return quotaCount(quota: Int(fields[0]), period: Int(fields[1]))
    }

    /// Processors' worth of cgroup v1 `cpu.cfs_quota_us` and `cpu.cfs_period_us`
    /// ("-1" → nil: no quota).
    public static func cgroupV1QuotaCount(quota: String, period: String) -> Int? {
        quotaCount(quota: Int(quota.trimmingCharacters(in: .whitespacesAndNewlines)),
                   period: Int(period.trimmingCharacters(in: .whitespacesAndNewlines)))
    }

    private static func quotaCount(quota: Int?, period: Int?) -> Int? {
        guard let quota, let period, quota > 0, period > 0 else { return nil }
        return max(1, (quota + period - 1) / period)
    }
}
