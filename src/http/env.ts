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

/** Hono Env shared by every sub-app. */
export interface AppEnv {
  Variables: {
    requestId: string;
    /** Request-scoped logger: every line carries reqId. */
    log: Logger;
    /** Unset only on public routes (/health, /ready, /openapi.*, /docs). */
    principal?: Principal;
  };
}
