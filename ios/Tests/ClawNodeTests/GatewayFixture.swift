import Foundation

/// The real Gateway plus an operator through the testkit's `gateway-fixture` (JSON lines),
/// as in the Kotlin tests. Set CLAWNODE_GATEWAY_FIXTURE or build it at ../target/debug.
final class GatewayFixture {
    private let process = Process()
    private let stdin = Pipe()
    private let stdout = Pipe()
    private var buffer = Data()
    private var nextId = 1
    let url: String
    let token: String
    /// With `tls`: the Gateway's self-signed certificate (PEM).
    let certPath: String?

    init(allow: [String], explicitPairing: Bool = false, tls: Bool = false) throws {
        let env = ProcessInfo.processInfo.environment
        let path = env["CLAWNODE_GATEWAY_FIXTURE"] ?? "../target/debug/gateway-fixture"
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = ["--allow", allow.joined(separator: ",")] + (explicitPairing ? ["--explicit-pairing"] : [])
            + (tls ? ["--tls"] : [])
        process.standardInput = stdin
        process.standardOutput = stdout
        try process.run()
        let hello = try GatewayFixture.readLine(stdout, &buffer)
        url = hello["url"] as? String ?? ""
        token = hello["token"] as? String ?? ""
        certPath = hello["certPath"] as? String
    }

    private static func readLine(_ pipe: Pipe, _ buffer: inout Data) throws -> [String: Any] {
        while true {
            if let nl = buffer.firstIndex(of: 0x0A) {
                let line = buffer.subdata(in: buffer.startIndex..<nl)
                buffer.removeSubrange(buffer.startIndex...nl)
                return try JSONSerialization.jsonObject(with: line) as? [String: Any] ?? [:]
            }
            let chunk = pipe.fileHandleForReading.availableData
            if chunk.isEmpty { throw NSError(domain: "gateway-fixture", code: 1) }
            buffer.append(chunk)
        }
    }

    /// One operator request at a time: sends it and reads its answer.
    func call(_ op: String, _ fields: [String: Any] = [:]) throws -> [String: Any] {
        var msg = fields
        msg["id"] = nextId
        msg["op"] = op
        nextId += 1
        var data = try JSONSerialization.data(withJSONObject: msg)
        data.append(0x0A)
        stdin.fileHandleForWriting.write(data)
        return try GatewayFixture.readLine(stdout, &buffer)
    }

    /// `node.invoke` as the operator; `params` nil sends no `params` at all.
    func invoke(_ nodeId: String, _ command: String, params: [String: Any]? = [:], timeoutMs: Int = 10_000) throws -> [String: Any] {
        var fields: [String: Any] = ["nodeId": nodeId, "command": command, "timeoutMs": timeoutMs]
        if let params { fields["params"] = params }
        return try call("invoke", fields)
    }

    deinit {
        try? stdin.fileHandleForWriting.close()
        process.waitUntilExit()
    }
}
