import ArcaAPI
import Foundation
import Testing

/// Test users and groups, made once: arcatest-admin (groups arca-admin and arca-view),
/// arcatest-view (arca-view), arcatest-none (neither).
enum TestUsers {
    static let made: Result<Void, any Error> = Result {
        for group in ["arca-view", "arca-admin"] {
            _ = try Harness.run(URL(fileURLWithPath: "/usr/sbin/groupadd"), ["-f", group])
        }
        for (user, groups) in [
            ("arcatest-admin", "arca-admin,arca-view"), ("arcatest-view", "arca-view"), ("arcatest-none", ""),
        ] {
            if getpwnam(user) == nil {
                var arguments = ["-M", "-N", "-s", "/usr/sbin/nologin"]
                if !groups.isEmpty { arguments += ["-G", groups] }
                let made = try Harness.run(URL(fileURLWithPath: "/usr/sbin/useradd"), arguments + [user])
                guard made.status == 0 else { throw CancellationError() }
            } else if !groups.isEmpty {
                _ = try Harness.run(URL(fileURLWithPath: "/usr/sbin/usermod"), ["-G", groups, user])
            }
        }
    }

    /// arcactl run as `user` through runuser (its groups from the group database).
    static func arcactl(_ user: String, _ arguments: [String]) throws -> Harness.Result {
        try Harness.run(
            URL(fileURLWithPath: "/usr/sbin/runuser"),
            ["-u", user, "--", try Harness.executable("arcactl").path] + arguments)
    }

    static var available: Bool {
        getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/sbin/runuser")
            && FileManager.default.isExecutableFile(atPath: "/usr/sbin/useradd")
    }
}

