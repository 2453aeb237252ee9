// The builder's conversion between a campaign definition and the canvas, both ways (run by `npm test`,
// which `make test` runs through tests/unit/test_console_units.py).
import { describe, expect, it } from "vitest";
import {
  BLOCK_TYPES,
  COLUMN_WIDTH,
  LAYER_HEIGHT,
  TRIGGER_ID,
  addAfter,
  blankBlock,
  connect,
  describeBlock,
  describeCondition,
  errorsByNode,
  fromFlow,
  layout,
  nodeOfPointer,
  outputs,
  removeBlock,
  toFlow,
  updateBlock,
  type Definition,
} from "./graph";

const condition = { attribute: { field: "plan", operator: "eq", value: "pro" } };

// Every block type the schema defines, every output filled, and a cycle through a delay.
const EVERYTHING: Definition = {
  name: "Everything",
  trigger: { type: "event", name: "signed_up", filters: { attribute: { field: "plan", operator: "exists" } } },
  workflow: {
    start: "b1",
    blocks: {
      b1: { type: "send", channel: "email", template_id: "1", next: "b2" },
      b2: { type: "delay", seconds: 86400, next: "b3" },
      b3: { type: "branch", condition, true: "b4", false: "b5" },
      b4: { type: "wait_until", condition, max_seconds: 604800, on_timeout: "exit", next: "b6" },
      b5: { type: "time_window", hours: [9, 17], days: ["mon", "tue"], next: "b6" },
      b6: { type: "multi_split", branches: [{ condition, next: "b7" }, { condition }], default: "b8" },
      b7: { type: "random_split", branches: [{ percent: 30, next: "b8" }, { percent: 70, next: "b9" }] },
      b8: { type: "set_attribute", attribute: "onboarded", value: { nested: [1, true] }, next: "b9" },
      b9: { type: "segment", action: "remove", segment_id: 42, next: "b10" },
      b10: { type: "send", channel: "sms", template_id: 7, next: "b11" },
      b11: { type: "delay", seconds: 60, next: "b1" },
      b12: { type: "exit" },
    },
  },
};

describe("definition -> canvas", () => {
  it("makes a trigger node, a node per block and an edge per filled output", () => {
    const flow = toFlow(EVERYTHING);
    expect(flow.nodes.map((n) => n.id).sort()).toEqual([TRIGGER_ID, ...Object.keys(EVERYTHING.workflow.blocks)].sort());
    const edges = flow.edges.map((e) => `${e.source}.${e.sourceHandle}->${e.target}`).sort();
    expect(edges).toEqual(
      [
        "trigger.start->b1",
        "b1.next->b2",
        "b2.next->b3",
        "b3.true->b4",
        "b3.false->b5",
        "b4.next->b6",
        "b5.next->b6",
        "b6.branch-0->b7",
        "b6.default->b8",
        "b7.branch-0->b8",
        "b7.branch-1->b9",
        "b8.next->b9",
        "b9.next->b10",
        "b10.next->b11",
        "b11.next->b1",
      ].sort(),
    );
  });

  it("keeps edges off the nodes' blocks", () => {
    const flow = toFlow(EVERYTHING);
    const b3 = flow.nodes.find((n) => n.id === "b3")!.data.block!;
    expect(b3).toEqual({ type: "branch", condition });
    const b6 = flow.nodes.find((n) => n.id === "b6")!.data.block!;
    expect(b6.branches).toEqual([{ condition }, { condition }]);
    expect("default" in b6).toBe(false);
  });

  it("labels branch handles yes/no and split handles by percent", () => {
    const flow = toFlow(EVERYTHING);
    expect(flow.edges.find((e) => e.id === "b3:true")!.label).toBe("yes");
    expect(flow.edges.find((e) => e.id === "b3:false")!.label).toBe("no");
    expect(flow.edges.find((e) => e.id === "b7:branch-1")!.label).toBe("70%");
  });

  it("does not change the definition it was given", () => {
    const copy = structuredClone(EVERYTHING);
    toFlow(EVERYTHING);
    expect(EVERYTHING).toEqual(copy);
  });
});

