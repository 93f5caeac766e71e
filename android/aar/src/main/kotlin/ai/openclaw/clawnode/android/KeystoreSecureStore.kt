package ai.openclaw.clawnode.android

import ai.openclaw.clawnode.ClawNodeLog
import ai.openclaw.clawnode.ffi.SecureStore
import ai.openclaw.clawnode.ffi.StoreFailure
import android.content.Context
import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyProperties
import android.util.Base64
import java.security.GeneralSecurityException
import java.security.KeyStore
import java.util.logging.Level
import javax.crypto.Cipher
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec

/**
 * `SecureStore` backed by the Android Keystore: each value is AES-256-GCM encrypted with a
 * non-exportable Keystore key and kept in private SharedPreferences as
 * `k1:` + base64(iv ‖ ciphertext). The node's identity (`clawnode.identity`) and device tokens
 * (`clawnode.token.*`) go here.
 *
 * Fallback: some devices and emulators have no working Keystore. With [Fallback.REFUSE] (the
 * default) every call then fails with `StoreFailure` (the node pauses with kind `Storage`).
 * With [Fallback.PRIVATE_PREFS] the values are kept unencrypted in the app's private
 * SharedPreferences (`p1:` + base64), protected by the app sandbox only; a warning is logged
 * once, and such values are encrypted as soon as the Keystore works again. A value encrypted
 * with the Keystore is never readable without it (a failure, not `null`: the identity is not
 * silently replaced).
 */
class KeystoreSecureStore internal constructor(
    context: Context,
    private val fallback: Fallback,
    private val keySource: () -> SecretKey,
) : SecureStore {
    /** What to do when the Android Keystore does not work on this device. */
    enum class Fallback {
        /** Fail every operation (`StoreFailure`). */
        REFUSE,

        /** Keep values unencrypted in the app's private SharedPreferences. */
        PRIVATE_PREFS,
    }

    constructor(context: Context, alias: String = "clawnode", fallback: Fallback = Fallback.REFUSE) :
        this(context, fallback, { keystoreKey(alias) })

    private val prefs = context.getSharedPreferences("clawnode-secure", Context.MODE_PRIVATE)

    @Volatile private var warned = false

    /** The Keystore key, or null when the Keystore does not work and the fallback allows it. */
    private fun keyOrFallback(): SecretKey? = try {
        keySource()
    } catch (e: GeneralSecurityException) {
        unavailable(e)
    } catch (e: java.io.IOException) {
        unavailable(e)
    } catch (e: RuntimeException) {
        unavailable(e)
    }

    private fun unavailable(e: Exception): SecretKey? {
        if (fallback == Fallback.REFUSE) throw StoreFailure.Failed("Android Keystore unavailable: ${e::class.simpleName}: ${e.message}")
        if (!warned) {
            warned = true
            ClawNodeLog.sink(Level.WARNING, "Android Keystore unavailable; secrets kept unencrypted in private storage", e)
        }
        return null
    }

    private inline fun <T> guard(what: String, block: () -> T): T = try {
        block()
    } catch (e: StoreFailure) {
        throw e
    } catch (e: Exception) {
        throw StoreFailure.Failed("$what: ${e::class.simpleName}: ${e.message}")
    }

    override fun get(key: String): ByteArray? = guard("read $key") {
        val stored = prefs.getString(key, null) ?: return@guard null
        when {
            stored.startsWith(PLAIN) -> {
                val value = Base64.decode(stored.substring(PLAIN.length), Base64.NO_WRAP)
                // Encrypt a fallback value as soon as the Keystore works (a failure keeps it as is).
                if (fallback == Fallback.PRIVATE_PREFS) runCatching { write(key, value, keySource()) }
                value
            }
            else -> {
                val raw = Base64.decode(stored.removePrefix(SEALED), Base64.NO_WRAP)
                val secret = keyOrFallback()
                    ?: throw StoreFailure.Failed("read $key: encrypted with the Android Keystore, which is unavailable now")
                val cipher = Cipher.getInstance(TRANSFORMATION)
                cipher.init(Cipher.DECRYPT_MODE, secret, GCMParameterSpec(128, raw, 0, IV_BYTES))
                cipher.doFinal(raw, IV_BYTES, raw.size - IV_BYTES)
            }
        }
    }

    override fun put(key: String, value: ByteArray) = guard("write $key") {
        val secret = keyOrFallback()
        if (secret == null) {
            commit(key, PLAIN + Base64.encodeToString(value, Base64.NO_WRAP))
        } else {
            write(key, value, secret)
        }
    }

    override fun delete(key: String) = guard("delete $key") {
        check(prefs.edit().remove(key).commit()) { "SharedPreferences commit failed" }
    }

    private fun write(key: String, value: ByteArray, secret: SecretKey) {
        val cipher = Cipher.getInstance(TRANSFORMATION)
        cipher.init(Cipher.ENCRYPT_MODE, secret)
        commit(key, SEALED + Base64.encodeToString(cipher.iv + cipher.doFinal(value), Base64.NO_WRAP))
    }

    private fun commit(key: String, stored: String) {
        check(prefs.edit().putString(key, stored).commit()) { "SharedPreferences commit failed" }
    }

    private companion object {
        const val TRANSFORMATION = "AES/GCM/NoPadding"
        const val IV_BYTES = 12
        const val SEALED = "k1:"
        const val PLAIN = "p1:"

        fun keystoreKey(alias: String): SecretKey {
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
    }
}
