import ClawNode
import CryptoKit
import Foundation
import XCTest

/// The Kotlin ClawNodeTlsTest contract in Swift: `wss://` with the Gateway's self-signed
/// certificate: pin mismatch → the app trusts → ready.
final class ClawNodeTlsTests: XCTestCase {
    private func sha256Hex(_ data: Data) -> String {
        SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }

    /// The DER bytes of the first certificate of a PEM file (nil if there is none).
    private func certificateDer(pemAt path: String) throws -> Data? {
        let lines = try String(contentsOfFile: path, encoding: .utf8)
            .components(separatedBy: .newlines)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        guard let begin = lines.firstIndex(of: "-----BEGIN CERTIFICATE-----"),
              let end = lines[begin...].firstIndex(of: "-----END CERTIFICATE-----")
        else { return nil }
        return Data(base64Encoded: lines[(begin + 1)..<end].joined())
    }

    func testPinMismatchPausesWithBothFingerprintsAndTrustPinResumesToReady() async throws {
        let gw = try GatewayFixture(allow: ["test.echo"], tls: true)
        XCTAssertTrue(gw.url.hasPrefix("wss://"), gw.url)
        let certPath = try XCTUnwrap(gw.certPath)
        let real = sha256Hex(try XCTUnwrap(try certificateDer(pemAt: certPath), "no certificate in \(certPath)"))
        let wrong = sha256Hex(Data("a certificate nobody presents".utf8))
        let node = try ClawNode(config: NodeConfig(
            gatewayUrl: gw.url, displayName: "swift-pin", platform: "iOS 18.4", deviceFamily: "iPhone",
            clientId: .openclawIos, token: gw.token, tlsPin: wrong
        )) {
            $0.command("test.echo") { params, _ in params }
        }
        defer { node.close() }
        try node.start()

        let paused = try await awaitState(node, within: 60, "pause") { $0.isPaused }
        guard case let .paused(pause) = paused,
              case let .pinMismatch(expected, observed, systemTrusted) = pause.kind
        else { return XCTFail("not a pin mismatch: \(paused)") }
        XCTAssertEqual(expected, wrong)
        XCTAssertEqual(observed, real)
        XCTAssertFalse(systemTrusted)
        try await Task.sleep(nanoseconds: 1_500_000_000) // no retry until the app decides
        XCTAssertTrue(node.state.isPaused, "\(node.state)")

        try node.trustPin(observed)
        try await awaitState(node, within: 60, "approval or ready") { $0.isApprovalOrReady }
        if !node.state.isReady { XCTAssertEqual(try gw.call("approve_node")["ok"] as? Bool, true) }
        try await awaitState(node, within: 60, "ready") { $0.isReady }

        let r = try gw.invoke(node.deviceId, "test.echo", params: ["over": "wss"])
        XCTAssertEqual(r["ok"] as? Bool, true, "\(r)")
        XCTAssertEqual(((r["result"] as? [String: Any])?["payload"] as? [String: Any])?["over"] as? String, "wss")
        try await node.stop()
    }
}