describe("canvas -> definition", () => {
  it("gives back the definition it was made from", () => {
    const { trigger, workflow } = fromFlow(toFlow(EVERYTHING));
    expect(trigger).toEqual(EVERYTHING.trigger);
    expect(workflow).toEqual(EVERYTHING.workflow);
  });

  it("drops null edges rather than writing them (absent and null both end the journey)", () => {
    const definition: Definition = {
      name: "n",
      trigger: { type: "api" },
      workflow: { start: "a", blocks: { a: { type: "send", channel: "email", template_id: "1", next: null } } },
    };
    expect(fromFlow(toFlow(definition)).workflow.blocks.a).toEqual({ type: "send", channel: "email", template_id: "1" });
  });

  it("ignores an edge to a node that is no longer there", () => {
    const flow = toFlow(EVERYTHING);
    flow.edges.push({ id: "x", source: "b12", sourceHandle: "next", target: "gone" });
    expect(fromFlow(flow).workflow.blocks.b12).toEqual({ type: "exit" });
  });
});

describe("editing", () => {
  it("builds event -> send -> delay -> branch -> two sends from nothing", () => {
    let flow = toFlow({ name: "", trigger: { type: "event", name: "ordered" }, workflow: { start: "", blocks: {} } });
    expect(flow.edges).toEqual([]);
    let added = addAfter(flow, TRIGGER_ID, "start", "send");
    flow = added.flow;
    const send = added.id;
    added = addAfter(flow, send, "next", "delay");
    flow = added.flow;
    added = addAfter(flow, added.id, "next", "branch");
    flow = added.flow;
    const branch = added.id;
    flow = addAfter(flow, branch, "true", "send").flow;
    flow = addAfter(flow, branch, "false", "send").flow;
    const { workflow } = fromFlow(flow);
    expect(workflow).toEqual({
      start: "b1",
      blocks: {
        b1: { type: "send", channel: "email", template_id: "", next: "b2" },
        b2: { type: "delay", seconds: 86400, next: "b3" },
        b3: { type: "branch", condition: blankBlock("branch").condition, true: "b4", false: "b5" },
        b4: { type: "send", channel: "email", template_id: "" },
        b5: { type: "send", channel: "email", template_id: "" },
      },
    });
  });

  it("inserts a block between two and removes it again", () => {
    const start = toFlow(EVERYTHING);
    const { flow, id } = addAfter(start, "b1", "next", "exit");
    // An exit has no output: what b1 led to is no longer reached through it.
    expect(fromFlow(flow).workflow.blocks.b1!.next).toBe(id);
    const inserted = addAfter(start, "b1", "next", "delay");
    expect(fromFlow(inserted.flow).workflow.blocks[inserted.id]!.next).toBe("b2");
    const back = fromFlow(removeBlock(inserted.flow, inserted.id)).workflow;
    expect(back).toEqual(EVERYTHING.workflow);
  });

  it("reconnects and disconnects outputs", () => {
    let flow = connect(toFlow(EVERYTHING), "b3", "false", "b12");
    expect(fromFlow(flow).workflow.blocks.b3!.false).toBe("b12");
    flow = connect(flow, "b3", "false", null);
    expect("false" in fromFlow(flow).workflow.blocks.b3!).toBe(false);
    flow = connect(flow, TRIGGER_ID, "start", "b12");
    expect(fromFlow(flow).workflow.start).toBe("b12");
  });

  it("drops the edges of outputs a block no longer has", () => {
    const flow = toFlow(EVERYTHING);
    const b7 = flow.nodes.find((n) => n.id === "b7")!.data.block!;
    const fewer = updateBlock(flow, "b7", { ...b7, branches: [{ percent: 100 }] });
    expect(fewer.edges.filter((e) => e.source === "b7").map((e) => e.sourceHandle)).toEqual(["branch-0"]);
    expect(fewer.edges.find((e) => e.id === "b7:branch-0")!.label).toBe("100%");
  });

  it("gives every block type a blank the outputs understand", () => {
    for (const type of BLOCK_TYPES) {
      const block = blankBlock(type);
      expect(block.type).toBe(type);
      expect(outputs(block).length).toBe(type === "exit" ? 0 : type === "branch" ? 2 : type === "multi_split" ? 2 : type === "random_split" ? 2 : 1);
    }
  });
});

