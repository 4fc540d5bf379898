import { cpus, loadavg } from "node:os";

/**
 * Busy when the 1-minute load average is over this share of the cores: on the 2-core
 * bench machine, 1.5. A "quiet" run here starts at 0.9-1.6 (Postgres and the emulator
 * of the previous run settling); above 0.75 x cores the bench's processes would share
 * cores with other work and its ratios mean little.
 */
const BUSY_SHARE = 0.75;

/**
 * Prints the load average before a bench starts (stderr, so ratio parsers of stdout are
 * not confused) and warns when the machine was busy. Returns the load as printed.
 */
export function reportLoad(bench: string): string {
  const load = loadavg();
  const cores = cpus().length;
  const text = load.map((l) => l.toFixed(2)).join(" ");
  process.stderr.write(`${bench}: load average before start ${text} (${cores} cores)\n`);
  if (load[0]! > cores * BUSY_SHARE) {
    process.stderr.write(
      `WARNING ${bench}: the machine was busy (1-min load ${load[0]!.toFixed(2)} > ${(cores * BUSY_SHARE).toFixed(2)} = ${BUSY_SHARE} x ${cores} cores): figures are not comparable\n`,
    );
  }
  return text;
}
