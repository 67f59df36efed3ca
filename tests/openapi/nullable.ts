// Must type-check with tsc --strict against the types openapi-typescript
// generates from the document: the gateway writes an unset message field
// as null, so the generated type of such a field has to admit null, and a
// reader of it has to be made to handle the null.
import type { components } from "./cuegw.js";

type Job = components["schemas"]["job.Job"];

export const unset: Job = { name: "a job with no stats yet", jobStats: null };

export function runningFrames(job: Job): number {
  return job.jobStats?.runningFrames ?? 0;
}
