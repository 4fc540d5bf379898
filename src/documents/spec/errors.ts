import { ServiceError } from "../../errors/service-error.js";
import type { SpecProblem } from "./types.js";

/**
 * A document spec that does not fit the source catalog: every problem found
 * in one pass, each at its JSON path (`document.lookups[0].on.brand_id`). The
 * message is the problems joined (each starting with its path), so a caller
 * that shows only the message still names every field.
 */
export class DocumentSpecError extends ServiceError {
  override readonly name = "DocumentSpecError";
  readonly problems: readonly SpecProblem[];
  constructor(problems: readonly SpecProblem[]) {
    super("DOCUMENT_SPEC_INVALID", problems.map((p) => `${p.path}: ${p.message}`).join("; "), {
      detail: { problems },
    });
    this.problems = problems;
  }
}
