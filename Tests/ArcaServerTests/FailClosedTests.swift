import ArcaAPI
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import ArcaServer

/// HE operations fail closed on the audit log, and the role check trusts a pid's groups only for
/// the socket peer's own identity (issue 13, leak 12).
extension RouterTests {
    @Test func anHEOperationWhoseAuditEntryCannotBeWrittenFailsWithoutItsResult() async throws {
        let state = await DaemonState.discover(
            config: Self.config(), socketPath: "/tmp/router-test-7.sock", logLevel: LogLevelSwitch(.info))
        let app = Application(router: buildRouter(state: state))
        let name = "k" + UUID().uuidString.prefix(8)
        let encrypt = ByteBuffer(string: #"{"key": "\#(name)", "plaintexts": ["42"]}"#)
        try await app.test(.router) { client in
            let created = try await client.execute(
                uri: "/v1/he/keys", method: .post,
                body: ByteBuffer(string: #"{"name": "\#(name)", "bits": 2048}"#))
            #expect(created.status == .created)
            #expect(try await client.execute(uri: "/v1/he/encrypt", method: .post, body: encrypt).status == .ok)
            // The audit log can no longer be written: a directory where the file was.
            let log = try state.jobServices().audit.logPath
            try FileManager.default.removeItem(atPath: log)
            try FileManager.default.createDirectory(atPath: log, withIntermediateDirectories: false)
            let refused = try await client.execute(uri: "/v1/he/encrypt", method: .post, body: encrypt)
            #expect(refused.status == .internalServerError, "\(String(buffer: refused.body))")
            #expect(!String(buffer: refused.body).contains("ciphertexts"))
            #expect(String(buffer: refused.body).contains("audit entry cannot be written"))
            let keygen = try await client.execute(
                uri: "/v1/he/keys", method: .post,
                body: ByteBuffer(string: #"{"name": "other", "bits": 2048}"#))
            #expect(keygen.status == .internalServerError)
        }
    }

    @Test func aPidIsTrustedForGroupsOnlyWhileItRunsAsTheSocketPeer() throws {
        let status =
            "Name:\tarcactl\nUid:\t1001\t1001\t1001\t1001\nGid:\t1001\t1001\t1001\t1001\nGroups:\t27 998 1001\n"
        #expect(RolePolicy.groups(status: status, uid: 1001, gid: 1001) == [1001, 27, 998, 1001])
        // The pid now belongs to another user's process (reused), or the caller changed identity.
        #expect(RolePolicy.groups(status: status, uid: 1002, gid: 1001) == nil)
        #expect(RolePolicy.groups(status: status, uid: 1001, gid: 1002) == nil)
        let setuid = status.replacingOccurrences(of: "Uid:\t1001\t1001\t1001\t1001", with: "Uid:\t1001\t0\t0\t0")
        #expect(RolePolicy.groups(status: setuid, uid: 1001, gid: 1001) == nil)
        // This process, claimed for another uid: its /proc groups are not used, only the user
        // database's (no user: the gid alone).
        let mine = RolePolicy.groups(pid: getpid(), uid: geteuid() &+ 1, gid: 4242, user: nil)
        #expect(mine == [4242])
        let own = RolePolicy.groups(pid: getpid(), uid: geteuid(), gid: getegid(), user: nil)
        #expect(own.first == getegid())
    }
}
