// An attribute's value as typed in the console, kept as the JSON type it has: a number stays a number
// and false stays false (the string "false" is true to a Liquid `if`), an object stays an object.

export type AttributeKind = "text" | "number" | "boolean" | "json";

export const KINDS: { value: AttributeKind; label: string }[] = [
  { value: "text", label: "Text" },
  { value: "number", label: "Number" },
  { value: "boolean", label: "True or false" },
  { value: "json", label: "JSON (list or object)" },
];

/** The kind of a stored value: what the editor opens with. */
export function kindOf(value: unknown): AttributeKind {
  if (typeof value === "number") return "number";
  if (typeof value === "boolean") return "boolean";
  if (value !== null && typeof value === "object") return "json";
  return "text";
}

/** A stored value as the editor shows it. */
export function asText(value: unknown): string {
  if (value === undefined || value === null) return "";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

/** The typed text as the kind says, or the reason it is not one. */
export function parseValue(kind: AttributeKind, text: string): { value: unknown } | { error: string } {
  const trimmed = text.trim();
  switch (kind) {
    case "text":
      return { value: text };
    case "number": {
      const number = Number(trimmed);
      return trimmed === "" || !Number.isFinite(number) ? { error: "Enter a number, like 42 or 4.5." } : { value: number };
    }
    case "boolean":
      return trimmed === "true" || trimmed === "false" ? { value: trimmed === "true" } : { error: "Choose true or false." };
    case "json":
      try {
        const value: unknown = JSON.parse(trimmed);
        return value !== null && typeof value === "object"
          ? { value }
          : { error: "Enter a JSON list or object, like [1, 2] or {\"city\": \"Paris\"}." };
      } catch {
        return { error: "This is not valid JSON." };
      }
  }
}
