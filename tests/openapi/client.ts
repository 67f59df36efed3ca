// A client generated from the gateway's OpenAPI document: openapi-typescript
// turns the document into `cuegw.d.ts` (types of every path and schema) and
// openapi-fetch makes a typed client of them. test_openapi.py generates the
// types, type-checks this file with tsc --strict, and runs it against a
// gateway behind lighttpd.
//
//   node client.js BASE_URL TOKEN      BASE_URL: origin + servers[0].url
//
// Prints one JSON line: the HTTP status and the decoded answer.
import createClient from "openapi-fetch";
import type { paths } from "./cuegw.js";

declare const process: { argv: string[] };

const [baseUrl, token] = process.argv.slice(2);
const client = createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${token}` } });

const { data, error, response } = await client.POST("/show.ShowInterface/GetShows", { body: {} });
// Typed all the way down: a show's name is a string, its id too.
const names: string[] = (data?.shows?.shows ?? []).map((s) => s.name ?? "");
console.log(JSON.stringify({ status: response.status, data, error, names }));

// Never called: it only has to fail to type-check. A field of the wrong
// type (a number where the document says a message) must be refused, or
// tsc reports the directive below as unused and the build fails.
export async function refusedByTheTypes(): Promise<void> {
  // @ts-expect-error: `r` is a job.JobSearchCriteria, not a number
  await client.POST("/job.JobInterface/GetJobs", { body: { r: 5 } });
}
