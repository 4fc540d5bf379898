import { createHash, timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import {
  findCredential,
  parseGatewayToken,
  secretMatches,
  touchLastUsed,
} from "../control/api-keys.js";
import type { Logger } from "../lifecycle/logger.js";
import type { AppDeps } from "./deps.js";
import type { AppEnv, Principal } from "./env.js";
import { ApiError } from "./errors.js";
import { grants, markEnforced, routeRight } from "./rights.js";

/** Headers a credential may arrive in, in precedence order (Athena's set). */
const KEY_HEADERS = ["x-athena-key", "x-athena-admin-key", "x-api-key", "apikey"] as const;

/** Every credential the request presents, deduplicated, in precedence order. */
export function presentedKeys(headers: Headers): string[] {
  const out: string[] = [];
  for (const h of KEY_HEADERS) {
    const v = headers.get(h)?.trim();
    if (v) out.push(v);
  }
  const auth = headers.get("authorization")?.trim();
  const m = auth ? /^Bearer\s+(.+)$/i.exec(auth) : null;
  if (m?.[1]) out.push(m[1].trim());
  return [...new Set(out)];
}

function sha(s: string): Buffer {
  return createHash("sha256").update(s).digest();
}

/**
 * Authenticates from headers only; the body is never touched here, so a
 * request with bad credentials gets 401 whatever its body looks like.
 * Messages are Athena's. The static key is compared as SHA-256 digests with
 * timingSafeEqual (equal length, so no length leak either).
 */
export interface Auth {
  middleware: MiddlewareHandler<AppEnv>;
  /** Forget cached verifications (after an API key was changed or deleted). */
  invalidate(): void;
}

/** Verified gateway keys are reused this long (Athena caches ~2 s as well). */
const CREDENTIAL_TTL_MS = 2_000;
/** last_used_at is written at most this often per key from one process. */
const TOUCH_EVERY_MS = 30_000;

type Credential = NonNullable<Awaited<ReturnType<typeof findCredential>>>;

export function createAuth(deps: AppDeps): Auth {
  const adminDigest = sha(deps.config.auth.admin_key);
  const failOpen = deps.config.auth.gateway_keys_fail_mode === "open";
  // Keyed by sha256 of the full token: only a caller holding the secret can
  // hit an entry, and the secret itself is never kept. Only keys that passed
  // the hash check are cached; activity, expiry and client binding are checked
  // on every request. Revocation through this API invalidates at once; a change
  // made elsewhere (another instance, SQL) shows within CREDENTIAL_TTL_MS.
  const verified = new Map<string, { cred: Credential; until: number }>();
  const touched = new Map<string, number>();

  async function lookup(
    token: string,
    publicId: string,
    secret: string,
  ): Promise<Credential | null> {
    const key = sha(token).toString("hex");
    const now = Date.now();
    const hit = verified.get(key);
    if (hit && hit.until > now) return hit.cred;
    const cred = await findCredential(deps.pools.control, publicId);
    if (!cred || !secretMatches(cred.key_salt, secret, cred.key_hash)) return null;
    if (verified.size >= 10_000) verified.clear();
    verified.set(key, { cred, until: now + CREDENTIAL_TTL_MS });
    return cred;
  }

  function touch(id: string, log: Logger): void {
    const now = Date.now();
    if ((touched.get(id) ?? 0) > now - TOUCH_EVERY_MS) return;
    if (touched.size >= 10_000) touched.clear();
    touched.set(id, now);
    touchLastUsed(deps.pools.control, id).catch((e: unknown) =>
      log.warn({ component: "auth", err: e }, "could not record API key use"),
    );
  }

  async function principalFor(
    keys: string[],
    clientHeader: string | undefined,
    /** the request's logger: its lines carry reqId */
    log: Logger,
  ): Promise<Principal> {
    if (keys.length === 0) throw new ApiError("AUTH_REQUIRED", "API key required");
    // Check every presented value against the admin key (constant time each).
    let admin = false;
    for (const k of keys) admin = timingSafeEqual(sha(k), adminDigest) || admin;
    if (admin) return { kind: "admin", clientScope: null };

    const raw = keys.find((k) => parseGatewayToken(k) !== null);
    const token = raw === undefined ? null : parseGatewayToken(raw);
    if (raw === undefined || !token) throw new ApiError("AUTH_INVALID", "Invalid API key");
    let cred: Credential | null;
    try {
      cred = await lookup(raw, token.publicId, token.secret);
    } catch (e) {
      log.warn({ component: "auth", err: e }, "API key store unavailable");
      if (failOpen) {
        return { kind: "unverified", publicId: token.publicId, clientScope: clientHeader || null };
      }
      throw new ApiError("AUTH_UNAVAILABLE", "API key validation unavailable");
    }
    if (!cred) throw new ApiError("AUTH_INVALID", "Invalid API key");
    if (!cred.is_active) throw new ApiError("AUTH_INACTIVE", "Inactive API key");
    if (cred.expires_at && cred.expires_at.getTime() <= Date.now()) {
      throw new ApiError("AUTH_EXPIRED", "Expired API key");
    }
    if (cred.client_name !== null && cred.client_name !== clientHeader) {
      throw new ApiError("CLIENT_MISMATCH", "API key client mismatch");
    }
    touch(cred.id, log);
    return {
      kind: "gateway",
      keyId: cred.id,
      publicId: cred.public_id,
      clientName: cred.client_name,
      rights: cred.rights,
      clientScope: cred.client_name,
    };
  }

  // Enforces the right the matched route declares (src/http/rights.ts), from
  // headers only: the route's validators and the body come after this.
  const middleware: MiddlewareHandler<AppEnv> = async (c, next) => {
    const declared = routeRight(c);
    // The operator console (src/console) signs in with its own HttpOnly session
    // cookie and re-enters this app with the session's key for every read and
    // write, so the checks below still decide every right it uses.
    if (declared.right === "public" || declared.right === "console") {
      markEnforced(c, declared);
      return next();
    }
    const principal = await principalFor(
      presentedKeys(c.req.raw.headers),
      c.req.header("x-athena-client")?.trim(),
      c.get("log"),
    );
    if (!grants(principal, declared)) {
      throw new ApiError("RIGHTS_INSUFFICIENT", "Insufficient API key rights");
    }
    c.set("principal", principal);
    markEnforced(c, declared);
    if (principal.kind !== "admin") {
      c.get("log").debug({ component: "auth", keyPublicId: principal.publicId }, "gateway key");
    }
    return next();
  };
  return {
    middleware,
    invalidate() {
      verified.clear();
    },
  };
}
