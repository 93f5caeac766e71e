package ai.openclaw.clawnode

import ai.openclaw.clawnode.ffi.ChatState
import ai.openclaw.clawnode.ffi.ClientId
import ai.openclaw.clawnode.ffi.GatewayEvent
import ai.openclaw.clawnode.ffi.NodeConfig
import ai.openclaw.clawnode.ffi.NodeNotice
import ai.openclaw.clawnode.ffi.NodeState
import ai.openclaw.clawnode.ffi.PlaintextPolicy
import com.google.gson.JsonObject
import com.google.gson.JsonParser
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.async
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import kotlinx.coroutines.withTimeoutOrNull
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeAll
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance
import java.net.ServerSocket
import java.util.Base64
import java.util.Collections

/**
 * The mobile surfaces from Kotlin against the real Gateway: progress, a Gateway event with its
 * payload, work queued in the background delivered after `setForeground(true)`, a setup code
 * whose first URL is dead.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ClawNodeMobileTest {
    private lateinit var gw: GatewayFixture

    @BeforeAll
    fun startGateway() {
        gw = GatewayFixture(listOf("test.progress", "test.echo", "screen.record"))
    }

    @AfterAll
    fun stopGateway() = gw.close()

    private fun iphone(name: String) = NodeConfig(
        gatewayUrl = gw.url, token = gw.token, displayName = name, platform = "iOS 18.4",
        deviceFamily = "iPhone", clientId = ClientId.OPENCLAW_IOS,
    )

    private suspend fun ready(node: ClawNode) = withTimeout(90_000) {
        node.state.first { it is NodeState.AwaitingCommandApproval || it is NodeState.Ready }
        // A setup-code (bootstrap) node's surface may be approved without the operator.
        if (withTimeoutOrNull(3_000) { node.state.first { it is NodeState.Ready } } == null) {
            val approved = gw.call("approve_node")
            assertTrue(approved["ok"].asBoolean || node.state.value is NodeState.Ready, "$approved; state ${node.state.value}")
        }
        node.state.first { it is NodeState.Ready }
    }

    private fun request(method: String, params: String): JsonObject {
        val f = JsonObject()
        f.addProperty("method", method)
        f.add("params", JsonParser.parseString(params))
        return gw.call("request", f)
    }

    /**
     * The real Gateway forwards `node.invoke.progress` chunks only to its own internal callers;
     * an operator's `node.invoke` shows them by one effect: a `NODE_NOT_READY` failure after
     * progress is reported as "not-ready after invocation progress" (not retried).
     */
    @Test
    fun `progress reaches the Gateway attributed to the invoke`(): Unit = runBlocking {
        val acked = Collections.synchronizedList(mutableListOf<String>())
        val node = ClawNode(iphone("kt-progress")) {
            command("test.progress") {
                progress("step 1 of 2\n")
                acked.add(invokeId)
                throw CommandError.Failed("NODE_NOT_READY", "not ready after all")
            }
        }
        try {
            node.start()
            ready(node)
            val r = gw.invoke(node.deviceId, "test.progress")
            assertFalse(r["ok"].asBoolean)
            val message = r["error"].asJsonObject["message"].asString
            assertTrue(message.contains("not-ready after invocation progress"), r.toString())
            assertEquals(1, acked.size, "progress() returned (the Gateway acked the chunk)")
            node.stop()
        } finally {
            node.close()
        }
    }

    @Test
    fun `a chat message in a subscribed session arrives as a typed event with its payload`(): Unit = runBlocking {
        val node = ClawNode(iphone("kt-chat")) { command("test.echo") { it } }
        try {
            node.start()
            ready(node)
            val key = "agent:main:kt-chat-${System.nanoTime()}"
            assertTrue(request("sessions.create", """{"key":"$key"}""")["ok"].asBoolean)
            val chat = async(start = CoroutineStart.UNDISPATCHED) {
                withTimeout(30_000) { node.events.first { it is GatewayEvent.Chat } as GatewayEvent.Chat }
            }
            assertTrue(node.sendEvent("chat.subscribe", """{"sessionKey":"$key"}""").sent)
            val injected = request("chat.inject", """{"sessionKey":"$key","message":"hello from the operator ✓"}""")
            assertTrue(injected["ok"].asBoolean, injected.toString())
            val event = chat.await().chat
            assertEquals(key, event.sessionKey)
            assertEquals(ChatState.FINAL, event.state)
            assertEquals("inject-" + injected["result"].asJsonObject["messageId"].asString, event.runId)
            val message = JsonParser.parseString(event.messageJson).asJsonObject
            assertEquals("assistant", message["role"].asString)
            assertTrue(message["content"].toString().contains("hello from the operator ✓"), message.toString())
            node.stop()
        } finally {
            node.close()
        }
    }

    /**
     * iOS rule: `screen.record` is refused in the background and the Gateway queues it
     * (`QUEUED_UNTIL_FOREGROUND`; this Gateway did not queue `camera.snap` in our runs, only
     * the node's refusal came back); the operator also queues a `status.request`. After `setForeground(true)`
     * the node runs the recording once (`PendingActionRan`) and the drained
     * work item reaches [ClawNode.pendingWork], which buffers it for a late collector.
     */
    @Test
    fun `work queued in the background is delivered after setForeground(true)`(): Unit = runBlocking {
        val snaps = Collections.synchronizedList(mutableListOf<String>())
        val node = ClawNode(iphone("kt-pending")) {
            command("screen.record") { params ->
                snaps.add(params)
                """{"format":"mp4","base64":"","durationMs":1,"hasAudio":false}"""
            }
        }
        try {
            node.start()
            ready(node)
            node.setForeground(false)
            val refused = gw.invoke(node.deviceId, "screen.record", """{"durationMs":1500}""")
            assertFalse(refused["ok"].asBoolean)
            val details = refused["error"].asJsonObject["details"].asJsonObject
            assertEquals("QUEUED_UNTIL_FOREGROUND", details["code"].asString, refused.toString())
            val queuedId = details["queuedActionId"].asString
            assertTrue(snaps.isEmpty())
            assertTrue(request("node.pending.enqueue", """{"nodeId":"${node.deviceId}","type":"status.request"}""")["ok"].asBoolean)

            val ran = async(start = CoroutineStart.UNDISPATCHED) {
                withTimeout(30_000) { node.notices.first { it is NodeNotice.PendingActionRan } as NodeNotice.PendingActionRan }
            }
            node.setForeground(true)
            val action = ran.await()
            assertEquals(queuedId, action.id)
            assertEquals("screen.record", action.command)
            assertNull(action.error)
            assertEquals(1, snaps.size)
            assertTrue(snaps.single().contains("1500"), snaps.toString())
            // Collected only now: the item was buffered, not lost.
            val item = withTimeout(30_000) { node.pendingWork.first() }
            assertEquals("status.request", item.kind)
            node.stop()
        } finally {
            node.close()
        }
    }

    @Test
    fun `a setup code whose first URL is dead connects through the second`(): Unit = runBlocking {
        val issued = request("device.pair.setupCode", """{"bootstrapProfile":"node","publicUrl":"${gw.url}"}""")
        assertTrue(issued["ok"].asBoolean, issued.toString())
        val code = issued["result"].asJsonObject["setupCode"].asString
        val body = JsonParser.parseString(String(Base64.getUrlDecoder().decode(code))).asJsonObject
        val dead = "ws://127.0.0.1:${ServerSocket(0).use { it.localPort }}"
        body.addProperty("url", dead)
        body.add("urls", JsonParser.parseString("""["$dead","${gw.url}"]"""))
        val twoUrls = Base64.getUrlEncoder().withoutPadding().encodeToString(body.toString().toByteArray())
        val node = ClawNode(
            NodeConfig(setupCode = twoUrls, displayName = "kt-setup", platform = "linux", plaintextPolicy = PlaintextPolicy.LOOPBACK_ONLY),
        ) { command("test.echo") { it } }
        try {
            node.start()
            ready(node)
            assertEquals(gw.url.trimEnd('/'), node.endpoint.url.trimEnd('/'))
            val r = gw.invoke(node.deviceId, "test.echo", """{"via":"second url"}""")
            assertTrue(r["ok"].asBoolean, r.toString())
            assertEquals("second url", r["result"].asJsonObject["payload"].asJsonObject["via"].asString)
            node.stop()
        } finally {
            node.close()
        }
    }
}