describe("layout", () => {
  it("puts each node one layer below the deepest node leading to it, siblings side by side", () => {
    const flow = layout(toFlow(EVERYTHING));
    const at = (id: string) => flow.nodes.find((n) => n.id === id)!.position;
    expect(at(TRIGGER_ID)).toEqual({ x: 0, y: 0 });
    expect(at("b1").y).toBe(LAYER_HEIGHT);
    expect(at("b4").y).toBe(at("b5").y);
    expect(at("b4").x).toBeLessThan(at("b5").x); // yes on the left
    expect(at("b5").x - at("b4").x).toBe(COLUMN_WIDTH);
    expect(at("b6").y).toBeGreaterThan(at("b4").y);
    // b8 is reached from b6 (layer 6) and from b7 (layer 7): it goes below b7.
    expect(at("b8").y).toBeGreaterThan(at("b7").y);
    // The cycle b11 -> b1 does not push b1 down.
    expect(at("b1").y).toBe(LAYER_HEIGHT);
    // Nothing reaches b12: it goes on a layer of its own below the rest.
    expect(at("b12").y).toBe(Math.max(...flow.nodes.filter((n) => n.id !== "b12").map((n) => n.position.y)) + LAYER_HEIGHT);
  });

  it("never places two nodes at the same spot", () => {
    const flow = layout(toFlow(EVERYTHING));
    const spots = new Set(flow.nodes.map((n) => `${n.position.x},${n.position.y}`));
    expect(spots.size).toBe(flow.nodes.length);
  });
});

describe("API errors on nodes", () => {
  it("finds the node an error's pointer names", () => {
    expect(nodeOfPointer("/campaign/workflow/blocks/b3/next")).toBe("b3");
    expect(nodeOfPointer("campaign/workflow/blocks/b3/condition/and/0/attribute/field")).toBe("b3");
    expect(nodeOfPointer("campaign/trigger/name")).toBe(TRIGGER_ID);
    expect(nodeOfPointer("campaign/workflow/start")).toBe(TRIGGER_ID);
    expect(nodeOfPointer("campaign/name")).toBeNull();
  });

  it("groups messages by node", () => {
    const grouped = errorsByNode({
      "campaign/workflow/blocks/b1/template_id": "campaign.workflow.blocks.b1.template_id: unknown template 9",
      "campaign/workflow/blocks/b1/channel": "not the template's channel",
      "campaign/trigger/name": "campaign.trigger.name: must not be empty",
      "campaign/name": "campaign.name: required",
    });
    // On its node, a message loses the part of its path that names the node.
    expect(grouped.get("b1")).toEqual(["template_id: unknown template 9", "not the template's channel"]);
    expect(grouped.get(TRIGGER_ID)).toEqual(["trigger.name: must not be empty"]);
    expect(grouped.get(null)).toEqual(["campaign.name: required"]);
  });
});

describe("node summaries", () => {
  it("say what a block does in a few words", () => {
    expect(describeCondition(condition)).toBe("plan is pro");
    expect(describeCondition({ attribute: { field: "email", operator: "exists" } })).toBe("email exists");
    expect(describeCondition({ not: { event: { name: "purchased" } } })).toBe("not (did purchased)");
    expect(describeCondition({ or: [condition, condition] })).toBe("any of 2 conditions");
    expect(describeBlock({ type: "branch", condition })).toBe("yes if plan is pro");
    expect(describeBlock({ type: "delay", seconds: 7200 })).toBe("wait 2 hours");
    expect(describeBlock({ type: "send", channel: "in_app", template_id: "4" }, (id) => (id === "4" ? "Tip" : undefined))).toBe("in-app: Tip");
    expect(describeBlock({ type: "multi_split", branches: [{ condition }] })).toBe("1 branch + otherwise");
  });
});
