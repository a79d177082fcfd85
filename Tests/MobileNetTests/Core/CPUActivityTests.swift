import Foundation
import Testing
@testable import MobileNet

/// ``CPUActivity``: its reading of /proc/stat texts and the busy share, worked out by hand.
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

    @Test(arguments: ["", "cpu0 1 2 3 4 5 6 7 8\n", "cpu 1 2 3 4 5 6 7\n", "cpu a b c d e f g h\n"])
    func textsWithoutAFullAggregateLineGiveNothing(text: String) {
        #expect(CPUActivity.sample(procStat: text) == nil)
    }

    /// Between two samples 200 jiffies apart, 50 of them busy, on 2 processors: a quarter of
    /// the time, half a processor's worth.
    @Test func busyShareTimesTheProcessors() throws {
        let first = CPUActivity.Sample(busy: 1000, total: 5000), second = CPUActivity.Sample(busy: 1050, total: 5200)
        #expect(try #require(CPUActivity.busyProcessors(from: first, to: second, online: 2)) == 0.5)
        #expect(CPUActivity.busyProcessors(from: first, to: first, online: 2) == nil)
        #expect(CPUActivity.busyProcessors(from: second, to: first, online: 2) == nil)
    }

    /// The warning appears above a quarter of a processor and names the figure.
    @Test func warnsAboveAQuarterOfAProcessor() throws {
        #expect(CPUActivity.report(busy: 0.2, online: 2).warning == nil)
        #expect(CPUActivity.report(busy: 0.2, online: 2).line == "other work: 0.20 of 2 processors busy over 0.5 s")
        let warning = try #require(CPUActivity.report(busy: 1.31, online: 2).warning)
        #expect(warning.contains("1.31 processor(s) busy"))
        #expect(CPUActivity.report(busy: nil, online: 2).warning == nil)
    }

    /// On this machine the reading works and lies between 0 and the online count.
    @Test func thisMachineReads() throws {
        let busy = try #require(CPUActivity.othersBusyProcessors(over: 0.2))
        #expect(busy >= 0 && busy <= Double(ProcessInfoCores.online) + 1e-9)
    }
}
