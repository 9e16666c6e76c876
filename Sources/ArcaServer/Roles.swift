import ArcaAPI
import ArcaAudit
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
#if canImport(Glibc)
import Glibc
#endif

/// The request context of API v1: Hummingbird's core storage, plus the connection's channel, from
/// which the caller's credentials are read (SO_PEERCRED on the Unix socket).
public struct ArcaRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    let channel: (any Channel)?
    /// The caller, once ``RoleMiddleware`` has read it.
    public var caller: Caller?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}

/// What a caller may do: `admin` changes things; `view` reads; `none` nothing.
public enum Role: String, Sendable, Comparable {
    case none, view, admin
    public static func < (a: Role, b: Role) -> Bool {
        let order: [Role] = [.none, .view, .admin]
        return order.firstIndex(of: a)! < order.firstIndex(of: b)!
    }
}

/// A caller on the socket: its credentials from the kernel, its groups, and its role.
public struct Caller: Sendable {
    public var uid: UInt32
    public var gid: UInt32
    public var pid: Int32
    public var user: String?
    public var groups: [UInt32]
    public var role: Role
    /// False for a request that did not come over a socket (the in-process router of the tests).
    public var fromSocket: Bool

    public var actor: AuditActor { AuditActor(uid: Int(uid), gid: Int(gid), pid: Int(pid), user: user) }
}

/// `struct ucred` of `<sys/socket.h>` (pid_t, uid_t, gid_t), which Swift's Glibc module does not
/// import without `_GNU_SOURCE`: the same layout, three 32-bit fields.
struct PeerCredentials: Sendable {
    var pid: Int32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0
}

/// The role rules: root and members of the admin group are `admin`; members of the view group
/// `view`; everyone else `none`. Group ids are looked up by name once, at start; a group that does
/// not exist matches nobody (and `problems` says so).
public struct RolePolicy: Sendable {
    public let viewGroup: String
    public let adminGroup: String
    public let viewGid: UInt32?
    public let adminGid: UInt32?

    public init(viewGroup: String, adminGroup: String) {
        self.viewGroup = viewGroup
        self.adminGroup = adminGroup
        viewGid = Self.gid(of: viewGroup)
        adminGid = Self.gid(of: adminGroup)
    }

    /// Lines for the log, `status` and `--check-config` when a configured group is missing.
    public var problems: [String] {
        var lines: [String] = []
        if viewGid == nil {
            lines.append("roles: group \(viewGroup) does not exist: the socket stays owned by group \(geteuid() == 0 ? "root" : "of arcad's user") and only root\(geteuid() == 0 ? "" : " and arcad's user") can connect; create it with groupadd \(viewGroup)")
        }
        if adminGid == nil {
            lines.append("roles: group \(adminGroup) does not exist: only root may change things; create it with groupadd \(adminGroup)")
        }
        return lines
    }

    static func gid(of name: String) -> UInt32? {
        var group = group()
        var result: UnsafeMutablePointer<group>?
        var buffer = [CChar](repeating: 0, count: 16384)
        guard getgrnam_r(name, &group, &buffer, buffer.count, &result) == 0, result != nil else { return nil }
        return group.gr_gid
    }

