import Foundation
import Testing
import MobileNet

/// The library example of docs/library.md (linked from the README), kept compiling and
/// running (on a generated data set instead of the real CIFAR-10 folder).
@Suite struct ReadmeExampleTests {
    @Test func buildTrainAStepAndPredict() throws {
        let folder = CIFARFixture.temporaryFolder()
        defer { CIFARFixture.remove(folder) }
        CIFARFixture.writeCIFAR10(in: folder, trainCounts: [4, 4, 4, 2, 2], testCount: 4)

        // --- README example begins (with widthMultiplier 0.25 and batch 8 to stay fast) ---
        setEngineThreads(ProcessInfoCores.active)                 // our loops and OpenBLAS
        let train = try CIFARDataset.load(directory: folder, split: .train)
        let loader = BatchLoader(dataset: train, configuration: .training(batchSize: 8, seed: 0))
        let model = MobileNetV1(numClasses: 10, widthMultiplier: 0.25, seed: 0)
        var options = TrainingOptions()                           // the reference recipe
        options.epochs = 1
        let session = try TrainingSession(model: model, options: options, stepsPerEpoch: loader.stepsPerEpoch)

        loader.start(epoch: 0)
        let batch = try #require(loader.next())                   // [3, 32, 32, 8], C×H×W×N
        let result = try session.step(images: batch.images, targets: batch.labels)
        print("loss \(result.loss), lr \(result.learningRate)")

        let classes = model.predictions(batch.images)             // eval mode, argmax
        let probabilities = model.probabilities(batch.images)     // softmax rows
        loader.stop()
        // --- README example ends ---

        #expect(result.loss.isFinite && result.loss > 0)
        #expect(classes.count == 8 && classes.allSatisfy { (0..<10).contains($0) })
        for (row, top) in zip(probabilities, classes) {
            #expect(abs(row.reduce(0, +) - 1) < 1e-5)
            #expect(row.indices.max { row[$0] < row[$1] } == top)
        }
    }
}
