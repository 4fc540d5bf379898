/**
 * Control-plane repositories and services over the control DB. Used by the
 * HTTP API; main.ts uses createSecretBox + backendConnection to build the
 * full-sync engine's backendFor (decrypting a saved backend's key).
 */
export * from "./api-keys.js";
export * from "./backends.js";
export * from "./cdc-streams.js";
export * from "./client-scope.js";
export * from "./dead-letters.js";
export * from "./errors.js";
export * from "./job-status.js";
export * from "./job-validation.js";
export * from "./jobs.js";
export * from "./runs.js";
export * from "./search-binding.js";
export * from "./search-keys.js";
export * from "./secret-box.js";
export * from "./typesense-clients.js";
