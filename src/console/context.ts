import type { Context } from "hono";
import type { Pools } from "../db/pool.js";
import type { Logger } from "../lifecycle/logger.js";
import type { ApiClient, RequestTarget } from "./api-client.js";
import type { LagSampler } from "./lag-sampler.js";
import type { Session, SessionStore } from "./session.js";

/** A parsed urlencoded/multipart form (repeated names become arrays). */
export type FormBody = Record<string, string | File | (string | File)[]>;

/**
 * Hono env of the console's own router. The outer API app hands each request
 * over with the request-scoped logger and id as bindings (see index.ts).
 */
export interface ConsoleEnv {
  Bindings: { log: Logger; requestId: string };
  Variables: {
    /** Set by the guard on every page but /login and /assets. */
    session: Session;
    /** The API as this session's credential sees it. */
    api: ApiClient;
    /** POST bodies, parsed once by the guard after the session and CSRF checks. */
    form: FormBody;
  };
}

export type ConsoleContext = Context<ConsoleEnv>;

/** What the page modules share: built once in createConsole(). */
export interface ConsoleDeps {
  api: RequestTarget;
  sessions: SessionStore;
  pools: Pools;
  sampler: LagSampler;
  /** Looks up facet fields of a job's collection (server side, see facets.ts). */
  facetFieldsOf(jobId: string): Promise<string[]>;
  log: Logger;
}

/** One string value of a form field ("" when missing; the first when repeated). */
export function field(form: FormBody, name: string): string {
  const v = form[name];
  const one = Array.isArray(v) ? v[0] : v;
  return typeof one === "string" ? one.trim() : "";
}

/** Every string value of a repeated form field (checkbox groups). */
export function fields(form: FormBody, name: string): string[] {
  const v = form[name] ?? form[`${name}[]`];
  const all = Array.isArray(v) ? v : v === undefined ? [] : [v];
  return all.filter((x): x is string => typeof x === "string" && x !== "");
}
