/*
 * The naming rule of a job's collection versions (docs/full-sync.md "Rebuilds"),
 * shared by the rebuild (fullsync/) and the CDC stream's dual-write (cdc/),
 * which must name the same physical collection.
 */

/** `<alias>__v<N>`: the physical collection of version N of a job's collection. */
export function versionCollectionName(alias: string, version: number): string {
  if (!Number.isInteger(version) || version < 1) {
    throw new RangeError(`collection version must be an integer >= 1, got ${version}`);
  }
  return `${alias}__v${version}`;
}
