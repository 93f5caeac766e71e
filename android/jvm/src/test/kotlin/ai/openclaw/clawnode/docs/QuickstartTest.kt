package ai.openclaw.clawnode.docs

import ai.openclaw.clawnode.GatewayFixture
import ai.openclaw.clawnode.ffi.NodeState
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.cancel
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import java.io.File

/** docs/android.md's opening program is this package's Quickstart.kt, and it answers a command. */
class QuickstartTest {
    @Test
    fun `the docs program is Quickstart kt, under 30 lines`() {
        val docs = File("../../docs/android.md").readText()
        val block = Regex("```kotlin\n([\\s\\S]*?)```").find(docs)?.groupValues?.get(1) ?: error("no kotlin block in docs/android.md")
        val source = File("src/test/kotlin/ai/openclaw/clawnode/docs/Quickstart.kt").readText()
            .substringAfter("\n\n") // without the `package` line
        assertEquals(source.trim(), block.trim(), "docs/android.md's first block must be Quickstart.kt")
        assertTrue(block.trim().lines().size < 30, "${block.trim().lines().size} lines")
    }

    @Test
    fun `the docs program answers a command from the operator`(): Unit = runBlocking {
        GatewayFixture(listOf("demo.greet")).use { gw ->
            val scope = CoroutineScope(Job() + Dispatchers.Default)
            val node = startNode(gw.url, gw.token, scope)
            withTimeout(60_000) {
                node.state.first { it is NodeState.AwaitingCommandApproval || it is NodeState.Ready }
                if (node.state.value !is NodeState.Ready) assertTrue(gw.call("approve_node")["ok"].asBoolean)
                node.state.first { it is NodeState.Ready }
            }
            val hello = gw.invoke(node.deviceId, "demo.greet", """{"name":"docs"}""")
            assertEquals("hello docs", hello["result"].asJsonObject["payload"].asJsonObject["text"].asString, hello.toString())
            val absent = gw.invoke(node.deviceId, "demo.greet", paramsJson = null)
            assertEquals("hello world", absent["result"].asJsonObject["payload"].asJsonObject["text"].asString, absent.toString())
            scope.cancel()
            withTimeout(30_000) { node.state.first { it is NodeState.Stopped } }
        }
    }
}
