// The segment condition language (README "Segments"), as the builder edits it: plain JSON, one key each.

export type Condition = Record<string, unknown>;

export const ATTRIBUTE_OPERATORS: { value: string; label: string; takes: "none" | "text" | "number" | "list" | "relative" }[] = [
  { value: "eq", label: "is", takes: "text" },
  { value: "neq", label: "is not", takes: "text" },
  { value: "exists", label: "exists", takes: "none" },
  { value: "not_exists", label: "does not exist", takes: "none" },
  { value: "contains", label: "contains", takes: "text" },
  { value: "starts_with", label: "starts with", takes: "text" },
  { value: "gt", label: "is greater than", takes: "number" },
  { value: "gte", label: "is at least", takes: "number" },
  { value: "lt", label: "is less than", takes: "number" },
  { value: "lte", label: "is at most", takes: "number" },
  { value: "in", label: "is one of", takes: "list" },
  { value: "is_timestamp", label: "is a date", takes: "none" },
  { value: "before", label: "is a date before", takes: "relative" },
  { value: "after", label: "is a date after", takes: "relative" },
];

export const KINDS = ["attribute", "event", "segment", "device", "group"] as const;
export type Kind = (typeof KINDS)[number];

export function blank(kind: Kind): Condition {
  switch (kind) {
    case "attribute":
      return { attribute: { field: "", operator: "eq", value: "" } };
    case "event":
      return { event: { name: "", count: { operator: "at_least", value: 1 }, timeframe: { type: "ever" } } };
    case "segment":
      return { segment: { id: "", operator: "in" } };
    case "device":
      return { device: { attribute: { field: "platform", operator: "eq", value: "ios" } } };
    case "group":
      return { and: [blank("attribute")] };
  }
}

/** The one key of a condition ("and", "attribute", ...). */
export function keyOf(condition: Condition): string {
  return Object.keys(condition)[0] ?? "";
}

/** How many leaf conditions a tree holds (an empty builder has nothing to preview). */
export function complete(condition: unknown): boolean {
  if (!condition || typeof condition !== "object") return false;
  const c = condition as Condition;
  const key = keyOf(c);
  if (key === "and" || key === "or") return Array.isArray(c[key]) && (c[key] as unknown[]).every(complete);
  if (key === "not") return complete(c.not);
  if (key === "attribute") return Boolean((c.attribute as { field?: string }).field);
  if (key === "event") return Boolean((c.event as { name?: string }).name);
  if (key === "segment") return Boolean((c.segment as { id?: string }).id);
  if (key === "device") return complete(c.device);
  return true;
}
