/// Where a per-channel kernel finds channel c of a [C, M] map (M = H·W·N floats a channel).
///
/// Either a whole map, channel c at c·M floats in; or, for a map that one stage of a fused
/// channel loop (``ChannelPipeline``) writes and the next stage reads, one scratch slot of
/// M floats per chunk of that loop: ``Parallel/forEachRange(_:_:)-kernel`` gives channel c to
/// the chunk ``Parallel/chunk(containing:count:chunks:)`` names, fixed by c, C and the chunk
/// count, so one thread runs a slot's channels one after another and no two threads share
/// a slot. Such a map is never written to memory as a whole: its channel is consumed while
/// still in cache, and a backward that needs it again recomputes it.
struct ChannelMap: Sendable {
    let base: SendablePointer<Float>
    /// Floats per channel (M).
    let channelStride: Int
    /// Channels of the loop and its chunk count; chunks == 0 for a whole map.
    private let channels: Int, chunks: Int

    /// The whole map `map`.
    init(_ map: FeatureMap) {
        self.init(base: SendablePointer(map.data), channelStride: map.shape.channelStride, channels: map.shape.channels, chunks: 0)
    }

    private init(base: SendablePointer<Float>, channelStride: Int, channels: Int, chunks: Int) {
        self.base = base
        self.channelStride = channelStride
        self.channels = channels
        self.chunks = chunks
    }

    /// One slot of `shape.channelStride` floats in `scratch` per chunk of a parallel loop
    /// over `shape.channels` channels at the current ``Parallel/threadCount``.
    /// - Precondition: `scratch` holds ``slotFloats(_:)`` floats for `shape`; the loop that
    ///   uses the slots runs at the same thread count.
    static func slots(in scratch: FeatureMap, for shape: FeatureShape) -> ChannelMap {
        precondition(scratch.capacity >= slotFloats(shape), "channel scratch holds \(scratch.capacity) floats, \(shape) needs \(slotFloats(shape))")
        return ChannelMap(base: SendablePointer(scratch.data), channelStride: shape.channelStride, channels: shape.channels,
                          chunks: Parallel.chunkCount(shape.channels))
    }

    /// Floats the slots of a loop over `shape`'s channels take.
    static func slotFloats(_ shape: FeatureShape) -> Int { Parallel.chunkCount(shape.channels) * shape.channelStride }

    /// The first float of channel `c`.
    @inline(__always)
    subscript(channel c: Int) -> UnsafeMutablePointer<Float> {
        if chunks == 0 { return base.base + c * channelStride }
        return base.base + Parallel.chunk(containing: c, count: channels, chunks: chunks) * channelStride
    }
}
