// Reuse check against the stand-in (`cargo xtask contract`): a TypeScript
// program typed by the types openapi-typescript generates from openapi.yaml
// lists every CoworkerTimePass page by page from a running `nexudus serve`
// with Node's fetch, retrying 409 (throttled, Retry-After) and 503 answers,
// and checks that it saw the expected number of distinct records, each once.
//
// Usage: node list-all.js BASE_URL EMAIL PASSWORD EXPECTED

import type { components, paths } from "nexudus-timepasses-openapi";

declare const process: { argv: string[]; exitCode?: number };

type ListOperation = paths["/api/billing/coworkertimepasses"]["get"];
type ListQuery = NonNullable<ListOperation["parameters"]["query"]>;
type Page = ListOperation["responses"][200]["content"]["application/json"];
type Token = components["schemas"]["TokenResponse"];

const MAX_ATTEMPTS = 20;
const MAX_PAGES = 10_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Milliseconds to wait: Retry-After when sent, else a short pause. */
function waitOf(answer: Response): number {
  const seconds = Number(answer.headers.get("retry-after") ?? "0.2");
  return Number.isFinite(seconds) ? Math.max(seconds, 0.1) * 1000 : 500;
}

/** Sends `request` until it is neither throttled nor unavailable. */
async function withRetry(request: () => Promise<Response>): Promise<[Response, number]> {
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const answer = await request();
    if (![409, 429, 503].includes(answer.status)) {
      return [answer, attempt - 1];
    }
    await answer.arrayBuffer();
    await sleep(waitOf(answer));
  }
  throw new Error(`still throttled or failing after ${MAX_ATTEMPTS} attempts`);
}

async function signIn(base: string, email: string, password: string): Promise<string> {
  const form = new URLSearchParams({ grant_type: "password", username: email, password });
  const [answer] = await withRetry(() => fetch(`${base}/api/token`, { method: "POST", body: form }));
  if (answer.status !== 200) {
    throw new Error(`sign-in refused: ${answer.status} ${await answer.text()}`);
  }
  const token = (await answer.json()) as Token;
  return token.access_token;
}

function queryString(query: ListQuery): string {
  return Object.entries(query)
    .map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(String(value))}`)
    .join("&");
}

async function main(): Promise<void> {
  const [base, email, password, expectedText] = process.argv.slice(2);
  if (base === undefined || email === undefined || password === undefined || expectedText === undefined) {
    throw new Error("usage: list-all.js BASE_URL EMAIL PASSWORD EXPECTED");
  }
  const token = await signIn(base, email, password);
  const ids: number[] = [];
  let retries = 0;
  let page = 1;
  for (; page <= MAX_PAGES; page++) {
    const query: ListQuery = { page, size: 100 };
    const url = `${base}/api/billing/coworkertimepasses?${queryString(query)}`;
    const [answer, retried] = await withRetry(() =>
      fetch(url, { headers: { Authorization: `Bearer ${token}` } }),
    );
    retries += retried;
    if (answer.status !== 200) {
      throw new Error(`page ${page}: ${answer.status} ${await answer.text()}`);
    }
    const body = (await answer.json()) as Page;
    for (const record of body.Records) {
      ids.push(record.Id);
    }
    if (!body.HasNextPage) {
      break;
    }
  }
  const distinct = new Set(ids).size;
  console.log(`typescript: ${ids.length} records on ${page} pages, ${distinct} distinct, ${retries} retries`);
  const expected = Number(expectedText);
  if (ids.length !== expected || distinct !== expected) {
    throw new Error(`expected ${expected} distinct records, each once`);
  }
}

main().catch((error: unknown) => {
  console.error(String(error));
  process.exitCode = 1;
});
