// The console's lists of the condition language's operators and the campaign definition's block and
// trigger types, against the API's own schemas as the committed OpenAPI document carries them
// (openapi/app.json, written from the shapes that read those bodies: nudge.shapes). A type or operator
// added to the API without the console (or the other way round) fails here.
import { describe, expect, it } from "vitest";
import { BLOCK_TYPES, TRIGGER_TYPES } from "./campaigns/graph";
import { ATTRIBUTE_OPERATORS } from "./segments/conditions";

type Schema = { [key: string]: unknown };

const documents = import.meta.glob("../../openapi/app.json", { eager: true, import: "default" });
const schemas = (Object.values(documents)[0] as { components: { schemas: Record<string, Schema> } }).components
  .schemas;

function defs(name: string): Record<string, Schema> {
  return schemas[name]!["$defs"] as Record<string, Schema>;
}

/** The values a list of alternatives offers at ``key``: each alternative's const or enum there. */
function offered(alternatives: Schema[], key: string): string[] {
  return alternatives.flatMap((alternative) => {
    const property = (alternative.properties as Record<string, Schema>)[key]!;
    return "const" in property ? [property.const as string] : (property.enum as string[]);
  });
}

describe("the console's vocabularies are the API's", () => {
  it("offers every attribute operator the condition language takes, and no other", () => {
    const operators = offered(defs("SegmentCondition").attribute!.anyOf as Schema[], "operator");
    expect([...ATTRIBUTE_OPERATORS.map((op) => op.value)].sort()).toEqual([...operators].sort());
  });

  it("knows every block type and trigger type of a campaign definition", () => {
    const definition = defs("CampaignDefinition");
    expect([...BLOCK_TYPES].sort()).toEqual(offered(definition.block!.oneOf as Schema[], "type").sort());
    expect([...TRIGGER_TYPES].sort()).toEqual(offered(definition.trigger!.oneOf as Schema[], "type").sort());
  });
});
