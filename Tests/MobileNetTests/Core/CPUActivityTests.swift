import Foundation
import Testing
@testable import MobileNet

/// ``CPUActivity``: its reading of /proc/stat and /proc/self/stat texts and the busy share,
/// worked out by hand.
@Suite struct CPUActivityTests {
    /// The aggregate line only; busy = user + nice + system + irq + softirq + steal,
    /// total = busy + idle + iowait (guest and guest_nice are inside user and nice).
    @Test func theAggregateLineIsRead() {
        let text = "cpu  100 2 30 800 10 1 3 50 7 0\ncpu0 50 1 15 400 5 0 1 25 0 0\nintr 1 2\n"
        // busy 100 + 2 + 30 + 1 + 3 + 50 = 186; total 186 + 800 + 10 = 996
        #expect(CPUActivity.sample(procStat: text) == CPUActivity.Sample(busy: 186, total: 996))
        // Old kernels stop after steal: eight fields are enough.
        #expect(CPUActivity.sample(procStat: "cpu 1 0 1 6 0 0 0 2\n") == CPUActivity.Sample(busy: 4, total: 10))
    }

    /// No aggregate line, fewer than eight fields, or a field that is not a count (which
    /// would shift the later ones into the wrong places): nothing.
    @Test(arguments: ["", "cpu0 1 2 3 4 5 6 7 8\n", "cpu 1 2 3 4 5 6 7\n", "cpu a b c d e f g h\n", "cpu 1 x 2 3 4 5 6 7 8\n"])
    func textsWithoutAFullAggregateLineGiveNothing(text: String) {
        #expect(CPUActivity.sample(procStat: text) == nil)
    }

    /// utime and stime are fields 14 and 15, counted after the command name, which may hold
    /// spaces and parentheses.
    @Test func ownTicksAreUtimePlusStime() {
        let stat = "4242 (mobilenet (x) bench) S 1 4242 4242 0 -1 4194304 100 0 0 0 37 5 0 0 20 0 3 0 123 456\n"
        #expect(CPUActivity.ownTicks(procSelfStat: stat) == 42)
        #expect(CPUActivity.ownTicks(procSelfStat: "4242 (x) S 1 2") == nil)
    }

    /// 200 ticks apart, 50 of them busy, on 2 processors: a quarter of the time, half a
    /// processor's worth; with 20 of the 50 this process's own, 30 % of it, 0.3 processors.
    @Test func busyShareTimesTheProcessors() throws {
        let first = CPUActivity.Sample(busy: 1000, total: 5000, own: 7), second = CPUActivity.Sample(busy: 1050, total: 5200, own: 7)
        #expect(try abs(#require(CPUActivity.busyProcessors(from: first, to: second, online: 2)) - 0.5) < 1e-12)
        let ownBusy = CPUActivity.Sample(busy: 1050, total: 5200, own: 27)
        #expect(try abs(#require(CPUActivity.busyProcessors(from: first, to: ownBusy, online: 2)) - 0.3) < 1e-12)
        // More own ticks than busy ones (counters read a moment apart): no other work, not less.
        let ownMore = CPUActivity.Sample(busy: 1050, total: 5200, own: 100)
        #expect(CPUActivity.busyProcessors(from: first, to: ownMore, online: 2) == 0)
    }

    /// No time passed, total or busy went backwards, or busy rose more than total: nil or
    /// at most all the processors.
    @Test func countersThatDoNotMoveForwardGiveNothing() {
        let first = CPUActivity.Sample(busy: 1000, total: 5000)
        #expect(CPUActivity.busyProcessors(from: first, to: first, online: 2) == nil)
        #expect(CPUActivity.busyProcessors(from: first, to: CPUActivity.Sample(busy: 900, total: 5300), online: 2) == nil)
        #expect(CPUActivity.busyProcessors(from: CPUActivity.Sample(busy: 1000, total: 5300), to: first, online: 2) == nil)
        #expect(CPUActivity.busyProcessors(from: first, to: CPUActivity.Sample(busy: 1300, total: 5100), online: 2) == 2)
    }

    /// The warning appears above a quarter of a processor, not at it, and names the figure.
    @Test func warnsAboveAQuarterOfAProcessor() throws {
        #expect(CPUActivity.report(busy: 0.25, online: 2).warning == nil)
        #expect(CPUActivity.report(busy: 0.2, online: 2).line == "other work: 0.20 of 2 processors busy over 0.5 s")
        #expect(CPUActivity.report(busy: 0.26, online: 2).warning != nil)
        let warning = try #require(CPUActivity.report(busy: 1.31, online: 2).warning)
        #expect(warning.contains("1.31 processor(s) busy"))
        #expect(CPUActivity.report(busy: nil, online: 2).warning == nil)
    }

    /// On this machine the reading works and lies between 0 and the online count.
    @Test func thisMachineReads() throws {
        let busy = try #require(CPUActivity.othersBusyProcessors())
        #expect(busy >= 0 && busy <= Double(ProcessInfoCores.online))
    }
}
