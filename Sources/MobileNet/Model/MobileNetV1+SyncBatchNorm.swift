extension MobileNetV1 {
    /// Training forward with every BatchNorm2d synchronised across the ranks
    /// (``BatchNorm2d/syncedTrainingForward(_:communicator:)``, torch.nn.SyncBatchNorm):
    /// the layers run one after another, since a BatchNorm's statistics must be complete
    /// (summed over the ranks) before its normalising pass, which rules out the local path's
    /// channel-by-channel fusion of BatchNorm → depthwise → BatchNorm. 27 allreduces of
    /// 2C + 1 Doubles per forward at any width.
    /// - Input [inputChannels, H, W, n] (this rank's shard) → logits [numClasses, 1, 1, n].
    public func syncedTrainingForward(_ input: FeatureMap, communicator: any Communicator) -> FeatureMap {
        precondition(input.shape.channels == inputChannels, "expected \(inputChannels) input channels, got \(input.shape)")
        var x = input
        for entry in namedLayers {
            if let norm = entry.layer as? BatchNorm2d {
                x = norm.syncedTrainingForward(x, communicator: communicator)
            } else {
                x = entry.layer.forward(x, training: true)
            }
        }
        return x
    }

    /// Backward of ``syncedTrainingForward(_:communicator:)`` from ∂L/∂logits [numClasses, 1, 1, n];
    /// accumulates this rank's share of every parameter gradient (27 more allreduces).
    /// - Precondition: after ``syncedTrainingForward(_:communicator:)`` with the same shard.
    @discardableResult
    public func syncedBackward(_ gradLogits: FeatureMap, communicator: any Communicator) -> FeatureMap {
        var g = gradLogits
        for entry in namedLayers.reversed() {
            if let norm = entry.layer as? BatchNorm2d {
                g = norm.syncedBackward(g, communicator: communicator)
            } else {
                g = entry.layer.backward(g)
            }
        }
        return g
    }
}
