import ArcaAccel
import ArcaIV
import ArcaParty
import ArcaRuntime

/// The job kinds this arcad runs: one line per kind. A new kind is a folder beside these and one
/// line here.
public enum JobKinds {
    /// - Parameters:
    ///   - link: the party link, for kinds that run with a partner (nil: none configured).
    ///   - registry: the devices, for kinds that offload exponentiations or NTTs.
    ///   - ivLimits: what this appliance accepts from a guest as a WOE/IV host (`[iv]`).
    public static func all(link: PartyLink?, registry: DeviceRegistry?, ivLimits: IVLimits = .defaults) -> [any JobKind]
    {
        [
            DatasetStatsJob(),
            PSIJob(link: link, registry: registry),
            IVJob(link: link, registry: registry, limits: ivLimits),
        ]
    }
}
