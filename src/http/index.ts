export { createApp } from "./app.js";
export type { AppDeps } from "./deps.js";
export type { AppEnv, Principal } from "./env.js";
export { failure, success } from "./envelope.js";
export { ApiError } from "./errors.js";
export { createHttpService, type HttpServiceOptions } from "./server.js";
