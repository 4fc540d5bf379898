import { InvalidInputError } from "./errors.js";

/**
 * The source clients a caller may reach, decided once per request from its
 * credential (http/auth.ts) and passed to every control operation that reads
 * or changes jobs, runs, dead letters, job status rows, CDC streams or search
 * bindings:
 *
 *   null     every client (the admin key, a gateway key bound to no client)
 *   "app"    only jobs whose source_client_name is "app", what hangs off them
 *            (their runs, dead letters and status rows) and the "app" stream
 *
 * Outside its scope an object does not exist for the caller: a get, change or
 * delete fails with the same NotFoundError as an unknown id (so a 404 never
 * tells one client which ids another has), and lists leave it out. The
 * operations take the scope as a REQUIRED argument, so a new caller has to
 * decide it; internal callers (engines, samplers) pass UNSCOPED.
 */
export type { ClientScope } from "../db/repositories/scope-sql.js";
export { clientInScope, jobInScope } from "../db/repositories/scope-sql.js";

import type { ClientScope } from "../db/repositories/scope-sql.js";

/** For internal callers that act for the process, not for an API caller. */
export const UNSCOPED: ClientScope = null;

/**
 * A job may only be created for, or moved to, a client inside the scope. The
 * answer is the same whether the named client exists or not.
 */
export function assertClientAllowed(scope: ClientScope, client: string | undefined): void {
  if (scope === null || client === undefined || client === scope) return;
  throw new InvalidInputError(
    `source_client_name "${client}": this API key may only use client "${scope}"`,
    "source_client_name",
  );
}
