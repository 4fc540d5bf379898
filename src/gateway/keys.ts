import { createHash } from "node:crypto";
import type pg from "pg";
import type { BackendConnection } from "../control/backends.js";
import {
  findEnabledJobsByIds,
  findSearchKeyByPublicId,
  findSearchKeysByPrefix,
  openSearchKeyToken,
  type SearchKeyCredentialRow,
  searchKeyPublicId,
  tokensEqual,
  touchSearchKey,
} from "../control/search-keys.js";
import type { SecretBox } from "../control/secret-box.js";
import type { Logger } from "../lifecycle/logger.js";
import { checkFilterPart } from "./filter.js";
import { type ForcedParams, SCOPE_KEYS } from "./scope.js";
import { parseScopedKey, type ScopedKeyParts, signedBy } from "./scoped-key.js";

/** A bound, enabled job a key may search: its collection and backend. */
export interface GatewayBinding {
  jobId: string;
  collection: string;
  backend: BackendConnection;
}

/** A verified search key (parent or scoped), with everything it forces. */
export interface GatewayPrincipal {
  keyId: string;
  /** The parent key's public id (metrics label, auth log): never a secret. */
  publicId: string;
  /** collection name -> the job behind it (enabled jobs of the key only). */
  collections: ReadonlyMap<string, GatewayBinding>;
  forced: ForcedParams;
  /** The earlier of the parent's and the embedded expiry, ms; null = never. */
  expiresAtMs: number | null;
  limitMultiSearches: number | null;
  /** The key's own token bucket, or null for the configured default. */
  rate: { perSecond: number | null; burst: number | null };
}

export type Resolution =
  | { ok: true; principal: GatewayPrincipal }
  /** publicId: the parent's when one was identified, else "none"; reason for the auth log. */
  | { ok: false; publicId: string; reason: string };

export interface GatewayKeys {
  /** Verifies a presented key; throws only when the key store cannot be read. */
  resolve(token: string): Promise<Resolution>;
  /** Forget verified keys and their bindings (key, backend or job writes through the API). */
  invalidate(): void;
}

/** Verified keys are reused this long (as the control-plane keys: http/auth.ts). */
const TTL_MS = 2_000;
const TOUCH_EVERY_MS = 30_000;
const MAX_ENTRIES = 10_000;

const split = (v: string | null | undefined): string[] =>
  (v ?? "")
    .split(",")
    .map((x) => x.trim())
    .filter((x) => x !== "");

function minOf(...xs: (number | null | undefined)[]): number | null {
  const kept = xs.filter((x): x is number => typeof x === "number" && Number.isFinite(x));
  return kept.length > 0 ? Math.min(...kept) : null;
}

const uintOf = (v: unknown): number | null | "bad" => {
  if (v === undefined) return null;
  const n = typeof v === "number" ? v : typeof v === "string" && /^\d+$/.test(v) ? Number(v) : NaN;
  return Number.isInteger(n) && n >= 0 ? n : "bad";
};

/**
 * The parent's limits and the embedded ones, the stricter of each:
 * filters AND-ed, include lists intersected, exclude lists joined, caps and
 * expiries the smaller. null when the embedded params are unusable (a
 * filter that is not one balanced expression, a non-numeric cap): the
 * scoped key is refused, never applied in part.
 */
export function combineScope(
  row: SearchKeyCredentialRow,
  embedded: ScopedKeyParts["params"] | null,
): Omit<GatewayPrincipal, "collections"> | null {
  const e = embedded ?? {};
  const filters = [row.filter_by, typeof e.filter_by === "string" ? e.filter_by : undefined];
  if (e.filter_by !== undefined && typeof e.filter_by !== "string") return null;
  const kept = filters.filter((f): f is string => f !== undefined && f !== null && f.trim() !== "");
  if (kept.some((f) => !checkFilterPart(f).ok)) return null;
  const perPage = uintOf(e.per_page);
  const limitHits = uintOf(e.limit_hits);
  const expires = uintOf(e.expires_at);
  const multi = uintOf(e.limit_multi_searches);
  if (perPage === "bad" || limitHits === "bad" || expires === "bad" || multi === "bad") return null;
  const includeLists = [split(row.include_fields), split(String(e.include_fields ?? ""))].filter(
    (l) => l.length > 0,
  );
  const include =
    includeLists.length === 0
      ? null
      : new Set(includeLists.reduce((acc, l) => acc.filter((f) => l.includes(f))));
  const overrides: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(e)) if (!SCOPE_KEYS.has(k)) overrides[k] = v;
  return {
    keyId: row.id,
    publicId: row.public_id,
    forced: {
      filters: kept,
      // an empty intersection allows "id" only: never an empty list (= every field)
      includeFields: include && include.size === 0 ? new Set(["id"]) : include,
      excludeFields: new Set([
        ...split(row.exclude_fields),
        ...split(String(e.exclude_fields ?? "")),
      ]),
      perPageMax: minOf(row.per_page_max, perPage),
      limitHits: minOf(row.limit_hits, limitHits),
      overrides,
    },
    expiresAtMs: minOf(row.expires_at?.getTime(), expires === null ? null : expires * 1000),
    limitMultiSearches: multi,
    rate: { perSecond: row.rate_per_second, burst: row.rate_burst },
  };
}

