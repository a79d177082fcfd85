import Foundation
import Testing
@testable import MobileNet
@testable import Trainer

/// A flag that only shapes what another option turns on (--warmup-pct the linear schedule,
/// --pct-start OneCycleLR, --ema-every the average) is refused when given without it, naming
/// both. A `--config` file's value counts as given when it differs from its recipe's, so the
/// defaults every options.json records never trip it.
@Suite struct InertFlagTests {
    @Test(arguments: [
        (["--ema-every", "5"], "--ema-decay"),
        (["--bn-recalibrate-transform", "train"], "--bn-recalibrate N"),
        (["--warmup-pct", "0.5"], "--schedule linear"),
        (["--final-lr-factor", "0.5"], "--schedule linear"),
        (["--schedule", "linear", "--pct-start", "0.2"], "--schedule onecycle"),
        (["--schedule", "linear", "--final-div-factor", "100"], "--schedule onecycle"),
        (["--schedule", "linear", "--base-momentum", "0.8"], "--schedule onecycle"),
    ])
    func aFlagWithoutTheOptionItShapesIsRefused(flags: [String], needs: String) {
        let flag = flags[flags.count - 2]
        FlagTests.expectRejected(["train"] + flags, naming: flag, mentioning: [needs, "drop \(flag)"])
        // Given at its default value it changes nothing, but the user still asked for it.
        FlagTests.expectRejected(["train"] + flags.dropLast() + [TrainingOptions.text(Self.defaultValue(of: flag))], naming: flag)
    }

    static func defaultValue(of flag: String) -> Any {
        let option = RunOption.all.first { $0.flag == flag }!
        return TrainingOptions()[keyPath: option.keyPath!]
    }

    @Test func withTheOptionTheyShapeTheFlagsAreAccepted() {
        for flags in [["--ema-every", "5", "--ema-decay", "0.9"], ["--bn-recalibrate-transform", "train", "--bn-recalibrate", "10"], ["--warmup-pct", "0.5", "--schedule", "linear"],
                      ["--final-lr-factor", "0.5", "--schedule", "linear"], ["--pct-start", "0.2", "--base-momentum", "0.8", "--final-div-factor", "100"]] {
            #expect(FlagTests.rejection(["train"] + flags) == nil, "\(flags)")
        }
    }

    @Test func aFileKeyWithoutTheOptionItShapesNamesTheFileAndKey() {
        CIFARFixture.withFolder { folder in
            let path = ConfigFileTests.write(#"{"warmupPct": 0.5}"#, in: folder)
            let message = FlagTests.rejection(["train", "--config", path]) ?? "accepted"
            #expect(message.contains(#"--config \#(path): "warmupPct" (--warmup-pct): "#) && message.contains("--schedule linear")
                    && message.contains(#"drop "warmupPct""#), "\(message)")
            #expect(FlagTests.rejection(["train", "--config", path, "--schedule", "linear"]) == nil)
        }
    }

    /// A run's options.json holds every option, defaults included: read back, it starts the
    /// same run (the recorded runs of docs/runs too); a non-default value the command line
    /// makes inert is reported as the file's.
    @Test func aRunsOptionsJSONIsAccepted() throws {
        try CIFARFixture.withFolder { folder in
            try RunConfigFile.write(TrainingOptions(), into: folder)
            #expect(FlagTests.rejection(["train", "--config", folder + "/" + RunConfigFile.fileName]) == nil)
            var linear = TrainingOptions()
            (linear.schedule, linear.warmupPct, linear.finalLearningRateFactor, linear.emaDecay, linear.emaEvery) = (.linear, 0.1, 0.01, 0.9, 3)
            try RunConfigFile.write(linear, into: folder)
            #expect(FlagTests.rejection(["train", "--config", folder + "/" + RunConfigFile.fileName]) == nil)
            let message = FlagTests.rejection(["train", "--config", folder + "/" + RunConfigFile.fileName, "--schedule", "onecycle"]) ?? "accepted"
            #expect(message.contains(#""finalLearningRateFactor" (--final-lr-factor)"#) || message.contains(#""warmupPct" (--warmup-pct)"#), "\(message)")
        }
        let runs = Fixtures.repository.appendingPathComponent("docs/runs")
        let files = FileManager.default.enumerator(atPath: runs.path)?.compactMap { $0 as? String }.filter { $0.hasSuffix("/" + RunConfigFile.fileName) } ?? []
        #expect(!files.isEmpty)
        for file in files {
            #expect(FlagTests.rejection(["train", "--config", runs.appendingPathComponent(file).path]) == nil, "\(file)")
        }
    }

    /// A resume keeps the checkpoint's schedule and average, against which its flags are
    /// checked when it is read; before that, nothing is refused as inert.
    @Test func aResumeIsCheckedAgainstItsCheckpointInstead() {
        #expect(FlagTests.rejection(["train", "--resume", "/nonexistent/run", "--warmup-pct", "0.1", "--ema-every", "2"]) == nil)
    }
}
