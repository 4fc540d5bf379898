import { describe, expect, it } from "vitest";
import { selectCdcStream, selectCdcStreams } from "../../src/db/repositories/cdc-streams.js";
import { useTestDatabase } from "../support/pg.js";

const db = useTestDatabase();

// pg returns bigint columns as text; the API reports the stream counters as
// JSON numbers, and a stream that has no lag or WAL figure yet as null.
describe("cdc-streams repository", () => {
  it("returns the bigint counters as numbers and missing figures as null, in the list and the get alike", async () => {
    await db.pool.query(
      `insert into typesense_cdc_streams
         (source_client_name, slot_name, publication_name, status, lag_ms, retained_wal_bytes, changes_applied)
       values ('app', 'a', 'a', 'streaming', 12, 4096, 25), ('new', 'n', 'n', 'starting', null, null, 0)`,
    );
    const figures = (s: {
      lag_ms: unknown;
      retained_wal_bytes: unknown;
      changes_applied: unknown;
    }) => [s.lag_ms, s.retained_wal_bytes, s.changes_applied];
    expect((await selectCdcStreams(db.pool, null)).map(figures)).toEqual([
      [12, 4096, 25],
      [null, null, 0],
    ]);
    expect(figures((await selectCdcStream(db.pool, "app", null))!)).toEqual([12, 4096, 25]);
    expect(figures((await selectCdcStream(db.pool, "new", null))!)).toEqual([null, null, 0]);
  });
});
