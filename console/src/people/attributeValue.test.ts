import { describe, expect, it } from "vitest";
import { asText, kindOf, parseValue } from "./attributeValue";

describe("an attribute edited in the console keeps its JSON type", () => {
  it("opens each stored value with its own kind", () => {
    expect([kindOf("pro"), kindOf(3), kindOf(false), kindOf({ city: "Paris" }), kindOf([1]), kindOf(null)]).toEqual([
      "text",
      "number",
      "boolean",
      "json",
      "json",
      "text",
    ]);
    expect(asText({ city: "Paris" })).toBe('{"city":"Paris"}');
  });

  it("reads the typed text as that kind", () => {
    expect(parseValue("number", " 4.5 ")).toEqual({ value: 4.5 });
    expect(parseValue("boolean", "false")).toEqual({ value: false });
    expect(parseValue("json", '{"city": "Paris"}')).toEqual({ value: { city: "Paris" } });
    expect(parseValue("text", "42")).toEqual({ value: "42" });
  });

  it("says why text is not of the kind chosen", () => {
    expect(parseValue("number", "")).toHaveProperty("error");
    expect(parseValue("number", "4 apples")).toHaveProperty("error");
    expect(parseValue("boolean", "yes")).toHaveProperty("error");
    expect(parseValue("json", "{city")).toHaveProperty("error");
    expect(parseValue("json", "3")).toHaveProperty("error");
  });
});
