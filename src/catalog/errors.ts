import { ServiceError } from "../errors/service-error.js";

/**
 * A problem with a source table or a job's column choice. The message always
 * names `schema.table` and, when one is involved, the column, because the
 * operator has to find and fix it in their own schema or job definition.
 */
export class CatalogError extends ServiceError {
  override readonly name = "CatalogError";
  readonly schema: string;
  readonly table: string;
  readonly column: string | undefined;

  constructor(where: { schema: string; table: string; column?: string }, problem: string) {
    const col = where.column === undefined ? "" : ` column ${quoteName(where.column)}:`;
    super(
      "SOURCE_SCHEMA_INVALID",
      `${quoteName(where.schema)}.${quoteName(where.table)}${col} ${problem}`,
      {
        detail: where.column === undefined ? undefined : { column: where.column },
      },
    );
    this.schema = where.schema;
    this.table = where.table;
    this.column = where.column;
  }
}

/** Double-quotes a name for messages (same spelling as a SQL identifier). */
function quoteName(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
