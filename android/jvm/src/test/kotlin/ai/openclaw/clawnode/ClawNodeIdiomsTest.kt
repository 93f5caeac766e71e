package ai.openclaw.clawnode

import ai.openclaw.clawnode.ffi.ClientId
import ai.openclaw.clawnode.ffi.NodeConfig
import ai.openclaw.clawnode.ffi.NodeNotice
import ai.openclaw.clawnode.ffi.NodeState
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.cancel
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import kotlinx.serialization.Serializable
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeAll
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance
import java.util.Collections
import java.util.logging.Level

@Serializable
data class Greet(val name: String = "world", val times: Int = 1)

@Serializable
data class Greeting(val text: String)

/** The Kotlin idioms against the real Gateway: params, typed handlers, logging, scope, close. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ClawNodeIdiomsTest {
    private lateinit var gw: GatewayFixture

    @BeforeAll
    fun startGateway() {
        gw = GatewayFixture(listOf("test.echo", "test.greet", "test.boom"))
    }

    @AfterAll
    fun stopGateway() = gw.close()

    private fun config(name: String) = NodeConfig(
        gatewayUrl = gw.url, token = gw.token, displayName = name, platform = "Android 15",
        deviceFamily = "Android", clientId = ClientId.OPENCLAW_ANDROID, version = "1.0.0",
    )

    private suspend fun ready(node: ClawNode) {
        node.state.first { it is NodeState.AwaitingCommandApproval || it is NodeState.Ready }
        if (node.state.value !is NodeState.Ready) assertTrue(gw.call("approve_node")["ok"].asBoolean)
        node.state.first { it is NodeState.Ready }
    }

    private fun payload(r: com.google.gson.JsonObject) = r["result"].asJsonObject["payload"].asJsonObject

    private fun nodeErrorCode(r: com.google.gson.JsonObject) =
        r["error"].asJsonObject["details"].asJsonObject["nodeError"].asJsonObject["code"].asString

    @Test
    fun `absent params are {}, typed params decode, a thrown exception is logged with its stack trace`(): Unit = runBlocking {
        val logged = Collections.synchronizedList(mutableListOf<Triple<Level, String, Throwable?>>())
        val previous = ClawNodeLog.sink
        ClawNodeLog.sink = { level, message, error -> logged.add(Triple(level, message, error)) }
        val notices = Collections.synchronizedList(mutableListOf<NodeNotice>())
        val node = ClawNode(config("kt-idioms")) {
            command("test.echo") { params -> """{"params":$params}""" }
            typedCommand<Greet, Greeting>("test.greet") { p -> Greeting("hello ${p.name} x${p.times}") }
            command("test.boom") { error("boom from the handler") }
        }
        val collector = CoroutineScope(Dispatchers.Default).launch { node.notices.collect { notices.add(it) } }
        try {
            node.start()
            withTimeout(60_000) { ready(node) }

            // No `params` at all on the wire: the handler gets `{}` (not `null`).
            val echo = gw.invoke(node.deviceId, "test.echo", paramsJson = null)
            assertTrue(echo["ok"].asBoolean, echo.toString())
            assertEquals("{}", payload(echo)["params"].toString())

            val greet = gw.invoke(node.deviceId, "test.greet", """{"name":"kotlin","extra":true}""")
            assertTrue(greet["ok"].asBoolean, greet.toString())
            assertEquals("hello kotlin x1", payload(greet)["text"].asString)
            val bad = gw.invoke(node.deviceId, "test.greet", """{"name":{"not":"a string"}}""")
            assertFalse(bad["ok"].asBoolean)
            assertEquals("INVALID_REQUEST", nodeErrorCode(bad), bad.toString())

            val boom = gw.invoke(node.deviceId, "test.boom")
            assertFalse(boom["ok"].asBoolean)
            assertEquals("UNAVAILABLE", nodeErrorCode(boom), boom.toString())
            val entry = logged.single { it.first == Level.SEVERE && it.second.contains("handler for test.boom") }
            assertTrue(entry.second.contains("test.boom"), entry.second)
            val thrown = entry.third
            assertTrue(thrown is IllegalStateException && thrown.message == "boom from the handler", thrown.toString())
            assertTrue(thrown!!.stackTrace.isNotEmpty())

            // Notices print as what they are (no `NodeNotice$X@1a2b3c`).
            assertTrue(notices.any { it is NodeNotice.Connected }, notices.toString())
            for (n in notices) assertFalse(n.toString().contains('@'), n.toString())
            assertFalse(NodeNotice.DeviceTokenStored.toString().contains('@'), NodeNotice.DeviceTokenStored.toString())
            assertFalse(NodeState.Idle.toString().contains('@'), NodeState.Idle.toString())
            node.stop()
        } finally {
            collector.cancel()
            ClawNodeLog.sink = previous
            node.close()
        }
    }

    @Test
    fun `a node bound to a scope stops when the scope ends, and close never blocks`(): Unit = runBlocking {
        val scope = CoroutineScope(Job() + Dispatchers.Default)
        val bound = ClawNode(config("kt-scope"), scope = scope) { command("test.echo") { "{}" } }
        bound.start()
        withTimeout(60_000) { ready(bound) }
        scope.cancel()
        withTimeout(30_000) { bound.state.first { it is NodeState.Stopped } }

        val node = ClawNode(config("kt-close")) { command("test.echo") { "{}" } }
        node.start()
        withTimeout(60_000) { ready(node) }
        val started = System.nanoTime()
        node.close()
        val tookMs = (System.nanoTime() - started) / 1_000_000
        assertTrue(tookMs < 200, "close() took $tookMs ms")
        withTimeout(30_000) { node.state.first { it is NodeState.Stopped } }
        node.close() // idempotent
    }
}
