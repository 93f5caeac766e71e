package ai.openclaw.clawnode.docs

import ai.openclaw.clawnode.ClawNode
import ai.openclaw.clawnode.ffi.NodeConfig
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.launch
import kotlinx.serialization.Serializable

@Serializable data class Greet(val name: String = "world")

@Serializable data class Greeting(val text: String)

/** From a ViewModel: `startNode(url, token, viewModelScope)`; the node closes with the scope. */
fun startNode(url: String, token: String, scope: CoroutineScope): ClawNode {
    val config = NodeConfig(gatewayUrl = url, token = token, platform = "Android 15", displayName = "My phone")
    val node = ClawNode(config, scope = scope) {
        typedCommand<Greet, Greeting>("demo.greet") { p -> Greeting("hello ${p.name}") }
    }
    scope.launch { node.state.collect { println("node: $it") } } // Connecting, …, Ready
    node.start()
    return node
}
