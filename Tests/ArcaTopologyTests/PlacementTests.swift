import Foundation
import Testing

@testable import ArcaTopology

/// Placement plans over hwloc XML files of machines we do not have.
@Suite("Placement plans")
struct PlacementTests {
    func load(_ name: String) throws -> Topology { try HwlocTopology(.xmlFile(fixture(name))).snapshot() }

    /// Nothing is ever placed on a CPU-less node or outside the allowed cpuset.
    func checkInvariants(_ plan: PlacementPlan, _ topology: Topology) {
        let allowed = Set(topology.allowed.pus)
        let cpuLess = Set(topology.numaNodes.filter { $0.pus.isEmpty }.map(\.osIndex))
        for executor in plan.executors {
            #expect(!cpuLess.contains(executor.numaNode))
            #expect(Set(executor.pus).isSubset(of: allowed))
        }
        for entry in plan.entries {
            #expect(Set(entry.pus).isSubset(of: allowed), "\(entry)")
            if let node = entry.numaNode { #expect(!cpuLess.contains(node), "\(entry)") }
        }
    }

    @Test func dualSocketServer() throws {
        let topology = try load("dual-socket-4numa-gpus")
        let plan = topology.plan(PlacementConfig())
        checkInvariants(plan, topology)
        #expect(plan.executors.map(\.numaNode) == [0, 1, 2, 3], "the CXL node gets no executor")
        #expect(plan.reservedPUs == [0, 1], "32 cores: one reserved for management")
        let gpu0 = try #require(plan.entry(.he, device: "0000:17:00.0"))
        #expect(gpu0.numaNode == 0 && gpu0.pus == Array(2..<16))
        let gpu1 = try #require(plan.entry(.he, device: "0000:b1:00.0"))
        #expect(gpu1.numaNode == 3 && gpu1.pus == Array(48..<64))
        let nic = try #require(plan.entry(.mpc, device: "0000:3b:00.0"))
        #expect(nic.numaNode == 1 && nic.pus == Array(16..<32) && nic.deviceName == "ens1f0")
        let cpu = try #require(plan.entry(.cpu))
        #expect(cpu.numaNode == nil && cpu.pus == Array(2..<64))
        #expect(plan.entry(.management)?.pus == [0, 1])
    }

    @Test func excludedNodeFallsBackUnderBestEffortAndIsRefusedUnderRestricted() throws {
        let topology = try load("dual-socket-4numa-gpus")
        let bestEffort = topology.plan(PlacementConfig(policy: .bestEffort, excludedNodes: [3]))
        checkInvariants(bestEffort, topology)
        let gpu = try #require(bestEffort.entry(.he, device: "0000:b1:00.0"))
        #expect(!gpu.refused && gpu.numaNode == nil && !gpu.pus.contains(48) && gpu.reason.contains("excluded"))
        for policy in [PlacementPolicy.restricted, .singleNUMANode] {
            let strict = topology.plan(PlacementConfig(policy: policy, excludedNodes: [3]))
            let refused = try #require(strict.entry(.he, device: "0000:b1:00.0"))
            #expect(refused.refused && refused.pus.isEmpty && refused.reason.contains("node 3 is excluded"))
        }
    }

    @Test func pinningAndPartyInterface() throws {
        let topology = try load("dual-socket-4numa-gpus")
        let plan = topology.plan(PlacementConfig(reservedCores: 0, pinned: [.he: [2]], partyInterface: "ens1f0"))
        #expect(
            plan.entries.filter { $0.workloadClass == .he }.allSatisfy { $0.numaNode == 2 && $0.pus == Array(32..<48) })
        #expect(plan.entries.filter { $0.workloadClass == .mpc }.map(\.device) == ["0000:3b:00.0"])
        #expect(plan.reservedPUs.isEmpty)
        let missing = topology.plan(PlacementConfig(pinned: [.he: [99]]))
        #expect(
            missing.entry(.he)?.refused == true && missing.entry(.he)?.reason.contains("node 99 does not exist") == true
        )
        let none = topology.plan(PlacementConfig(excludedNodes: [0, 1, 2, 3]))
        #expect(none.executors.isEmpty && none.entries.allSatisfy { $0.workloadClass == .management || $0.refused })
        let cxl = topology.plan(PlacementConfig(pinned: [.mpc: [4]]))
        let refused = try #require(cxl.entry(.mpc))
        #expect(refused.refused && refused.reason.contains("CPU-less"))
    }

    @Test func policyNoneIgnoresLocality() throws {
        let topology = try load("dual-socket-4numa-gpus")
        let plan = topology.plan(PlacementConfig(policy: .none))
        #expect(plan.entries.filter { $0.workloadClass == .he }.allSatisfy { $0.numaNode == nil && $0.pus.count == 62 })
    }

    @Test func singleNodeAndManyNodes() throws {
        let single = try load("single-node")
        let plan = single.plan(PlacementConfig())
        checkInvariants(plan, single)
        #expect(plan.executors.map(\.numaNode) == [0] && plan.executors[0].pus == Array(2..<8))
        let sixteen = try load("sixteen-node")
        let wide = sixteen.plan(PlacementConfig(policy: .singleNUMANode, reservedCores: 0))
        #expect(wide.executors.count == 16)
        #expect(wide.entry(.cpu)?.pus == Array(0..<32))
    }

    @Test func epycNPS4WithNICsGPUsAndFPGAOnDifferentNodes() throws {
        let topology = try load("epyc-nps4-8node")
        #expect(topology.numaNodes.count == 8)
        let plan = topology.plan(PlacementConfig(reservedCores: 0, partyInterface: "ens9f0"))
        checkInvariants(plan, topology)
        #expect(plan.executors.count == 8)
        #expect(plan.entry(.he, device: "0000:c1:00.0")?.numaNode == 2)
        #expect(
            plan.entry(.he, device: "0000:c1:00.0")?.pus == Array(16..<24),
            "HE work for the GPU on node 2 runs on node 2's PUs")
        #expect(plan.entry(.he, device: "0000:41:00.0")?.numaNode == 5)
        #expect(plan.entry(.he, device: "0000:a1:00.0")?.numaNode == 4, "the FPGA (class 0x1200) is an accelerator")
        let mpc = plan.entries.filter { $0.workloadClass == .mpc }
        #expect(
            mpc.count == 1 && mpc[0].device == "0000:e1:00.0" && mpc[0].numaNode == 6 && mpc[0].pus == Array(48..<56))
        let everyNIC = topology.plan(PlacementConfig(reservedCores: 0))
        #expect(everyNIC.entries.filter { $0.workloadClass == .mpc }.compactMap(\.numaNode).sorted() == [1, 6])
    }

    @Test func cgroupAllowingOneSocketOnly() throws {
        let topology = try load("dual-socket-one-socket-allowed")
        #expect(topology.allowed.pus == Array(0..<32) && topology.allowed.numaNodes == [0, 1])
        #expect(topology.pus.count == 64, "the full machine is still reported beside the allowed part")
        let plan = topology.plan(PlacementConfig())
        checkInvariants(plan, topology)
        #expect(plan.executors.map(\.numaNode) == [0, 1])
        #expect(plan.entry(.he, device: "0000:17:00.0")?.numaNode == 0)
        let far = try #require(plan.entry(.he, device: "0000:b1:00.0"))
        #expect(
            !far.refused && far.numaNode == nil && far.pus.allSatisfy { $0 < 32 }
                && far.reason.contains("outside the allowed cpuset"))
        let restricted = topology.plan(PlacementConfig(policy: .restricted))
        #expect(restricted.entry(.he, device: "0000:b1:00.0")?.refused == true)
    }

    @Test func offlineCPUsAreNeverPlanned() throws {
        let topology = try load("offline-cpus")
        #expect(topology.numaNodes[0].pus == Array(0..<6))
        let plan = topology.plan(PlacementConfig(reservedCores: 0))
        checkInvariants(plan, topology)
        #expect(plan.executors[0].pus == Array(0..<6))
    }

    @Test func fallbackTopologyPlansOneNode() {
        let plan = Topology.fallback().plan(PlacementConfig())
        #expect(plan.executors.count == 1 && plan.executors[0].numaNode == 0)
    }
}
