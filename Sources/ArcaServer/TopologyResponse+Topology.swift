import ArcaAPI
import ArcaTopology

extension TopologyResponse {
    /// The wire form of a topology and its placement plan; arcad answers `GET /v1/topology` with it
    /// and `arcactl topology --input FILE.xml` prints it without a daemon.
    public init(_ topology: Topology, plan: PlacementPlan) {
        self.init(
            source: topology.source,
            packages: topology.packages.map { .init(osIndex: $0.osIndex, pus: $0.pus, numaNodes: $0.numaNodes) },
            numaNodes: topology.numaNodes.map {
                .init(osIndex: $0.osIndex, memoryBytes: $0.memoryBytes, pus: $0.pus, subtype: $0.subtype)
            },
            cores: topology.cores.map {
                .init(osIndex: $0.osIndex, pus: $0.pus, package: $0.package, numaNode: $0.numaNode)
            },
            pciDevices: topology.pciDevices.map {
                .init(
                    busId: $0.busId, kind: $0.kind.rawValue, classId: $0.classId, vendorId: $0.vendorId,
                    deviceId: $0.deviceId, vendorName: $0.vendorName, deviceName: $0.deviceName,
                    osDevices: $0.osDevices, numaNode: $0.numaNode, localNumaNodes: $0.localNUMANodes)
            },
            allowed: .init(pus: topology.allowed.pus, numaNodes: topology.allowed.numaNodes),
            plan: .init(
                policy: plan.policy.rawValue,
                executors: plan.executors.map { .init(numaNode: $0.numaNode, pus: $0.pus) },
                reservedPus: plan.reservedPUs,
                entries: plan.entries.map {
                    .init(
                        workloadClass: $0.workloadClass.rawValue, device: $0.device, deviceName: $0.deviceName,
                        numaNode: $0.numaNode, pus: $0.pus, reason: $0.reason, refused: $0.refused)
                }))
    }
}
