package ai.openclaw.clawnode.android

import ai.openclaw.clawnode.ffi.StoreFailure
import android.content.Context
import org.robolectric.RuntimeEnvironment
import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNull
import org.junit.Assert.assertThrows
import org.junit.Assert.assertTrue
import org.junit.Before
import org.junit.Test
import org.junit.runner.RunWith
import org.robolectric.RobolectricTestRunner
import java.security.KeyStoreException
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey

/**
 * The Keystore store's format and fallback under Robolectric. Robolectric has no
 * `AndroidKeyStore` provider, which is exactly the "Keystore unavailable" case; the
 * encrypted path runs with a software AES key in place of the Keystore's.
 */
@RunWith(RobolectricTestRunner::class)
class KeystoreSecureStoreTest {
    private val context: Context = RuntimeEnvironment.getApplication()
    private val prefs get() = context.getSharedPreferences("clawnode-secure", Context.MODE_PRIVATE)
    private val secret = "device-token-secret".toByteArray()

    @Before
    fun clear() {
        prefs.edit().clear().commit()
    }

    private fun softwareKey(): SecretKey = KeyGenerator.getInstance("AES").apply { init(256) }.generateKey()

    @Test
    fun `without a Keystore the default store refuses with a StoreFailure`() {
        val store = KeystoreSecureStore(context)
        val e = assertThrows(StoreFailure.Failed::class.java) { store.put("clawnode.identity", secret) }
        assertTrue(e.detail, e.detail.contains("Android Keystore unavailable"))
        assertNull(prefs.getString("clawnode.identity", null))
    }

    @Test
    fun `with the private-prefs fallback values round-trip unencrypted`() {
        val store = KeystoreSecureStore(context, fallback = KeystoreSecureStore.Fallback.PRIVATE_PREFS)
        assertNull(store.get("clawnode.token.node"))
        store.put("clawnode.token.node", secret)
        assertTrue(prefs.getString("clawnode.token.node", null)!!.startsWith("p1:"))
        assertArrayEquals(secret, store.get("clawnode.token.node"))
        store.delete("clawnode.token.node")
        assertNull(store.get("clawnode.token.node"))
    }

    @Test
    fun `with a key values are sealed, tamper-evident, and fallback values get sealed`() {
        val key = softwareKey()
        val store = KeystoreSecureStore(context, KeystoreSecureStore.Fallback.PRIVATE_PREFS) { key }
        store.put("clawnode.identity", secret)
        val stored = prefs.getString("clawnode.identity", null)!!
        assertTrue(stored.startsWith("k1:"))
        assertFalse(stored.contains(android.util.Base64.encodeToString(secret, android.util.Base64.NO_WRAP)))
        assertArrayEquals(secret, store.get("clawnode.identity"))

        // One flipped ciphertext byte: a failure, never a wrong value.
        val raw = android.util.Base64.decode(stored.removePrefix("k1:"), android.util.Base64.NO_WRAP)
        raw[raw.size - 1] = (raw[raw.size - 1].toInt() xor 1).toByte()
        prefs.edit().putString("clawnode.identity", "k1:" + android.util.Base64.encodeToString(raw, android.util.Base64.NO_WRAP)).commit()
        assertThrows(StoreFailure.Failed::class.java) { store.get("clawnode.identity") }

        // A value written while the Keystore was down is sealed on its next read.
        KeystoreSecureStore(context, KeystoreSecureStore.Fallback.PRIVATE_PREFS) { throw KeyStoreException("down") }
            .put("clawnode.token.node", secret)
        assertTrue(prefs.getString("clawnode.token.node", null)!!.startsWith("p1:"))
        assertArrayEquals(secret, store.get("clawnode.token.node"))
        assertTrue(prefs.getString("clawnode.token.node", null)!!.startsWith("k1:"))
        assertArrayEquals(secret, store.get("clawnode.token.node"))
    }

    @Test
    fun `a sealed value is never read as absent when the Keystore goes away`() {
        val key = softwareKey()
        KeystoreSecureStore(context, KeystoreSecureStore.Fallback.PRIVATE_PREFS) { key }.put("clawnode.identity", secret)
        val down = KeystoreSecureStore(context, KeystoreSecureStore.Fallback.PRIVATE_PREFS) { throw KeyStoreException("down") }
        val e = assertThrows(StoreFailure.Failed::class.java) { down.get("clawnode.identity") }
        assertTrue(e.detail, e.detail.contains("unavailable"))
    }
}
