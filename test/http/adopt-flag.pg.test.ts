import { describe, expect, it } from "vitest";
import { silentLogger } from "../support/log.js";
import { useTestDatabase } from "../support/pg.js";
import { useTypesense } from "../support/typesense.js";
import { useSyncedJob } from "./synced-job.js";

const db = useTestDatabase();
const ts = useTypesense();
const f = useSyncedJob(db, ts, silentLogger);

describe("adopt_existing_collection over the API", () => {
  it("is false by default, settable by PATCH, returned by GET; a non-boolean is 400 naming the field", async () => {
    const path = `/typesense/sync-jobs/${f.jobId}`;
    expect((await f.call("GET", path)).json.data.adopt_existing_collection).toBe(false);
    const patched = await f.call("PATCH", path, { adopt_existing_collection: true });
    expect(patched.status).toBe(200);
    expect(patched.json.data.adopt_existing_collection).toBe(true);
    expect((await f.call("GET", path)).json.data.adopt_existing_collection).toBe(true);
    const bad = await f.call("PATCH", path, { adopt_existing_collection: "yes" });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.json)).toContain("adopt_existing_collection");
  });

  it("the collection the job's first sync created carries the job's mark", async () => {
    // a new job's first sync creates __v1 behind the alias of its collection_name
    const c = await ts.client.collections(f.collection).retrieve();
    expect(c.name).toBe(`${f.collection}__v1`);
    expect((c as { metadata?: unknown }).metadata).toEqual({
      managed_by: "athena-typesense-sync",
      job_id: f.jobId,
      version: 1,
      spec_hash: expect.stringMatching(/^[0-9a-f]{16}$/),
    });
  });
});
