package ai.openclaw.clawnode.android

import ai.openclaw.clawnode.ClawNode
import android.content.Context
import android.net.ConnectivityManager
import android.net.Network

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

    /** Initialises the platform verifier (idempotent, thread-safe). */
    @JvmStatic
    fun init(context: Context) {
        if (initialised) return
        synchronized(this) {
            if (initialised) return
            System.loadLibrary("clawnode_ffi")
            nativeInit(context.applicationContext)
            initialised = true
        }
    }

    @JvmStatic private external fun nativeInit(context: Context)
}

/** Calls [ClawNode.nudge] whenever a network becomes available (reconnect at once). */
class ConnectivityNudger(context: Context, private val node: ClawNode) : ConnectivityManager.NetworkCallback() {
    private val cm = context.getSystemService(ConnectivityManager::class.java)

    fun register() = cm.registerDefaultNetworkCallback(this)

    fun unregister() = cm.unregisterNetworkCallback(this)

    override fun onAvailable(network: Network) = node.nudge()
}
