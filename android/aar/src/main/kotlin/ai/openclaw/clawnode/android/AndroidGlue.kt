package ai.openclaw.clawnode.android

import ai.openclaw.clawnode.ClawNode
import android.app.Activity
import android.app.Application
import android.content.Context
import android.net.ConnectivityManager
import android.net.Network
import android.os.Bundle

/**
 * One-time initialisation rustls-platform-verifier needs on Android so `wss://` endpoints
 * without a pin are checked against the system trust store (and user-added CAs). Call
 * [init] once from `Application.onCreate`, before the first node starts. It loads
 * `libclawnode_ffi.so` and hands the Rust side the JavaVM and the application Context
 * (`Java_ai_openclaw_clawnode_android_ClawNodeAndroid_nativeInit` in bindings/src/android.rs,
 * which calls `rustls_platform_verifier::android::init_with_env`). The verifier's Kotlin
 * component must be on the class path (see build.gradle.kts).
 */
object ClawNodeAndroid {
    @Volatile private var initialised = false

    /** What [init] runs once; replaced only by tests (the host library has no JNI entry). */
    @Volatile
    internal var native: (Context) -> Unit = { context ->
        System.loadLibrary("clawnode_ffi")
        nativeInit(context)
    }

    /** Whether [init] has completed. */
    val isInitialised: Boolean get() = initialised

    /**
     * Initialises the platform verifier (idempotent, thread-safe). Throws
     * `UnsatisfiedLinkError` when the native library is missing; a failed call can be retried.
     */
    @JvmStatic
    fun init(context: Context) {
        if (initialised) return
        synchronized(this) {
            if (initialised) return
            native(context.applicationContext)
            initialised = true
        }
    }

    @JvmStatic private external fun nativeInit(context: Context)
}

/**
 * Runs [onAvailable] (by default [ClawNode.nudge]: reconnect at once) whenever the default
 * network becomes available. [register] in `onStart`/`onCreate`, [unregister] when done.
 */
class ConnectivityNudger(context: Context, private val onAvailable: () -> Unit) : ConnectivityManager.NetworkCallback() {
    constructor(context: Context, node: ClawNode) : this(context, node::nudge)

    private val cm: ConnectivityManager =
        checkNotNull(context.getSystemService(ConnectivityManager::class.java)) { "no ConnectivityManager" }

    /** Starts listening to the default network. */
    fun register() = cm.registerDefaultNetworkCallback(this)

    /** Stops listening. */
    fun unregister() = cm.unregisterNetworkCallback(this)

    override fun onAvailable(network: Network) = onAvailable()
}

/**
 * Process foreground/background from the activities' lifecycle (no AndroidX needed): the app
 * is in the foreground while at least one activity is started. Calls [onChange] on every
 * transition (by default [ClawNode.setForeground], which reconnects at once on foreground and
 * applies the background rules of the catalog). Configuration changes (rotation) do not
 * count as a transition.
 */
class ForegroundTracker(private val app: Application, private val onChange: (foreground: Boolean) -> Unit) :
    Application.ActivityLifecycleCallbacks {
    constructor(app: Application, node: ClawNode) : this(app, node::setForeground)

    private var started = 0
    private var reported: Boolean? = null

    /** Whether an activity is started now. */
    val isForeground: Boolean get() = started > 0

    private fun report(foreground: Boolean) {
        if (reported == foreground) return
        reported = foreground
        onChange(foreground)
    }

    /** Starts tracking. */
    fun register() = app.registerActivityLifecycleCallbacks(this)

    /** Stops tracking. */
    fun unregister() = app.unregisterActivityLifecycleCallbacks(this)

    override fun onActivityStarted(activity: Activity) {
        started++
        report(true)
    }

    override fun onActivityStopped(activity: Activity) {
        if (started == 0) return
        started--
        if (started == 0 && !activity.isChangingConfigurations) report(false)
    }

    override fun onActivityCreated(activity: Activity, savedInstanceState: Bundle?) = Unit
    override fun onActivityResumed(activity: Activity) = Unit
    override fun onActivityPaused(activity: Activity) = Unit
    override fun onActivitySaveInstanceState(activity: Activity, outState: Bundle) = Unit
    override fun onActivityDestroyed(activity: Activity) = Unit
}
