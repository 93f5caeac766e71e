import ClawNodeBindings
import Foundation

/// Fails a command with a code the operator sees (`details.nodeError.code == code`). Anything
/// else a handler throws is reported as `UNAVAILABLE` and logged.
public enum CommandError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A failure with the app's own UPPER_SNAKE code (e.g. `CAMERA_PERMISSION_REQUIRED`).
    case failed(code: String, message: String)
    /// The params did not decode into the handler's type (`INVALID_REQUEST`).
    case invalidParams(String)
    /// The command cannot run now (`UNAVAILABLE`).
    case unavailable(String)

    /// The code the operator sees.
    public var code: String {
        switch self {
        case let .failed(code, _): return code
        case .invalidParams: return "INVALID_REQUEST"
        case .unavailable: return "UNAVAILABLE"
        }
    }

    /// The human text.
    public var message: String {
        switch self {
        case let .failed(_, message), let .invalidParams(message), let .unavailable(message): return message
        }
    }

    public var description: String { "\(code): \(message)" }
}

/// What a handler can see besides its params: ids, cancellation, the deadline, progress out
/// (`node.invoke.progress`) and input in (`node.invoke.input`).
public struct Invoke: Sendable {
    let ctx: InvokeContext

    /// The command name.
    public var command: String { ctx.command() }
    /// The Gateway's id of this invoke.
    public var invokeId: String { ctx.invokeId() }
    /// The operator's idempotency key, if any.
    public var idempotencyKey: String? { ctx.idempotencyKey() }
    /// The session the invoke belongs to, if any.
    public var sessionKey: String? { ctx.sessionKey() }
    /// The deadline (Unix ms).
    public var deadlineMs: UInt64 { ctx.deadlineMs() }
    /// Whether the Gateway cancelled the invoke or its deadline passed.
    public var isCancelled: Bool { ctx.isCancelled() }
    /// Milliseconds left before the deadline.
    public var remainingMs: UInt64 { ctx.remainingMs() }

    /// Streams text to the Gateway (split in ≤ 16 KiB chunks).
    public func progress(_ text: String) async throws { try await ctx.progress(text: text) }
    /// Streams bytes (UTF-8 decoded across calls).
    public func progressBytes(_ data: Data) async throws { try await ctx.progressBytes(data: data) }
    /// Sends one JSON chunk (≤ 16 KiB).
    public func progressJson(_ json: String) async throws { try await ctx.progressJson(json: json) }
    /// Tells the Gateway the invoke is alive without output.
    public func heartbeat() async throws { try await ctx.heartbeat() }

    /// The operator's `node.invoke.input` chunks, in order; ends when the invoke is cancelled
    /// or finished. One consumer per invoke.
    public var inputs: AsyncStream<InputChunk> {
        let ctx = self.ctx
        return AsyncStream { continuation in
            let pump = Task {
                while let chunk = await ctx.nextInput() { continuation.yield(chunk) }
                continuation.finish()
            }
            continuation.onTermination = { _ in pump.cancel() }
        }
    }

    /// The params as a typed record for catalog commands (`.cameraSnap(params:)`, …; defaults
    /// and clamps already applied by the core), else `.json`.
    public func typed(_ paramsJson: String) throws -> CatalogParams {
        try typedParams(command: command, paramsJson: paramsJson)
    }

    /// Decodes the params into `P`; failures are `CommandError.invalidParams`.
    public func decode<P: Decodable>(_ type: P.Type = P.self, from paramsJson: String) throws -> P {
        do {
            return try JSONDecoder().decode(P.self, from: Data(paramsJson.utf8))
        } catch {
            throw CommandError.invalidParams("\(command): \(error)")
        }
    }
}

/// A handler: params JSON in (`{}` when the operator sent none), result JSON out.
public typealias Handler = @Sendable (_ paramsJson: String, _ invoke: Invoke) async throws -> String

/// The command block of `ClawNode`: `$0.command("device.info") { params, invoke in … }`.
public final class Commands {
    var handlers: [(String, CommandOptions, Handler)] = []

    /// Registers `handler` for `name`. Catalog commands (`catalog()`) get their rules: cap,
    /// params validated and normalized before the handler runs, the platform's foreground
    /// rule and the result budget. Others get the cap of their first segment unless `cap` is
    /// given. `foregroundOnly` refuses the command while the app is in the background.
    public func command(_ name: String, cap: String? = nil, foregroundOnly: Bool = false, _ handler: @escaping Handler) {
        handlers.append((name, CommandOptions(cap: cap, foregroundOnly: foregroundOnly), handler))
    }

    /// Registers a handler with `Codable` params and result: params that do not decode into
    /// `P` answer `INVALID_REQUEST` without running it.
    ///
    /// ```
    /// struct Greet: Decodable { var name = "world" }
    /// struct Greeting: Encodable { let text: String }
    /// $0.typedCommand("demo.greet", as: Greet.self) { p, _ in Greeting(text: "hello \(p.name)") }
    /// ```
    public func typedCommand<P: Decodable & Sendable, R: Encodable & Sendable>(
        _ name: String, as _: P.Type, cap: String? = nil, foregroundOnly: Bool = false,
        _ handler: @escaping @Sendable (P, Invoke) async throws -> R
    ) {
        command(name, cap: cap, foregroundOnly: foregroundOnly) { json, invoke in
            let result = try await handler(try invoke.decode(P.self, from: json), invoke)
            return String(decoding: try JSONEncoder().encode(result), as: UTF8.self)
        }
    }
}

/// Absent params (`null`, empty) are the empty object.
func paramsOrEmpty(_ json: String) -> String {
    let t = json.trimmingCharacters(in: .whitespacesAndNewlines)
    return t.isEmpty || t == "null" ? "{}" : json
}
