import ClawNodeFFI
import Foundation

/// Fails a command: the operator sees `"CODE: message"` with `details.nodeError.code == code`.
public struct CommandError: Error, Equatable {
    public let code: String
    public let message: String

    public init(_ code: String, _ message: String) {
        self.code = code
        self.message = message
    }
}

/// What a handler can see besides its params: cancellation and the deadline.
public struct Invoke: Sendable {
    public let command: String
    let token: InvokeContext

    /// Whether the Gateway cancelled the invoke or its deadline passed.
    public var isCancelled: Bool { token.isCancelled() }

    /// Milliseconds left before the deadline.
    public var remainingMs: UInt64 { token.remainingMs() }

    /// The params as a typed record for catalog commands (`.cameraSnap(params:)`,
    /// `.locationGet(params:)`, …; defaults and clamps already applied by the core), else `.json`.
    public func typed(_ paramsJson: String) throws -> CatalogParams {
        try typedParams(command: command, paramsJson: paramsJson)
    }
}

/// A handler: params JSON in, result JSON out. Cancellation cancels its `Task`.
public typealias Handler = @Sendable (_ paramsJson: String, _ invoke: Invoke) async throws -> String

/// The command block of `ClawNode`: `$0.command("device.info") { params, invoke in … }`.
public final class Commands {
    var handlers: [(String, CommandOptions, Handler)] = []

    /// Registers `handler` for `name`. Catalog commands (`catalog()`) get their rules: cap,
    /// params validated and normalized before the handler runs, the platform's foreground
    /// rule and the result budget. Others get the cap of their first segment unless `cap` is
    /// given. `foregroundOnly` refuses the command while the app is in the background.
    public func command(
        _ name: String, cap: String? = nil, foregroundOnly: Bool = false, _ handler: @escaping Handler
    ) {
        handlers.append((name, CommandOptions(cap: cap, foregroundOnly: foregroundOnly), handler))
    }
}

/// A ClawNode node for Swift, mirroring the Kotlin `ClawNode`: an `AsyncStream` of states,
/// `async` handlers, `Task` cancellation wired to the invoke's cancel token.
public final class ClawNode: @unchecked Sendable {
    private let node: Node
    private let listener: Listener

    /// Every state change, starting with the current one. One consumer per stream.
    public var states: AsyncStream<NodeState> { listener.subscribe(current: node.state()) }

    /// The current state.
    public var state: NodeState { node.state() }

    /// This node's device id.
    public var deviceId: String { node.deviceId() }

    public init(config: NodeConfig, store: SecureStore? = nil, commands: (Commands) -> Void) throws {
        listener = Listener()
        node = try Node(config: config, store: store, listener: listener)
        let dsl = Commands()
        commands(dsl)
        let dispatcher = Dispatcher(handlers: Dictionary(uniqueKeysWithValues: dsl.handlers.map { ($0.0, $0.2) }))
        for (name, options, _) in dsl.handlers {
            try node.registerCommandWith(command: name, options: options, handler: dispatcher)
        }
    }

    /// Starts connecting (idempotent).
    public func start() throws { try node.start() }

    /// Stops the node; running handlers are cancelled.
    public func stop() async throws { try await node.stop() }

    /// Retry now (network path changed): call from an `NWPathMonitor` handler.
    public func nudge() { node.nudge() }

    /// Lifts a pause after the user fixed credentials.
    public func resume() { node.resume() }

    /// Suspends the node (long background): disconnects until `unsuspend()`.
    public func suspend() { node.suspend() }

    /// Ends a suspension and connects again.
    public func unsuspend() { node.unsuspend() }

    /// Foreground/background lifecycle glue (scenePhase changes).
    public func setForeground(_ foreground: Bool) { node.setForeground(foreground: foreground) }

    /// Trusts a certificate fingerprint the user confirmed.
    public func trustPin(_ pin: String) throws { try node.trustPin(pin: pin) }

    /// Stops reconnecting until `resume()` (state `.paused`, kind `.requested`).
    public func pause(_ reason: String) { node.pause(reason: reason) }

    /// Sends a `node.event` with a JSON object payload; returns the Gateway's `handled`/`reason`.
    @discardableResult
    public func sendEvent(_ event: String, payloadJson: String) async throws -> EventOutcome {
        try await node.sendEvent(event: event, payloadJson: payloadJson)
    }

    /// Sends `node.presence.alive` (silent push, background refresh, …; throttled to one a minute).
    @discardableResult
    public func reportAlive(_ trigger: PresenceTrigger = .manual) async throws -> EventOutcome {
        try await node.reportAlive(trigger: trigger)
    }

    deinit { node.stopBlocking() }
}

final class Listener: NodeListener, @unchecked Sendable {
    private let lock = NSLock()
    private var continuations: [UUID: AsyncStream<NodeState>.Continuation] = [:]

    func subscribe(current: NodeState) -> AsyncStream<NodeState> {
        AsyncStream { continuation in
            let id = UUID()
            lock.lock()
            continuations[id] = continuation
            lock.unlock()
            continuation.yield(current)
            continuation.onTermination = { [weak self] _ in
                guard let self else { return }
                self.lock.lock()
                self.continuations[id] = nil
                self.lock.unlock()
            }
        }
    }

    func onState(state: NodeState) throws {
        lock.lock()
        let targets = Array(continuations.values)
        lock.unlock()
        for c in targets {
            c.yield(state)
            if case .stopped = state { c.finish() }
        }
    }

    func onNotice(notice: NodeNotice) throws {}
}

final class Dispatcher: CommandHandler, @unchecked Sendable {
    private let handlers: [String: Handler]

    init(handlers: [String: Handler]) { self.handlers = handlers }

    func invoke(command: String, paramsJson: String, ctx cancel: InvokeContext) async throws -> String {
        guard let handler = handlers[command] else {
            throw CommandFailure.Failed(code: "UNAVAILABLE", detail: "no handler for \(command)")
        }
        let invoke = Invoke(command: command, token: cancel)
        let work = Task { try await handler(paramsJson, invoke) }
        // `cancelled()` returns when the invoke is cancelled (true) or finished (false).
        let watcher = Task { if await cancel.cancelled() { work.cancel() } }
        defer { watcher.cancel() }
        do {
            return try await work.value
        } catch let e as CommandError {
            throw CommandFailure.Failed(code: e.code, detail: e.message)
        } catch let e as CommandFailure {
            throw e
        } catch is CancellationError {
            throw CommandFailure.Failed(code: "CANCELLED", detail: "invoke cancelled")
        } catch {
            throw CommandFailure.Failed(code: "UNAVAILABLE", detail: "\(type(of: error)): \(error)")
        }
    }
}
