/** The int8-to-number conversion lives beside the repositories that return such rows. */
export { withNumbers } from "../db/repositories/rows.js";
