// Reuse check (`cargo xtask reuse`): a TypeScript caller written against the
// types openapi-typescript generates from openapi.yaml, and nothing else.
// tsc --noEmit must accept it; when the spec renames or retypes something this
// file uses, it must not. Never run, only typechecked: it shows that another
// language can build a typed list-time-passes request and read full records.

import type { components, operations, paths } from "nexudus-timepasses-openapi";

type TimePass = components["schemas"]["TimePass"];
type TimePassListItem = components["schemas"]["TimePassListItem"];
type ListTimePasses = paths["/api/billing/timepasses"]["get"];
type ListQuery = NonNullable<ListTimePasses["parameters"]["query"]>;
type ListPage = ListTimePasses["responses"][200]["content"]["application/json"];

// A listing request with filters, every value typed from the spec's parameters.
export const dayPassesUpdatedThisYear: ListQuery = {
  page: 1,
  size: 100,
  orderBy: "Name",
  dir: -1,
  TimePass_Business: 12345,
  TimePass_Name: "Day pass",
  TimePass_Archived: false,
  TimePass_CountsTowardsPlanLimits: true,
  from_TimePass_Price: 5,
  to_TimePass_Price: 25.5,
  from_TimePass_UpdatedOn: "2025-01-01T00:00",
};

export const timePassesOfFourHoursOrMore: operations["list_time_passes"]["parameters"]["query"] = {
  from_TimePass_MinutesIncluded: 240,
  TimePass_Currency_Code: "EUR",
};

// The spec's types reject what the API would refuse or misread.
export const badSortDirection: ListQuery = {
  // @ts-expect-error dir is 1 (ascending) or -1 (descending), nothing else
  dir: 0,
};
export const badMinutes: ListQuery = {
  // @ts-expect-error MinutesIncluded filters take a number
  TimePass_MinutesIncluded: "240",
};
export const unknownFilter: ListQuery = {
  // @ts-expect-error filters are named TimePass_<Property>
  MinutesIncluded: 240,
};

/** The request line for a listing: the path from the spec, the query from the filters. */
export function listRequest(query: ListQuery): string {
  const path: keyof paths = "/api/billing/timepasses";
  const pairs = Object.entries(query).map(
    ([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(String(value))}`,
  );
  return pairs.length === 0 ? `GET ${path}` : `GET ${path}?${pairs.join("&")}`;
}

/** Reads a full TimePass (the record get-one returns and updates start from). */
export function describe(pass: TimePass): string {
  const name: string = pass.Name;
  const minutes: number | null = pass.MinutesIncluded;
  const price: number = pass.Price;
  const counts: boolean = pass.CountsTowardsPlanLimits;
  const onlyMembers: boolean = pass.OnlyForMembers;
  const id: number = pass.Id;
  const uniqueId: string = pass.UniqueId;
  const businesses: number[] = pass.Businesses;
  const kind = minutes === null ? "Day Pass" : `Time Pass of ${minutes} minutes`;
  const limits = counts ? "counts towards plan limits" : "outside plan limits";
  const who = onlyMembers ? "members only" : "anyone";
  return `#${id} ${uniqueId} ${name}: ${kind}, ${price.toFixed(2)}, ${limits}, ${who}, ${businesses.length} locations`;
}

/** Listing records are partial: they lack the fields a full record adds. */
export function describeListed(item: TimePassListItem): string {
  // @ts-expect-error listing records leave out CountsTowardsPlanLimits
  const counts: boolean = item.CountsTowardsPlanLimits;
  const minutes: number | null = item.MinutesIncluded;
  return `${item.Name}: ${minutes ?? "day"} ${String(counts)}`;
}

/** Reads one listing page. */
export function describePage(page: ListPage): string[] {
  const lines = page.Records.map(describeListed);
  lines.push(`page ${page.CurrentPage} of ${page.TotalPages}, ${page.TotalItems} in all`);
  return lines;
}

// Undocumented expiration types such as 0 (in the docs' own examples) are
// valid values, and so is null.
export const expirations: components["schemas"]["ExpirationType"][] = [0, 1, 6, 42, null];
