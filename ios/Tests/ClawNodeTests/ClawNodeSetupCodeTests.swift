import ClawNode
import Foundation
import XCTest
#if canImport(Darwin)
import Darwin
#endif

/// A loopback port nothing listens on (bound to port 0, read, released: Kotlin's
/// `ServerSocket(0).use { it.localPort }`).
private func deadLoopbackPort() -> UInt16 {
    #if canImport(Darwin)
    let fd = Darwin.socket(AF_INET, SOCK_STREAM, 0)
    defer { Darwin.close(fd) }
    var addr = sockaddr_in()
    addr.sin_len = UInt8(MemoryLayout<sockaddr_in>.size)
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = Darwin.inet_addr("127.0.0.1")
    addr.sin_port = 0
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Darwin.bind(fd, $0, len) }
    }
    guard bound == 0 else { return 9 }
    _ = withUnsafeMutablePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Darwin.getsockname(fd, $0, &len) }
    }
    return UInt16(bigEndian: addr.sin_port)
    #else
    return 9 // the discard port: nothing listens on it
    #endif
}

/// The setup-code test of the Kotlin ClawNodeMobileTest in Swift, against the real Gateway: a
/// setup code whose first URL is dead connects through the second.
final class ClawNodeSetupCodeTests: XCTestCase {
    /// A setup-code (bootstrap) node's surface may be approved without the operator.
    private func ready(_ gw: GatewayFixture, _ node: ClawNode) async throws {
        try await awaitState(node, within: 90, "approval or ready") { $0.isApprovalOrReady }
        if await firstState(in: node.states, within: 3, where: { $0.isReady }) == nil {
            let approved = try gw.call("approve_node")
            XCTAssertTrue((approved["ok"] as? Bool) == true || node.state.isReady, "\(approved); state \(node.state)")
        }
        try await awaitState(node, within: 90, "ready") { $0.isReady }
    }

    private func request(_ gw: GatewayFixture, _ method: String, _ params: [String: Any]) throws -> [String: Any] {
        try gw.call("request", ["method": method, "params": params])
    }

    private func base64UrlDecode(_ s: String) -> Data? {
        var b64 = s.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        b64 += String(repeating: "=", count: (4 - b64.count % 4) % 4)
        return Data(base64Encoded: b64)
    }

    private func base64UrlEncode(_ data: Data) -> String {
        data.base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    private func trimmingTrailingSlashes(_ s: String) -> String {
        var s = s
        while s.hasSuffix("/") { s.removeLast() }
        return s
    }

    func testASetupCodeWhoseFirstUrlIsDeadConnectsThroughTheSecond() async throws {
        let gw = try GatewayFixture(allow: ["test.echo"])
        let issued = try request(gw, "device.pair.setupCode", ["bootstrapProfile": "node", "publicUrl": gw.url])
        XCTAssertEqual(issued["ok"] as? Bool, true, "\(issued)")
        let code = try XCTUnwrap((issued["result"] as? [String: Any])?["setupCode"] as? String, "\(issued)")
        let decoded = try XCTUnwrap(base64UrlDecode(code), code)
        var body = try XCTUnwrap(try JSONSerialization.jsonObject(with: decoded) as? [String: Any])
        let dead = "ws://127.0.0.1:\(deadLoopbackPort())"
        body["url"] = dead
        body["urls"] = [dead, gw.url]
        let twoUrls = base64UrlEncode(try JSONSerialization.data(withJSONObject: body, options: .withoutEscapingSlashes))
        let node = try ClawNode(config: NodeConfig(
            setupCode: twoUrls, displayName: "swift-setup", platform: "linux", plaintextPolicy: .loopbackOnly
        )) {
            $0.command("test.echo") { params, _ in params }
        }
        defer { node.close() }
        try node.start()
        try await ready(gw, node)
        XCTAssertEqual(trimmingTrailingSlashes(node.endpoint.url), trimmingTrailingSlashes(gw.url))
        let r = try gw.invoke(node.deviceId, "test.echo", params: ["via": "second url"])
        XCTAssertEqual(r["ok"] as? Bool, true, "\(r)")
        XCTAssertEqual(((r["result"] as? [String: Any])?["payload"] as? [String: Any])?["via"] as? String, "second url")
        try await node.stop()
    }
}
