import type { Logger } from "../lifecycle/logger.js";

/** Who is calling, decided by the auth middleware before any body is read. */
export type Principal =
  | { kind: "admin" }
  | {
      kind: "gateway";
      keyId: string;
      publicId: string;
      clientName: string | null;
      rights: string[];
    }
  /** gateway_keys_fail_mode=open and the key store was down: key not verified. */
  | { kind: "unverified"; publicId: string };

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
