// BatchNorm2d with batch statistics over every rank's shard: torch.nn.SyncBatchNorm's
// semantics. Legend: C channels, m = H·W·n values of a channel on this rank, M = Σ m over
// the ranks (the global batch's values).

extension BatchNorm2d {
    /// Training forward whose statistics cover the global batch, as torch.nn.SyncBatchNorm:
    /// per channel, this rank's Σx and Σx² (in Double, from the same blocked two-pass mean and
    /// variance as the local path) and its count m are summed over the ranks in ONE
    /// allreduce of 2C + 1 Doubles; then μ = Σx/M, σ² = Σx²/M − μ² (biased, for normalising)
    /// and the running variance takes the unbiased σ²·M/(M − 1) of the global batch.
    /// - Input [C, H, W, n] (this rank's shard) → output of the same shape, owned by the layer.
    /// - Cost beyond the local path: one more read of the input, one allreduce.
    /// - Precondition: as ``forward(_:training:)``; M > 1.
    public func syncedTrainingForward(_ input: FeatureMap, communicator: any Communicator) -> FeatureMap {
        let (kernel, output) = trainingForward(input)
        let c = numFeatures, m = input.shape.channelStride
        Parallel.forEachRange(c, LocalMoments(x: SendablePointer(input.data), count: m, sums: SendablePointer(syncSums.baseAddress!), channels: c))
        syncSums[2 * c] = Double(m)
        communicator.allreduceSum(syncSums)
        let total = syncSums[2 * c]
        guard total > 1 else { fatalError("SyncBatchNorm: expected more than 1 value per channel over all ranks, got \(total)") }
        Parallel.forEachRange(c, SyncedApply(kernel: kernel, sums: SendablePointer(syncSums.baseAddress!), channels: c, total: total))
        return output
    }

    /// Backward of ``syncedTrainingForward(_:communicator:)``: this rank's Σdy' and Σdy'·x̂
    /// per channel go into dβ and dγ (the gradient allreduce later sums them over the ranks)
    /// and are summed over the ranks in ONE allreduce of 2C + 1 Doubles; then
    /// dx = γ·invstd·(dy' − Σdy'/M − x̂·Σ(dy'·x̂)/M) with the global sums and count.
    /// - Precondition: after ``syncedTrainingForward(_:communicator:)``, `gradOutput` shaped as its input.
    public func syncedBackward(_ gradOutput: FeatureMap, communicator: any Communicator) -> FeatureMap {
        let (kernel, gradInput) = backwardKernel(gradOutput)
        let c = numFeatures
        let sums = SendablePointer(syncSums.baseAddress!)
        Parallel.forEachRange(c, LocalGradientSums(kernel: kernel, sums: sums, channels: c))
        syncSums[2 * c] = Double(gradOutput.shape.channelStride)
        communicator.allreduceSum(syncSums)
        Parallel.forEachRange(c, SyncedGradInput(kernel: kernel, sums: sums, channels: c, total: syncSums[2 * c]))
        return gradInput
    }

    /// Per channel c: sums[c] = Σx = m·μ_local, sums[C + c] = Σx² = m·(σ²_local + μ_local²).
    struct LocalMoments: ParallelKernel {
        let x: SendablePointer<Float>
        let count: Int
        let sums: SendablePointer<Double>
        let channels: Int

        func run(_ range: Range<Int>) {
            let m = Double(count)
            for c in range {
                let (mu, variance) = BatchNorm2d.meanAndBiasedVariance(x.base + c * count, count: count)
                sums[c] = m * mu
                sums[channels + c] = m * (variance + mu * mu)
            }
        }
    }

    /// Global μ and biased σ² from the summed moments, then the local path's per-channel tail.
    struct SyncedApply: ParallelKernel {
        let kernel: TrainingForward
        let sums: SendablePointer<Double>
        let channels: Int
        let total: Double

        func run(_ range: Range<Int>) {
            for c in range {
                let mu = sums[c] / total
                // Σx²/M − μ² in Double: the cancellation costs ~1e-16·μ²/σ² relative, far below Float's resolution.
                let variance = max(0, sums[channels + c] / total - mu * mu)
                kernel.apply(channel: c, mean: mu, variance: variance, statisticsCount: total)
            }
        }
    }

    /// sums[c] = Σdy', sums[C + c] = Σdy'·x̂ over this rank's values (also added to dβ, dγ).
    struct LocalGradientSums: ParallelKernel {
        let kernel: Backward
        let sums: SendablePointer<Double>
        let channels: Int

        func run(_ range: Range<Int>) {
            for c in range {
                let (sumDy, sumDyXHat) = kernel.gradientSums(channel: c)
                sums[c] = sumDy
                sums[channels + c] = sumDyXHat
            }
        }
    }

    /// dx from the global sums and count.
    struct SyncedGradInput: ParallelKernel {
        let kernel: Backward
        let sums: SendablePointer<Double>
        let channels: Int
        let total: Double

        func run(_ range: Range<Int>) {
            for c in range {
                kernel.writeGradInput(channel: c, meanDy: Float(sums[c] / total), meanDyXHat: Float(sums[channels + c] / total))
            }
        }
    }
}
