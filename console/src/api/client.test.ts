import { describe, expect, it } from "vitest";
import { toApiError } from "./client";

const refusal = (pointer: string, detail: string) => ({ errors: [{ detail, status: "400", source: { pointer } }] });

describe("a refusal shown at its field", () => {
  it("leaves out the API's dotted path in front of the rule", () => {
    const error = toApiError(400, refusal("/conditions/and/1/event/count/value", "conditions.and[1].event.count.value: must be between 0 and 1000"));
    expect(error.field("conditions/and/1/event/count")).toBe("must be between 0 and 1000");
    expect(error.field("conditions/and/1/event/count/value")).toBe("must be between 0 and 1000");
  });

  it("keeps a message that does not start with a path", () => {
    expect(toApiError(400, refusal("/from", "from must be an email address")).field("from")).toBe("from must be an email address");
    expect(toApiError(400, refusal("/body", "body is not a valid template: unexpected '}'")).field("body")).toBe("body is not a valid template: unexpected '}'");
  });

  it("keeps the whole message in the fields a canvas node lists", () => {
    const error = toApiError(400, refusal("/campaign/workflow/blocks/b1/template_id", "campaign.workflow.blocks.b1.template_id: must not be empty"));
    expect(error.fields["campaign/workflow/blocks/b1/template_id"]).toBe("campaign.workflow.blocks.b1.template_id: must not be empty");
  });
});
