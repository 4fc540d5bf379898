import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * Typesense's scoped search keys, as typesense-js `keys().generateScopedSearchKey(parent, params)`
 * mints them (node_modules/typesense/src/Typesense/Keys.ts, and Typesense's auth_manager):
 *
 *   paramsJSON = JSON.stringify(params)            (array values joined with ",")
 *   digest     = base64(HMAC-SHA256(key = parent key, message = paramsJSON))   44 chars
 *   scopedKey  = base64(digest + parent.slice(0, 4) + paramsJSON)
 *
 * The server decodes it, finds the parents whose key starts with those 4
 * characters, recomputes the digest with each and compares in constant time.
 */
export interface ScopedKeyParts {
  /** The 44-character base64 digest as it was embedded. */
  digest: string;
  /** The parent key's first 4 characters. */
  prefix: string;
  /** The embedded parameters' JSON text, exactly as signed. */
  paramsJson: string;
  /** The parsed parameters (a JSON object of scalars). */
  params: Record<string, string | number | boolean>;
}

const DIGEST_LEN = 44;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
/** A scoped key longer than this is refused unparsed (params beyond any sane size). */
const MAX_SCOPED_KEY = 16_384;

/** The parts of a scoped key, or null when `token` is not one (wrong shape, not an object). */
export function parseScopedKey(token: string): ScopedKeyParts | null {
  if (token.length > MAX_SCOPED_KEY || token.length % 4 !== 0 || !BASE64.test(token)) return null;
  const raw = Buffer.from(token, "base64").toString("utf8");
  if (raw.length < DIGEST_LEN + 4 + 2) return null;
  const digest = raw.slice(0, DIGEST_LEN);
  const prefix = raw.slice(DIGEST_LEN, DIGEST_LEN + 4);
  const paramsJson = raw.slice(DIGEST_LEN + 4);
  if (!BASE64.test(digest)) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(paramsJson);
  } catch {
    return null;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return null;
  const params: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(parsed)) {
    // typesense-js joins arrays; anything not scalar is not a key it minted
    if (typeof v !== "string" && typeof v !== "number" && typeof v !== "boolean") return null;
    params[k] = v;
  }
  return { digest, prefix, paramsJson, params };
}

/** Whether `parts` was signed with `parentToken` (constant-time compare of the digests). */
export function signedBy(parts: ScopedKeyParts, parentToken: string): boolean {
  if (!parentToken.startsWith(parts.prefix)) return false;
  const expected = Buffer.from(
    createHmac("sha256", parentToken).update(parts.paramsJson).digest("base64"),
  );
  const presented = Buffer.from(parts.digest);
  return expected.length === presented.length && timingSafeEqual(expected, presented);
}
