package ai.openclaw.clawnode.android

import ai.openclaw.clawnode.ClawNode
import android.content.Context
import android.net.ConnectivityManager
import android.net.Network

/**
 * One-time initialisation rustls-platform-verifier needs on Android so `wss://` endpoints
 * without a pin are checked against the system trust store: its Kotlin component
 * (`org.rustls.platformverifier`) must be on the classpath (see build.gradle.kts) and the
 * Rust side must be handed the JavaVM and application Context once, through JNI
 * (`rustls_platform_verifier::android::init_hosted`). That JNI entry point belongs to a
 * small `#[no_mangle]` function in an Android-only Rust crate, which this repository does not
 * build yet; call [initPlatformVerifier] from `Application.onCreate` once it exists.
 */
object PlatformVerifier {
    @JvmStatic external fun initPlatformVerifier(context: Context)
}

/** Calls [ClawNode.nudge] whenever a network becomes available (reconnect at once). */
class ConnectivityNudger(context: Context, private val node: ClawNode) : ConnectivityManager.NetworkCallback() {
    private val cm = context.getSystemService(ConnectivityManager::class.java)

    fun register() = cm.registerDefaultNetworkCallback(this)

    fun unregister() = cm.unregisterNetworkCallback(this)

    override fun onAvailable(network: Network) = node.nudge()
}
