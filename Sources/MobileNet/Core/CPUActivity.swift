import Foundation

/// How much of the processors other work takes, from the kernel's CPU time counters: the
/// aggregate `cpu` line of /proc/stat (proc(5)), read twice while this process sleeps, so
/// that whatever ran meanwhile is someone else's. A benchmark takes it just before it
/// measures, to say (and warn) when its timings will be low and unsteady.
///
/// Busy time is user + nice + system + irq + softirq + steal: `steal` is the time a virtual
/// machine's host gave the processors to other guests, the usual reason a quiet VM runs slow;
/// `guest` is already inside `user`. Idle time is idle + iowait.
public enum CPUActivity {
    /// Busy and total jiffies of all processors together, from one read of /proc/stat.
    struct Sample: Equatable {
        let busy: UInt64
        let total: UInt64
    }

    /// Processors' worth of time that other work took over `seconds` (this process sleeps
    /// meanwhile): 0 on a quiet machine, up to the online count; steal time counts. nil where
    /// /proc/stat is unreadable or the counters did not move.
    public static func othersBusyProcessors(over seconds: Double = 0.5) -> Double? {
        guard let first = read() else { return nil }
        Thread.sleep(forTimeInterval: seconds)
        guard let second = read() else { return nil }
        return busyProcessors(from: first, to: second, online: ProcessInfoCores.online)
    }

    /// The sentence a benchmark prints beside its machine line: "other work: 0.02 of 2
    /// processors busy over 0.5 s", and a warning when it is more than a quarter of one.
    public static func report(busy: Double?, online: Int = ProcessInfoCores.online, seconds: Double = 0.5) -> (line: String, warning: String?) {
        guard let busy else { return ("other work: unknown (/proc/stat unreadable)", nil) }
        let line = "other work: \(String(format: "%.2f", busy)) of \(online) processor\(online == 1 ? "" : "s") busy over \(String(format: "%.1f", seconds)) s"
        guard busy > quietLimit else { return (line, nil) }
        return (line, "warning: other work kept \(String(format: "%.2f", busy)) processor(s) busy just before this measurement "
                + "(steal time from the VM's host included): timings taken now are low and unsteady. Stop that work or wait, "
                + "and compare only figures measured side by side in one command.")
    }

    /// Above this many processors' worth of other work a benchmark warns.
    static let quietLimit = 0.25

    // MARK: - The rule, as a function of what the file says

    /// Reads the aggregate `cpu` line: nil when there is none or it has fewer than the eight
    /// fields user … steal.
    static func sample(procStat: String) -> Sample? {
        guard let line = procStat.split(separator: "\n").first(where: { $0.hasPrefix("cpu ") }) else { return nil }
        let fields = line.split(separator: " ").dropFirst().compactMap { UInt64($0) }
        guard fields.count >= 8 else { return nil }
        let (user, nice, system, idle, iowait, irq, softirq, steal) =
            (fields[0], fields[1], fields[2], fields[3], fields[4], fields[5], fields[6], fields[7])
        let busy = user + nice + system + irq + softirq + steal
        return Sample(busy: busy, total: busy + idle + iowait)
    }

    /// The busy share of the time between two samples, times the online processors; nil
    /// when no time passed or a counter went backwards.
    static func busyProcessors(from first: Sample, to second: Sample, online: Int) -> Double? {
        guard second.total > first.total, second.busy >= first.busy else { return nil }
        return Double(second.busy - first.busy) / Double(second.total - first.total) * Double(online)
    }

    private static func read() -> Sample? {
        (try? String(contentsOfFile: "/proc/stat", encoding: .utf8)).flatMap { sample(procStat: $0) }
    }
}
