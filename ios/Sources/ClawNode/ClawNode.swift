@_exported import ClawNodeBindings
import Foundation

/// A ClawNode node for Swift, mirroring the Kotlin `ClawNode`: `AsyncStream`s of states,
/// notices, Gateway events and pending work, `async` handlers, `Task` cancellation wired to the
/// invoke's cancellation. `Sendable`; `deinit` never blocks (the node stops in the background).
///
/// ```
/// let node = try ClawNode(config: config) {
///     $0.command("device.info") { _, _ in #"{"model":"iPhone"}"# }
/// }
/// try node.start()
/// Task { [weak self] in                     // the loop ends when the node stops
///     guard let states = self?.node.states else { return }
///     for await state in states { self?.show(state) }
/// }
/// ```
public final class ClawNode: Sendable {
    private let node: Node
    private let hub: Hub

    /// Every state change, starting with the current one; finishes when the node stops.
    public var states: AsyncStream<NodeState> { hub.states(current: node.state()) }

    /// Notices besides state changes (connected, token stored, Gateway events, pending work, …),
    /// from now on; `description` is the library's text.
    public var notices: AsyncStream<NodeNotice> { hub.notices() }

    /// Gateway events with their payload (typed `.chat`, `.voiceWakeChanged`, else JSON).
    public var events: AsyncStream<GatewayEvent> {
        let source = notices
        return AsyncStream { continuation in
            let pump = Task {
                for await notice in source { if case let .event(event) = notice { continuation.yield(event) } }
                continuation.finish()
            }
            continuation.onTermination = { _ in pump.cancel() }
        }
    }

    /// Work the Gateway drained for this node (after a return to the foreground), buffered
    /// until consumed (the Gateway has already removed it): consume it once.
    public var pendingWork: AsyncStream<PendingWorkItem> { hub.pendingWork }

    /// The current state.
    public var state: NodeState { node.state() }

    /// This node's device id.
    public var deviceId: String { node.deviceId() }

    public init(config: NodeConfig, store: SecureStore? = nil, commands: (Commands) -> Void) throws {
        ClawNodeLog.bridgeLibraryOnce()
        hub = Hub()
        node = try Node(config: config, store: store, listener: hub)
        let dsl = Commands()
        commands(dsl)
        let dispatcher = Dispatcher(handlers: Dictionary(dsl.handlers.map { ($0.0, $0.2) }) { _, last in last })
        for (name, options, _) in dsl.handlers {
            try node.registerCommandWith(command: name, options: options, handler: dispatcher)
        }
    }

    /// Starts connecting (idempotent).
    public func start() throws { try node.start() }

    /// Stops the node; running handlers are cancelled.
    public func stop() async throws { try await node.stop() }

    /// Stops the node in the background without waiting (idempotent).
    public func close() {
        let node = self.node
        Task.detached { try? await node.stop() }
    }

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

    /// Trusts (and stores) a certificate fingerprint the user confirmed.
    public func trustPin(_ pin: String) throws { try node.trustPin(pin: pin) }

    /// Stops reconnecting until `resume()` (state `.paused`, kind `.requested`).
    public func pause(_ reason: String) { node.pause(reason: reason) }

    /// Sends a `node.event` with a JSON object payload; returns the Gateway's `handled`/`reason`.
    @discardableResult
    public func sendEvent(_ event: String, payloadJson: String = "{}") async throws -> EventOutcome {
        try await node.sendEvent(event: event, payloadJson: payloadJson)
    }

    /// Sends `node.presence.alive` (silent push, background refresh, …; throttled to one a minute).
    @discardableResult
    public func reportAlive(_ trigger: PresenceTrigger = .manual) async throws -> EventOutcome {
        try await node.reportAlive(trigger: trigger)
    }

    /// Any node-role Gateway method with JSON params; the answer's payload as JSON.
    public func request(_ method: String, paramsJson: String = "{}") async throws -> String {
        try await node.request(method: method, paramsJson: paramsJson)
    }

    /// The plugin surface URLs of the last `hello-ok`.
    public var pluginSurfaceUrls: [String: String] { node.pluginSurfaceUrls() }

    /// `node.pluginSurface.refresh`: a fresh URL for `surface`.
    public func refreshPluginSurface(_ surface: String, observedUrl: String? = nil) async throws -> PluginSurface {
        try await node.refreshPluginSurface(surface: surface, observedUrl: observedUrl)
    }

    /// `node.pluginTools.update`: publishes the app's plugin tools.
    public func updatePluginTools(_ tools: [PluginTool]) async throws { try await node.updatePluginTools(tools: tools) }

    /// `node.skills.update`: publishes the app's skills.
    public func updateSkills(_ skills: [Skill]) async throws { try await node.updateSkills(skills: skills) }

    /// The endpoint in use (the URL chosen among a setup code's, its pin).
    public var endpoint: EndpointInfo { node.endpoint() }

    /// Counters (connect attempts, invokes, malformed frames, …).
    public var stats: NodeStats { node.stats() }

