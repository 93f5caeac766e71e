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
    let token: CancelToken

    /// Whether the Gateway cancelled the invoke or its deadline passed.
    public var isCancelled: Bool { token.isCancelled() }

    /// Milliseconds left before the deadline.
    public var remainingMs: UInt64 { token.remainingMs() }
}

/// A handler: params JSON in, result JSON out. Cancellation cancels its `Task`.
public typealias Handler = @Sendable (_ paramsJson: String, _ invoke: Invoke) async throws -> String

/// The command block of `ClawNode`: `$0.command("device.info") { params, invoke in … }`.
public final class Commands {
    var handlers: [(String, String?, Handler)] = []

    /// Registers `handler` for `name` (cap = first segment unless `cap` is given).
    public func command(_ name: String, cap: String? = nil, _ handler: @escaping Handler) {
        handlers.append((name, cap, handler))
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
        for (name, cap, _) in dsl.handlers {
            try node.registerCommand(command: name, cap: cap, handler: dispatcher)
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

    /// Sends a `node.event` with a JSON object payload.
    public func sendEvent(_ event: String, payloadJson: String) async throws {
        try await node.sendEvent(event: event, payloadJson: payloadJson)
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

    func invoke(command: String, paramsJson: String, cancel: CancelToken) async throws -> String {
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
