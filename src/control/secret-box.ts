import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { ServiceError } from "../errors/service-error.js";

/**
 * Backend API keys at rest (typesense_profiles.api_key_stored):
 *
 *   enc:v1:<iv>:<tag>:<ciphertext>   AES-256-GCM, 12-byte random IV, 16-byte tag,
 *                                    each part base64; used when a key is configured
 *   plain:<key>                      no encryption key configured
 *
 * The profile id is bound as additional authenticated data, so a ciphertext
 * copied onto another profile row does not decrypt. A stored value written
 * under another (or no) encryption key fails loudly instead of yielding garbage.
 */
export interface SecretBox {
  readonly encrypts: boolean;
  seal(plaintext: string, aad: string): string;
  open(stored: string, aad: string): string;
}

export class SecretBoxError extends ServiceError {
  override readonly name = "SecretBoxError";
  constructor(message: string) {
    super("SECRET_BOX_FAILED", message);
  }
}

/** Parses security.encryption_key (64 hex chars or base64 of 32 bytes; "" = none). */
export function parseEncryptionKey(key: string): Buffer | null {
  if (key === "") return null;
  const buf = /^[0-9a-fA-F]{64}$/.test(key) ? Buffer.from(key, "hex") : Buffer.from(key, "base64");
  if (buf.length !== 32) throw new SecretBoxError("encryption key must be 32 bytes");
  return buf;
}

export function createSecretBox(encryptionKey: string): SecretBox {
  const key = parseEncryptionKey(encryptionKey);
  return {
    encrypts: key !== null,
    seal(plaintext, aad) {
      if (!key) return `plain:${plaintext}`;
      const iv = randomBytes(12);
      const cipher = createCipheriv("aes-256-gcm", key, iv);
      cipher.setAAD(Buffer.from(aad, "utf8"));
      const ct = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
      const tag = cipher.getAuthTag();
      return [
        "enc",
        "v1",
        iv.toString("base64"),
        tag.toString("base64"),
        ct.toString("base64"),
      ].join(":");
    },
    open(stored, aad) {
      if (stored.startsWith("plain:")) return stored.slice("plain:".length);
      if (!stored.startsWith("enc:v1:")) throw new SecretBoxError("unknown stored key format");
      if (!key) {
        throw new SecretBoxError(
          "backend API key is encrypted but security.encryption_key is not set",
        );
      }
      const [, , iv, tag, ct] = stored.split(":");
      try {
        const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(iv ?? "", "base64"));
        decipher.setAAD(Buffer.from(aad, "utf8"));
        decipher.setAuthTag(Buffer.from(tag ?? "", "base64"));
        return Buffer.concat([
          decipher.update(Buffer.from(ct ?? "", "base64")),
          decipher.final(),
        ]).toString("utf8");
      } catch {
        throw new SecretBoxError(
          "backend API key cannot be decrypted (written under another encryption key?)",
        );
      }
    },
  };
}
