export {
  ConfigError,
  type ConfigIssue,
  type LoadConfigOptions,
  loadConfig,
  parseConfig,
} from "./load.js";
export { type Config, configSchema, type TypesenseSettings, typesenseSchema } from "./schema.js";
