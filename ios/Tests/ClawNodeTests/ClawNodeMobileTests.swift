import ClawNode
import Foundation
import XCTest

/// The Kotlin ClawNodeMobileTest/QuickstartTest contract in Swift, against the real Gateway.
final class ClawNodeMobileTests: XCTestCase {
    private func iphone(_ gw: GatewayFixture, _ name: String) -> NodeConfig {
        NodeConfig(gatewayUrl: gw.url, displayName: name, platform: "iOS 18.4", deviceFamily: "iPhone",
                   clientId: .openclawIos, token: gw.token)
    }

    private func ready(_ gw: GatewayFixture, _ node: ClawNode) async throws {
        for await s in node.states {
            if case .ready = s { return }
            if case .awaitingCommandApproval = s { _ = try gw.call("approve_node") }
        }
    }

    func testProgressReachesTheGateway() async throws {
        let gw = try GatewayFixture(allow: ["test.progress"])
        let node = try ClawNode(config: iphone(gw, "swift-progress")) {
            $0.command("test.progress") { _, invoke in
                try await invoke.progress("step 1 of 2\n")
                throw CommandError.failed(code: "NODE_NOT_READY", message: "not ready after all")
            }
        }
        try node.start()
        try await ready(gw, node)
        let message = (try gw.invoke(node.deviceId, "test.progress")["error"] as? [String: Any])?["message"] as? String
        XCTAssertTrue(message?.contains("not-ready after invocation progress") ?? false, message ?? "")
        try await node.stop()
    }

    func testChatEventArrivesWithItsPayload() async throws {
        let gw = try GatewayFixture(allow: ["test.echo"])
        let node = try ClawNode(config: iphone(gw, "swift-chat")) { $0.command("test.echo") { p, _ in p } }
        try node.start()
        try await ready(gw, node)
        let key = "agent:main:swift-chat-\(UUID().uuidString)"
        _ = try gw.call("request", ["method": "sessions.create", "params": ["key": key]])
        let events = node.events
        try await node.sendEvent("chat.subscribe", payloadJson: "{\"sessionKey\":\"\(key)\"}")
        _ = try gw.call("request", ["method": "chat.inject", "params": ["sessionKey": key, "message": "hello ✓"]])
        for await event in events {
            guard case let .chat(chat) = event else { continue }
            XCTAssertEqual(chat.sessionKey, key)
            XCTAssertEqual(chat.state, .final)
            XCTAssertTrue(chat.messageJson?.contains("hello ✓") ?? false)
            break
        }
        try await node.stop()
    }

    func testWorkQueuedInTheBackgroundArrivesAfterForeground() async throws {
        let gw = try GatewayFixture(allow: ["screen.record"])
        let node = try ClawNode(config: iphone(gw, "swift-pending")) {
            $0.command("screen.record") { _, _ in #"{"format":"mp4","base64":"","durationMs":1,"hasAudio":false}"# }
        }
        try node.start()
        try await ready(gw, node)
        node.setForeground(false)
        let refused = try gw.invoke(node.deviceId, "screen.record")["error"] as? [String: Any]
        XCTAssertEqual((refused?["details"] as? [String: Any])?["code"] as? String, "QUEUED_UNTIL_FOREGROUND")
        _ = try gw.call("request", ["method": "node.pending.enqueue", "params": ["nodeId": node.deviceId, "type": "status.request"]])
        let notices = node.notices
        node.setForeground(true)
        for await notice in notices {
            if case let .pendingActionRan(_, command, error) = notice {
                XCTAssertEqual(command, "screen.record")
                XCTAssertNil(error)
                break
            }
        }
        for await item in node.pendingWork {
            XCTAssertEqual(item.kind, "status.request")
            break
        }
        try await node.stop()
    }

    func testQuickstartAnswersACommand() async throws {
        let gw = try GatewayFixture(allow: ["demo.greet"])
        let node = try startNode(url: gw.url, token: gw.token)
        try await ready(gw, node)
        let r = try gw.invoke(node.deviceId, "demo.greet", params: ["name": "docs"])
        XCTAssertEqual(((r["result"] as? [String: Any])?["payload"] as? [String: Any])?["text"] as? String, "hello docs")
        try await node.stop()
    }
}
