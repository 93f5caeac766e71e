package ai.openclaw.clawnode

import ai.openclaw.clawnode.ffi.CatalogParams
import ai.openclaw.clawnode.ffi.CommandOptions
import ai.openclaw.clawnode.ffi.InputChunk
import ai.openclaw.clawnode.ffi.InvokeContext
import ai.openclaw.clawnode.ffi.typedParams
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.flow
import kotlinx.serialization.KSerializer
import kotlinx.serialization.SerializationException
import kotlinx.serialization.json.Json
import kotlinx.serialization.serializer

/**
 * Fails a command with a code the operator sees (`details.nodeError.code == code`). Sealed:
 * throw one of its subclasses; anything else a handler throws is reported as `UNAVAILABLE`
 * and logged with its stack trace.
 */
sealed class CommandError(val code: String, override val message: String, cause: Throwable? = null) :
    Exception("$code: $message", cause) {
    /** A failure with the app's own UPPER_SNAKE code (e.g. `CAMERA_PERMISSION_REQUIRED`). */
    class Failed(code: String, message: String, cause: Throwable? = null) : CommandError(code, message, cause)

    /** The params did not decode into the handler's type (`INVALID_REQUEST`). */
    class InvalidParams(message: String, cause: Throwable? = null) : CommandError("INVALID_REQUEST", message, cause)

    /** The command cannot run now (`UNAVAILABLE`): missing hardware, service down, … */
    class Unavailable(message: String, cause: Throwable? = null) : CommandError("UNAVAILABLE", message, cause)

    override fun toString(): String = "CommandError.${this::class.simpleName}($code: $message)"
}

/**
 * What a handler can see besides its params: ids, cancellation, the deadline, progress out
 * (`node.invoke.progress`) and input in (`node.invoke.input`).
 */
class Invoke internal constructor(private val ctx: InvokeContext) {
    /** The command name. */
    val command: String get() = ctx.command()

    /** The Gateway's id of this invoke. */
    val invokeId: String get() = ctx.invokeId()

    /** The operator's idempotency key, if any. */
    val idempotencyKey: String? get() = ctx.idempotencyKey()

    /** The session the invoke belongs to, if any. */
    val sessionKey: String? get() = ctx.sessionKey()

    /** The deadline (Unix ms). */
    val deadlineMs: Long get() = ctx.deadlineMs().toLong()

    /** Whether the Gateway cancelled the invoke or its deadline passed. */
    val isCancelled: Boolean get() = ctx.isCancelled()

    /** Milliseconds left before the deadline. */
    val remainingMs: Long get() = ctx.remainingMs().toLong()

    /** Streams text to the Gateway (split in ≤ 16 KiB chunks); throws `InvokeException`. */
    suspend fun progress(text: String) = ctx.progress(text)

    /** Streams bytes (UTF-8 decoded across calls). */
    suspend fun progressBytes(data: ByteArray) = ctx.progressBytes(data)

    /** Sends one JSON chunk (≤ 16 KiB). */
    suspend fun progressJson(json: String) = ctx.progressJson(json)

    /** Tells the Gateway the invoke is alive without output. */
    suspend fun heartbeat() = ctx.heartbeat()

    /**
     * The operator's `node.invoke.input` chunks, in order; completes when the invoke is
     * cancelled or finished. One collector per invoke.
     */
    val inputs: Flow<InputChunk> = flow {
        while (true) emit(ctx.nextInput() ?: break)
    }

    /**
     * The params as a typed record for catalog commands (`CatalogParams.CameraSnap`,
     * `.LocationGet`, …; defaults and clamps already applied by the core), else
     * `CatalogParams.Json`.
     */
    fun typed(paramsJson: String): CatalogParams = typedParams(command, paramsJson)

    /** Decodes [paramsJson] into [P] (unknown keys ignored); failures are [CommandError.InvalidParams]. */
    inline fun <reified P> decode(paramsJson: String): P = decodeWith(serializer(), paramsJson)

    /** [decode] with an explicit serializer. */
    fun <P> decodeWith(serializer: KSerializer<P>, paramsJson: String): P = try {
        ClawJson.decodeFromString(serializer, paramsJson)
    } catch (e: SerializationException) {
        throw CommandError.InvalidParams("$command: ${e.message}", e)
    } catch (e: IllegalArgumentException) {
        throw CommandError.InvalidParams("$command: ${e.message}", e)
    }

    override fun toString(): String = "Invoke(command=$command, invokeId=$invokeId, remainingMs=$remainingMs, cancelled=$isCancelled)"
}

/** The JSON settings of the typed helpers: unknown keys ignored, defaults not written out. */
val ClawJson: Json = Json {
    ignoreUnknownKeys = true
    explicitNulls = false
}

/** A handler: params JSON in (`{}` when the operator sent none), result JSON out. */
typealias Handler = suspend Invoke.(paramsJson: String) -> String

/** The DSL block of [ClawNode]: `command("device.info") { params -> "{...}" }`. */
class Commands internal constructor() {
    internal val handlers = LinkedHashMap<String, Pair<CommandOptions, Handler>>()

    /**
     * Registers [handler] for [name]. Catalog commands (`catalog()`) get their rules: cap,
     * params validated and normalized before the handler runs, the platform's foreground
     * rule and the result budget. Others get the cap of their first segment unless [cap] is
     * given. [foregroundOnly] refuses the command while the app is in the background.
     */
    fun command(name: String, cap: String? = null, foregroundOnly: Boolean = false, handler: Handler) {
        handlers[name] = CommandOptions(cap, foregroundOnly) to handler
    }

    /**
     * Registers a handler with typed params and result (kotlinx.serialization): params that do
     * not decode into [P] answer `INVALID_REQUEST` without running it.
     *
     * ```
     * @Serializable data class Greet(val name: String = "world")
     * @Serializable data class Greeting(val text: String)
     * typedCommand<Greet, Greeting>("demo.greet") { p -> Greeting("hello ${p.name}") }
     * ```
     */
    inline fun <reified P, reified R> typedCommand(
        name: String,
        cap: String? = null,
        foregroundOnly: Boolean = false,
        noinline handler: suspend Invoke.(params: P) -> R,
    ) = typedCommandWith(name, cap, foregroundOnly, serializer<P>(), serializer<R>(), handler)

    /** [typedCommand] with explicit serializers. */
    fun <P, R> typedCommandWith(
        name: String,
        cap: String?,
        foregroundOnly: Boolean,
        params: KSerializer<P>,
        result: KSerializer<R>,
        handler: suspend Invoke.(params: P) -> R,
    ) = command(name, cap, foregroundOnly) { json -> ClawJson.encodeToString(result, handler(decodeWith(params, json))) }
}

/** Absent params (`null`, empty) are the empty object, as the docs and the catalog promise. */
internal fun paramsOrEmpty(paramsJson: String): String =
    if (paramsJson.isBlank() || paramsJson.trim() == "null") "{}" else paramsJson
