// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Arca",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "arcad", targets: ["arcad"]),
        .executable(name: "arcactl", targets: ["arcactl"]),
        .executable(name: "arca-bench", targets: ["arca-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/LebJe/TOMLKit.git", from: "0.6.0"),
        .package(url: "https://github.com/mattpolzin/OpenAPIKit.git", from: "6.4.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
    ],
    targets: [
        // C system libraries: module map + shim header only.
        .systemLibrary(name: "CHwloc", pkgConfig: "hwloc", providers: [.apt(["libhwloc-dev"])]),
        .systemLibrary(name: "CNUMA", pkgConfig: "numa", providers: [.apt(["libnuma-dev"])]),
        .systemLibrary(name: "COpenCL", pkgConfig: "OpenCL", providers: [.apt(["ocl-icd-opencl-dev", "opencl-headers"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),

        // Thin safe layers: the only importers of the C modules.
        .target(name: "ArcaTopology", dependencies: ["CHwloc", "CNUMA"]),
        .target(name: "ArcaOpenCL", dependencies: ["COpenCL"]),
        .target(name: "ArcaCrypto", dependencies: ["COpenSSL"]),

        // Word-size modular arithmetic and the CPU NTT: the reference every kernel is checked against.
        .target(name: "ArcaMath"),

        // NUMA executors and the placement of work on them.
        .target(name: "ArcaRuntime", dependencies: ["ArcaTopology"]),

        // Devices: OpenCL devices and the CPU fallback.
        .target(name: "ArcaAccel", dependencies: ["ArcaMath", "ArcaOpenCL", "ArcaRuntime", "ArcaTopology", "ArcaCrypto"]),

        // Jobs, datasets, grants and metering in a SQLite store (GRDB); the hash-chained audit log.
        .target(name: "ArcaAudit", dependencies: ["ArcaCrypto"]),
        .target(name: "ArcaStore", dependencies: ["ArcaCrypto", "ArcaAudit", "ArcaRuntime", .product(name: "TOMLKit", package: "TOMLKit"), .product(name: "GRDB", package: "GRDB.swift")]),

        // The party link between appliances (TLS 1.3, pinned certificates, framed channels) and PSI.
        .target(name: "ArcaParty", dependencies: ["ArcaCrypto", "ArcaAudit", "ArcaStore", "ArcaAccel"]),

        // Workloads: Paillier HE on the modexp offload.
        .target(name: "ArcaHE", dependencies: ["ArcaAccel", "ArcaCrypto", "ArcaAPI"]),

        // Workloads: hetero WOE/IV feature screening (binning, WOE/IV, the encrypted bin sums).
        .target(name: "ArcaIV", dependencies: ["ArcaHE", "ArcaAccel", "ArcaCrypto", "ArcaAPI", "ArcaParty", "ArcaStore"]),

        // Interfaces.
        .target(name: "ArcaAPI", dependencies: ["ArcaTopology"], exclude: ["openapi.json"]),
        .target(
            name: "ArcaServer",
            dependencies: [
                "ArcaAPI", "ArcaTopology", "ArcaRuntime", "ArcaAccel", "ArcaCrypto", "ArcaHE", "ArcaStore", "ArcaAudit", "ArcaParty", "ArcaIV",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "TOMLKit", package: "TOMLKit"),
            ]
        ),
        .executableTarget(
            name: "arcad",
            dependencies: [
                "ArcaServer", "ArcaTopology",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "arcactl",
            dependencies: [
                "ArcaAPI", "ArcaTopology", "ArcaAudit", "ArcaCrypto",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // Micro-benchmarks (release builds): swift build -c release --product arca-bench
        .executableTarget(name: "arca-bench", dependencies: ["ArcaMath", "ArcaRuntime", "ArcaTopology", "ArcaAccel", "ArcaCrypto", "ArcaHE"]),

        // Tests mirror Sources/.
        .testTarget(name: "ArcaTopologyTests", dependencies: ["ArcaTopology"], resources: [.copy("Topologies")]),
        .testTarget(name: "ArcaOpenCLTests", dependencies: ["ArcaOpenCL"]),
        .testTarget(name: "ArcaCryptoTests", dependencies: ["ArcaCrypto"], exclude: ["Vectors"]),
        .testTarget(name: "ArcaMathTests", dependencies: ["ArcaMath"]),
        .testTarget(name: "ArcaRuntimeTests", dependencies: ["ArcaRuntime", "ArcaTopology"]),
        .testTarget(name: "ArcaAccelTests", dependencies: ["ArcaAccel", "ArcaMath", "ArcaOpenCL", "ArcaCrypto"], exclude: ["Vectors"]),
        .testTarget(name: "ArcaIVTests", dependencies: ["ArcaIV", "ArcaHE", "ArcaAccel", "ArcaTopology"], exclude: ["Reference"]),
        .testTarget(name: "ArcaHETests", dependencies: ["ArcaHE", "ArcaAPI", "ArcaAccel", "ArcaCrypto", "ArcaTopology"], exclude: ["Vectors"]),
        .testTarget(
            name: "ArcaServerTests",
            dependencies: [
                "ArcaServer", "ArcaAPI", "ArcaAccel", "ArcaMath",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "OpenAPIKit", package: "OpenAPIKit"),
            ]
        ),
        .testTarget(name: "ArcaEndToEndTests", dependencies: ["ArcaAPI", "ArcaTopology"], exclude: ["Data"]),
        .testTarget(name: "ArcaStoreTests", dependencies: ["ArcaStore", "ArcaCrypto"]),
        .testTarget(name: "ArcaAuditTests", dependencies: ["ArcaAudit", "ArcaCrypto"]),
        .testTarget(name: "ArcaPartyTests", dependencies: ["ArcaParty", "ArcaCrypto", "ArcaStore"], exclude: ["Vectors"]),
    ]
)
