package ai.openclaw.clawnode

import ai.openclaw.clawnode.ffi.CancelToken
import ai.openclaw.clawnode.ffi.CommandFailure
import ai.openclaw.clawnode.ffi.CommandHandler
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
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.async
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.MutableSharedFlow
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asSharedFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.launch
import kotlinx.coroutines.supervisorScope
import java.util.concurrent.atomic.AtomicBoolean
import java.util.logging.Level
import java.util.logging.Logger

/**
 * A ClawNode node for Kotlin: a [StateFlow] of states, a [Flow] of notices, `suspend` handlers
 * registered with a small DSL, coroutine cancellation wired to the invoke's cancel token
 * (Gateway `node.invoke.cancel` or the deadline).
 *
 * Bound to a [CoroutineScope] (a `viewModelScope`, a service's scope), the node closes itself
 * when the scope ends; [close] never blocks the caller.
 *
 * ```
 * val node = ClawNode(config, scope = viewModelScope) {
 *     command("device.info") { """{"model":"Pixel"}""" }
 * }
 * node.start()
 * node.state.first { it is NodeState.Ready }
 * ```
 */
class ClawNode(
    config: NodeConfig,
    store: SecureStore? = null,
    scope: CoroutineScope? = null,
    commands: Commands.() -> Unit,
) : AutoCloseable {
    private val _state = MutableStateFlow<NodeState>(NodeState.Idle)
    private val _notices = MutableSharedFlow<NodeNotice>(extraBufferCapacity = 64)
    private val closed = AtomicBoolean(false)
    private val node: Node

    /** The node's state: Idle → Connecting → AwaitingDeviceApproval(requestId) → AwaitingCommandApproval → Ready … */
    val state: StateFlow<NodeState> = _state.asStateFlow()

    /** Notices besides state changes (connected, disconnected, token stored, …). */
    val notices: Flow<NodeNotice> = _notices.asSharedFlow()

    init {
        attachRuntimeThreads()
        node = Node(config, store, Listener(_state, _notices))
        val table = Commands().apply(commands).handlers
        val dispatcher = Dispatcher(table.mapValues { it.value.second })
        table.forEach { (name, entry) -> node.registerCommandWith(name, entry.first, dispatcher) }
        scope?.coroutineContext?.get(Job)?.invokeOnCompletion { close() }
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

    /** Foreground/background lifecycle glue (e.g. `ForegroundTracker` in the AAR). */
    fun setForeground(foreground: Boolean) = node.setForeground(foreground)

    /** Trusts a certificate fingerprint the user confirmed (after a pin-mismatch pause). */
    fun trustPin(pin: String) = node.trustPin(pin)

    /** Stops reconnecting until [resume] (state `Paused`, kind `Requested`). */
    fun pause(reason: String) = node.pause(reason)

    /** Sends a `node.event` with a JSON object payload; returns the Gateway's `handled`/`reason`. */
    suspend fun sendEvent(event: String, payloadJson: String = "{}"): EventOutcome = node.sendEvent(event, payloadJson)

    /** Sends `node.presence.alive` (after a silent push, background refresh, …; throttled to one a minute). */
    suspend fun reportAlive(trigger: PresenceTrigger = PresenceTrigger.MANUAL): EventOutcome = node.reportAlive(trigger)

    /**
     * Stops the node and frees the native object without blocking the caller (safe from the
     * main thread, `onCleared`, `onDestroy`). Idempotent. Use [stop] first to wait for the end.
     */
    override fun close() {
        if (!closed.compareAndSet(false, true)) return
        Closer.launch {
            try {
                node.stop()
            } catch (e: Exception) {
                ClawNodeLog.log(Level.FINE, "stop on close: $e", null)
            } finally {
                node.destroy()
            }
        }
    }

    override fun toString(): String = "ClawNode(state=${state.value}, closed=${closed.get()})"

    private class Listener(
        private val state: MutableStateFlow<NodeState>,
        private val notices: MutableSharedFlow<NodeNotice>,
    ) : NodeListener {
        override fun onState(state: NodeState) {
            this.state.value = state
        }

        override fun onNotice(notice: NodeNotice) {
            if (!notices.tryEmit(notice)) ClawNodeLog.log(Level.WARNING, "notice dropped (slow collector): $notice", null)
        }
    }

    private class Dispatcher(private val handlers: Map<String, Handler>) : CommandHandler {
        override suspend fun invoke(command: String, paramsJson: String, cancel: CancelToken): String {
            val handler = handlers[command] ?: throw CommandFailure.Failed("UNAVAILABLE", "no handler for $command")
            val params = paramsOrEmpty(paramsJson)
            return try {
                supervisorScope {
                    val work = async { Invoke(command, cancel).handler(params) }
                    // `cancelled()` returns when the invoke is cancelled (true) or finished (false).
                    val watcher = launch { if (cancel.cancelled()) work.cancel(CancellationException("invoke cancelled")) }
                    try {
                        work.await()
                    } finally {
                        watcher.cancel()
                    }
                }
            } catch (e: CommandError) {
                ClawNodeLog.log(Level.INFO, "command $command failed: ${e.code}: ${e.message}", null)
                throw CommandFailure.Failed(e.code, e.message)
            } catch (e: CommandFailure) {
                throw e
            } catch (e: CancellationException) {
                if (cancel.isCancelled()) throw CommandFailure.Failed("CANCELLED", "invoke cancelled") else throw e
            } catch (e: Throwable) {
                ClawNodeLog.log(Level.SEVERE, "handler for $command threw", e)
                throw CommandFailure.Failed("UNAVAILABLE", "${e::class.simpleName}: ${e.message}")
            }
        }
    }

    private companion object {
        @Volatile private var hooked = false

        /** Where [close] runs `stop` + `destroy` (never on the caller's thread). */
        val Closer = CoroutineScope(SupervisorJob() + Dispatchers.IO)

        /** Keeps the library's runtime threads attached to the JVM (one JNA attach per thread). */
        fun attachRuntimeThreads() {
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

/**
 * Where the Kotlin layer logs (handler failures with their stack trace, dropped notices):
 * `java.util.logging` logger `ai.openclaw.clawnode` by default, which Android routes to
 * Logcat. Replace [sink] to route elsewhere (Timber, SLF4J, a test recorder).
 */
object ClawNodeLog {
    private val logger: Logger = Logger.getLogger("ai.openclaw.clawnode")

    /** The sink: level, message, throwable (logged with its stack trace). */
    @Volatile
    var sink: (level: Level, message: String, error: Throwable?) -> Unit = { level, message, error ->
        logger.log(level, message, error)
    }

    internal fun log(level: Level, message: String, error: Throwable?) = sink(level, message, error)
}
