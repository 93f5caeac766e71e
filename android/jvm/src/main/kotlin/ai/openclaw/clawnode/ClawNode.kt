package ai.openclaw.clawnode

import ai.openclaw.clawnode.ffi.InvokeContext
import ai.openclaw.clawnode.ffi.CatalogParams
import ai.openclaw.clawnode.ffi.CommandFailure
import ai.openclaw.clawnode.ffi.CommandHandler
import ai.openclaw.clawnode.ffi.CommandOptions
import ai.openclaw.clawnode.ffi.EventOutcome
import ai.openclaw.clawnode.ffi.Node
import ai.openclaw.clawnode.ffi.NodeConfig
import ai.openclaw.clawnode.ffi.NodeListener
import ai.openclaw.clawnode.ffi.NodeNotice
import ai.openclaw.clawnode.ffi.NodeState
import ai.openclaw.clawnode.ffi.PresenceTrigger
import ai.openclaw.clawnode.ffi.RuntimeHook
import ai.openclaw.clawnode.ffi.SecureStore
import ai.openclaw.clawnode.ffi.setRuntimeHook
import ai.openclaw.clawnode.ffi.typedParams
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.async
import kotlinx.coroutines.flow.MutableSharedFlow
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.SharedFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asSharedFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.launch
import kotlinx.coroutines.supervisorScope
import java.util.concurrent.ConcurrentHashMap

/** Fails a command: the operator sees `"CODE: message"` with `details.nodeError.code == code`. */
class CommandException(val code: String, override val message: String) : Exception("$code: $message")

/** What a handler can see besides its params: the invoke's cancellation and deadline. */
class Invoke internal constructor(val command: String, private val token: InvokeContext) {
    /** Whether the Gateway cancelled the invoke or its deadline passed. */
    val isCancelled: Boolean get() = token.isCancelled()

    /** Milliseconds left before the deadline. */
    val remainingMs: Long get() = token.remainingMs().toLong()

    /**
     * The params as a typed record for catalog commands (`CatalogParams.CameraSnap`,
     * `.LocationGet`, …; defaults and clamps already applied by the core), else
     * `CatalogParams.Json`.
     */
    fun typed(paramsJson: String): CatalogParams = typedParams(command, paramsJson)
}

/** A handler: params JSON in, result JSON out. Cancellation cancels the coroutine. */
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
}

/**
 * A ClawNode node for Kotlin: `StateFlow` of states, `SharedFlow` of notices, `suspend`
 * handlers registered with a small DSL, coroutine cancellation wired to the invoke's cancel
 * token (Gateway `node.invoke.cancel` or the deadline).
 *
 * ```
 * val node = ClawNode(config) {
 *     command("device.info") { """{"model":"Pixel"}""" }
 * }
 * node.start()
 * node.state.first { it is NodeState.Ready }
 * ```
 */
class ClawNode(
    config: NodeConfig,
    store: SecureStore? = null,
    commands: Commands.() -> Unit,
) : AutoCloseable {
    private val _state = MutableStateFlow<NodeState>(NodeState.Idle)
    private val _notices = MutableSharedFlow<NodeNotice>(extraBufferCapacity = 64)

    /** The node's state: Idle → Connecting → AwaitingDeviceApproval(requestId) → AwaitingCommandApproval → Ready … */
    val state: StateFlow<NodeState> = _state.asStateFlow()

    /** Notices besides state changes (connected, disconnected, token stored, …). */
    val notices: SharedFlow<NodeNotice> = _notices.asSharedFlow()

    private val node: Node

    init {
        attachRuntimeThreads()
        node = Node(config, store, Listener(_state, _notices))
        val dispatcher = Dispatcher(ConcurrentHashMap())
        Commands().apply(commands).handlers.forEach { (name, entry) ->
            dispatcher.handlers[name] = entry.second
            node.registerCommandWith(name, entry.first, dispatcher)
        }
    }

    /** This node's device id. */
    val deviceId: String get() = node.deviceId()

    /** Starts connecting (idempotent). */
    fun start() = node.start()

    /** Stops the node; running handlers are cancelled. A stopped node cannot be restarted. */
    suspend fun stop() = node.stop()

    /** Retry now (network changed): call from a `ConnectivityManager` callback. */
    fun nudge() = node.nudge()

    /** Lifts a pause after the user fixed credentials. */
    fun resume() = node.resume()

    /** Suspends the node (long background): disconnects until [unsuspend]. */
    fun suspend() = node.suspend()

    /** Ends a suspension and connects again. */
    fun unsuspend() = node.unsuspend()

    /** Foreground/background lifecycle glue (e.g. from `ProcessLifecycleOwner`). */
    fun setForeground(foreground: Boolean) = node.setForeground(foreground)

    /** Trusts a certificate fingerprint the user confirmed (after a pin-mismatch pause). */
    fun trustPin(pin: String) = node.trustPin(pin)

    /** Stops reconnecting until [resume] (state `Paused`, kind `Requested`). */
    fun pause(reason: String) = node.pause(reason)

    /** Sends a `node.event` with a JSON object payload; returns the Gateway's `handled`/`reason`. */
    suspend fun sendEvent(event: String, payloadJson: String): EventOutcome = node.sendEvent(event, payloadJson)

    /** Sends `node.presence.alive` (after a silent push, background refresh, …; throttled to one a minute). */
    suspend fun reportAlive(trigger: PresenceTrigger = PresenceTrigger.MANUAL): EventOutcome = node.reportAlive(trigger)

    /** Blocking stop, then frees the native object. */
    override fun close() {
        node.stopBlocking()
        node.destroy()
    }

    private class Listener(
        private val state: MutableStateFlow<NodeState>,
        private val notices: MutableSharedFlow<NodeNotice>,
    ) : NodeListener {
        override fun onState(state: NodeState) {
            this.state.value = state
        }

        override fun onNotice(notice: NodeNotice) {
            notices.tryEmit(notice)
        }
    }

    private class Dispatcher(val handlers: ConcurrentHashMap<String, Handler>) : CommandHandler {
        override suspend fun invoke(command: String, paramsJson: String, ctx: InvokeContext): String {
            val handler = handlers[command] ?: throw CommandFailure.Failed("UNAVAILABLE", "no handler for $command")
            return try {
                supervisorScope {
                    val work = async { Invoke(command, ctx).handler(paramsJson) }
                    // `cancelled()` returns when the invoke is cancelled (true) or finished (false).
                    val watcher = launch { if (ctx.cancelled()) work.cancel(CancellationException("invoke cancelled")) }
                    try {
                        work.await()
                    } finally {
                        watcher.cancel()
                    }
                }
            } catch (e: CommandException) {
                throw CommandFailure.Failed(e.code, e.message)
            } catch (e: CommandFailure) {
                throw e
            } catch (e: CancellationException) {
                if (ctx.isCancelled()) throw CommandFailure.Failed("CANCELLED", "invoke cancelled") else throw e
            } catch (e: Throwable) {
                throw CommandFailure.Failed("UNAVAILABLE", "${e::class.simpleName}: ${e.message}")
            }
        }
    }

    companion object {
        @Volatile private var hooked = false

        /** Keeps the library's runtime threads attached to the JVM (one JNA attach per thread). */
        private fun attachRuntimeThreads() {
            if (hooked) return
            synchronized(this) {
                if (hooked) return
                setRuntimeHook(object : RuntimeHook {
                    override fun onThreadStart() {
                        com.sun.jna.Native.detach(false)
                    }
                })
                hooked = true
            }
        }
    }
}
