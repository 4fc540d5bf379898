export { createGateway, type Gateway, type GatewayEnv, type GatewayOptions } from "./app.js";
export { createGatewayKeys, type GatewayKeys, type GatewayPrincipal } from "./keys.js";
export type { RateLimit } from "./rate-limit.js";
