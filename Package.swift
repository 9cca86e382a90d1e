// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "streamlearn",
    products: [
        .executable(name: "streamlearn", targets: ["streamlearn"])
    ],
    targets: [
        // C libraries from Debian, one system-library target each.
        .systemLibrary(name: "CRdKafka", pkgConfig: "rdkafka", providers: [.apt(["librdkafka-dev"])]),
        .systemLibrary(name: "CSystemd", pkgConfig: "libsystemd", providers: [.apt(["libsystemd-dev"])]),
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),

        // One thin adapter per C library.
        .target(name: "BLAS", dependencies: ["COpenBLAS"]),
        .target(name: "Kafka", dependencies: ["CRdKafka"]),
        .target(name: "Systemd", dependencies: ["CSystemd"]),
        .target(name: "Gzip", dependencies: ["CZlib"]),

        // Model, optimizer, checkpoints, decoding and configuration: no C module imported here.
        .target(name: "StreamLearnCore", dependencies: ["BLAS"]),

        // Commands and the daemon.
        .target(name: "StreamLearn", dependencies: ["StreamLearnCore", "Kafka", "Systemd", "Gzip"]),
        .executableTarget(name: "streamlearn", dependencies: ["StreamLearn"]),

        .testTarget(name: "StreamLearnCoreTests", dependencies: ["StreamLearnCore"]),
        .testTarget(name: "KafkaTests", dependencies: ["Kafka"]),
        .testTarget(
            name: "StreamLearnTests",
            dependencies: ["StreamLearn", "StreamLearnCore", "Kafka", "Systemd", "Gzip", "streamlearn"]
        ),
    ]
)
