import Foundation
import Testing
@testable import MobileNet

/// A table of Fixtures/onecycle.json: PyTorch's lr and momentum in force at each optimizer step.
struct OneCycleTable: Decodable {
    let maxLR: Double
    let totalSteps: Int
    let divFactor: Double
    let finalDivFactor: Double
    let pctStart: Double
    let lr: [Double]
    let momentum: [Double]

    enum CodingKeys: String, CodingKey {
        case maxLR = "max_lr", totalSteps = "total_steps", divFactor = "div_factor"
        case finalDivFactor = "final_div_factor", pctStart = "pct_start", lr, momentum
    }

    /// Both tables, parsed once.
    static let all: [String: OneCycleTable] = {
        let data = try! Data(contentsOf: Fixtures.url("onecycle.json"))
        return try! JSONDecoder().decode([String: OneCycleTable].self, from: data)
    }()

    func schedule(stepCount: Int = 0) throws -> OneCycleLR {
        try OneCycleLR(maxLearningRate: maxLR, totalSteps: totalSteps, pctStart: pctStart,
                       divFactor: divFactor, finalDivFactor: finalDivFactor, stepCount: stepCount)
    }
}

/// The golden rule for schedule values: |a − b| ≤ 1e-6·|b|.
func expectRelativelyClose(
    _ actual: Double, _ expected: Double, _ what: @autoclosure () -> String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(abs(actual - expected) <= 1e-6 * abs(expected),
            "\(what()): \(actual), expected \(expected)", sourceLocation: sourceLocation)
}

@Suite struct OneCycleLRTests {
    @Test(arguments: ["small", "seed_60_epochs"])
    func everyStepMatchesPyTorchTable(_ name: String) throws {
        let table = try #require(OneCycleTable.all[name])
        #expect(table.lr.count == table.totalSteps && table.momentum.count == table.totalSteps)
        var schedule = try table.schedule()
        for i in 0..<table.totalSteps {
            #expect(schedule.stepCount == i)
            expectRelativelyClose(schedule.learningRate, table.lr[i], "\(name) lr[\(i)]")
            expectRelativelyClose(schedule.momentum, table.momentum[i], "\(name) momentum[\(i)]")
            try schedule.step()
        }
        #expect(schedule.stepCount == table.totalSteps)
    }

    @Test(arguments: ["small", "seed_60_epochs"])
    func stepAfterTheLastThrowsPyTorchsError(_ name: String) throws {
        let table = try #require(OneCycleTable.all[name])
        var schedule = try table.schedule(stepCount: table.totalSteps - 1)
        try schedule.step()
        let n = table.totalSteps
        #expect(throws: OneCycleLRError.steppedPastEnd(attempted: n + 1, totalSteps: n)) { try schedule.step() }
        #expect(schedule.stepCount == n)
        let message = OneCycleLRError.steppedPastEnd(attempted: n + 1, totalSteps: n).description
        #expect(message.hasPrefix("Tried to step \(n + 1) times. The specified number of total steps is \(n)"))
    }

    @Test func resumedScheduleContinuesTheTable() throws {
        let table = try #require(OneCycleTable.all["seed_60_epochs"])
        for start in [1, 7037, 7038, 15_000, table.totalSteps - 1] {
            var schedule = try table.schedule(stepCount: start)
            for i in start..<min(start + 3, table.totalSteps) {
                expectRelativelyClose(schedule.learningRate, table.lr[i], "resumed at \(start): lr[\(i)]")
                expectRelativelyClose(schedule.values(at: i).momentum, table.momentum[i], "resumed at \(start): momentum[\(i)]")
                try schedule.step()
            }
        }
    }

    @Test func phaseEndpointsAreInitialMaxAndMinLearningRates() throws {
        // pct_start·total − 1 = 29 is a whole step, so the warm-up peak is hit exactly there.
        let schedule = try OneCycleLR(maxLearningRate: 0.4, totalSteps: 100, pctStart: 0.3,
                                      divFactor: 10, finalDivFactor: 100)
        expectRelativelyClose(schedule.values(at: 0).learningRate, 0.04, "initial lr")
        expectRelativelyClose(schedule.values(at: 0).momentum, 0.95, "initial momentum")
        expectRelativelyClose(schedule.values(at: 29).learningRate, 0.4, "peak lr")
        expectRelativelyClose(schedule.values(at: 29).momentum, 0.85, "momentum at the peak")
        expectRelativelyClose(schedule.values(at: 99).learningRate, 0.0004, "final lr")
        expectRelativelyClose(schedule.values(at: 99).momentum, 0.95, "final momentum")
        // Halfway through the annealing phase (step 64) the cosine is at its midpoint.
        expectRelativelyClose(schedule.values(at: 64).learningRate, (0.4 + 0.0004) / 2, "mid-anneal lr")
    }

    @Test func invalidArgumentsThrow() {
        #expect(throws: OneCycleLRError.invalidTotalSteps(0)) {
            try OneCycleLR(maxLearningRate: 0.1, totalSteps: 0)
        }
        #expect(throws: OneCycleLRError.invalidPctStart(1.5)) {
            try OneCycleLR(maxLearningRate: 0.1, totalSteps: 10, pctStart: 1.5)
        }
        #expect(throws: OneCycleLRError.emptyWarmUp(pctStart: 0.25, totalSteps: 4)) {
            try OneCycleLR(maxLearningRate: 0.1, totalSteps: 4, pctStart: 0.25)
        }
        #expect(throws: OneCycleLRError.invalidStepCount(stepCount: 11, totalSteps: 10)) {
            try OneCycleLR(maxLearningRate: 0.1, totalSteps: 10, stepCount: 11)
        }
    }

    @Test func applySetsLearningRateAndMomentumOnlyWhenCycling() throws {
        let parameter = Parameter(name: "weight", kind: .linearWeight, shape: [2])
        let optimizer = SGD(parameters: [parameter], learningRate: 1, momentum: 0.5)
        let table = try #require(OneCycleTable.all["small"])
        var schedule = try table.schedule()
        try schedule.step()
        schedule.apply(to: optimizer)
        expectRelativelyClose(optimizer.learningRate, table.lr[1], "applied lr")
        expectRelativelyClose(optimizer.momentum, table.momentum[1], "applied momentum")

        let fixedMomentum = SGD(parameters: [parameter], learningRate: 1, momentum: 0.5)
        try OneCycleLR(maxLearningRate: table.maxLR, totalSteps: table.totalSteps, pctStart: table.pctStart,
                       divFactor: table.divFactor, finalDivFactor: table.finalDivFactor, cycleMomentum: false).apply(to: fixedMomentum)
        expectRelativelyClose(fixedMomentum.learningRate, table.lr[0], "applied lr without cycling momentum")
        #expect(fixedMomentum.momentum == 0.5, "the optimizer's own momentum is kept (assigned, not computed)")
    }
}
