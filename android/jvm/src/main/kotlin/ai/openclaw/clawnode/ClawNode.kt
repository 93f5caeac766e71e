package ai.openclaw.clawnode

import ai.openclaw.clawnode.ffi.CommandFailure
import ai.openclaw.clawnode.ffi.CommandHandler
import ai.openclaw.clawnode.ffi.EndpointInfo
import ai.openclaw.clawnode.ffi.EventOutcome
import ai.openclaw.clawnode.ffi.GatewayEvent
import ai.openclaw.clawnode.ffi.InvokeContext
import ai.openclaw.clawnode.ffi.LogLevel
import ai.openclaw.clawnode.ffi.LogRecord
import ai.openclaw.clawnode.ffi.LogSink
import ai.openclaw.clawnode.ffi.Node
import ai.openclaw.clawnode.ffi.NodeConfig
import ai.openclaw.clawnode.ffi.NodeListener
import ai.openclaw.clawnode.ffi.NodeNotice
import ai.openclaw.clawnode.ffi.NodeState
import ai.openclaw.clawnode.ffi.NodeStats
import ai.openclaw.clawnode.ffi.PendingWorkItem
import ai.openclaw.clawnode.ffi.PluginSurface
import ai.openclaw.clawnode.ffi.PluginTool
import ai.openclaw.clawnode.ffi.PresenceTrigger
import ai.openclaw.clawnode.ffi.RuntimeHook
import ai.openclaw.clawnode.ffi.SecureStore
import ai.openclaw.clawnode.ffi.Skill
import ai.openclaw.clawnode.ffi.TlsProbe
import ai.openclaw.clawnode.ffi.probeTls
import ai.openclaw.clawnode.ffi.setLogSink
import ai.openclaw.clawnode.ffi.setRuntimeHook
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.async
import kotlinx.coroutines.channels.BufferOverflow
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.MutableSharedFlow
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asSharedFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.filterIsInstance
import kotlinx.coroutines.flow.map
import kotlinx.coroutines.flow.receiveAsFlow
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
    private val _pending = Channel<PendingWorkItem>(PENDING_BUFFER, BufferOverflow.SUSPEND)
    private val closed = AtomicBoolean(false)
    private val node: Node

    /** The node's state: Idle → Connecting → AwaitingDeviceApproval(requestId) → AwaitingCommandApproval → Ready … */
    val state: StateFlow<NodeState> = _state.asStateFlow()

    /**
     * Notices besides state changes (connected, disconnected, token stored, Gateway events,
     * pending work, …), for every collector present when they happen. `toString` is the
     * library's text (`connected to 2026.9.6 (token)`).
     */
    val notices: Flow<NodeNotice> = _notices.asSharedFlow()

    /** Gateway events with their payload (typed `chat`, `voicewake.changed`, else JSON). */
    val events: Flow<GatewayEvent> = notices.filterIsInstance<NodeNotice.Event>().map { it.event }

    /**
     * Work the Gateway drained for this node (`node.pending.drain`, after a return to the
     * foreground). Buffered until collected (the Gateway has already removed these items):
     * collect it once, for the node's life.
     */
    val pendingWork: Flow<PendingWorkItem> = _pending.receiveAsFlow()

    init {
        attachRuntimeThreads()
        node = Node(config, store, Listener(_state, _notices, _pending))
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

    /**
     * Any node-role Gateway method with JSON params (`node.pending.pull`, …); the answer's
     * payload as JSON. Methods the library owns (`connect`, `node.invoke.result`, …) are refused.
     */
    suspend fun request(method: String, paramsJson: String = "{}"): String = node.request(method, paramsJson)

    /** The plugin surface URLs of the last `hello-ok` (`pluginSurfaceUrls`). */
    val pluginSurfaceUrls: Map<String, String> get() = node.pluginSurfaceUrls()

    /** `node.pluginSurface.refresh`: a fresh URL for [surface]. */
    suspend fun refreshPluginSurface(surface: String, observedUrl: String? = null): PluginSurface =
        node.refreshPluginSurface(surface, observedUrl)

    /** `node.pluginTools.update`: publishes the app's plugin tools. */
    suspend fun updatePluginTools(tools: List<PluginTool>) = node.updatePluginTools(tools)

    /** `node.skills.update`: publishes the app's skills. */
    suspend fun updateSkills(skills: List<Skill>) = node.updateSkills(skills)

    /** The endpoint in use (the URL chosen among a setup code's, its pin). */
    val endpoint: EndpointInfo get() = node.endpoint()

    /** Counters (connect attempts, invokes, malformed frames, …). */
    val stats: NodeStats get() = node.stats()

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
        private val pending: Channel<PendingWorkItem>,
    ) : NodeListener {
        override fun onState(state: NodeState) {
            this.state.value = state
        }

        override fun onNotice(notice: NodeNotice) {
            if (notice is NodeNotice.PendingWork && pending.trySend(notice.item).isFailure) {
                ClawNodeLog.log(Level.SEVERE, "pending work not delivered (buffer of $PENDING_BUFFER full): $notice", null)
            }
            if (!notices.tryEmit(notice)) ClawNodeLog.log(Level.WARNING, "notice dropped (slow collector): $notice", null)
        }
    }

    private class Dispatcher(private val handlers: Map<String, Handler>) : CommandHandler {
        override suspend fun invoke(command: String, paramsJson: String, ctx: InvokeContext): String {
            val handler = handlers[command] ?: throw CommandFailure.Failed("UNAVAILABLE", "no handler for $command")
            val params = paramsOrEmpty(paramsJson)
            return try {
                supervisorScope {
                    val work = async { Invoke(ctx).handler(params) }
                    // `cancelled()` returns when the invoke is cancelled (true) or finished (false).
                    val watcher = launch { if (ctx.cancelled()) work.cancel(CancellationException("invoke cancelled")) }
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
                if (ctx.isCancelled()) throw CommandFailure.Failed("CANCELLED", "invoke cancelled") else throw e
            } catch (e: Throwable) {
                ClawNodeLog.log(Level.SEVERE, "handler for $command threw", e)
                throw CommandFailure.Failed("UNAVAILABLE", "${e::class.simpleName}: ${e.message}")
            }
        }
    }

    companion object {
        /** Pending work items kept until the app collects [pendingWork]. */
        const val PENDING_BUFFER: Int = 1024

        /**
         * First-use trust: connects to [url] (`wss://`) and returns the certificate's
         * fingerprint and whether the system trusts it, for the app to show before [trustPin].
         * [proxy]: the `NodeConfig.proxy` the node will use (TLS stays end to end through it, so
         * the fingerprint is the Gateway's).
         */
        suspend fun probeTls(url: String, timeoutMs: Long? = null, proxy: String? = null): TlsProbe =
            probeTls(url, timeoutMs?.toULong(), proxy)

        @Volatile private var hooked = false

        /** Where [close] runs `stop` + `destroy` (never on the caller's thread). */
        private val Closer = CoroutineScope(SupervisorJob() + Dispatchers.IO)

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
                ClawNodeLog.bridgeLibrary()
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

    /**
     * The most detailed library (Rust core) level forwarded to [sink]; the first node installs
     * the bridge at `INFO`. Records arrive as `[target] message`.
     */
    fun setLibraryLevel(level: LogLevel) = ai.openclaw.clawnode.ffi.setLogLevel(level)

    internal fun bridgeLibrary() {
        try {
            setLogSink(object : LogSink {
                override fun log(record: LogRecord) = sink(record.level.toJul(), "[${record.target}] ${record.message}", null)
            }, LogLevel.INFO)
        } catch (e: Exception) {
            logger.log(Level.WARNING, "library log bridge not installed", e)
        }
    }

    private fun LogLevel.toJul(): Level = when (this) {
        LogLevel.ERROR -> Level.SEVERE
        LogLevel.WARN -> Level.WARNING
        LogLevel.INFO -> Level.INFO
        LogLevel.DEBUG -> Level.FINE
        LogLevel.TRACE -> Level.FINER
    }
}
