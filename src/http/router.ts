import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "./env.js";
import { failure, issuesOf } from "./envelope.js";

/**
 * Every sub-app is made here so validation failures look the same across
 * the API: 400, envelope, all zod issues listed with their request part
 * ("body.q", "param.job_id", "query.limit").
 */
export function createRouter(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      if (!result.success) {
        return c.json(
          failure("VALIDATION_FAILED", "Invalid request", {
            issues: issuesOf(targetName(result.target), result.error.issues),
          }),
          400,
        );
      }
      return undefined;
    },
  });
}

function targetName(target: string): string {
  return target === "json" ? "body" : target;
}
