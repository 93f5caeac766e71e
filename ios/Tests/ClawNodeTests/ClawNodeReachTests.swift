import ClawNode
import Foundation
import XCTest

/// The Kotlin ClawNodeReachTest contract in Swift: `NodeConfig.proxy` / `headers`, and the
/// typed refusals of a reserved upgrade header and a bad proxy URL.
final class ClawNodeReachTests: XCTestCase {
    private func config(_ url: String, proxy: String? = nil, headers: [String: String] = [:]) -> NodeConfig {
        NodeConfig(gatewayUrl: url, displayName: "swift-reach", platform: "iOS 18.4", deviceFamily: "iPhone",
                   clientId: .openclawIos, proxy: proxy, headers: headers)
    }

    func testReservedHeaderAndBadProxyAreTypedErrors() throws {
        XCTAssertThrowsError(try ClawNode(config: config("ws://127.0.0.1:9", headers: ["Sec-WebSocket-Protocol": "chat"])) { _ in }) {
            guard case let NodeError.InvalidHeader(name, problem, detail) = $0 else { return XCTFail("\($0)") }
            XCTAssertEqual(name, "Sec-WebSocket-Protocol")
            XCTAssertEqual(problem, .reserved)
            XCTAssertTrue(detail.contains("reserved"), detail)
        }
        XCTAssertThrowsError(try ClawNode(config: config("ws://127.0.0.1:9", proxy: "https://user:hunter2@proxy.example:3128")) { _ in }) {
            guard case NodeError.InvalidProxy = $0 else { return XCTFail("\($0)") }
            XCTAssertFalse("\($0)".contains("hunter2"))
        }
        let edge = ["CF-Access-Client-Id": "id.access", "CF-Access-Client-Secret": "s3cr3t"]
        XCTAssertNoThrow(try ClawNode(config: config("wss://gw.example:443", proxy: "socks5h://127.0.0.1:1080", headers: edge)) { _ in })
    }
}
