//! Android only: the one-time initialisation `rustls-platform-verifier` needs so `wss://`
//! without a pin is checked against the Android system trust store (and user-added CAs).
//!
//! The AAR's `ClawNodeAndroid.init(context)` calls the native method below once, before the
//! first node starts; the verifier's Kotlin component (`rustls-platform-verifier-android`,
//! Maven artifact `rustls:rustls-platform-verifier`) must be on the app's class path.

use jni::objects::{JClass, JObject};
use jni::{Env, EnvUnowned};

/// `ai.openclaw.clawnode.android.ClawNodeAndroid.nativeInit(context: Context)`.
/// Throws a `RuntimeException` in the app when the initialisation fails.
#[allow(unsafe_code, reason = "the JNI entry point must keep its exported name")]
#[unsafe(no_mangle)]
pub extern "system" fn Java_ai_openclaw_clawnode_android_ClawNodeAndroid_nativeInit<'caller>(
    mut unowned_env: EnvUnowned<'caller>,
    _class: JClass<'caller>,
    context: JObject<'caller>,
) {
    unowned_env
        .with_env(|env: &mut Env<'_>| rustls_platform_verifier::android::init_with_env(env, context))
        .resolve::<jni::errors::ThrowRuntimeExAndDefault>()
}
