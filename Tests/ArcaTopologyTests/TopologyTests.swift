import Foundation
import Testing

@testable import ArcaTopology

func fixture(_ name: String) throws -> String {
    try #require(Bundle.module.path(forResource: name, ofType: "xml", inDirectory: "Topologies"))
}

@Suite("hwloc XML topologies of machines we do not have")
struct XMLTopologyTests {
    @Test func dualSocketServerWithGPUsAndCXLMemory() throws {
        let topology = try HwlocTopology(.xmlFile(fixture("dual-socket-4numa-gpus"))).snapshot()
        #expect(topology.source == "xml")
        #expect(!topology.isThisSystem)
        #expect(topology.packages.count == 2)
        #expect(topology.packages.map(\.pus) == [Array(0..<32), Array(32..<64)])
        #expect(topology.numaNodes.map(\.osIndex) == [0, 1, 2, 3, 4])
        for node in 0..<4 {
            #expect(topology.numaNodes[node].pus == Array(node * 16..<(node + 1) * 16))
            #expect(topology.numaNodes[node].memoryBytes == 64 << 30)
            #expect(topology.numaNodes[node].subtype == nil)
        }
        let cxl = topology.numaNodes[4]
        #expect(cxl.pus.isEmpty, "a CPU-less memory node has no PUs of its own")
        #expect(cxl.memoryBytes == 128 << 30)
        #expect(cxl.subtype == "CXL-DRAM")
        #expect(topology.packages[1].numaNodes == [2, 3, 4])

        #expect(topology.cores.count == 32)
        #expect(topology.cores.allSatisfy { $0.pus.count == 2 })
        #expect(topology.cores.filter { $0.numaNode == 3 }.count == 8)
        #expect(topology.cores.first { $0.pus == [48, 49] }?.package == 1)

        let devices = Dictionary(uniqueKeysWithValues: topology.pciDevices.map { ($0.busId, $0) })
        #expect(devices.count == 3)
        let gpu0 = try #require(devices["0000:17:00.0"])
        #expect(gpu0.kind == .gpu && gpu0.numaNode == 0 && gpu0.vendorId == 0x10de && gpu0.classId == 0x0302)
        #expect(gpu0.osDevices.contains("card0"))
        let gpu1 = try #require(devices["0000:b1:00.0"])
        #expect(gpu1.kind == .gpu && gpu1.numaNode == 3)
        let nic = try #require(devices["0000:3b:00.0"])
        #expect(nic.kind == .network && nic.numaNode == 1 && nic.osDevices == ["ens1f0"] && nic.vendorId == 0x15b3)

        #expect(topology.allowed.pus == Array(0..<64))
        #expect(topology.allowed.numaNodes == [0, 1, 2, 3, 4])
    }

    @Test func singleNodeMachine() throws {
        let topology = try HwlocTopology(.xmlFile(fixture("single-node"))).snapshot()
        #expect(topology.numaNodes.count == 1)
        #expect(topology.numaNodes[0].pus == Array(0..<8))
        #expect(topology.numaNodes[0].memoryBytes == 16 << 30)
        #expect(topology.cores.count == 4 && topology.cores.allSatisfy { $0.numaNode == 0 })
        #expect(topology.pciDevices.isEmpty)
    }

    @Test func moreThanEightNodes() throws {
        let topology = try HwlocTopology(.xmlFile(fixture("sixteen-node"))).snapshot()
        #expect(topology.packages.count == 4)
        #expect(topology.numaNodes.map(\.osIndex) == Array(0..<16))
        #expect(topology.numaNodes.allSatisfy { $0.pus == [2 * $0.osIndex, 2 * $0.osIndex + 1] })
        #expect(topology.packages[3].numaNodes == [12, 13, 14, 15])
    }

    @Test func syntheticDescription() throws {
        let topology = try HwlocTopology(.synthetic("pack:2 numa:2 core:2 pu:2")).snapshot()
        #expect(topology.source == "synthetic")
        #expect(topology.numaNodes.count == 4 && topology.pus == Array(0..<16))
    }

    @Test func unreadableXMLNamesTheFile() throws {
        let path = NSTemporaryDirectory() + "arca-broken-\(UUID().uuidString).xml"
        try "<topology><object type=".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let error = try #require(throws: TopologyError.self) { try HwlocTopology(.xmlFile(path)) }
        #expect(error.description.contains(path))
        #expect(throws: TopologyError.self) { try HwlocTopology(.xmlFile("/nonexistent/machine.xml")) }
    }
}

@Suite("The running machine")
struct SystemTopologyTests {
    @Test func everyOnlinePUBelongsToANode() throws {
        let topology = try HwlocTopology(.system).snapshot()
        #expect(topology.isThisSystem && topology.source == "system")
        let online = sysconf(Int32(_SC_NPROCESSORS_ONLN))
        #expect(topology.numaNodes.flatMap(\.pus).count == online)
        #expect(topology.numaNodes.contains { $0.osIndex == 0 && $0.pus.contains(0) })
        #expect(Set(topology.allowed.pus).isSubset(of: Set(topology.pus)))
        #expect(!topology.allowed.pus.isEmpty)
    }

    @Test func kernelReportsTheNodeOfTouchedMemory() throws {
        try #require(NUMAMemory.isAvailable)
        let page = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 4096)
        defer { page.deallocate() }
        page.storeBytes(of: 1, as: UInt8.self)
        let node = try NUMAMemory.node(of: page)
        #expect(try HwlocTopology(.system).snapshot().numaNodes.map(\.osIndex).contains(node))
    }

    @Test func fallbackIsOneNodeWithEveryOnlinePU() {
        let topology = Topology.fallback()
        #expect(
            topology.numaNodes.count == 1 && topology.numaNodes[0].pus.count == sysconf(Int32(_SC_NPROCESSORS_ONLN)))
    }
}
