import { randomBytes } from "node:crypto";
import { Client } from "typesense";
import type { ConfigurationOptions } from "typesense/lib/Typesense/Configuration.js";
import { afterAll, beforeAll, describe, it } from "vitest";
import { type EmulatorHandle, startEmulator } from "../../src/emulator/index.js";

/**
 * The Typesense server a test file talks to: the real one named by TYPESENSE_URL +
 * TYPESENSE_API_KEY, or else an emulator started on a random port for this file.
 */
export interface TypesenseTarget {
  readonly url: string;
  readonly apiKey: string;
  /** Official client configured for the target (logLevel error). */
  readonly client: Client;
  /** The emulator handle; undefined when running against a real server. */
  readonly emulator: EmulatorHandle | undefined;
  readonly isReal: boolean;
  /** A unique collection/alias name; collections with such names are dropped in afterAll. */
  uniqueName(prefix?: string): string;
  /** A client with other options (e.g. numRetries, sendApiKeyAsQueryParam). */
  makeClient(options?: Partial<ConfigurationOptions>): Client;
}

export interface UseTypesenseOptions {
  /** Start the emulator in null-sink mode (ignored against a real server). */
  nullSink?: boolean;
}

/** The real server from the environment, if configured. */
export function realTypesense(): { url: string; apiKey: string } | undefined {
  // Tests choose between a real Typesense and the emulator here (test code may read env).
  const url = process.env.TYPESENSE_URL;
  const apiKey = process.env.TYPESENSE_API_KEY;
  return url && apiKey ? { url: url.replace(/\/+$/, ""), apiKey } : undefined;
}

/** Builds an official client for `url` (one node). */
export function clientFor(
  url: string,
  apiKey: string,
  options: Partial<ConfigurationOptions> = {},
) {
  const u = new URL(url);
  const protocol = u.protocol.replace(":", "");
  const port = u.port ? Number(u.port) : protocol === "https" ? 443 : 80;
  return new Client({
    nodes: [{ host: u.hostname, port, protocol, path: u.pathname === "/" ? "" : u.pathname }],
    apiKey,
    connectionTimeoutSeconds: 10,
    retryIntervalSeconds: 0.05,
    logLevel: "error",
    ...options,
  });
}

/**
 * Registers beforeAll/afterAll in the calling test file and returns the target. Getters throw
 * if read before beforeAll ran.
 */
export function useTypesense(opts: UseTypesenseOptions = {}): TypesenseTarget {
  const real = realTypesense();
  let emulator: EmulatorHandle | undefined;
  let url: string | undefined;
  let apiKey: string | undefined;
  let client: Client | undefined;
  const created = new Set<string>();

  beforeAll(async () => {
    if (real) {
      url = real.url;
      apiKey = real.apiKey;
    } else {
      apiKey = `test-key-${randomBytes(4).toString("hex")}`;
      emulator = await startEmulator({ apiKey, nullSink: opts.nullSink === true });
      url = emulator.url;
    }
    client = clientFor(url, apiKey);
  });

  afterAll(async () => {
    if (client && url && apiKey) {
      // Bring a downed emulator back so cleanup (and a real server) is reachable.
      if (emulator?.faults.isDown) await emulator.faults.comeBack();
      emulator?.faults.clear();
      const c = clientFor(url, apiKey);
      for (const name of created) {
        try {
          await c.aliases(name).delete();
        } catch {}
        try {
          await c.collections(name).delete();
        } catch {}
      }
    }
    await emulator?.close();
  });

  const need = <T>(v: T | undefined, what: string): T => {
    if (v === undefined) throw new Error(`useTypesense(): ${what} read before beforeAll ran`);
    return v;
  };
  return {
    get url() {
      return need(url, "url");
    },
    get apiKey() {
      return need(apiKey, "apiKey");
    },
    get client() {
      return need(client, "client");
    },
    get emulator() {
      return emulator;
    },
    get isReal() {
      return real !== undefined;
    },
    uniqueName(prefix = "t") {
      const name = `${prefix}_${randomBytes(5).toString("hex")}`;
      created.add(name);
      return name;
    },
    makeClient(options = {}) {
      return clientFor(need(url, "url"), need(apiKey, "apiKey"), options);
    },
  };
}

const SKIP_REASON = "skipped: needs the emulator (fault injection or emulator internals)";

/** `it` that runs only against the emulator; against a real server it is skipped with a reason. */
export function itEmulatorOnly(name: string, fn: () => Promise<void> | void, timeout?: number) {
  const real = realTypesense() !== undefined;
  it.skipIf(real)(real ? `${name} [${SKIP_REASON}]` : name, fn, timeout);
}

/** `describe` that runs only against the emulator. */
export function describeEmulatorOnly(name: string, fn: () => void) {
  const real = realTypesense() !== undefined;
  describe.skipIf(real)(real ? `${name} [${SKIP_REASON}]` : name, fn);
}
