import type { ClientScope } from "../control/client-scope.js";
import type { Logger } from "../lifecycle/logger.js";

/**
 * Who is calling, decided by the auth middleware before any body is read.
 * `clientScope` is what every control operation on jobs, runs, dead letters,
 * streams and searches is given (see control/client-scope.ts): null for the
 * admin key and unbound keys, the bound client's name otherwise.
 */
export type Principal =
  | { kind: "admin"; clientScope: null }
  | {
      kind: "gateway";
      keyId: string;
      publicId: string;
      clientName: string | null;
      rights: string[];
      clientScope: ClientScope;
    }
  /**
   * gateway_keys_fail_mode=open and the key store was down: key not verified,
   * so its binding is unknown; scoped to the X-Athena-Client it sent, if any.
   */
  | { kind: "unverified"; publicId: string; clientScope: ClientScope };

/**
 * What a route needs (declared on the route with `requires`, src/http/rights.ts):
 * - "public":   anyone (probes, the API description)
 * - "console":  the operator console; its session auth decides (src/console)
 * - "admin":    the static admin key only
 * - a gateway right: the admin key, or a gateway key holding it (or one that
 *   implies it); `unbound` also refuses client-bound keys
 */
export type Right = "public" | "console" | "admin" | GatewayRight;
export type GatewayRight = "gateway.typesense_proxy" | "gateway.typesense_search";

export interface RouteRight {
  right: Right;
  /** Refused to client-bound keys (e.g. /metrics, whose labels name every client). */
  unbound: boolean;
}

/** Caches a route may declare it invalidates (src/http/invalidation.ts). */
export type CacheName = "credentials" | "bindings";

/** Hono Env shared by every sub-app. */
export interface AppEnv {
  Variables: {
    requestId: string;
    /** Request-scoped logger: every line carries reqId. */
    log: Logger;
    /** Unset only on public routes (/health, /ready, /openapi.*, /docs). */
    principal?: Principal;
    /** The declared right auth enforced (set before the route is reached). */
    enforcedRight?: RouteRight;
    /** Drops the named caches (set by createApp; routes call it through `invalidates`). */
    invalidate?: (caches: readonly CacheName[]) => void;
  };
}
