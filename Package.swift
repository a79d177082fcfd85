// swift-tools-version: 6.1
// MobileNetV1 on CIFAR-10 on multi-core CPUs, checked against PyTorch.
// Layout fixed by the design card: see ../shared/DESIGN.md and README.md.
import PackageDescription

let package = Package(
    name: "MobileNetCPU",
    products: [
        .library(name: "MobileNet", targets: ["MobileNet"]),
        .executable(name: "mobilenet-train", targets: ["Trainer"]),
        .executable(name: "mobilenet-bench", targets: ["Benchmarks"]),
        .executable(name: "mobilenet-fuzz", targets: ["Fuzz"]),
    ],
    traits: [
        .trait(name: "MPI", description: "Data-parallel training across processes and machines with Open MPI (libopenmpi-dev); `swift build --traits MPI`."),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(
            name: "COpenBLAS",
            path: "Sources/COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev", "liblapacke-dev"])]
        ),
        // Open MPI behind the MPI trait: only imported under `#if MPI`, so a plain build needs no mpi.h.
        .systemLibrary(
            name: "CMPI",
            path: "Sources/CMPI",
            pkgConfig: "ompi",
            providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]
        ),
        // PNG and JPEG decoding for image folders and predictions (Data/ImageDecoder.swift).
        .systemLibrary(
            name: "CPNG",
            path: "Sources/CPNG",
            pkgConfig: "libpng",
            providers: [.apt(["libpng-dev"])]
        ),
        .systemLibrary(
            name: "CTurboJPEG",
            path: "Sources/CTurboJPEG",
            pkgConfig: "libturbojpeg",
            providers: [.apt(["libturbojpeg0-dev"])]
        ),
        .target(name: "Im2Col", path: "Sources/Im2Col"),
        .target(
            name: "MobileNet",
            dependencies: [
                "COpenBLAS", "Im2Col", "CPNG", "CTurboJPEG",
                .target(name: "CMPI", condition: .when(traits: ["MPI"])),
            ],
            path: "Sources/MobileNet"
        ),
        .executableTarget(
            name: "Trainer",
            dependencies: [
                "MobileNet",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/Trainer"
        ),
        .executableTarget(
            name: "Benchmarks",
            dependencies: [
                "MobileNet",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Benchmarks"
        ),
        // Fuzz targets for the CIFAR and safetensors readers (`make fuzz`); a plain build
        // replays given inputs. The tests replay the kept inputs through FuzzTargets.
        .target(name: "FuzzTargets", dependencies: ["MobileNet"], path: "Fuzz/Targets"),
        .executableTarget(name: "Fuzz", dependencies: ["FuzzTargets"], path: "Fuzz/Driver"),
        // Per-thread heap-allocation counter (interposes malloc) for the tests' no-allocation check.
        .target(name: "MallocCounter", path: "Tests/MallocCounter"),
        .testTarget(
            name: "MobileNetTests",
            dependencies: ["MobileNet", "Im2Col", "Trainer", "FuzzTargets", "MallocCounter"],
            path: "Tests/MobileNetTests",
            resources: [.copy("Fixtures")]
        ),
    ]
)
