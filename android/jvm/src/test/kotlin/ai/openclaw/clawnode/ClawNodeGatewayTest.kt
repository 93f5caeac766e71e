package ai.openclaw.clawnode

import ai.openclaw.clawnode.ffi.CatalogParams
import ai.openclaw.clawnode.ffi.ClientId
import ai.openclaw.clawnode.ffi.NodeConfig
import ai.openclaw.clawnode.ffi.NodeState
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.launch
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.BeforeAll
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance
import java.util.Collections

/** The Kotlin layer against the real Gateway (the shared contract the Swift layer mirrors). */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ClawNodeGatewayTest {
    private lateinit var gw: GatewayFixture

    @BeforeAll
    fun startGateway() {
        gw = GatewayFixture(listOf("device.info", "test.fail", "test.slow", "camera.snap"))
    }

    @AfterAll
    fun stopGateway() = gw.close()

    private fun config(g: GatewayFixture, name: String, clientId: ClientId, platform: String, family: String) =
        NodeConfig(
            gatewayUrl = g.url, token = g.token, displayName = name, platform = platform,
            deviceFamily = family, clientId = clientId,
        )

    /** Loopback device pairing is silent; the command surface needs the operator's approval. */
    private suspend fun approveAndAwaitReady(g: GatewayFixture, node: ClawNode) {
        node.state.first { it is NodeState.AwaitingCommandApproval || it is NodeState.Ready }
        if (node.state.value !is NodeState.Ready) {
            assertTrue(g.call("approve_node")["ok"].asBoolean)
        }
        node.state.first { it is NodeState.Ready }
    }

    @Test
    fun `a Kotlin device info handler answers and a handler error reaches the operator with its code`() = runBlocking {
        val node = ClawNode(config(gw, "kt-handlers", ClientId.OPENCLAW_ANDROID, "Android 15", "Android")) {
            command("device.info") { params -> """{"model":"JVM test","params":$params}""" }
            command("test.fail") { throw CommandError.Failed("CAMERA_PERMISSION_REQUIRED", "grant the camera permission") }
        }
        node.start()
        withTimeout(60_000) { approveAndAwaitReady(gw, node) }

        val ok = gw.invoke(node.deviceId, "device.info", """{"x":1}""")
        assertTrue(ok["ok"].asBoolean, ok.toString())
        val payload = ok["result"].asJsonObject["payload"].asJsonObject
        assertEquals("JVM test", payload["model"].asString)
        // device.info is a catalog command that takes no params: the handler sees `{}`.
        assertEquals(0, payload["params"].asJsonObject.size())

        val err = gw.invoke(node.deviceId, "test.fail")
        assertFalse(err["ok"].asBoolean)
        val e = err["error"].asJsonObject
        assertEquals("UNAVAILABLE", e["code"].asString)
        assertEquals("CAMERA_PERMISSION_REQUIRED: CAMERA_PERMISSION_REQUIRED: grant the camera permission", e["message"].asString)
        assertEquals("CAMERA_PERMISSION_REQUIRED", e["details"].asJsonObject["nodeError"].asJsonObject["code"].asString)

        // Lifecycle glue: suspend disconnects, unsuspend reconnects (the device token is reused).
        node.suspend()
        withTimeout(30_000) { node.state.first { it is NodeState.Suspended } }
        node.unsuspend()
        withTimeout(60_000) { node.state.first { it is NodeState.Ready } }
        assertTrue(gw.invoke(node.deviceId, "device.info")["ok"].asBoolean)
        node.stop()
        assertTrue(node.state.value is NodeState.Stopped)
        node.close()
    }

    /**
     * The typed catalog through the FFI, as an Android node: `camera.snap` params reach the
     * Kotlin handler normalized with Android's defaults and clamps and decode into
     * `CatalogParams.CameraSnap`; bad params never reach it; a result over the 5 MB budget
     * answers `PAYLOAD_TOO_LARGE` and the session stays; backgrounded, `camera.snap` (Android
     * foreground rule) and a `foregroundOnly` app command are refused with
     * `NODE_BACKGROUND_UNAVAILABLE` while `device.info` still answers; `sendEvent` returns
     * the Gateway's `handled`.
     */
    @Test
    fun `catalog params, budgets and foreground rules reach Kotlin`() = runBlocking {
        val seen = Collections.synchronizedList(mutableListOf<CatalogParams>())
        val node = ClawNode(config(gw, "kt-catalog", ClientId.OPENCLAW_ANDROID, "Android 15", "Android")) {
            command("camera.snap") { params ->
                val typed = typed(params)
                seen.add(typed)
                val big = (typed as CatalogParams.CameraSnap).params.deviceId == "big"
                val b64 = "A".repeat(if (big) 5_000_000 else 8)
                """{"format":"jpg","base64":"$b64","width":16,"height":12}"""
            }
            command("device.info") { "{}" }
            command("test.slow", foregroundOnly = true) { "{}" }
        }
        node.start()
        withTimeout(60_000) { approveAndAwaitReady(gw, node) }

        val ok = gw.invoke(node.deviceId, "camera.snap", """{"quality":0.01,"format":"jpeg"}""")
        assertTrue(ok["ok"].asBoolean, ok.toString())
        assertEquals(8, ok["result"].asJsonObject["payload"].asJsonObject["base64"].asString.length)
        val p = (seen.single() as CatalogParams.CameraSnap).params
        assertEquals(0.1, p.quality, 1e-9) // Android clamp [0.1, 1]
        assertEquals(2000uL, p.delayMs)
        assertEquals(1600u, p.maxWidth)

        val bad = gw.invoke(node.deviceId, "camera.snap", """{"facing":"sideways"}""")
        assertFalse(bad["ok"].asBoolean)
        assertTrue(bad["error"].asJsonObject["message"].asString.contains("INVALID_REQUEST"), bad.toString())
        assertEquals(1, seen.size)

        val big = gw.invoke(node.deviceId, "camera.snap", """{"deviceId":"big"}""")
        assertFalse(big["ok"].asBoolean)
        assertEquals("PAYLOAD_TOO_LARGE", big["error"].asJsonObject["details"].asJsonObject["nodeError"].asJsonObject["code"].asString, big.toString())
        assertTrue(gw.invoke(node.deviceId, "device.info")["ok"].asBoolean)

        node.setForeground(false)
        for (cmd in listOf("camera.snap", "test.slow")) {
            val r = gw.invoke(node.deviceId, cmd)
            assertFalse(r["ok"].asBoolean, r.toString())
            assertTrue(r["error"].asJsonObject["message"].asString.contains("NODE_BACKGROUND_UNAVAILABLE"), r.toString())
        }
        assertTrue(gw.invoke(node.deviceId, "device.info")["ok"].asBoolean)
        assertEquals(2, seen.size) // the refused invokes never ran

        val out = node.sendEvent("node.presence.alive", """{"trigger":"manual"}""")
        assertTrue(out.sent && out.handled == true, out.toString())
        node.stop()
        node.close()
    }

    /**
     * `openclaw-android` does not receive `node.invoke.cancel` from the Gateway: this test
     * exercises the local deadline (the invoke's timeoutMs) as the cancellation trigger.
     */
    @Test
    fun `the invoke deadline cancels the Kotlin coroutine`() = runBlocking {
        val cancelled = CompletableDeferred<Boolean>()
        var finished = false
        val node = ClawNode(config(gw, "kt-cancel", ClientId.OPENCLAW_ANDROID, "Android 15", "Android")) {
            command("test.slow") {
                try {
                    delay(30_000)
                    finished = true
                    "{}"
                } catch (e: CancellationException) {
                    cancelled.complete(isCancelled)
                    throw e
                }
            }
        }
        node.start()
        withTimeout(60_000) { approveAndAwaitReady(gw, node) }
        val started = System.nanoTime()
        val r = gw.invoke(node.deviceId, "test.slow", "{}", timeoutMs = 1500)
        assertFalse(r["ok"].asBoolean, r.toString())
        assertTrue(withTimeout(10_000) { cancelled.await() }, "the token reports the cancellation")
        assertTrue(System.nanoTime() - started < 10_000_000_000L)
        assertFalse(finished)
        node.stop()
        node.close()
    }
}

