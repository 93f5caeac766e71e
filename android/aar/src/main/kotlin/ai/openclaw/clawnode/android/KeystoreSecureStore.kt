package ai.openclaw.clawnode.android

import ai.openclaw.clawnode.ffi.SecureStore
import ai.openclaw.clawnode.ffi.StoreFailure
import android.content.Context
import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyProperties
import android.util.Base64
import java.security.KeyStore
import javax.crypto.Cipher
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec

/**
 * `SecureStore` backed by the Android Keystore: each value is AES-256-GCM encrypted with a
 * non-exportable Keystore key and kept in private SharedPreferences as base64(iv ‖ ciphertext).
 * The node's identity (`clawnode.identity`) and device tokens (`clawnode.token.*`) go here.
 */
class KeystoreSecureStore(context: Context, private val alias: String = "clawnode") : SecureStore {
    private val prefs = context.getSharedPreferences("clawnode-secure", Context.MODE_PRIVATE)

    private fun key(): SecretKey {
        val ks = KeyStore.getInstance("AndroidKeyStore").apply { load(null) }
        (ks.getKey(alias, null) as? SecretKey)?.let { return it }
        val gen = KeyGenerator.getInstance(KeyProperties.KEY_ALGORITHM_AES, "AndroidKeyStore")
        gen.init(
            KeyGenParameterSpec.Builder(alias, KeyProperties.PURPOSE_ENCRYPT or KeyProperties.PURPOSE_DECRYPT)
                .setBlockModes(KeyProperties.BLOCK_MODE_GCM)
                .setEncryptionPaddings(KeyProperties.ENCRYPTION_PADDING_NONE)
                .setKeySize(256)
                .build(),
        )
        return gen.generateKey()
    }

    private inline fun <T> guard(block: () -> T): T =
        try { block() } catch (e: Exception) { throw StoreFailure.Failed("${e::class.simpleName}: ${e.message}") }

    override fun get(key: String): ByteArray? = guard {
        val stored = prefs.getString(key, null) ?: return@guard null
        val raw = Base64.decode(stored, Base64.NO_WRAP)
        val cipher = Cipher.getInstance("AES/GCM/NoPadding")
        cipher.init(Cipher.DECRYPT_MODE, key(), GCMParameterSpec(128, raw, 0, 12))
        cipher.doFinal(raw, 12, raw.size - 12)
    }

    override fun put(key: String, value: ByteArray) = guard {
        val cipher = Cipher.getInstance("AES/GCM/NoPadding")
        cipher.init(Cipher.ENCRYPT_MODE, key())
        val out = cipher.iv + cipher.doFinal(value)
        check(prefs.edit().putString(key, Base64.encodeToString(out, Base64.NO_WRAP)).commit()) { "write failed" }
    }

    override fun delete(key: String) = guard {
        check(prefs.edit().remove(key).commit()) { "delete failed" }
    }
}
