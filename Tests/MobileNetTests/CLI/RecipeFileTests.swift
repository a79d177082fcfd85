import Foundation
import Testing
@testable import MobileNet
@testable import Trainer

/// The named recipes as the repository's files, recipes/NAME.json: read through `--config`
/// they give the options `--recipe NAME` gives (the code's ``Recipe``, which an installed
/// binary uses), and their values alone, without the code's recipe under them, give the
/// same, so neither can change without the other.
@Suite struct RecipeFileTests {
    static let folder = Fixtures.repository.appendingPathComponent("recipes")

    static func path(_ recipe: Recipe) -> String {
        folder.appendingPathComponent(recipe.rawValue + ".json").path
    }

    static func options(_ arguments: [String]) throws -> TrainingOptions {
        try RecipeTests.trainCommand(arguments).options(over: TrainCommand.defaults)
    }

    @Test func theFolderHoldsOneFilePerRecipe() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.folder.path).sorted()
        #expect(names == Recipe.allCases.map { $0.rawValue + ".json" }.sorted())
    }

    @Test(arguments: Recipe.allCases)
    func aRecipeFileGivesTheOptionsOfItsRecipe(recipe: Recipe) throws {
        let path = Self.path(recipe)
        let viaConfig = try Self.options(["--config", path])
        #expect(viaConfig == (try Self.options(["--recipe", recipe.rawValue])), "\(viaConfig.differences(from: recipe.options))")
        #expect(viaConfig == recipe.options)

        // The file's values over the defaults, the recipe only named: a value the code's
        // recipe sets and the file leaves out fails here, not silently above.
        let file = try RunConfigFile(path: path)
        #expect(file.recipe == recipe)
        var alone = TrainingOptions()
        alone.recipe = recipe.rawValue
        for override in file.overrides { override.apply(&alone) }
        #expect(alone == recipe.options, "\(alone.differences(from: recipe.options))")
    }

    /// docs/training.md's way to start from a file: `--config recipes/fast.json --epochs 21`.
    @Test func startingFromTheFastFileWithFewerEpochsIsTheFastRecipeShortened() throws {
        let shortened = try Self.options(["--config", Self.path(.fast), "--epochs", "21"])
        #expect(shortened == (try Self.options(["--recipe", "fast", "--epochs", "21"])))
        #expect(shortened.recipe == "fast" && shortened.epochs == 21)
        #expect(shortened.cropSchedule == CropSchedule(phases: [.init(size: 24, epochs: 11)]))
    }
}
