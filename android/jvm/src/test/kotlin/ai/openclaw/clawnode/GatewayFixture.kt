package ai.openclaw.clawnode

import com.google.gson.JsonObject
import com.google.gson.JsonParser
import java.io.BufferedReader
import java.io.BufferedWriter
import java.util.concurrent.CompletableFuture
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicLong

/** The real Gateway plus an operator, through the testkit's `gateway-fixture` (JSON lines). */
class GatewayFixture(allow: List<String>, explicitPairing: Boolean = false, tls: Boolean = false) : AutoCloseable {
    private val process: Process
    private val input: BufferedWriter
    private val pending = ConcurrentHashMap<Long, CompletableFuture<JsonObject>>()
    private val ids = AtomicLong(1)
    val url: String
    val token: String

    /** With `tls`: the Gateway's self-signed certificate (PEM). */
    val certPath: String?

    init {
        val bin = System.getProperty("clawnode.gateway.fixture") ?: "../../target/debug/gateway-fixture"
        val args = mutableListOf(bin, "--allow", allow.joinToString(","))
        if (explicitPairing) args += "--explicit-pairing"
        if (tls) args += "--tls"
        process = ProcessBuilder(args).redirectError(ProcessBuilder.Redirect.INHERIT).start()
        input = process.outputStream.bufferedWriter()
        val output: BufferedReader = process.inputStream.bufferedReader()
        val hello = JsonParser.parseString(output.readLine() ?: error("gateway-fixture exited")).asJsonObject
        url = hello["url"].asString
        token = hello["token"].asString
        certPath = hello["certPath"]?.asString
        Thread {
            output.lineSequence().forEach { line ->
                val msg = JsonParser.parseString(line).asJsonObject
                pending.remove(msg["id"].asLong)?.complete(msg)
            }
        }.apply { isDaemon = true }.start()
    }

    /** Sends one operator request; waits for its answer (`{ok, result}` or `{ok:false, error}`). */
    fun call(op: String, fields: JsonObject = JsonObject(), timeoutSec: Long = 90): JsonObject {
        val id = ids.getAndIncrement()
        val fut = CompletableFuture<JsonObject>()
        pending[id] = fut
        fields.addProperty("id", id)
        fields.addProperty("op", op)
        synchronized(input) {
            input.write(fields.toString())
            input.newLine()
            input.flush()
        }
        return fut.get(timeoutSec, TimeUnit.SECONDS)
    }

    /** `node.invoke` as the operator; [paramsJson] `null` sends no `params` at all. */
    fun invoke(nodeId: String, command: String, paramsJson: String? = "{}", timeoutMs: Long = 10_000): JsonObject {
        val f = JsonObject()
        f.addProperty("nodeId", nodeId)
        f.addProperty("command", command)
        if (paramsJson != null) f.add("params", JsonParser.parseString(paramsJson))
        f.addProperty("timeoutMs", timeoutMs)
        return call("invoke", f)
    }

    override fun close() {
        runCatching { input.close() }
        if (!process.waitFor(20, TimeUnit.SECONDS)) process.destroyForcibly()
    }
}
