extension AugmentationOptions {
    /// Every crop side training uses: the schedule's phases, then the full ``imageSide``.
    public var trainingCropSides: [Int] { cropSchedule.phases.map(\.size) + [imageSide] }
}