    /// First-use trust: the certificate's fingerprint and whether the system trusts it.
    /// `proxy`: the `NodeConfig.proxy` the node will use (TLS stays end to end through it, so
    /// the fingerprint is the Gateway's).
    public static func probeTls(_ url: String, timeoutMs: UInt64? = nil, proxy: String? = nil) async throws -> TlsProbe {
        try await ClawNodeBindings.probeTls(url: url, timeoutMs: timeoutMs, proxy: proxy)
    }

    /// Pending work items kept until the app consumes `pendingWork`.
    public static let pendingBuffer = 1024

    deinit {
        let node = self.node
        Task.detached { try? await node.stop() }
    }
}

/// Fans the listener's callbacks out to the streams.
final class Hub: NodeListener, @unchecked Sendable {
    private let lock = NSLock()
    private var stateContinuations: [UUID: AsyncStream<NodeState>.Continuation] = [:]
    private var noticeContinuations: [UUID: AsyncStream<NodeNotice>.Continuation] = [:]
    /// The last state delivered by the library; what a new `states` stream starts with.
    private var lastState: NodeState?
    let pendingWork: AsyncStream<PendingWorkItem>
    private let pendingContinuation: AsyncStream<PendingWorkItem>.Continuation

    init() {
        (pendingWork, pendingContinuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingOldest(ClawNode.pendingBuffer))
    }

    private func register<T>(_ table: ReferenceWritableKeyPath<Hub, [UUID: AsyncStream<T>.Continuation]>,
                             first: T?) -> AsyncStream<T> {
        AsyncStream { continuation in
            let id = UUID()
            lock.withLock { self[keyPath: table][id] = continuation }
            if let first { continuation.yield(first) }
            continuation.onTermination = { [weak self] _ in
                guard let self else { return }
                _ = self.lock.withLock { self[keyPath: table].removeValue(forKey: id) }
            }
        }
    }

    /// A stream that starts with the current state and then gets every change. Registering
    /// and choosing the first state happen under the lock `onState` delivers under, so no
    /// change falls between them and the first state is never older than the next one.
    /// `current` is read before the lock (it calls into the library).
    func states(current: @autoclosure () -> NodeState) -> AsyncStream<NodeState> {
        let fallback = current()
        return AsyncStream { continuation in
            let id = UUID()
            continuation.onTermination = { [weak self] _ in
                guard let self else { return }
                _ = self.lock.withLock { self.stateContinuations.removeValue(forKey: id) }
            }
            let first: NodeState = lock.withLock {
                stateContinuations[id] = continuation
                let first = lastState ?? fallback
                continuation.yield(first)
                return first
            }
            // A stream made after the node stopped ends as the others did.
            if case .stopped = first { continuation.finish() }
        }
    }

    func notices() -> AsyncStream<NodeNotice> { register(\.noticeContinuations, first: nil) }

    func onState(state: NodeState) throws {
        // Yielded under the lock (see `states`); finished outside it, since `finish()` runs
        // `onTermination`, which takes the lock.
        let targets = lock.withLock {
            lastState = state
            let targets = Array(stateContinuations.values)
            for c in targets { c.yield(state) }
            return targets
        }
        if case .stopped = state { targets.forEach { $0.finish() } }
        if case .stopped = state {
            let notices = lock.withLock { Array(noticeContinuations.values) }
            notices.forEach { $0.finish() }
        }
    }

    func onNotice(notice: NodeNotice) throws {
        if case let .pendingWork(item) = notice, case .dropped = pendingContinuation.yield(item) {
            ClawNodeLog.log(.error, "pending work not delivered (buffer full): \(notice)")
        }
        let targets = lock.withLock { Array(noticeContinuations.values) }
        for c in targets { c.yield(notice) }
    }
}

final class Dispatcher: CommandHandler, @unchecked Sendable {
    private let handlers: [String: Handler]

    init(handlers: [String: Handler]) { self.handlers = handlers }

    func invoke(command: String, paramsJson: String, ctx: InvokeContext) async throws -> String {
        guard let handler = handlers[command] else {
            throw CommandFailure.Failed(code: "UNAVAILABLE", detail: "no handler for \(command)")
        }
        let invoke = Invoke(ctx: ctx)
        let params = paramsOrEmpty(paramsJson)
        let work = Task { try await handler(params, invoke) }
        // `cancelled()` returns when the invoke is cancelled (true) or finished (false).
        let watcher = Task { if await ctx.cancelled() { work.cancel() } }
        defer { watcher.cancel() }
        do {
            return try await work.value
        } catch let e as CommandError {
            ClawNodeLog.log(.info, "command \(command) failed: \(e)")
            throw CommandFailure.Failed(code: e.code, detail: e.message)
        } catch let e as CommandFailure {
            throw e
        } catch is CancellationError {
            throw CommandFailure.Failed(code: "CANCELLED", detail: "invoke cancelled")
        } catch {
            ClawNodeLog.log(.error, "handler for \(command) threw \(type(of: error)): \(String(reflecting: error))")
            throw CommandFailure.Failed(code: "UNAVAILABLE", detail: "\(type(of: error)): \(error)")
        }
    }
}
