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

export const KINDS = ["attribute", "event", "segment", "device", "object", "group"] as const;
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
    case "object":
      return { object: { object_type_id: "" } };
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
  if (key === "object") {
    const o = c.object as { object_type_id?: string; filters?: unknown; relationship?: unknown };
    return Boolean(o.object_type_id) && (o.filters === undefined || complete(o.filters)) && (o.relationship === undefined || complete(o.relationship));
  }
  return true;
}

export interface AttributeBody {
  field: string;
  operator: string;
  value?: unknown;
}

/** An attribute condition with another operator: its value kept while the operator takes the same kind of
 * value, else the new kind's starting value (none for exists and the like). */
export function withOperator(attribute: AttributeBody, operator: string): AttributeBody {
  const takes = (ATTRIBUTE_OPERATORS.find((o) => o.value === operator) ?? ATTRIBUTE_OPERATORS[0]!).takes;
  const before = ATTRIBUTE_OPERATORS.find((o) => o.value === attribute.operator)?.takes;
  const { value, ...rest } = attribute;
  if (takes === "none") return { ...rest, operator };
  if (takes === before) return { ...rest, operator, value };
  const fresh = takes === "relative" ? { amount: 7, unit: "days", direction: "ago" } : takes === "list" ? [] : takes === "number" ? 0 : "";
  return { ...rest, operator, value: fresh };
}

export const EVENT_TYPES = [
  { value: "", label: "any kind" },
  { value: "event", label: "an event" },
  { value: "page", label: "a page view" },
  { value: "screen", label: "a screen view" },
];

export type Timeframe = { type: "ever" } | { type: "within"; amount?: number; unit: string } | { type: "between"; start: number; end: number };

/** The timeframe of a kind, starting from sensible values: the last 30 days (within, or between their
 * start and now, to the minute). */
export function timeframeOf(type: string, now: number = Math.floor(Date.now() / 1000)): Timeframe {
  if (type === "within") return { type: "within", amount: 30, unit: "days" };
  if (type === "between") {
    const end = now - (now % 60);
    return { type: "between", start: end - 30 * 86400, end };
  }
  return { type: "ever" };
}

/** An object's key set or removed (an optional part of a condition: an event's type or filters, an
 * object condition's filters or relationship): `undefined` removes it. */
export function withKey<T extends object>(body: T, key: string, value: unknown): T {
  const next = { ...body } as Record<string, unknown>;
  if (value === undefined) delete next[key];
  else next[key] = value;
  return next as T;
}

const pad = (n: number) => String(n).padStart(2, "0");

/** Unix seconds as a `datetime-local` input shows them, in the browser's time zone. */
export function toDateTimeInput(unix: number): string {
  const d = new Date(unix * 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A `datetime-local` input's text (the browser's time zone) as unix seconds; null when incomplete. */
export function fromDateTimeInput(text: string): number | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(text);
  if (!match) return null;
  const [, y, mo, d, h, mi] = match.map(Number) as [number, number, number, number, number, number];
  return Math.floor(new Date(y, mo - 1, d, h, mi).getTime() / 1000);
}
