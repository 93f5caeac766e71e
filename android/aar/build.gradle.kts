// Android library (AAR): the generated bindings with `android = true`
// (src/generated/kotlin, from bindings/uniffi-android.toml), the shared Kotlin wrapper
// (../jvm/src/main/kotlin) and the Android-only glue in src/main/kotlin. Not built in CI
// (no Android SDK on these machines); the shared code is compiled and tested on the JVM.
//
// Native libraries: build libclawnode_ffi.so per ABI with cargo-ndk and put them in
// src/main/jniLibs/<abi>/ (e.g. `cargo ndk -t arm64-v8a -t x86_64 -o android/aar/src/main/jniLibs
// build --profile release-ffi -p clawnode-ffi`).
plugins {
    id("com.android.library") version "8.13.0"
    kotlin("android") version "2.4.21"
}

android {
    namespace = "ai.openclaw.clawnode.android"
    compileSdk = 36
    defaultConfig { minSdk = 26 }
    sourceSets["main"].java.srcDirs("src/main/kotlin", "src/generated/kotlin", "../jvm/src/main/kotlin")
}

dependencies {
    implementation("net.java.dev.jna:jna:5.19.1@aar")
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.11.0")
    // Kotlin half of rustls-platform-verifier (system trust for wss:// without a pin).
    implementation("rustls:rustls-platform-verifier:0.1.1")
}
