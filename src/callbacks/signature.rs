//! Standard Webhooks signatures: `v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>`,
//! where the key is the base64 part of the credential's `whsec_` secret.

/// The `webhook-signature` header value for one callback.
pub fn sign(secret: &str, webhook_id: &str, timestamp: i64, body: &[u8]) -> String {
    let _ = (secret, webhook_id, timestamp, body);
    todo!("STUB: filled in by the callbacks work")
}
