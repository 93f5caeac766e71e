package ai.openclaw.clawnode.android

import android.app.Activity
import android.app.Application
import android.content.Context
import android.net.ConnectivityManager
import org.robolectric.RuntimeEnvironment
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertSame
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.Robolectric
import org.robolectric.RobolectricTestRunner
import org.robolectric.Shadows.shadowOf
import org.robolectric.shadows.ShadowNetwork

/** The AAR's Android glue on the real framework code (Robolectric's android-all, API 35). */
@RunWith(RobolectricTestRunner::class)
class AndroidGlueTest {
    private val app: Application = RuntimeEnvironment.getApplication()

    @org.junit.Before
    fun fresh() = resetInit()

    @After
    fun restoreNative() {
        ClawNodeAndroid.native = defaultNative
    }

    @Test
    fun `a network becoming available nudges, and only while registered`() {
        var nudges = 0
        val nudger = ConnectivityNudger(app) { nudges++ }
        val cm = shadowOf(app.getSystemService(ConnectivityManager::class.java))
        nudger.register()
        assertTrue(cm.networkCallbacks.contains(nudger))
        for (cb in cm.networkCallbacks) cb.onAvailable(ShadowNetwork.newInstance(7))
        assertEquals(1, nudges)
        nudger.unregister()
        assertFalse(cm.networkCallbacks.contains(nudger))
        assertEquals(1, nudges)
    }

    @Test
    fun `activity lifecycle drives foreground once per transition`() {
        val seen = mutableListOf<Boolean>()
        val tracker = ForegroundTracker(app) { seen.add(it) }
        tracker.register()
        val first = Robolectric.buildActivity(Activity::class.java).setup() // created, started, resumed
        assertEquals(listOf(true), seen)
        val second = Robolectric.buildActivity(Activity::class.java).setup() // a second activity: no change
        first.pause().stop()
        assertEquals(listOf(true), seen)
        second.pause().stop()
        assertEquals(listOf(true, false), seen)
        assertFalse(tracker.isForeground)
        second.start()
        assertEquals(listOf(true, false, true), seen)
        tracker.unregister()
        second.stop()
        assertEquals(listOf(true, false, true), seen)
    }

    @Test
    fun `init hands the application context to the native side once`() {
        val contexts = mutableListOf<Context>()
        ClawNodeAndroid.native = { contexts.add(it) }
        val activity = Robolectric.buildActivity(Activity::class.java).setup().get()
        ClawNodeAndroid.init(activity)
        ClawNodeAndroid.init(app)
        assertEquals(1, contexts.size)
        assertSame(app, contexts.single())
        assertTrue(ClawNodeAndroid.isInitialised)
    }

    @Test
    fun `init without the native library fails and can be retried`() {
        // The real loader: this JVM has no libclawnode_ffi with the Android JNI entry. Either the
        // library is not on java.library.path at all, or (when the environment's library path
        // reaches a host build of it) it loads but has no `nativeInit`: both are link errors.
        ClawNodeAndroid.native = defaultNative
        try {
            ClawNodeAndroid.init(app)
            fail("init must fail without the native library")
        } catch (e: UnsatisfiedLinkError) {
            val message = e.message.orEmpty()
            assertTrue(message, message.contains("clawnode_ffi") || message.contains("nativeInit"))
        }
        assertFalse(ClawNodeAndroid.isInitialised)
        var calls = 0
        ClawNodeAndroid.native = { calls++ }
        ClawNodeAndroid.init(app)
        assertEquals(1, calls)
        assertTrue(ClawNodeAndroid.isInitialised)
    }

    private companion object {
        val defaultNative = ClawNodeAndroid.native

        /** Robolectric shares the object across tests in one sandbox: clear its flag. */
        fun resetInit() {
            val f = ClawNodeAndroid::class.java.getDeclaredField("initialised")
            f.isAccessible = true
            f.setBoolean(ClawNodeAndroid, false)
        }
    }
}
