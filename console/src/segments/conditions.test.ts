import { describe, expect, it } from "vitest";
import { KINDS, blank, complete, fromDateTimeInput, timeframeOf, toDateTimeInput, withKey, withOperator } from "./conditions";

// The segment builder edits the condition language's JSON directly; these are the conversions it applies.

describe("blank conditions", () => {
  it("start every kind in the shape the API reads", () => {
    expect(KINDS.map((kind) => blank(kind))).toEqual([
      { attribute: { field: "", operator: "eq", value: "" } },
      { event: { name: "", count: { operator: "at_least", value: 1 }, timeframe: { type: "ever" } } },
      { segment: { id: "", operator: "in" } },
      { device: { attribute: { field: "platform", operator: "eq", value: "ios" } } },
      { object: { object_type_id: "" } },
      { and: [{ attribute: { field: "", operator: "eq", value: "" } }] },
    ]);
  });

  it("are incomplete until named, so the live count waits for them", () => {
    expect(complete(blank("object"))).toBe(false);
    expect(complete({ object: { object_type_id: "1" } })).toBe(true);
    expect(complete({ object: { object_type_id: "1", filters: { attribute: { field: "", operator: "exists" } } } })).toBe(false);
    expect(complete({ object: { object_type_id: "1", relationship: { attribute: { field: "role", operator: "eq", value: "admin" } } } })).toBe(true);
    expect(complete({ not: { or: [blank("event")] } })).toBe(false);
    expect(complete({ not: { or: [{ event: { name: "purchase" } }] } })).toBe(true);
  });
});

describe("changing an attribute's operator", () => {
  const plan = { field: "plan", operator: "eq", value: "gold" };

  it("keeps the value while the operator takes the same kind of value", () => {
    expect(withOperator(plan, "neq")).toEqual({ field: "plan", operator: "neq", value: "gold" });
  });

  it("drops the value for an operator that takes none", () => {
    expect(withOperator(plan, "exists")).toEqual({ field: "plan", operator: "exists" });
  });

  it("starts the value of another kind afresh", () => {
    expect(withOperator(plan, "gt").value).toBe(0);
    expect(withOperator(plan, "in").value).toEqual([]);
    expect(withOperator(plan, "before").value).toEqual({ amount: 7, unit: "days", direction: "ago" });
    expect(withOperator({ field: "plan", operator: "exists" }, "eq").value).toBe("");
  });
});

describe("event timeframes", () => {
  it("start at the last 30 days, between to the minute", () => {
    const now = 1_800_000_123;
    expect(timeframeOf("ever", now)).toEqual({ type: "ever" });
    expect(timeframeOf("within", now)).toEqual({ type: "within", amount: 30, unit: "days" });
    expect(timeframeOf("between", now)).toEqual({ type: "between", start: 1_800_000_120 - 30 * 86400, end: 1_800_000_120 });
  });

  it("round-trip through a datetime-local input to the minute", () => {
    const minute = 1_800_000_060;
    expect(toDateTimeInput(minute)).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/);
    expect(fromDateTimeInput(toDateTimeInput(minute))).toBe(minute);
    expect(fromDateTimeInput("2026-12-0")).toBeNull();
  });
});

describe("optional parts", () => {
  it("are set and removed without touching the rest", () => {
    const object = { object_type_id: "1" };
    const filtered = withKey(object, "filters", { attribute: { field: "tier", operator: "eq", value: "gold" } });
    expect(filtered).toEqual({ object_type_id: "1", filters: { attribute: { field: "tier", operator: "eq", value: "gold" } } });
    expect(withKey(filtered, "filters", undefined)).toEqual(object);
    expect(withKey({ name: "viewed", type: "page" }, "type", undefined)).toEqual({ name: "viewed" });
  });
});
