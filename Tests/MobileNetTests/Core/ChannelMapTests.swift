import Testing
@testable import MobileNet

/// ChannelMap: a whole map's channel c is c·M floats in; a slot map gives every channel
/// the slot of the chunk of `Parallel.forEachRange` that runs it, so the chunks running at
/// once never share a slot and every slot lies inside the scratch.
@Suite struct ChannelMapTests {
    /// Records, per channel, the first channel of the range it ran in and its slot's offset.
    struct Record: ParallelKernel {
        let map: ChannelMap
        let scratch: SendablePointer<Float>
        let rangeStart: SendablePointer<Int>, offset: SendablePointer<Int>

        func run(_ range: Range<Int>) {
            for c in range {
                rangeStart[c] = range.lowerBound
                offset[c] = map[channel: c] - scratch.base
            }
        }
    }

    @Test func aWholeMapsChannelsAreConsecutive() {
        let map = FeatureMap(shape: FeatureShape(channels: 5, height: 3, width: 2, batch: 4))
        let channels = ChannelMap(map)
        for c in 0..<5 { #expect(channels[channel: c] - map.data == c * 24) }
    }

    @Test(arguments: [1, 2, 3, 7, 64])
    func slotsAreOnePerChunkOfTheLoopThatUsesThem(channels: Int) {
        let shape = FeatureShape(channels: channels, height: 4, width: 4, batch: 3)
        let scratch = FeatureMap(shape: FeatureShape(channels: 1, height: 1, width: 1, batch: ChannelMap.slotFloats(shape)))
        let map = ChannelMap.slots(in: scratch, for: shape)
        let rangeStart = UnsafeMutablePointer<Int>.allocate(capacity: channels)
        let offset = UnsafeMutablePointer<Int>.allocate(capacity: channels)
        defer { rangeStart.deallocate(); offset.deallocate() }
        Parallel.forEachRange(channels, Record(map: map, scratch: SendablePointer(scratch.data), rangeStart: SendablePointer(rangeStart),
                                               offset: SendablePointer(offset)))
        var slotsOfRange: [Int: Set<Int>] = [:]
        for c in 0..<channels {
            #expect(offset[c] % shape.channelStride == 0 && offset[c] >= 0, "channel \(c)")
            #expect(offset[c] + shape.channelStride <= scratch.capacity, "channel \(c) overruns the scratch")
            slotsOfRange[rangeStart[c], default: []].insert(offset[c])
        }
        // Ranges that may run at once (on different threads) never share a slot. (A loop
        // that finds the pool busy runs as one range on its caller, using every slot.)
        let slotSets = Array(slotsOfRange.values)
        for i in slotSets.indices {
            for j in slotSets.indices where j > i { #expect(slotSets[i].isDisjoint(with: slotSets[j])) }
        }
        #expect(slotSets.reduce(0) { $0 + $1.count } <= min(Parallel.threadCount, channels))
    }
}
