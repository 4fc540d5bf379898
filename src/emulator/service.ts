import type { Service } from "../lifecycle/service.js";
import { type EmulatorHandle, type EmulatorOptions, startEmulator } from "./server.js";

export interface EmulatorServiceOptions extends EmulatorOptions {
  /** Called once the server listens, e.g. to print the URL for the CLI user. */
  onListening?: (handle: EmulatorHandle) => void;
}

/**
 * The emulator as a lifecycle Service (for `athena-typesense-sync typesense-emulator` and the
 * demo): listens until the signal aborts, then closes.
 */
export function createEmulatorService(opts: EmulatorServiceOptions): Service {
  return {
    name: "typesense-emulator",
    async run(signal: AbortSignal): Promise<void> {
      const handle = await startEmulator(opts);
      opts.onListening?.(handle);
      if (!signal.aborted) {
        await new Promise<void>((resolve) =>
          signal.addEventListener("abort", () => resolve(), { once: true }),
        );
      }
      await handle.close();
    },
  };
}
