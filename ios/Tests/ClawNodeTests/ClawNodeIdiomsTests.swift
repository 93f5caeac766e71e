import ClawNode
import Foundation
import XCTest

/// Kotlin's `Greet(name = "world", times = 1)`: absent fields take the defaults.
private struct GreetParams: Decodable, Sendable {
    let name: String?
    let times: Int?
}

private struct GreetReply: Encodable, Sendable {
    let text: String
}

/// What `test.boom` throws (Kotlin: `error("boom from the handler")`).
private struct Boom: Error, CustomStringConvertible {
    var description: String { "boom from the handler" }
}

/// The Kotlin ClawNodeIdiomsTest contract in Swift, against the real Gateway: params, typed
/// handlers, logging, the node's lifetime, close.
final class ClawNodeIdiomsTests: XCTestCase {
    private func config(_ gw: GatewayFixture, _ name: String) -> NodeConfig {
        NodeConfig(gatewayUrl: gw.url, displayName: name, platform: "iOS 18.4", deviceFamily: "iPhone",
                   clientId: .openclawIos, version: "1.0.0", token: gw.token)
    }

    private func ready(_ gw: GatewayFixture, _ node: ClawNode) async throws {
        try await awaitState(node, within: 60, "approval or ready") { $0.isApprovalOrReady }
        if !node.state.isReady { XCTAssertEqual(try gw.call("approve_node")["ok"] as? Bool, true) }
        try await awaitState(node, within: 60, "ready") { $0.isReady }
    }

    private func payload(_ r: [String: Any]) -> [String: Any]? {
        (r["result"] as? [String: Any])?["payload"] as? [String: Any]
    }

    private func nodeErrorCode(_ r: [String: Any]) -> String? {
        let details = (r["error"] as? [String: Any])?["details"] as? [String: Any]
        return (details?["nodeError"] as? [String: Any])?["code"] as? String
    }

    /// Swift's form of the Kotlin test: `ClawNodeLog.sink` gets level and text (no
    /// `Throwable`: a Swift error has no stack trace), so the record names the error's type and
    /// its text; notices print the library's text (`description`), never a dump of the enum.
    func testAbsentParamsAreEmptyTypedParamsDecodeAndAThrownErrorIsLogged() async throws {
        let gw = try GatewayFixture(allow: ["test.echo", "test.greet", "test.boom"])
        let logged = Collected<(ClawNodeLog.Level, String)>()
        let previous = ClawNodeLog.sink
        ClawNodeLog.sink = { level, message in logged.append((level, message)) }
        defer { ClawNodeLog.sink = previous }
        let echoed = Collected<String>()
        let node = try ClawNode(config: config(gw, "swift-idioms")) {
            $0.command("test.echo") { params, _ in
                echoed.append(params)
                return "{\"params\":\(params)}"
            }
            $0.typedCommand("test.greet", as: GreetParams.self) { p, _ in
                GreetReply(text: "hello \(p.name ?? "world") x\(p.times ?? 1)")
            }
            $0.command("test.boom") { _, _ in throw Boom() }
        }
        defer { node.close() }
        let notices = Collected<NodeNotice>()
        let stream = node.notices
        let collector = Task { for await notice in stream { notices.append(notice) } }
        defer { collector.cancel() }
        try node.start()
        try await ready(gw, node)

        // No `params` at all on the wire: the handler gets `{}` (not `null`).
        let echo = try gw.invoke(node.deviceId, "test.echo", params: nil)
        XCTAssertEqual(echo["ok"] as? Bool, true, "\(echo)")
        XCTAssertEqual(echoed.all, ["{}"])
        let echoedParams = payload(echo)?["params"] as? [String: Any]
        XCTAssertNotNil(echoedParams, "\(echo)")
        XCTAssertEqual(echoedParams?.count, 0, "\(echo)")

        let greet = try gw.invoke(node.deviceId, "test.greet", params: ["name": "swift", "extra": true])
        XCTAssertEqual(greet["ok"] as? Bool, true, "\(greet)")
        XCTAssertEqual(payload(greet)?["text"] as? String, "hello swift x1")
        let bad = try gw.invoke(node.deviceId, "test.greet", params: ["name": ["not": "a string"]])
        XCTAssertEqual(bad["ok"] as? Bool, false)
        XCTAssertEqual(nodeErrorCode(bad), "INVALID_REQUEST", "\(bad)")

        let boom = try gw.invoke(node.deviceId, "test.boom")
        XCTAssertEqual(boom["ok"] as? Bool, false)
        XCTAssertEqual(nodeErrorCode(boom), "UNAVAILABLE", "\(boom)")
        let entries = logged.all.filter { $0.0 == .error && $0.1.contains("handler for test.boom") }
        XCTAssertEqual(entries.count, 1, "\(logged.all)")
        if let entry = entries.first {
            XCTAssertTrue(entry.1.contains("test.boom"), entry.1)
            XCTAssertTrue(entry.1.contains("\(Boom.self)"), entry.1)
            XCTAssertTrue(entry.1.contains("boom from the handler"), entry.1)
        }

        // Notices print as what they are: the library's text, not `connected(serverVersion: …)`.
        let seen = notices.all
        XCTAssertTrue(seen.contains { if case .connected = $0 { return true } else { return false } }, "\(seen)")
        for notice in seen {
            let text = "\(notice)"
            XCTAssertFalse(text.contains("@") || text.contains("NodeNotice"), text)
            if case .connected = notice { XCTAssertTrue(text.hasPrefix("connected to Gateway "), text) }
        }
        XCTAssertEqual("\(NodeNotice.deviceTokenStored)", "device token stored")
        XCTAssertEqual("\(NodeState.idle)", "idle")
        try await node.stop()
    }

    /// Kotlin binds a node to a `CoroutineScope`; Swift's owner is whoever holds the node:
    /// when the last reference goes, `deinit` stops it in the background (a loop over
    /// `states` holds the stream, not the node). `close()` never blocks and is idempotent.
    func testADroppedNodeStopsAndCloseNeverBlocks() async throws {
        let gw = try GatewayFixture(allow: ["test.echo"])
        var bound: ClawNode? = try ClawNode(config: config(gw, "swift-scope")) {
            $0.command("test.echo") { _, _ in "{}" }
        }
        let boundStates = try XCTUnwrap(bound).states
        try XCTUnwrap(bound).start()
        try await ready(gw, try XCTUnwrap(bound))
        bound = nil
        let boundStopped = await firstState(in: boundStates, within: 30) { $0.isStopped }
        XCTAssertNotNil(boundStopped, "the dropped node did not stop")

        let node = try ClawNode(config: config(gw, "swift-close")) {
            $0.command("test.echo") { _, _ in "{}" }
        }
        try node.start()
        try await ready(gw, node)
        let states = node.states
        let took = ContinuousClock().measure { node.close() }
        XCTAssertLessThan(took, .milliseconds(200), "close() took \(took)")
        let stopped = await firstState(in: states, within: 30) { $0.isStopped }
        XCTAssertNotNil(stopped, "close() did not stop the node")
        node.close() // idempotent
    }
}
