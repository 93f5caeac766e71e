package ai.openclaw.clawnode

import ai.openclaw.clawnode.ffi.ClientId
import ai.openclaw.clawnode.ffi.NodeConfig
import ai.openclaw.clawnode.ffi.NodeState
import ai.openclaw.clawnode.ffi.PauseKind
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import java.io.File
import java.security.MessageDigest
import java.security.cert.CertificateFactory

/** `wss://` with the Gateway's self-signed certificate: pin mismatch → the app trusts → ready. */
class ClawNodeTlsTest {
    private fun sha256Hex(bytes: ByteArray) = MessageDigest.getInstance("SHA-256").digest(bytes).joinToString("") { "%02x".format(it) }

    @Test
    fun `a pin mismatch pauses with both fingerprints, trustPin resumes to ready`(): Unit = runBlocking {
        GatewayFixture(listOf("test.echo"), tls = true).use { gw ->
            assertTrue(gw.url.startsWith("wss://"), gw.url)
            val cert = File(gw.certPath!!).inputStream().use { CertificateFactory.getInstance("X.509").generateCertificate(it) }
            val real = sha256Hex(cert.encoded)
            val wrong = sha256Hex("a certificate nobody presents".toByteArray())
            val node = ClawNode(
                NodeConfig(gatewayUrl = gw.url, token = gw.token, tlsPin = wrong, displayName = "kt-pin", platform = "Android 15",
                    deviceFamily = "Android", clientId = ClientId.OPENCLAW_ANDROID),
            ) { command("test.echo") { it } }
            try {
                node.start()
                val paused = withTimeout(60_000) { node.state.first { it is NodeState.Paused } as NodeState.Paused }
                val kind = paused.pause.kind as PauseKind.PinMismatch
                assertEquals(wrong, kind.expected)
                assertEquals(real, kind.observed)
                assertFalse(kind.systemTrusted)
                delay(1_500) // no retry until the app decides
                assertTrue(node.state.value is NodeState.Paused, node.state.value.toString())

                node.trustPin(kind.observed)
                withTimeout(60_000) {
                    node.state.first { it is NodeState.AwaitingCommandApproval || it is NodeState.Ready }
                    if (node.state.value !is NodeState.Ready) assertTrue(gw.call("approve_node")["ok"].asBoolean)
                    node.state.first { it is NodeState.Ready }
                }
                val r = gw.invoke(node.deviceId, "test.echo", """{"over":"wss"}""")
                assertTrue(r["ok"].asBoolean, r.toString())
                assertEquals("wss", r["result"].asJsonObject["payload"].asJsonObject["over"].asString)
                node.stop()
            } finally {
                node.close()
            }
        }
    }
}