/** Explicit device pairing: the state flow shows pairing required (with its request id) → ready. */
class ClawNodePairingTest {
    @Test
    fun `state flow shows pairing required then ready`() = runBlocking {
        GatewayFixture(listOf("device.info"), explicitPairing = true).use { gw ->
            val seen = Collections.synchronizedList(mutableListOf<NodeState>())
            val node = ClawNode(
                NodeConfig(gatewayUrl = gw.url, token = gw.token, platform = "Android 15", deviceFamily = "Android",
                    clientId = ClientId.OPENCLAW_ANDROID, displayName = "kt-pairing"),
            ) { command("device.info") { "{}" } }
            val collector = CoroutineScope(Dispatchers.Default).launch { node.state.collect { seen.add(it) } }
            node.start()
            val pairing = withTimeout(60_000) {
                node.state.first { it is NodeState.AwaitingDeviceApproval } as NodeState.AwaitingDeviceApproval
            }
            val approved = gw.call("approve_device")
            assertTrue(approved["ok"].asBoolean, approved.toString())
            assertEquals(approved["result"].asJsonObject["requestId"].asString, pairing.requestId)
            withTimeout(60_000) {
                node.state.first { it is NodeState.AwaitingCommandApproval || it is NodeState.Ready }
                if (node.state.value !is NodeState.Ready) assertTrue(gw.call("approve_node")["ok"].asBoolean)
                node.state.first { it is NodeState.Ready }
            }
            node.stop()
            collector.cancel()
            val kinds = seen.map { it::class.simpleName }
            assertTrue(kinds.indexOf("AwaitingDeviceApproval") < kinds.indexOf("Ready"), kinds.toString())
            node.close()
        }
    }
}