    static func userName(_ uid: UInt32) -> String? {
        var passwd = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16384)
        guard getpwuid_r(uid, &passwd, &buffer, buffer.count, &result) == 0, result != nil, let name = passwd.pw_name else { return nil }
        return String(cString: name)
    }

    /// The groups of process `pid` as the kernel holds them (`/proc/PID/status`, `Groups:`) when that
    /// process still runs as the socket's peer (its real, effective, saved and file-system uids all
    /// `uid`, its gids all `gid`); else — the pid gone or reused by another user's process, or the
    /// caller changed identity since it connected — the groups of the user (`getgrouplist`), with
    /// `gid` in either case. So a pid is never trusted for another uid's groups.
    static func groups(pid: Int32, uid: UInt32, gid: UInt32, user: String?) -> [UInt32] {
        if let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
           let groups = groups(status: status, uid: uid, gid: gid) {
            return groups
        }
        return groups(user: user, gid: gid)
    }

    /// The `Groups:` of a `/proc/PID/status` text, with `gid`, when its `Uid:` and `Gid:` lines name
    /// only `uid` and `gid`; nil otherwise.
    static func groups(status: String, uid: UInt32, gid: UInt32) -> [UInt32]? {
        let lines = status.split(separator: "\n")
        func values(_ key: String) -> [UInt32]? {
            guard let line = lines.first(where: { $0.hasPrefix(key) }) else { return nil }
            let fields = line.dropFirst(key.count).split(whereSeparator: { $0 == " " || $0 == "\t" })
            let numbers = fields.compactMap { UInt32($0) }
            return numbers.count == fields.count ? numbers : nil
        }
        guard let uids = values("Uid:"), !uids.isEmpty, uids.allSatisfy({ $0 == uid }),
              let gids = values("Gid:"), !gids.isEmpty, gids.allSatisfy({ $0 == gid }),
              let groups = values("Groups:")
        else { return nil }
        return [gid] + groups
    }

    /// The groups the user database gives `user` (`getgrouplist`), with `gid`.
    static func groups(user: String?, gid: UInt32) -> [UInt32] {
        guard let user else { return [gid] }
        var count: Int32 = 64
        var list = [gid_t](repeating: 0, count: Int(count))
        if getgrouplist(user, gid, &list, &count) < 0 {
            list = [gid_t](repeating: 0, count: Int(count))
            _ = getgrouplist(user, gid, &list, &count)
        }
        return [gid] + list.prefix(Int(max(0, count)))
    }

    public func caller(uid: UInt32, gid: UInt32, pid: Int32) -> Caller {
        let user = Self.userName(uid)
        let groups = Self.groups(pid: pid, uid: uid, gid: gid, user: user)
        let role: Role
        if uid == 0 || uid == geteuid() { role = .admin }  // root, or the user arcad itself runs as
        else if let adminGid, groups.contains(adminGid) { role = .admin }
        else if let viewGid, groups.contains(viewGid) { role = .view }
        else { role = .none }
        return Caller(uid: uid, gid: gid, pid: pid, user: user, groups: groups, role: role, fromSocket: true)
    }
}

/// Reads each caller's credentials from the socket and enforces the roles: `GET`/`HEAD` need
/// `view`, everything else `admin`. A refusal is 403 `forbidden`, and audited.
struct RoleMiddleware: RouterMiddleware {
    typealias Context = ArcaRequestContext
    let policy: RolePolicy
    let audit: AuditLog?

    func handle(_ request: Request, context: ArcaRequestContext, next: (Request, ArcaRequestContext) async throws -> Response) async throws -> Response {
        var context = context
        let caller: Caller
        if let provider = context.channel as? SocketOptionProvider {
            let credentials: PeerCredentials
            do {
                credentials = try await provider.unsafeGetSocketOption(level: .socket, name: .init(rawValue: SO_PEERCRED)).get()
            } catch {
                throw APIError(.forbidden, code: "forbidden", "cannot read the caller's credentials from the socket (SO_PEERCRED): \(error)")
            }
            caller = policy.caller(uid: credentials.uid, gid: credentials.gid, pid: credentials.pid)
        } else {
            // Not a socket: the router driven in-process (tests). It runs with arcad's own identity.
            caller = Caller(uid: geteuid(), gid: getegid(), pid: getpid(), user: RolePolicy.userName(geteuid()), groups: [], role: .admin, fromSocket: false)
        }
        context.caller = caller
        let reading = request.method == .get || request.method == .head
        let needed: Role = reading ? .view : .admin
        guard caller.role >= needed else {
            let who = "uid \(caller.uid)" + (caller.user.map { " (\($0))" } ?? "")
            let message = caller.role == .none
                ? "\(who) is in neither group \(policy.viewGroup) nor \(policy.adminGroup): no access"
                : "\(who) may only read: \(request.method) \(request.uri.path) needs the admin role (root or group \(policy.adminGroup))"
            _ = try? audit?.append(AuditRecord(action: "access", actor: caller.actor, result: "denied", detail: "\(request.method) \(clip(request.uri.path)): \(message)"))
            throw APIError(.forbidden, code: "forbidden", message)
        }
        return try await next(request, context)
    }
}
