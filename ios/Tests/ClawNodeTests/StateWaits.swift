import ClawNode
import Foundation

/// Kotlin's `withTimeout(ms) { node.state.first { … } }` in Swift: a wait on the states that
/// fails instead of hanging when the state never comes.
struct StateTimeout: Error, CustomStringConvertible {
    let description: String
}

extension NodeState {
    var isReady: Bool { if case .ready = self { return true } else { return false } }
    var isApprovalOrReady: Bool {
        switch self {
        case .awaitingCommandApproval, .ready: return true
        default: return false
        }
    }
    var isPaused: Bool { if case .paused = self { return true } else { return false } }
    var isStopped: Bool { if case .stopped = self { return true } else { return false } }
}

/// The first state of `states` matching `pred`; nil after `seconds`, or when the stream
/// finished (the node stopped) first.
func firstState(
    in states: AsyncStream<NodeState>, within seconds: Double, where pred: @escaping @Sendable (NodeState) -> Bool
) async -> NodeState? {
    await withTaskGroup(of: NodeState?.self, returning: NodeState?.self) { group in
        group.addTask {
            for await state in states where pred(state) { return state }
            return nil
        }
        group.addTask {
            try? await Task.sleep(nanoseconds: UInt64(seconds * 1_000_000_000))
            return nil
        }
        let first = await group.next() ?? nil
        group.cancelAll()
        return first
    }
}

/// The first state of `node.states` (the current one, then every change) matching `pred`;
/// throws `StateTimeout` after `seconds`.
@discardableResult
func awaitState(
    _ node: ClawNode, within seconds: Double, _ what: String, where pred: @escaping @Sendable (NodeState) -> Bool
) async throws -> NodeState {
    guard let state = await firstState(in: node.states, within: seconds, where: pred) else {
        throw StateTimeout(description: "no \(what) within \(seconds) s (state: \(node.state))")
    }
    return state
}

/// Values appended from handlers, sinks and stream loops (any thread), read by the test.
final class Collected<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [T] = []

    func append(_ item: T) { lock.withLock { items.append(item) } }

    var all: [T] { lock.withLock { items } }
}
