import ClawNodeBindings
import Foundation
import Security

/// `SecureStore` backed by the Keychain (generic passwords, this device only, available after
/// first unlock so a node can reconnect in the background). Identity (`clawnode.identity`)
/// and device tokens (`clawnode.token.*`) go here.
public final class KeychainSecureStore: SecureStore, @unchecked Sendable {
    private let service: String

    public init(service: String = "ai.openclaw.clawnode") {
        self.service = service
    }

    private func query(_ key: String) -> [String: Any] {
        [kSecClass as String: kSecClassGenericPassword,
         kSecAttrService as String: service,
         kSecAttrAccount as String: key]
    }

    private func fail(_ status: OSStatus, _ what: String) -> StoreFailure {
        let text = SecCopyErrorMessageString(status, nil) as String? ?? "OSStatus \(status)"
        return StoreFailure.Failed(detail: "\(what): \(text)")
    }

    public func get(key: String) throws -> Data? {
        var q = query(key)
        q[kSecReturnData as String] = true
        q[kSecMatchLimit as String] = kSecMatchLimitOne
        var out: CFTypeRef?
        let status = SecItemCopyMatching(q as CFDictionary, &out)
        if status == errSecItemNotFound { return nil }
        guard status == errSecSuccess else { throw fail(status, "read \(key)") }
        return out as? Data
    }

    public func put(key: String, value: Data) throws {
        let attrs: [String: Any] = [kSecValueData as String: value,
                                    kSecAttrAccessible as String: kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly]
        var status = SecItemUpdate(query(key) as CFDictionary, attrs as CFDictionary)
        if status == errSecItemNotFound {
            status = SecItemAdd(query(key).merging(attrs) { $1 } as CFDictionary, nil)
        }
        guard status == errSecSuccess else { throw fail(status, "write \(key)") }
    }

    public func delete(key: String) throws {
        let status = SecItemDelete(query(key) as CFDictionary)
        guard status == errSecSuccess || status == errSecItemNotFound else { throw fail(status, "delete \(key)") }
    }
}
