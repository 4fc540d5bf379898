export { linkedAbort } from "./abort.js";
export { type BackoffOptions, backoffDelay, sleepUnlessAborted } from "./backoff.js";
export {
  createLogger,
  type Logger,
  type LoggerOptions,
  REDACT_PATHS,
  redactText,
  redactUrl,
} from "./logger.js";
export {
  type RunServicesOptions,
  runServices,
  type Service,
  signalOnTermination,
} from "./service.js";
