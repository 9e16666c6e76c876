import ArcaExecutors
import ArcaParty
import ArcaRuntime
import ServiceLifecycle

/// arcad's parts as services of one `ServiceGroup`. Each waits for the group's graceful shutdown and
/// then stops its part; the group shuts them down in the reverse of the order it lists them, so
/// ``services(state:application:grace:)`` lists them bottom up: the executors stop last.
enum PartService: Service {
    /// The NUMA executors: their workers finish the item they run, then exit.
    case executors(ExecutorPool)
    /// The party link: stops listening and aborts open channels.
    case partyLink(PartyLink)
    /// The job runtime: starts nothing more; running jobs end `interrupted` within `grace`.
    case jobRuntime(JobRuntime, grace: Duration)

    func run() async throws {
        try? await gracefulShutdown()
        switch self {
        case .executors(let pool): pool.shutdown()
        case .partyLink(let link): link.stop()
        case .jobRuntime(let runtime, let grace): await runtime.stop(grace: grace)
        }
    }
}

/// The services of arcad, bottom up: executors, party link, job runtime (when the store and audit log
/// opened), then the management API's `application`, which the group stops first.
public func services(state: DaemonState, application: any Service, grace: Duration) -> [any Service] {
    var services: [any Service] = [PartService.executors(state.pool)]
    if case .success(let jobs) = state.jobs {
        if let party = jobs.party { services.append(PartService.partyLink(party)) }
        services.append(PartService.jobRuntime(jobs.runtime, grace: grace))
    }
    services.append(application)
    return services
}
