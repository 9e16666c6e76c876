import ArcaAccel
import ArcaParty
import ArcaRuntime

/// The job kinds this arcad runs: one line per kind. A new kind is a folder beside these and one
/// line here.
public enum JobKinds {
    /// - Parameters:
    ///   - link: the party link, for kinds that run with a partner (nil: none configured).
    ///   - registry: the devices, for kinds that offload exponentiations or NTTs.
    public static func all(link: PartyLink?, registry: DeviceRegistry?) -> [any JobKind] {
        [
            DatasetStatsJob(),
            PSIJob(link: link, registry: registry),
            IVJob(link: link, registry: registry),
        ]
    }
}
