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

        // The system layer: typed errno, the one atomic write, TCP over IPv4 and IPv6, timing.
        .target(name: "ArcaSystem"),

        // Thin safe layers: the only importers of the C modules.
        .target(name: "ArcaTopology", dependencies: ["CHwloc", "CNUMA", "ArcaSystem"]),
        .target(name: "ArcaOpenCL", dependencies: ["COpenCL", "ArcaSystem"]),
        .target(name: "ArcaCrypto", dependencies: ["COpenSSL", "ArcaSystem"]),

        // Core: word-size modular arithmetic and the CPU NTT (the reference every kernel is checked
        // against); NUMA executors; devices (OpenCL and the CPU fallback).
        .target(name: "ArcaMath"),
        .target(name: "ArcaExecutors", dependencies: ["ArcaTopology", "ArcaSystem"]),
        .target(
            name: "ArcaAccel",
            dependencies: ["ArcaMath", "ArcaOpenCL", "ArcaExecutors", "ArcaTopology", "ArcaCrypto", "ArcaSystem"]),

        // Records: the hash-chained audit log; datasets, grants, jobs and usage in SQLite (GRDB).
        .target(name: "ArcaAudit", dependencies: ["ArcaCrypto", "ArcaSystem"]),
        .target(
            name: "ArcaStore",
            dependencies: ["ArcaCrypto", "ArcaSystem", .product(name: "GRDB", package: "GRDB.swift")]),

        // The job runtime: kinds, specs, admission, scheduling, metering, jobs a peer opens.
        .target(
            name: "ArcaRuntime",
            dependencies: [
                "ArcaStore", "ArcaAudit", "ArcaExecutors", "ArcaCrypto", "ArcaSystem",
                .product(name: "TOMLKit", package: "TOMLKit"),
            ]),

        // Protocols: the party link (TLS 1.3, pinned certificates, typed framed messages); PSI;
        // Paillier HE on the modexp offload; the WOE/IV math and its encrypted bin sums.
        .target(name: "ArcaParty", dependencies: ["ArcaCrypto", "ArcaAudit", "ArcaSystem"]),
        .target(name: "ArcaPSI", dependencies: ["ArcaParty", "ArcaAccel", "ArcaCrypto"]),
        .target(name: "ArcaHE", dependencies: ["ArcaAccel", "ArcaCrypto", "ArcaSystem", "ArcaAPI"]),
        .target(name: "ArcaIV", dependencies: ["ArcaHE", "ArcaAccel", "ArcaCrypto", "ArcaAPI"]),

        // Job kinds, one folder each, registered in JobKinds.swift.
        .target(
            name: "ArcaJobKinds",
            dependencies: [
                "ArcaRuntime", "ArcaStore", "ArcaParty", "ArcaPSI", "ArcaIV", "ArcaHE", "ArcaAccel", "ArcaCrypto",
                "ArcaAudit", "ArcaSystem",
            ]),

        // Interfaces.
        // Wire types of the management API and python-paillier's file forms: no dependencies.
        .target(name: "ArcaAPI", exclude: ["openapi.json"]),
        .target(
            name: "ArcaServer",
            dependencies: [
                                "ArcaAPI", "ArcaTopology", "ArcaExecutors", "ArcaAccel", "ArcaCrypto", "ArcaHE", "ArcaStore", "ArcaAudit",
                "ArcaParty", "ArcaRuntime", "ArcaJobKinds", "ArcaIV", "ArcaSystem",
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
                "ArcaAPI", "ArcaTopology", "ArcaAudit", "ArcaCrypto", "ArcaSystem", "ArcaServer",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // Micro-benchmarks (release builds): swift build -c release --product arca-bench
        .executableTarget(
            name: "arca-bench",
            dependencies: ["ArcaMath", "ArcaExecutors", "ArcaTopology", "ArcaAccel", "ArcaCrypto", "ArcaHE", "ArcaSystem"]),

        // Tests mirror Sources/.
        .testTarget(name: "ArcaSystemTests", dependencies: ["ArcaSystem"]),
        .testTarget(name: "ArcaTopologyTests", dependencies: ["ArcaTopology"], resources: [.copy("Topologies")]),
        .testTarget(name: "ArcaMathTests", dependencies: ["ArcaMath"]),
        .testTarget(name: "ArcaExecutorsTests", dependencies: ["ArcaExecutors", "ArcaTopology"]),
        .testTarget(name: "ArcaRuntimeTests", dependencies: ["ArcaRuntime", "ArcaStore", "ArcaAudit", "ArcaCrypto", "ArcaExecutors", "ArcaTopology"]),
        .testTarget(name: "ArcaJobKindsTests", dependencies: ["ArcaJobKinds", "ArcaRuntime", "ArcaStore"]),
        .testTarget(name: "ArcaAccelTests", dependencies: ["ArcaAccel", "ArcaMath", "ArcaOpenCL", "ArcaCrypto"], exclude: ["Vectors"]),
        .testTarget(
            name: "ArcaIVTests", dependencies: ["ArcaIV", "ArcaHE", "ArcaAccel", "ArcaTopology"], exclude: ["Reference"]),
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
        .testTarget(name: "ArcaEndToEndTests",
                    dependencies: ["ArcaAPI", "ArcaTopology", "ArcaParty", "ArcaPSI", "ArcaHE", "ArcaCrypto", "ArcaAccel", "ArcaSystem"],
                    exclude: ["Data"]),
        .testTarget(name: "ArcaStoreTests", dependencies: ["ArcaStore", "ArcaCrypto"]),
        .testTarget(name: "ArcaAuditTests", dependencies: ["ArcaAudit", "ArcaCrypto"]),
        .testTarget(
            name: "ArcaPartyTests", dependencies: ["ArcaParty", "ArcaPSI", "ArcaCrypto", "ArcaAudit", "ArcaSystem"],
            exclude: ["Vectors"]),
    ]
)
