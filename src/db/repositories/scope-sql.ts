/**
 * The SQL side of a caller's client scope (control/client-scope.ts says what a
 * scope is and who decides it). Repositories splice these conditions into
 * their statements and bind the scope itself as the parameter:
 *
 *   null     every client (`$p::text is null` holds)
 *   "app"    only rows of client "app", or hanging off one of its jobs
 */
export type ClientScope = string | null;

/**
 * SQL condition: the client column is inside the scope bound to parameter $p
 * (`$p::text is null` = unscoped). The parameter value is the scope itself.
 */
export function clientInScope(column: string, p: number): string {
  return `($${p}::text is null or ${column} = $${p})`;
}

/** SQL condition: the job referenced by `jobIdColumn` belongs to the scope in $p. */
export function jobInScope(jobIdColumn: string, p: number): string {
  return `($${p}::text is null or ${jobIdColumn} in
    (select sj.id from typesense_sync_jobs sj where sj.source_client_name = $${p}))`;
}
