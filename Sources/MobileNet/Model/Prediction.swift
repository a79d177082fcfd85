extension MobileNetV1 {
    /// Class probabilities of a batch in eval mode: softmax of the logits, computed
    /// stably (max subtracted). Returns `N` rows of `numClasses` values, image by image.
    /// - Parameter images: normalised images [inputChannels, H, W, N] (engine layout).
    public func probabilities(_ images: FeatureMap) -> [[Float]] {
        let logits = forward(images, training: false)
        let n = logits.shape.batch
        return (0..<n).map { image in
            let column = (0..<numClasses).map { logits.data[$0 * n + image] }
            let top = column.max() ?? 0
            let exps = column.map { Float(Foundation.exp(Double($0 - top))) }
            let sum = exps.reduce(0, +)
            return exps.map { $0 / sum }
        }
    }

    /// The top-1 class of each image of a batch, in eval mode (argmax of the logits;
    /// the first maximum on ties, as torch.argmax; NaN logits never win, as ``EvaluationTally``).
    public func predictions(_ images: FeatureMap) -> [Int] {
        let logits = forward(images, training: false)
        let n = logits.shape.batch
        return (0..<n).map { image in topClass(logits.data + image, classes: numClasses, stride: n) }
    }
}

import Foundation