export interface GatewayKeysOptions {
  pool: pg.Pool;
  box: SecretBox;
  log: Logger;
  now?: () => number;
}

export function createGatewayKeys(o: GatewayKeysOptions): GatewayKeys {
  const now = o.now ?? Date.now;
  // keyed by sha256 of the presented token: only its holder hits an entry
  const verified = new Map<string, { principal: GatewayPrincipal; until: number }>();
  const touched = new Map<string, number>();
  let generation = 0;

  /** The parent row and embedded params of a presented token, or why not. */
  async function parentOf(
    token: string,
  ): Promise<
    | { row: SearchKeyCredentialRow; embedded: ScopedKeyParts["params"] | null }
    | { publicId: string; reason: string }
  > {
    const publicId = searchKeyPublicId(token);
    if (publicId !== null) {
      const row = await findSearchKeyByPublicId(o.pool, publicId);
      if (row && tokensEqual(token, openSearchKeyToken(o.box, row))) return { row, embedded: null };
      return { publicId: row ? row.public_id : "none", reason: "Invalid API key" };
    }
    const parts = parseScopedKey(token);
    if (!parts) return { publicId: "none", reason: "Invalid API key" };
    // every candidate is checked (no early exit on the first match's position)
    let match: SearchKeyCredentialRow | null = null;
    for (const row of await findSearchKeysByPrefix(o.pool, parts.prefix)) {
      if (signedBy(parts, openSearchKeyToken(o.box, row))) match ??= row;
    }
    if (!match) return { publicId: "none", reason: "Invalid scoped API key" };
    return { row: match, embedded: parts.params };
  }

  async function bindingsOf(jobIds: string[]): Promise<Map<string, GatewayBinding>> {
    const out = new Map<string, GatewayBinding>();
    // oldest job first: of two jobs with one collection name (on two backends) the oldest answers
    for (const r of await findEnabledJobsByIds(o.pool, jobIds)) {
      if (out.has(r.collection_name)) continue;
      out.set(r.collection_name, {
        jobId: r.id,
        collection: r.collection_name,
        backend: {
          profileId: r.profile_id,
          nodes: [r.base_url, ...r.additional_node_urls],
          apiKey: o.box.open(r.api_key_stored, r.profile_id),
          timeoutMs: r.timeout_ms,
        },
      });
    }
    return out;
  }

  function touch(id: string): void {
    const t = now();
    if ((touched.get(id) ?? 0) > t - TOUCH_EVERY_MS) return;
    if (touched.size >= MAX_ENTRIES) touched.clear();
    touched.set(id, t);
    touchSearchKey(o.pool, id).catch((e: unknown) =>
      o.log.warn({ component: "gateway", err: e }, "could not record search key use"),
    );
  }

  /** Activity and expiry are checked on every request, cached or not. */
  function usable(p: GatewayPrincipal, active: boolean): Resolution {
    if (!active) return { ok: false, publicId: p.publicId, reason: "Inactive API key" };
    if (p.expiresAtMs !== null && p.expiresAtMs <= now()) {
      return { ok: false, publicId: p.publicId, reason: "Expired API key" };
    }
    touch(p.keyId);
    return { ok: true, principal: p };
  }

  return {
    async resolve(token) {
      const cacheKey = createHash("sha256").update(token).digest("hex");
      const hit = verified.get(cacheKey);
      if (hit && hit.until > now()) return usable(hit.principal, true);
      const gen = generation;
      const found = await parentOf(token);
      if (!("row" in found)) return { ok: false, ...found };
      const scope = combineScope(found.row, found.embedded);
      if (!scope) {
        return {
          ok: false,
          publicId: found.row.public_id,
          reason: "Invalid scoped key parameters",
        };
      }
      const principal = { ...scope, collections: await bindingsOf(found.row.job_ids) };
      // an inactive key is not cached: re-activation shows at once
      if (gen === generation && found.row.is_active) {
        if (verified.size >= MAX_ENTRIES) verified.clear();
        verified.set(cacheKey, { principal, until: now() + TTL_MS });
      }
      return usable(principal, found.row.is_active);
    },
    invalidate() {
      generation++;
      verified.clear();
    },
  };
}