@Suite("roles on the socket", .serialized)
struct RolesTests {
    @Test(.enabled(if: TestUsers.available, "needs root, runuser and useradd"))
    func adminViewAndNone() throws {
        try TestUsers.made.get()
        let fixture = try JobFixture()
        let daemon = try fixture.start()
        // The socket: root, group arca-view, 0660.
        var info = stat()
        #expect(stat(fixture.socket, &info) == 0)
        let viewGroup = try #require(getgrnam("arca-view")).pointee.gr_gid
        #expect(info.st_uid == 0 && info.st_gid == viewGroup && info.st_mode & 0o777 == 0o660)
        try fixture.registerBreast()
        let spec = try fixture.spec("job")
        chmod(fixture.directory, 0o755)
        chmod(spec, 0o644)
        let socket = ["--socket", fixture.socket]

        // Admin: reads and changes.
        for arguments in [
            ["status"], ["dataset", "list"],
            ["dataset", "grant", "breast", "--partner", "local", "--purpose", "stats"],
            ["job", "submit", spec], ["job", "list"], ["audit", "verify"], ["log-level", "info"],
            ["he", "keygen", "--bits", "2048", "--name", "roles"],
        ] {
            let result = try TestUsers.arcactl("arcatest-admin", arguments + socket)
            #expect(result.status == 0, "admin \(arguments): \(result.stderr)")
        }
        let job = try fixture.wait(job: 1) { $0.state == "succeeded" }
        #expect(job.submittedBy.contains("(arcatest-admin)"))

        // View: reads; 403 on every change.
        for arguments in [
            ["status"], ["devices"], ["dataset", "list"], ["dataset", "grants"], ["job", "list"], ["job", "show", "1"],
            ["job", "result", "1"], ["usage"], ["audit", "show"], ["audit", "verify"], ["log-level"],
        ] {
            let result = try TestUsers.arcactl("arcatest-view", arguments + socket)
            #expect(result.status == 0, "view \(arguments): \(result.stderr)")
        }
        for arguments in [
            ["dataset", "add", "x", "--file", JobFixture.data + "/breast_hetero_guest.csv", "--id-column", "id"],
            ["dataset", "grant", "breast", "--partner", "p", "--purpose", "psi"], ["job", "submit", spec],
            ["job", "cancel", "1"], ["dataset", "revoke", "1"], ["log-level", "debug"],
            ["he", "keygen", "--bits", "2048", "--name", "view"],
        ] {
            let result = try TestUsers.arcactl("arcatest-view", arguments + socket)
            #expect(
                result.status == 1 && result.stderr.contains("403 forbidden")
                    && result.stderr.contains("may only read"), "view \(arguments): \(result.stderr)")
        }
        // Neither group: the socket itself refuses, in one line.
        let none = try TestUsers.arcactl("arcatest-none", ["status"] + socket)
        #expect(
            none.status == 4 && none.stderr.contains("permission denied")
                && none.stderr.split(separator: "\n").count == 1, "\(none.stderr)")

        // Every refusal is audited with its actor.
        let audit = try fixture.json(AuditEntriesResponse.self, ["audit", "show"])
        let denied = audit.entries.filter {
            $0.contains("\"action\":\"access\"") && $0.contains("\"result\":\"denied\"") && $0.contains("arcatest-view")
        }
        #expect(denied.count == 7)
        #expect(audit.entries.contains { $0.contains("\"action\":\"he.keygen\"") && $0.contains("arcatest-admin") })
        #expect(
            audit.entries.contains { $0.contains("\"action\":\"logging.set\"") && $0.contains("arcatest-admin") },
            "every change records its actor")
        #expect(daemon.stop() == 0)
    }

    /// As the image runs it: arcad as an unprivileged user with the view group as its group
    /// (`User=arca`, `Group=arca-view`); here the user is arcatest-admin, started with setpriv.
    @Test(
        .enabled(
            if: TestUsers.available && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"),
            "needs root, setpriv and useradd"))
    func arcadAsAnUnprivilegedUserWithTheViewGroup() throws {
        try TestUsers.made.get()
        let fixture = try JobFixture()
        let owner = try #require(getpwnam("arcatest-admin")).pointee.pw_uid
        let viewGroup = try #require(getgrnam("arca-view")).pointee.gr_gid
        #expect(chown(fixture.directory, owner, viewGroup) == 0 && chmod(fixture.directory, 0o750) == 0)
        let daemon = try Daemon(
            socket: fixture.socket, arguments: ["--config", fixture.config],
            launcher: ["/usr/bin/setpriv", "--reuid=arcatest-admin", "--regid=arca-view", "--init-groups", "--"])
        var info = stat()
        #expect(
            stat(fixture.socket, &info) == 0 && info.st_uid == owner && info.st_gid == viewGroup
                && info.st_mode & 0o777 == 0o660)
        let socket = ["--socket", fixture.socket]
        // Root may change things; so may arcad's own user.
        #expect(
            try fixture.ctl([
                "dataset", "add", "breast", "--file", JobFixture.data + "/breast_hetero_guest.csv", "--id-column", "id",
            ]).status == 0)
        let grant = try TestUsers.arcactl(
            "arcatest-admin", ["dataset", "grant", "breast", "--partner", "local", "--purpose", "stats"] + socket)
        #expect(grant.status == 0, "\(grant.stderr)")
        // The view group reads, and gets 403 on a change.
        #expect(try TestUsers.arcactl("arcatest-view", ["dataset", "list"] + socket).status == 0)
        let refused = try TestUsers.arcactl(
            "arcatest-view", ["dataset", "grant", "breast", "--partner", "x", "--purpose", "psi"] + socket)
        #expect(refused.status == 1 && refused.stderr.contains("403 forbidden"), "\(refused.stderr)")
        // Anyone else cannot even reach the socket.
        let none = try TestUsers.arcactl("arcatest-none", ["status"] + socket)
        #expect(none.status == 4 && none.stderr.contains("permission denied"), "\(none.stderr)")
        // The state arcad made is its own, private.
        #expect(
            stat(fixture.state + "/audit/appliance.key", &info) == 0 && info.st_uid == owner
                && info.st_mode & 0o777 == 0o600)
        #expect(daemon.stop() == 0)
    }
}
