import ClawNode
import ClawNodeBindings
import XCTest

/// The same contract as android/jvm's ClawNodeGatewayTest, against the real Gateway.
final class ClawNodeTests: XCTestCase {
    private func config(_ gw: GatewayFixture, _ name: String) -> NodeConfig {
        NodeConfig(gatewayUrl: gw.url, displayName: name, platform: "iOS 18.4", deviceFamily: "iPhone",
                   clientId: .openclawIos, token: gw.token)
    }

    private func waitFor(_ node: ClawNode, _ pred: (NodeState) -> Bool) async -> NodeState? {
        for await s in node.states where pred(s) { return s }
        return nil
    }

    private func approveAndAwaitReady(_ gw: GatewayFixture, _ node: ClawNode) async throws {
        _ = await waitFor(node) {
            if case .awaitingCommandApproval = $0 { return true }
            if case .ready = $0 { return true }
            return false
        }
        if case .ready = node.state {} else { XCTAssertEqual(try gw.call("approve_node")["ok"] as? Bool, true) }
        _ = await waitFor(node) { if case .ready = $0 { return true } else { return false } }
    }

    func testHandlerAnswersAndErrorCodeReachesOperator() async throws {
        let gw = try GatewayFixture(allow: ["device.info", "test.fail"])
        let node = try ClawNode(config: config(gw, "swift-handlers")) {
            $0.command("device.info") { params, _ in "{\"model\":\"Swift test\",\"params\":\(params)}" }
            $0.command("test.fail") { _, _ in throw CommandError.failed(code: "CAMERA_PERMISSION_REQUIRED", message: "grant the camera permission") }
        }
        try node.start()
        try await approveAndAwaitReady(gw, node)
        let ok = try gw.invoke(node.deviceId, "device.info", params: ["x": 1])
        XCTAssertEqual(ok["ok"] as? Bool, true)
        let payload = (ok["result"] as? [String: Any])?["payload"] as? [String: Any]
        XCTAssertEqual(payload?["model"] as? String, "Swift test")
        let err = try gw.invoke(node.deviceId, "test.fail")["error"] as? [String: Any]
        XCTAssertEqual(err?["code"] as? String, "UNAVAILABLE")
        XCTAssertEqual(err?["message"] as? String,
                       "CAMERA_PERMISSION_REQUIRED: CAMERA_PERMISSION_REQUIRED: grant the camera permission")
        let nodeError = (err?["details"] as? [String: Any])?["nodeError"] as? [String: Any]
        XCTAssertEqual(nodeError?["code"] as? String, "CAMERA_PERMISSION_REQUIRED")
        try await node.stop()
    }

    /// The typed catalog as an iOS node (mirrors the Kotlin catalog test): `camera.snap` params
    /// arrive normalized with iOS defaults (quality 0.9, delayMs 0), decode into
    /// `.cameraSnap`; over the 5 MB budget → `PAYLOAD_TOO_LARGE`; backgrounded, `camera.snap`
    /// (iOS rule; the Gateway queues it) and a `foregroundOnly` command are refused.
    func testCatalogParamsBudgetsAndForegroundRules() async throws {
        let gw = try GatewayFixture(allow: ["camera.snap", "test.slow", "device.info"])
        let node = try ClawNode(config: config(gw, "swift-catalog")) {
            $0.command("camera.snap") { params, invoke in
                guard case let .cameraSnap(p) = try invoke.typed(params) else { throw CommandError.invalidParams("untyped") }
                XCTAssertEqual(p.quality, 0.9, accuracy: 1e-9)
                XCTAssertEqual(p.delayMs, 0)
                let b64 = String(repeating: "A", count: p.deviceId == "big" ? 5_000_000 : 8)
                return "{\"format\":\"jpg\",\"base64\":\"\(b64)\",\"width\":16,\"height\":12}"
            }
            $0.command("test.slow", foregroundOnly: true) { _, _ in "{}" }
            $0.command("device.info") { _, _ in "{}" }
        }
        try node.start()
        try await approveAndAwaitReady(gw, node)
        XCTAssertEqual(try gw.invoke(node.deviceId, "camera.snap")["ok"] as? Bool, true)
        let big = try gw.invoke(node.deviceId, "camera.snap", params: ["deviceId": "big"])
        let nodeError = ((big["error"] as? [String: Any])?["details"] as? [String: Any])?["nodeError"] as? [String: Any]
        XCTAssertEqual(nodeError?["code"] as? String, "PAYLOAD_TOO_LARGE")
        node.setForeground(false)
        // The Gateway queues a refused camera.* of an iOS node until the foreground (commands.md §4).
        let queued = try gw.invoke(node.deviceId, "camera.snap")["error"] as? [String: Any]
        XCTAssertEqual((queued?["details"] as? [String: Any])?["code"] as? String, "QUEUED_UNTIL_FOREGROUND")
        let message = (try gw.invoke(node.deviceId, "test.slow")["error"] as? [String: Any])?["message"] as? String
        XCTAssertTrue(message?.contains("NODE_BACKGROUND_UNAVAILABLE") ?? false)
        XCTAssertEqual(try gw.invoke(node.deviceId, "device.info")["ok"] as? Bool, true)
        let out = try await node.sendEvent("node.presence.alive", payloadJson: "{\"trigger\":\"manual\"}")
        XCTAssertTrue(out.sent)
        try await node.stop()
    }

    /// `openclaw-ios` does not receive `node.invoke.cancel`: the local deadline cancels the Task.
    func testDeadlineCancelsTheTask() async throws {
        let gw = try GatewayFixture(allow: ["test.slow"])
        let cancelled = expectation(description: "handler task cancelled")
        let node = try ClawNode(config: config(gw, "swift-cancel")) {
            $0.command("test.slow") { _, invoke in
                do {
                    try await Task.sleep(nanoseconds: 30_000_000_000)
                    return "{}"
                } catch is CancellationError {
                    XCTAssertTrue(invoke.isCancelled)
                    cancelled.fulfill()
                    throw CancellationError()
                }
            }
        }
        try node.start()
        try await approveAndAwaitReady(gw, node)
        let r = try gw.invoke(node.deviceId, "test.slow", timeoutMs: 1500)
        XCTAssertEqual(r["ok"] as? Bool, false)
        await fulfillment(of: [cancelled], timeout: 10)
        try await node.stop()
    }

    func testStatesShowPairingRequiredThenReady() async throws {
        let gw = try GatewayFixture(allow: ["device.info"], explicitPairing: true)
        let node = try ClawNode(config: config(gw, "swift-pairing")) { $0.command("device.info") { _, _ in "{}" } }
        try node.start()
        let pairing = await waitFor(node) {
            if case .awaitingDeviceApproval = $0 { return true } else { return false }
        }
        guard case let .awaitingDeviceApproval(requestId, _, _)? = pairing else { return XCTFail("no pairing state") }
        let approved = try gw.call("approve_device")
        XCTAssertEqual((approved["result"] as? [String: Any])?["requestId"] as? String, requestId)
        try await approveAndAwaitReady(gw, node)
        try await node.stop()
    }
}
