extension AugmentationOptions {
    /// Every crop side training uses: the schedule's phases, then 32 (CIFAR's side).
    public var trainingCropSides: [Int] { cropSchedule.phases.map(\.size) + [CIFARImage.side] }
}
