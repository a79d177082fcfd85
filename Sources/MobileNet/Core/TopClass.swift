/// The top-1 class of one image in a [K, N] score matrix (K classes, N images, the
/// engine's layout for logits and probabilities): the first index of the largest score,
/// as torch.argmax, except that NaN scores never win; an image whose scores are all NaN
/// (or all −∞) gets class 0. The one rule behind ``CrossEntropyLoss/correct``,
/// ``EvaluationTally`` and ``MobileNetV1/predictions(_:)``.
/// - Parameters: `scores` points at class 0 of the image; `stride` is N (the distance
///   between one class's score and the next class's).
@inline(__always)
func topClass(_ scores: UnsafePointer<Float>, classes: Int, stride: Int) -> Int {
    var predicted = 0, best = -Float.infinity
    for k in 0..<classes where scores[k * stride] > best { (predicted, best) = (k, scores[k * stride]) }
    return predicted
}
