import Foundation

/// How much of the processors other work takes, from the kernel's CPU time counters: the
/// aggregate `cpu` line of /proc/stat (proc(5)), read twice over ``window`` seconds while
/// this process sleeps, less this process's own CPU time meanwhile (/proc/self/stat: its
/// library threads, such as OpenBLAS's, may still spin after loading). A benchmark takes it
/// just before it measures, to say (and warn) when its timings will be low and unsteady.
///
/// Busy time is user + nice + system + irq + softirq + steal: `steal` is the time a virtual
/// machine's host gave the processors to other guests, the usual reason a quiet VM runs slow;
/// `guest` is already inside `user`. Idle time is idle + iowait. All in clock ticks
/// (USER_HZ). The figure is machine-wide: a process pinned to some processors still sees
/// work on the others (which shares memory bandwidth and caches), and a cgroup quota's own
/// throttling does not show.
public enum CPUActivity {
    /// Busy and total clock ticks of all processors together, from one read of /proc/stat,
    /// and this process's own (user + system) ticks at the same moment.
    struct Sample: Equatable {
        let busy: UInt64
        let total: UInt64
        var own: UInt64 = 0
    }

    /// Seconds between the two readings.
    public static let window = 0.5

    /// Above this many processors' worth of other work a benchmark warns.
    static let quietLimit = 0.25

    /// Processors' worth of time that other work took over ``window`` seconds (this process
    /// sleeps meanwhile): 0 on a quiet machine, at most the online count; steal time counts.
    /// nil where /proc/stat is unreadable or its counters did not move forward.
    public static func othersBusyProcessors() -> Double? {
        guard let first = read() else { return nil }
        Thread.sleep(forTimeInterval: window)
        guard let second = read() else { return nil }
        return busyProcessors(from: first, to: second, online: ProcessInfoCores.online)
    }

    /// The sentence a benchmark prints beside its machine line, "other work: 0.02 of 2
    /// processors busy over 0.5 s", and a warning when it is more than ``quietLimit``.
    public static func report(busy: Double?, online: Int = ProcessInfoCores.online) -> (line: String, warning: String?) {
        guard let busy else { return ("other work: not measured (/proc/stat unreadable, or its counters did not move)", nil) }
        let line = "other work: \(fixed(busy)) of \(online) processor\(online == 1 ? "" : "s") busy over \(window) s"
        guard busy > quietLimit else { return (line, nil) }
        return (line, "warning: other work kept \(fixed(busy)) processor(s) busy just before this measurement "
                + "(steal time from the VM's host included): timings taken now are low and unsteady. Stop that work or wait, "
                + "and compare only figures measured side by side in one command.")
    }

    // MARK: - The rule, as a function of what the files say

    /// Reads the aggregate `cpu` line: nil when there is none or any of its first eight
    /// fields (user … steal) is not a count.
    static func sample(procStat: String, own: UInt64 = 0) -> Sample? {
        guard let line = procStat.split(separator: "\n").first(where: { $0.hasPrefix("cpu ") }) else { return nil }
        let fields = line.split(separator: " ").dropFirst().prefix(8).map { UInt64($0) }
        guard fields.count == 8, fields.allSatisfy({ $0 != nil }) else { return nil }
        let f = fields.map { $0! }
        let busy = f[0] + f[1] + f[2] + f[5] + f[6] + f[7]  // user nice system irq softirq steal
        return Sample(busy: busy, total: busy + f[3] + f[4], own: own)  // + idle iowait
    }

    /// This process's user + system ticks from /proc/self/stat: fields 14 and 15, counted
    /// after the parenthesised command name (which may hold spaces).
    static func ownTicks(procSelfStat: String) -> UInt64? {
        guard let close = procSelfStat.lastIndex(of: ")") else { return nil }
        let fields = procSelfStat[procSelfStat.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state); utime is field 14, stime field 15.
        guard fields.count > 12, let user = UInt64(fields[11]), let system = UInt64(fields[12]) else { return nil }
        return user + system
    }

    /// Other work's share of the time between two samples (busy less this process's own
    /// ticks, at most all of it), times the online processors; nil when no time passed or a
    /// counter went backwards.
    static func busyProcessors(from first: Sample, to second: Sample, online: Int) -> Double? {
        guard second.total > first.total, second.busy >= first.busy, second.own >= first.own else { return nil }
        let others = (second.busy - first.busy) - min(second.busy - first.busy, second.own - first.own)
        return min(1, Double(others) / Double(second.total - first.total)) * Double(online)
    }

    private static func read() -> Sample? {
        guard let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8) else { return nil }
        let own = (try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8)).flatMap { ownTicks(procSelfStat: $0) } ?? 0
        return sample(procStat: stat, own: own)
    }

    private static func fixed(_ value: Double) -> String { String(format: "%.2f", value) }
}
