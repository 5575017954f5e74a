// swift-tools-version: 6.1
import PackageDescription

/// Layers (DESIGN.md): StreamCore (vocabulary + storage seam) → RecordFormat (batch codec)
/// → LogStorage (segments, partitions, producer state, topics, clients) → Transactions
/// (coordinator, transaction log, transactional producer) → … → Sluice (public DSL) → PipelineCLI.
/// Each target imports only the layers below it.
let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    // Release builds let callers in other modules specialize and inline generic code (the DSL's
    // operators are generic over the pipeline's types; unspecialized, every record paid for
    // runtime metadata lookups).
    .unsafeFlags(["-cross-module-optimization"], .when(configuration: .release)),
]

let package = Package(
    name: "Sluice",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "pipeline", targets: ["pipeline"]),
        .library(name: "Sluice", targets: ["Sluice"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        .systemLibrary(name: "CLZ4", pkgConfig: "liblz4", providers: [.apt(["liblz4-dev"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CRocksDB", pkgConfig: "rocksdb", providers: [.apt(["librocksdb-dev"])]),
        .target(name: "CCRC32C", cSettings: [.unsafeFlags(["-O3"])]),
        .target(
            name: "StreamCore",
            swiftSettings: strictSettings
        ),
        .target(
            name: "RecordFormat",
            dependencies: ["StreamCore", "CLZ4", "CZstd", "CCRC32C"],
            swiftSettings: strictSettings
        ),
        .target(
            name: "LogStorage",
            dependencies: ["StreamCore", "RecordFormat", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSettings
        ),
        .target(
            name: "Transactions",
            dependencies: ["StreamCore", "RecordFormat", "LogStorage", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSettings
        ),
        .target(
            name: "StateStores",
            dependencies: [
                "StreamCore", "RecordFormat", "LogStorage", "Transactions", "CRocksDB",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "KafkaBroker",
            dependencies: [
                "StreamCore", "RecordFormat", "LogStorage", "Transactions",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "KafkaProtocol",
            swiftSettings: strictSettings
        ),
        .target(
            name: "KafkaServer",
            dependencies: [
                "KafkaProtocol",
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "KafkaGateway",
            dependencies: [
                "StreamCore", "LogStorage", "Transactions", "KafkaProtocol", "KafkaServer", "KafkaBroker",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        // Avro schemas, canonical form, fingerprints, binary and JSON codecs, resolution and
        // compatibility; no dependencies, no I/O.
        .target(
            name: "Avro",
            swiftSettings: strictSettings
        ),
        .target(
            name: "SchemaRegistry",
            dependencies: ["Avro", "StreamCore", "RecordFormat", "LogStorage"],
            swiftSettings: strictSettings
        ),
        .target(
            name: "SchemaRegistryServer",
            dependencies: [
                "SchemaRegistry",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "Simulation",
            dependencies: ["StreamCore"],
            swiftSettings: strictSettings
        ),
        .target(
            name: "Sluice",
            dependencies: ["StreamCore", "RecordFormat", "Avro"],
            swiftSettings: strictSettings
        ),
        .target(
            name: "PipelineRuntime",
            dependencies: [
                "StreamCore", "RecordFormat", "LogStorage", "Transactions", "StateStores", "Sluice", "Avro", "SchemaRegistry",
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            swiftSettings: strictSettings
        ),
        // The Prometheus side of the metrics: the swift-metrics factory over swift-prometheus's
        // registry (every family with its HELP), consumer lag computed on scrape, and the HTTP
        // listener serving `GET /metrics`. Pipelines record through swift-metrics alone.
        .target(
            name: "MetricsExport",
            dependencies: [
                "StreamCore", "LogStorage",
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "PipelineBench",
            dependencies: [
                "StreamCore", "LogStorage", "Transactions", "Sluice", "PipelineRuntime",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "PipelineCLI",
            dependencies: [
                "StreamCore", "RecordFormat", "LogStorage", "Transactions", "StateStores", "Sluice", "PipelineRuntime", "PipelineBench",
                "KafkaBroker", "KafkaServer", "KafkaGateway", "SchemaRegistry", "SchemaRegistryServer", "MetricsExport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "pipeline",
            dependencies: ["Sluice", "Avro", "PipelineCLI"],
            path: "Pipelines",
            exclude: ["schemas"],
            swiftSettings: strictSettings
        ),
        // The `pipeline` command line over test-only pipelines (one that traps on a poisoned
        // value), for the process tests; not a product, never shipped.
        .executableTarget(
            name: "PipelineFixtures",
            dependencies: ["Sluice", "PipelineCLI"],
            path: "Tests/PipelineFixtures",
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "LogBenchmarks",
            dependencies: [
                "StreamCore", "RecordFormat", "LogStorage",
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/LogBenchmarks",
            swiftSettings: strictSettings,
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "EngineBenchmarks",
            dependencies: [
                "StreamCore", "LogStorage", "Transactions", "StateStores",
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/EngineBenchmarks",
            swiftSettings: strictSettings,
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // JSON decode of the seed's OrderCreated through Serde.json's decoder and Foundation's.
        .executableTarget(
            name: "SerdeBenchmarks",
            dependencies: ["Sluice", .product(name: "Benchmark", package: "benchmark")],
            path: "Benchmarks/SerdeBenchmarks",
            swiftSettings: strictSettings,
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // Avro decode/encode of the seed's OrderCreated into and from a Swift struct;
        // Benchmarks/avro/avro-benchmark.sh runs it beside fastavro.
        .executableTarget(
            name: "AvroBenchmarks",
            dependencies: ["Avro", .product(name: "Benchmark", package: "benchmark")],
            path: "Benchmarks/avro",
            exclude: ["fastavro_benchmark.py", "avro-benchmark.sh"],
            swiftSettings: strictSettings,
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .target(
            name: "EngineTestSupport",
            dependencies: [
                "StreamCore", "LogStorage", "Transactions", "Simulation",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/EngineTestSupport",
            swiftSettings: strictSettings
        ),
        .testTarget(name: "AvroTests", dependencies: ["Avro", "StreamCore"], swiftSettings: strictSettings),
        .testTarget(
            name: "SchemaRegistryTests",
            dependencies: [
                "SchemaRegistry", "Avro", "StreamCore", "LogStorage", "Simulation", .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SchemaRegistryServerTests",
            dependencies: [
                "SchemaRegistry", "SchemaRegistryServer", "StreamCore", "LogStorage", "Simulation",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(name: "StreamCoreTests", dependencies: ["StreamCore"], swiftSettings: strictSettings),
        .testTarget(name: "SimulationTests", dependencies: ["StreamCore", "Simulation"], swiftSettings: strictSettings),
        .testTarget(name: "RecordFormatTests", dependencies: ["StreamCore", "RecordFormat"], swiftSettings: strictSettings),
        .testTarget(
            name: "LogStorageTests",
            dependencies: ["StreamCore", "RecordFormat", "LogStorage", "Simulation"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "TransactionsTests",
            dependencies: [
                "StreamCore", "RecordFormat", "LogStorage", "Transactions", "Simulation", "EngineTestSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "KafkaBrokerTests",
            dependencies: [
                "StreamCore", "RecordFormat", "LogStorage", "Transactions", "KafkaBroker", "Simulation", "EngineTestSupport",
                "SchemaRegistry", "PipelineRuntime",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "KafkaProtocolTests",
            dependencies: ["KafkaProtocol", "StreamCore"],
            exclude: ["Capture"],
            resources: [.copy("Vectors")],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "KafkaServerTests",
            dependencies: [
                "KafkaProtocol", "KafkaServer",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "KafkaGatewayTests",
            dependencies: [
                "StreamCore", "RecordFormat", "LogStorage", "Transactions", "KafkaProtocol", "KafkaServer", "KafkaBroker",
                "KafkaGateway", "Simulation", "EngineTestSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "StateStoresTests",
            dependencies: [
                "StreamCore", "RecordFormat", "LogStorage", "Transactions", "StateStores", "Simulation", "EngineTestSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "PipelinesTests",
            dependencies: [
                "pipeline", "Sluice", "StreamCore", "RecordFormat", "LogStorage", "Transactions", "PipelineRuntime", "PipelineCLI", "Simulation",
                "EngineTestSupport", "Avro", "SchemaRegistry",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "MetricsExportTests",
            dependencies: [
                "MetricsExport", "StreamCore", "RecordFormat", "LogStorage", "Transactions", "Simulation", "EngineTestSupport",
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "PipelineCLITests",
            dependencies: ["pipeline", "PipelineFixtures", "StreamCore", "RecordFormat", "LogStorage"],
            swiftSettings: strictSettings
        ),
    ]
)
