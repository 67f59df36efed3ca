// Must NOT type-check with tsc --strict: a string field is never null in
// the gateway's JSON (an unset one is ""), so its generated type must
// refuse null. Were every field nullable, nullable.ts would prove nothing.
import type { components } from "./cuegw.js";

type Job = components["schemas"]["job.Job"];

export const named: Job = { name: null };
