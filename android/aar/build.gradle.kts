// Android library (AAR): the generated bindings with `android = true`
// (src/generated/kotlin, from bindings/uniffi-android.toml), the shared Kotlin wrapper
// (../jvm/src/main/kotlin) and the Android-only glue in src/main/kotlin. CI has no Android SDK:
// it compiles the same Kotlin against Robolectric's android-all jar and unit-tests the glue
// under Robolectric (pom.xml next to this file, android/aar/ci.sh).
//
// Native libraries: `android/aar/build-native.sh` (cargo-ndk, needs the NDK) writes
// libclawnode_ffi.so per ABI into src/main/jniLibs/<abi>/.
import org.gradle.api.provider.ValueSource
import org.gradle.api.provider.ValueSourceParameters

plugins {
    id("com.android.library") version "8.13.0"
    kotlin("android") version "2.4.21"
    kotlin("plugin.serialization") version "2.4.21"
}

android {
    namespace = "ai.openclaw.clawnode.android"
    compileSdk = 36
    defaultConfig {
        minSdk = 26
        consumerProguardFiles("consumer-rules.pro")
    }
    sourceSets["main"].java.srcDirs("src/main/kotlin", "src/generated/kotlin", "../jvm/src/main/kotlin")
}

// rustls-platform-verifier's Kotlin half. Since 0.4 it is not on Maven Central: each release
// is a Maven repository served from the project's `maven-archive` branch, and the version must
// be the one of the `rustls-platform-verifier-android` crate in Cargo.lock (0.2.0 for
// rustls-platform-verifier 0.7.1), as its README's "Gradle Setup" documents. The version is
// read from ../../Cargo.lock, so a `cargo update` moves both halves together.
repositories {
    google()
    mavenCentral()
    maven { url = uri("https://github.com/rustls/rustls-platform-verifier/raw/maven-archive/android-release-support/maven/") }
}

abstract class RustlsVerifierVersion : ValueSource<String, RustlsVerifierVersion.Params> {
    interface Params : ValueSourceParameters {
        val lockFile: RegularFileProperty
    }

    override fun obtain(): String {
        val lines = parameters.lockFile.get().asFile.readLines()
        val at = lines.indexOfFirst { it.trim() == "name = \"rustls-platform-verifier-android\"" }
        val version = if (at < 0) null else lines.drop(at + 1)
            .firstOrNull { it.trimStart().startsWith("version = ") }
            ?.substringAfter('"')?.substringBefore('"')
        return version ?: error("rustls-platform-verifier-android not found in Cargo.lock")
    }
}

val rustlsVerifierVersion = providers.of(RustlsVerifierVersion::class.java) {
    parameters.lockFile.set(layout.projectDirectory.file("../../Cargo.lock"))
}

configurations.configureEach {
    resolutionStrategy.eachDependency {
        if (requested.group == "rustls" && requested.name == "rustls-platform-verifier") {
            useVersion(rustlsVerifierVersion.get())
            because("the Kotlin half must match rustls-platform-verifier-android in Cargo.lock")
        }
    }
}

dependencies {
    implementation("net.java.dev.jna:jna:5.19.1@aar")
    implementation("androidx.annotation:annotation:1.9.1")
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.11.0")
    implementation("org.jetbrains.kotlinx:kotlinx-serialization-json:1.13.0")
    // Version chosen above from Cargo.lock (no static version on purpose).
    implementation("rustls:rustls-platform-verifier")
}
