import Foundation
import Testing
@testable import MobileNet

/// `--schedule linear` against PyTorch: Fixtures/linear_schedule.json holds the learning rates
/// of SequentialLR([LinearLR(start, 1, W), LinearLR(1, F, T − W)], milestones=[W]) at every
/// step (scripts/make_linear_schedule_fixture.py).
@Suite struct LinearWarmupLRTests {
    struct Case: Decodable {
        let name: String
        let maxLR: Double
        let totalSteps: Int
        let warmupPct: Double
        let startFactor: Double
        let finalFactor: Double
        let warmupSteps: Int
        let lr: [Double]

        enum CodingKeys: String, CodingKey {
            case name, maxLR = "max_lr", totalSteps = "total_steps", warmupPct = "warmup_pct", startFactor = "start_factor"
            case finalFactor = "final_lr_factor", warmupSteps = "warmup_steps", lr
        }
    }

    static let cases: [String: Case] = {
        struct File: Decodable { let cases: [Case] }
        let file = try! JSONDecoder().decode(File.self, from: Data(contentsOf: Fixtures.url("linear_schedule.json")))
        return Dictionary(uniqueKeysWithValues: file.cases.map { ($0.name, $0) })
    }()

    /// |a − b| ≤ 1e-12 + 1e-9·|b|: PyTorch steps LinearLR by its recursive form, this by the closed form.
    static func expectClose(_ a: Double, _ b: Double, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(abs(a - b) <= 1e-12 + 1e-9 * abs(b), "\(what): \(a), PyTorch \(b)", sourceLocation: sourceLocation)
    }

    @Test(arguments: ["ten_steps", "odd_split", "no_warmup", "long"])
    func everyStepMatchesPyTorch(_ name: String) throws {
        let table = try #require(Self.cases[name])
        #expect(table.lr.count == table.totalSteps + 1)
        var schedule = try LinearWarmupLR(maxLearningRate: table.maxLR, totalSteps: table.totalSteps, warmupPct: table.warmupPct,
                                          startFactor: table.startFactor, finalFactor: table.finalFactor, momentum: 0.9)
        #expect(schedule.warmupSteps == table.warmupSteps)
        for (i, expected) in table.lr.enumerated() {
            #expect(schedule.stepCount == i)
            Self.expectClose(schedule.values(at: i).learningRate, expected, "\(name) lr[\(i)]")
            #expect(schedule.values(at: i).momentum == 0.9)
            schedule.step()
        }
    }

    /// `train --schedule linear --warmup-pct 0.3 --final-lr-factor 0.01 --max-lr 0.4` over 2
    /// epochs of 5 steps: the session writes PyTorch's "ten_steps" rates and a constant
    /// --max-momentum into SGD at every step, also after a resume mid-run.
    @Test func aSessionFollowsTheLinearScheduleFromItsFlags() throws {
        let table = try #require(Self.cases["ten_steps"])
        var options = TrainingOptions()
        (options.schedule, options.warmupPct, options.finalLearningRateFactor) = (.linear, 0.3, 0.01)
        (options.maxLearningRate, options.divFactor, options.epochs, options.widthMultiplier) = (0.4, 25, 2, 0.125)
        let session = try TrainingSession(model: MobileNetV1(widthMultiplier: 0.125), options: options, stepsPerEpoch: 5)
        for i in 0..<10 {
            try session.seek(toStep: i)
            session.schedule.apply(to: session.optimizer)
            Self.expectClose(session.optimizer.learningRate, table.lr[i], "SGD's lr at step \(i)")
            #expect(session.optimizer.momentum == 0.95)
        }
        // The default stays OneCycleLR.
        #expect(TrainingOptions().schedule == .onecycle)
        guard case .oneCycle = try TrainingSession.schedule(TrainingOptions(), totalSteps: 10) else {
            Issue.record("the default schedule is not OneCycleLR"); return
        }
    }
}
