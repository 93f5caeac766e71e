import ClawNode

struct Greet: Decodable, Sendable { let name: String? }
struct Greeting: Encodable, Sendable { let text: String }

/// From a SwiftUI model: keep the node; the state loop ends when the node stops.
func startNode(url: String, token: String) throws -> ClawNode {
    let config = NodeConfig(gatewayUrl: url, displayName: "My iPhone", platform: "iOS 18.4", token: token)
    let node = try ClawNode(config: config) {
        $0.typedCommand("demo.greet", as: Greet.self) { p, _ in Greeting(text: "hello \(p.name ?? "world")") }
    }
    let states = node.states // the stream, not the node: the loop does not retain it
    Task { for await state in states { print("node: \(state)") } }
    try node.start()
    return node
}
