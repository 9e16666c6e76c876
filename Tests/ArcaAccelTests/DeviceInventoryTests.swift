import ArcaCrypto
import ArcaTopology
import Foundation
import Testing

@testable import ArcaAccel
@testable import ArcaOpenCL

@Suite("Device discovery")
struct DeviceInventoryTests {
    @Test func cpuFallbackIsAlwaysListed() {
        let inventory = DeviceInventory.discover(topology: Topology.fallback(), openCL: false)
        #expect(inventory.devices.map(\.id) == ["cpu"])
        #expect(inventory.notes.contains { $0.contains("OpenCL disabled") })
        #expect(inventory.devices[0].computeUnits == sysconf(Int32(_SC_NPROCESSORS_ONLN)))
    }

    @Test func openCLPlatformsThroughTheICDLoader() throws {
        let (platforms, failures) = try OpenCLDiscovery.platforms()
        #expect(failures.isEmpty, "\(failures)")
        // make test installs PoCL, whose CPU device must be visible.
        let pocl = try #require(
            platforms.first { $0.name.contains("Portable Computing Language") },
            "PoCL not found: \(platforms.map(\.name))")
        let device = try #require(pocl.devices.first)
        #expect(
            device.type == .cpu && device.computeUnits > 0 && device.globalMemoryBytes > 0
                && device.maxWorkGroupSize > 0)
        #expect(device.openCLCVersion.hasPrefix("OpenCL C"))
    }

    @Test func openCLDeviceIdsAreStableAcrossDiscoveries() {
        let topology = Topology.fallback()
        let first = DeviceInventory.discover(topology: topology).devices.map(\.id)
        let second = DeviceInventory.discover(topology: topology).devices.map(\.id)
        #expect(first == second)
        #expect(first.last == "cpu")
        #expect(first.dropLast().allSatisfy { $0.hasPrefix("ocl-") && $0.count == 12 })
    }

    @Test func gpuNUMANodeComesFromItsPCILocality() throws {
        let xml = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("ArcaTopologyTests/Topologies/dual-socket-4numa-gpus.xml").path
        let topology = try HwlocTopology(.xmlFile(xml)).snapshot()
        let info = OpenCLDeviceInfo(
            index: 0, name: "A100", vendor: "NVIDIA", driverVersion: "1", deviceVersion: "OpenCL 3.0",
            openCLCVersion: "OpenCL C 1.2", type: .gpu, computeUnits: 108, globalMemoryBytes: 1 << 34,
            localMemoryBytes: 1 << 16, maxWorkGroupSize: 1024, extensions: [], pciBusId: "0000:b1:00.0")
        let platform = OpenCLPlatformInfo(
            index: 0, name: "NVIDIA CUDA", vendor: "NVIDIA", version: "OpenCL 3.0", devices: [info])
        #expect(DeviceInventory.descriptor(info, platform: platform, topology: topology).numaNode == 3)
        var unknown = info
        unknown.pciBusId = nil
        #expect(DeviceInventory.descriptor(unknown, platform: platform, topology: topology).numaNode == nil)
    }
}

@Suite("libcrypto digests")
struct DigestTests {
    // FIPS 180-2 appendix B.1 and GB/T 32905-2016 appendix A.1: the digests of "abc".
    @Test func knownAnswers() throws {
        #expect(
            try Digest.sha256.hex(Array("abc".utf8))
                == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(
            try Digest.sm3.hex(Array("abc".utf8)) == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0")
    }
}
