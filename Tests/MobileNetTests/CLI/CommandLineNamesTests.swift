import Foundation
import Testing
import ArgumentParser
@testable import MobileNet
@testable import Trainer

/// Names on the command line: a misspelt subcommand is named as one (not taken for a stray
/// argument of `train`, the default subcommand), the reference recipe's former name `seed`
/// and evaluate's former `--limit` still work.
@Suite struct CommandLineNamesTests {
    @Test(arguments: [("evalute", "evaluate"), ("trian", "train"), ("exprot", "export"), ("dowload", "download"), ("flop", "flops")])
    func aMisspeltSubcommandIsNamedWithTheOneMeant(typed: String, meant: String) throws {
        let error = try #require(MobileNetTrain.unknownSubcommandError([typed, "--checkpoint", "runs/a"]))
        #expect(error.message == "unknown subcommand '\(typed)'; did you mean '\(meant)'?")
        #expect(MobileNetTrain.exitCode(for: error) == ExitCode(64))
    }

    /// `help trian` is refused as `trian` is, not answered with the top-level help.
    @Test func aMisspeltSubcommandAfterHelpIsNamedToo() throws {
        let error = try #require(MobileNetTrain.unknownSubcommandError(["help", "trian"]))
        #expect(error.message == "unknown subcommand 'trian'; did you mean 'train'?")
        #expect(MobileNetTrain.exitCode(for: error) == ExitCode(64))
        #expect(MobileNetTrain.unknownSubcommandError(["help", "banana"])?.message.hasPrefix("unknown subcommand 'banana'; the subcommands are") == true)
    }

    @Test func aWordFarFromEverySubcommandListsThemAll() throws {
        let error = try #require(MobileNetTrain.unknownSubcommandError(["banana"]))
        #expect(error.message.hasPrefix("unknown subcommand 'banana'; the subcommands are train, evaluate, predict, export, download, flops, plot, compare, allreduce-bench, help"))
    }

    @Test func flagsAloneAndKnownSubcommandsPassThrough() throws {
        for arguments in [[], ["--epochs", "3"], ["-h"], ["train", "--epochs", "3"], ["evaluate", "--checkpoint", "a"], ["help", "train"], ["help"], ["help", "-h"], ["allreduce-bench"]] {
            #expect(MobileNetTrain.unknownSubcommandError(arguments) == nil, "\(arguments)")
        }
        // Flags alone still reach train, the default subcommand.
        #expect(try MobileNetTrain.parseAsRoot(["--epochs", "3"]) is TrainCommand)
    }

    /// Levenshtein distances by hand, plus the swap of two neighbours counted once.
    @Test func editDistance() {
        #expect(MobileNetTrain.editDistance("evalute", "evaluate") == 1)   // one insertion
        #expect(MobileNetTrain.editDistance("trian", "train") == 1)        // one swap
        #expect(MobileNetTrain.editDistance("kitten", "sitting") == 3)     // k→s, e→i, +g
        #expect(MobileNetTrain.editDistance("", "plot") == 4)
        #expect(MobileNetTrain.editDistance("plot", "plot") == 0)
        #expect(MobileNetTrain.editDistance("ca", "abc") == 3)             // optimal string alignment, not full Damerau (2)
    }

    @Test func seedIsAnAliasOfTheReferenceRecipe() throws {
        #expect(Recipe(rawValue: "seed") == .reference)
        #expect(Recipe.allCases.map(\.rawValue) == ["reference", "fast", "fast-ls", "fast-lowres"])
        let command = try #require(try MobileNetTrain.parseAsRoot(["train", "--recipe", "seed"]) as? TrainCommand)
        #expect(command.options(over: TrainCommand.defaults) == Recipe.reference.options)
        #expect(TrainCommand.defaults.recipe == "reference")
    }

    /// A checkpoint written when the recipe was called `seed` resumes as `reference`, so
    /// `--resume DIR --recipe reference` (or `seed`) contradicts nothing.
    @Test func optionsSavedWithTheFormerRecipeNameDecodeAsReference() throws {
        var saved = try JSONSerialization.jsonObject(with: JSONEncoder().encode(TrainingOptions())) as! [String: Any]
        saved["recipe"] = "seed"
        let decoded = try JSONDecoder().decode(TrainingOptions.self, from: JSONSerialization.data(withJSONObject: saved))
        #expect(decoded.recipe == "reference")
        #expect(decoded == TrainingOptions())
        for name in ["reference", "seed"] {
            let command = try #require(try MobileNetTrain.parseAsRoot(["train", "--recipe", name]) as? TrainCommand)
            #expect(command.options(over: decoded).differences(from: decoded).isEmpty)
        }
    }

    @Test func evaluateLimitTestAndItsFormerNameLimitAreOneOption() throws {
        let named = try #require(try MobileNetTrain.parseAsRoot(["evaluate", "--checkpoint", "m", "--limit-test", "7"]) as? EvaluateCommand)
        let alias = try #require(try MobileNetTrain.parseAsRoot(["evaluate", "--checkpoint", "m", "--limit", "7"]) as? EvaluateCommand)
        #expect(named.limit == 7 && alias.limit == 7)
        FlagTests.expectRejected(["evaluate", "--checkpoint", "m", "--limit-test", "0"], naming: "--limit-test", mentioning: ["got 0"])
        FlagTests.expectRejected(["evaluate", "--checkpoint", "m", "--limit", "3", "--limit-test", "3"], naming: "--limit-test")
        // The help names --limit-test, as train does, and hides the former name.
        let help = MobileNetTrain.helpMessage(for: EvaluateCommand.self)
        #expect(help.contains("--limit-test") && !help.contains("--limit <"))
    }
}
