package ai.openclaw.clawnode

import ai.openclaw.clawnode.ffi.ClientId
import ai.openclaw.clawnode.ffi.HeaderProblem
import ai.openclaw.clawnode.ffi.NodeConfig
import ai.openclaw.clawnode.ffi.NodeException
import ai.openclaw.clawnode.ffi.NodeState
import ai.openclaw.clawnode.ffi.PauseKind
import ai.openclaw.clawnode.ffi.RemediationKind
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertThrows
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import java.io.File
import java.net.ServerSocket
import java.net.Socket
import java.nio.file.Files

/**
 * `NodeConfig.proxy` and `NodeConfig.headers` from Kotlin: the config shape, the typed
 * refusals (a reserved upgrade header, a bad proxy URL), and a round trip to the real Gateway
 * through Debian's tinyproxy (HTTP CONNECT with Basic auth) started on loopback; wrong proxy
 * credentials give a `PauseKind.Proxy` pause.
 */
class ClawNodeReachTest {
    private fun config(url: String, name: String, token: String? = null, proxy: String? = null, headers: Map<String, String> = mapOf()) =
        NodeConfig(gatewayUrl = url, token = token, displayName = name, platform = "Android 15", deviceFamily = "Android",
            clientId = ClientId.OPENCLAW_ANDROID, proxy = proxy, headers = headers)

    @Test
    fun `a reserved header and a bad proxy URL are refused with typed errors`() {
        val reserved = assertThrows(NodeException.InvalidHeader::class.java) {
            ClawNode(config("ws://127.0.0.1:9", "kt-reserved", headers = mapOf("Sec-WebSocket-Protocol" to "chat"))) {}
        }
        assertEquals("Sec-WebSocket-Protocol", reserved.name)
        assertEquals(HeaderProblem.RESERVED, reserved.problem)
        assertTrue(reserved.detail.contains("reserved"), reserved.detail)
        val host = assertThrows(NodeException.InvalidHeader::class.java) {
            ClawNode(config("ws://127.0.0.1:9", "kt-host", headers = mapOf("Host" to "evil.example"))) {}
        }
        assertEquals(HeaderProblem.RESERVED, host.problem)
        val proxy = assertThrows(NodeException.InvalidProxy::class.java) {
            ClawNode(config("ws://127.0.0.1:9", "kt-proxy", proxy = "https://user:hunter2@proxy.example:3128")) {}
        }
        assertFalse(proxy.toString().contains("hunter2"), proxy.toString())
        // Valid ones build a node (nothing is sent before start()).
        val ok = ClawNode(config("wss://gw.example:443", "kt-ok", proxy = "socks5h://127.0.0.1:1080",
            headers = mapOf("CF-Access-Client-Id" to "id.access", "CF-Access-Client-Secret" to "s3cr3t"))) {}
        ok.close()
    }

    @Test
    fun `pairs and answers an invoke through tinyproxy with Basic auth`(): Unit = runBlocking {
        val tinyproxy = "/usr/bin/tinyproxy"
        assertTrue(File(tinyproxy).exists(), "tinyproxy is required (cargo xtask test installs it)")
        val dir = Files.createTempDirectory("kt-tinyproxy").toFile()
        val port = ServerSocket(0).use { it.localPort }
        val log = File(dir, "tinyproxy.log")
        val conf = File(dir, "tinyproxy.conf")
        conf.writeText("Port $port\nListen 127.0.0.1\nTimeout 60\nLogFile \"$log\"\nLogLevel Info\nMaxClients 20\n" +
            "PidFile \"${File(dir, "tinyproxy.pid")}\"\nBasicAuth clawnode kt-proxy-pass\n")
        val proxyProc = ProcessBuilder(tinyproxy, "-d", "-c", conf.path)
            .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD).start()
        try {
            val deadline = System.currentTimeMillis() + 10_000
            while (runCatching { Socket("127.0.0.1", port).close() }.isFailure) {
                assertTrue(System.currentTimeMillis() < deadline, "tinyproxy did not listen")
                Thread.sleep(50)
            }
            GatewayFixture(listOf("test.echo")).use { gw ->
                val gwPort = gw.url.substringAfterLast(':').trimEnd('/')
                val node = ClawNode(config(gw.url, "kt-proxied", token = gw.token,
                    proxy = "http://clawnode:kt-proxy-pass@127.0.0.1:$port")) { command("test.echo") { it } }
                try {
                    node.start()
                    withTimeout(60_000) {
                        node.state.first { it is NodeState.AwaitingCommandApproval || it is NodeState.Ready }
                        if (node.state.value !is NodeState.Ready) assertTrue(gw.call("approve_node")["ok"].asBoolean)
                        node.state.first { it is NodeState.Ready }
                    }
                    val r = gw.invoke(node.deviceId, "test.echo", """{"via":"tinyproxy"}""")
                    assertTrue(r["ok"].asBoolean, r.toString())
                    assertEquals("tinyproxy", r["result"].asJsonObject["payload"].asJsonObject["via"].asString)
                    node.stop()
                } finally {
                    node.close()
                }
                val text = log.readText()
                assertTrue(text.contains("CONNECT 127.0.0.1:$gwPort"), text)
                // Wrong proxy password: a Proxy pause the app can word (FIX_PROXY), no retry.
                val refused = ClawNode(config(gw.url, "kt-badproxy", token = gw.token,
                    proxy = "http://clawnode:kt-not-the-pw@127.0.0.1:$port")) { command("test.echo") { it } }
                try {
                    refused.start()
                    val paused = withTimeout(30_000) { refused.state.first { it is NodeState.Paused } as NodeState.Paused }
                    assertEquals(PauseKind.Proxy, paused.pause.kind, paused.toString())
                    assertEquals(RemediationKind.FIX_PROXY, paused.pause.remediationKind)
                    assertFalse(paused.toString().contains("kt-not-the-pw"), paused.toString())
                } finally {
                    refused.close()
                }
            }
        } finally {
            proxyProc.destroy()
            proxyProc.waitFor()
            dir.deleteRecursively()
        }
    }
}
