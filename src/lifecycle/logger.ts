import pino, { type DestinationStream, type Logger as PinoLogger } from "pino";

export type Logger = PinoLogger;

/**
 * Paths whose values are replaced by "[redacted]" in every log line. Secrets
 * reach logs only by accident (an object logged whole); these paths catch the
 * shapes our code uses: configs, backend rows, request headers.
 */
export const REDACT_PATHS = [
  "api_key",
  "apiKey",
  "api_key_stored",
  "admin_key",
  "adminKey",
  "encryption_key",
  "password",
  "secret",
  "key_salt",
  "key_hash",
  "*.api_key",
  "*.apiKey",
  "*.api_key_stored",
  "*.admin_key",
  "*.encryption_key",
  "*.password",
  "*.secret",
  "*.key_salt",
  "*.key_hash",
  "*.*.api_key",
  "*.*.admin_key",
  "*.*.encryption_key",
  "*.*.password",
  'headers["x-athena-key"]',
  'headers["x-athena-admin-key"]',
  'headers["x-api-key"]',
  "headers.apikey",
  "headers.authorization",
  'headers["x-typesense-api-key"]',
  'req.headers["x-athena-key"]',
  'req.headers["x-athena-admin-key"]',
  'req.headers["x-api-key"]',
  "req.headers.apikey",
  "req.headers.authorization",
  "req.headers.cookie",
];

export interface LoggerOptions {
  /** pino level name, or "silent". */
  level: string;
  /** Human-readable output (pino-pretty) instead of JSON; demo on a TTY only. */
  pretty?: boolean;
  /** Where JSON lines go (default stdout). */
  destination?: DestinationStream | NodeJS.WritableStream;
}

/** Masks the password of a connection URL, e.g. for "connected to ..." lines. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return url.replace(/\/\/([^:/@]+):[^@]*@/, "//$1:***@");
  }
}

/** Removes DSN passwords from free text such as driver error messages. */
export function redactText(text: string): string {
  return text.replace(/(\w+:\/\/[^:/@\s]+:)[^@\s]*@/g, "$1***@");
}

export function createLogger(opts: LoggerOptions): Logger {
  const options: pino.LoggerOptions = {
    level: opts.level,
    base: { service: "athena-typesense-sync" },
    redact: { paths: REDACT_PATHS, censor: "[redacted]" },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    serializers: {
      err: (e: unknown) => {
        const s = pino.stdSerializers.err(e as Error);
        if (s && typeof s.message === "string") s.message = redactText(s.message);
        if (s && typeof s.stack === "string") s.stack = redactText(s.stack);
        return s;
      },
    },
  };
  if (opts.pretty) {
    return pino({
      ...options,
      transport: {
        target: "pino-pretty",
        options: { colorize: true, translateTime: "SYS:HH:MM:ss" },
      },
    });
  }
  return pino(options, (opts.destination ?? process.stdout) as DestinationStream);
}
