// swift-tools-version: 6.0
import PackageDescription

// Kafka/RDKafka/RDKafkaThreadStart.swift defines thrd_create, thrd_join and thrd_detach over
// pthreads so that librdkafka's threads are visible to `swift test --sanitize=thread`; the
// executables must export them for librdkafka to bind to them.
let c11ThreadExports: [LinkerSetting] = ["thrd_create", "thrd_join", "thrd_detach"].map {
    .unsafeFlags(["-Xlinker", "--export-dynamic-symbol=\($0)"], .when(platforms: [.linux]))
}

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

        // Our own AVX2 and FMA kernels for the few-column products of training.
        .target(name: "CSmallProducts"),

        // One thin adapter per C library.
        .target(name: "BLAS", dependencies: ["COpenBLAS", "CSmallProducts"]),
        .target(name: "Kafka", dependencies: ["CRdKafka", "Locking"]),
        .target(name: "Systemd", dependencies: ["CSystemd"]),
        .target(name: "Gzip", dependencies: ["CZlib"]),

        // Model, optimizer, checkpoints, decoding and configuration: no C module imported here.
        .target(name: "StreamLearnCore", dependencies: ["BLAS"]),

        // A lock that the thread sanitizer sees (Synchronization's Mutex hides its futex).
        .target(name: "Locking"),

        // Commands and the daemon.
        .target(name: "StreamLearn", dependencies: ["StreamLearnCore", "Kafka", "Systemd", "Gzip", "Locking"]),
        .executableTarget(
            name: "streamlearn",
            dependencies: ["StreamLearn"],
            linkerSettings: c11ThreadExports
        ),

        .testTarget(name: "StreamLearnCoreTests", dependencies: ["StreamLearnCore"]),
        .testTarget(name: "KafkaTests", dependencies: ["Kafka"], linkerSettings: c11ThreadExports),
        .testTarget(
            name: "StreamLearnTests",
            dependencies: ["StreamLearn", "StreamLearnCore", "Kafka", "Systemd", "Gzip", "Locking", "streamlearn"],
            linkerSettings: c11ThreadExports
        ),
    ]
)
