// The campaign builder's model: a campaign definition (README "Campaigns", GET /v1/campaigns/schema) as
// a canvas of nodes and edges, and back. Pure data, no React: the conversion is tested on its own
// (graph.test.ts) and the canvas only draws what this module answers.
//
// A node per block plus one for the trigger; an edge per filled output ("next", "true"/"false", a split's
// branches and default). Edges live only on the edges: a node's block carries no edge fields, so the two
// can never disagree. The schema forbids extra fields in a definition (additionalProperties: false), so
// positions are never stored in it: they are derived by `layout` (a layered top-down layout), and a
// block dragged on the canvas keeps its place only until the page is left.

import { ATTRIBUTE_OPERATORS } from "../segments/conditions";

export type Json = unknown;
export type Condition = Record<string, unknown>;
export type Block = { type: BlockType } & Record<string, unknown>;
export type Trigger = { type: TriggerType } & Record<string, unknown>;

export interface Workflow {
  start: string;
  blocks: Record<string, Record<string, unknown>>;
}

export interface Definition {
  name: string;
  trigger: Trigger;
  filters?: Condition | null;
  workflow: Workflow;
  settings?: Record<string, unknown>;
}

export const TRIGGER_ID = "trigger"; // the trigger node's id: block ids are the definition's own
export const START_HANDLE = "start"; // the trigger node's one output: the workflow's start

export const BLOCK_TYPES = [
  "send",
  "delay",
  "wait_until",
  "time_window",
  "branch",
  "multi_split",
  "random_split",
  "set_attribute",
  "segment",
  "exit",
] as const;
export type BlockType = (typeof BLOCK_TYPES)[number];

export const TRIGGER_TYPES = ["event", "segment_entry", "segment_exit", "attribute_change", "date_attribute", "api", "broadcast"] as const;
export type TriggerType = (typeof TRIGGER_TYPES)[number];

export const CHANNELS = ["email", "sms", "push", "in_app", "webhook"] as const;
export const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;

export const BLOCK_LABELS: Record<BlockType, string> = {
  send: "Send a message",
  delay: "Delay",
  wait_until: "Wait until",
  time_window: "Time window",
  branch: "True/false branch",
  multi_split: "Multi-split",
  random_split: "Random cohort split",
  set_attribute: "Set an attribute",
  segment: "Manual segment add/remove",
  exit: "Exit",
};

export const TRIGGER_LABELS: Record<TriggerType, string> = {
  event: "An event is performed",
  segment_entry: "A person enters a segment",
  segment_exit: "A person leaves a segment",
  attribute_change: "An attribute changes",
  date_attribute: "A date attribute is reached",
  api: "API-triggered broadcast",
  broadcast: "One-time broadcast to a segment",
};

const EMPTY_CONDITION: Condition = { attribute: { field: "", operator: "eq", value: "" } };

/** A new block of a type, with the defaults a marketer most likely wants (edges are added separately). */
export function blankBlock(type: BlockType): Block {
  switch (type) {
    case "send":
      return { type, channel: "email", template_id: "" };
    case "delay":
      return { type, seconds: 86400 };
    case "wait_until":
      return { type, condition: structuredClone(EMPTY_CONDITION), max_seconds: 604800, on_timeout: "continue" };
    case "time_window":
      return { type, hours: [9, 17], days: ["mon", "tue", "wed", "thu", "fri"] };
    case "branch":
      return { type, condition: structuredClone(EMPTY_CONDITION) };
    case "multi_split":
      return { type, branches: [{ condition: structuredClone(EMPTY_CONDITION) }] };
    case "random_split":
      return { type, branches: [{ percent: 50 }, { percent: 50 }] };
    case "set_attribute":
      return { type, attribute: "", value: "" };
    case "segment":
      return { type, action: "add", segment_id: "" };
    case "exit":
      return { type };
  }
}

export function blankTrigger(type: TriggerType): Trigger {
  switch (type) {
    case "event":
      return { type, name: "" };
    case "segment_entry":
    case "segment_exit":
    case "broadcast":
      return { type, segment_id: "" };
    case "attribute_change":
      return { type, attribute: "" };
    case "date_attribute":
      return { type, attribute: "", offset_seconds: 0 };
    case "api":
      return { type };
  }
}

export interface Output {
  handle: string; // the source handle's id on the canvas
  label: string; // shown on the handle and in the side panel ("yes", "branch 2", "")
}

/** The outputs of a block: where a journey can go next. */
export function outputs(block: Block): Output[] {
  switch (block.type) {
    case "exit":
      return [];
    case "branch":
      return [
        { handle: "true", label: "yes" },
        { handle: "false", label: "no" },
      ];
    case "multi_split": {
      const branches = Array.isArray(block.branches) ? block.branches : [];
      return [...branches.map((_, i) => ({ handle: `branch-${i}`, label: `branch ${i + 1}` })), { handle: "default", label: "otherwise" }];
    }
    case "random_split": {
      const branches = (Array.isArray(block.branches) ? block.branches : []) as { percent?: number }[];
      return branches.map((b, i) => ({ handle: `branch-${i}`, label: `${b.percent ?? 0}%` }));
    }
    default:
      return [{ handle: "next", label: "" }];
  }
}

export interface FlowNode {
  id: string;
  type: "trigger" | "block";
  position: { x: number; y: number };
  data: { trigger?: Trigger; block?: Block };
}

export interface FlowEdge {
  id: string;
  source: string;
  sourceHandle: string;
  target: string;
  label?: string;
}

export interface Flow {
  nodes: FlowNode[];
  edges: FlowEdge[];
}

export function edgeId(source: string, handle: string): string {
  return `${source}:${handle}`;
}

function edge(source: string, handle: string, target: unknown, label = ""): FlowEdge[] {
  if (typeof target !== "string" || !target) return [];
  return [{ id: edgeId(source, handle), source, sourceHandle: handle, target, ...(label ? { label } : {}) }];
}

/** A block without its edges, and its edges: the two halves a node and the canvas's edges hold. */
export function splitBlock(id: string, raw: Record<string, unknown>): { block: Block; edges: FlowEdge[] } {
  const block = structuredClone(raw) as Block;
  const edges: FlowEdge[] = [];
  for (const out of outputs(block)) {
    if (out.handle === "next" || out.handle === "true" || out.handle === "false" || out.handle === "default") {
      edges.push(...edge(id, out.handle, block[out.handle], out.label));
    }
  }
  delete block.next;
  delete block.true;
  delete block.false;
  delete block.default;
  if ((block.type === "multi_split" || block.type === "random_split") && Array.isArray(block.branches)) {
    block.branches = (block.branches as Record<string, unknown>[]).map((branch, i) => {
      const { next, ...rest } = branch;
      edges.push(...edge(id, `branch-${i}`, next, outputs(block)[i]?.label));
      return rest;
    });
  }
  return { block, edges };
}

/** A definition as the canvas shows it, laid out. */
export function toFlow(definition: Definition): Flow {
  const nodes: FlowNode[] = [{ id: TRIGGER_ID, type: "trigger", position: { x: 0, y: 0 }, data: { trigger: structuredClone(definition.trigger) } }];
  const edges: FlowEdge[] = [...edge(TRIGGER_ID, START_HANDLE, definition.workflow.start)];
  for (const [id, raw] of Object.entries(definition.workflow.blocks)) {
    const split = splitBlock(id, raw);
    nodes.push({ id, type: "block", position: { x: 0, y: 0 }, data: { block: split.block } });
    edges.push(...split.edges);
  }
  return layout({ nodes, edges });
}

/** The canvas as a definition's workflow and trigger (name, filters and settings are kept beside it). */
export function fromFlow(flow: Flow): { trigger: Trigger; workflow: Workflow } {
  const trigger = flow.nodes.find((n) => n.type === "trigger")?.data.trigger ?? blankTrigger("event");
  const target = (source: string, handle: string) =>
    flow.edges.find((e) => e.source === source && e.sourceHandle === handle && flow.nodes.some((n) => n.id === e.target))?.target;
  const blocks: Record<string, Record<string, unknown>> = {};
  for (const node of flow.nodes) {
    if (node.type !== "block" || !node.data.block) continue;
    const block: Record<string, unknown> = structuredClone(node.data.block);
    for (const out of outputs(node.data.block)) {
      const to = target(node.id, out.handle);
      if (out.handle.startsWith("branch-")) {
        const i = Number(out.handle.slice("branch-".length));
        const branches = block.branches as Record<string, unknown>[];
        if (to && branches[i]) branches[i] = { ...branches[i], next: to };
      } else if (to) {
        block[out.handle] = to;
      }
    }
    blocks[node.id] = block;
  }
  return { trigger: structuredClone(trigger), workflow: { start: target(TRIGGER_ID, START_HANDLE) ?? "", blocks } };
}

export const LAYER_HEIGHT = 150;
export const COLUMN_WIDTH = 260;

/**
 * A layered top-down layout: each node on the layer below the deepest of the nodes leading to it
 * (longest path from the trigger, edges closing a cycle ignored), nodes of a layer side by side in the
 * order their parents' outputs reach them, centred. Blocks nothing reaches go on a last layer.
 */
export function layout(flow: Flow): Flow {
  const children = new Map<string, string[]>();
  for (const node of flow.nodes) children.set(node.id, []);
  // Outputs in handle order (yes before no, branch 1 before 2), so siblings keep a stable left-to-right order.
  const order = (e: FlowEdge) => {
    const node = flow.nodes.find((n) => n.id === e.source);
    const outs = node?.data.block ? outputs(node.data.block).map((o) => o.handle) : [START_HANDLE];
    return outs.indexOf(e.sourceHandle);
  };
  for (const e of [...flow.edges].sort((a, b) => order(a) - order(b))) children.get(e.source)?.push(e.target);

  // Longest-path layering over the graph without its back edges (a depth-first search finds them).
  const layer = new Map<string, number>();
  const onPath = new Set<string>();
  const forward: [string, string][] = [];
  const seen = new Set<string>();
  const visit = (id: string) => {
    seen.add(id);
    onPath.add(id);
    for (const child of children.get(id) ?? []) {
      if (onPath.has(child)) continue; // a cycle's closing edge (through a delay): drawn, not layered
      forward.push([id, child]);
      if (!seen.has(child)) visit(child);
    }
    onPath.delete(id);
  };
  if (children.has(TRIGGER_ID)) visit(TRIGGER_ID);
  const reached = [...seen];
  layer.set(TRIGGER_ID, 0);
  // Relax in topological order (reverse post-order would do; repeated passes are plenty for ≤ 200 blocks).
  for (let pass = 0; pass < reached.length; pass++) {
    let changed = false;
    for (const [from, to] of forward) {
      const depth = (layer.get(from) ?? 0) + 1;
      if ((layer.get(to) ?? -1) < depth) {
        layer.set(to, depth);
        changed = true;
      }
    }
    if (!changed) break;
  }
  const deepest = Math.max(0, ...layer.values());
  const rows = new Map<number, string[]>();
  // Breadth-first from the trigger gives each row its left-to-right order.
  const queue = [TRIGGER_ID];
  const placed = new Set<string>();
  while (queue.length) {
    const id = queue.shift()!;
    if (placed.has(id) || !layer.has(id)) continue;
    placed.add(id);
    const row = layer.get(id)!;
    rows.set(row, [...(rows.get(row) ?? []), id]);
    queue.push(...(children.get(id) ?? []));
  }
  const unreached = flow.nodes.filter((n) => !placed.has(n.id)).map((n) => n.id);
  if (unreached.length) rows.set(deepest + 1, unreached);
  const position = new Map<string, { x: number; y: number }>();
  for (const [row, ids] of rows) {
    ids.forEach((id, i) => position.set(id, { x: (i - (ids.length - 1) / 2) * COLUMN_WIDTH, y: row * LAYER_HEIGHT }));
  }
  return { nodes: flow.nodes.map((n) => ({ ...n, position: position.get(n.id) ?? n.position })), edges: flow.edges };
}

/** A block id not yet used: b1, b2, ... */
export function nextBlockId(flow: Flow): string {
  const used = new Set(flow.nodes.map((n) => n.id));
  for (let n = 1; ; n++) if (!used.has(`b${n}`)) return `b${n}`;
}

/** Points an output at a target (or nowhere: null), replacing what it pointed at. */
export function connect(flow: Flow, source: string, handle: string, target: string | null): Flow {
  const edges = flow.edges.filter((e) => !(e.source === source && e.sourceHandle === handle));
  if (target) {
    const node = flow.nodes.find((n) => n.id === source);
    const label = node?.data.block ? outputs(node.data.block).find((o) => o.handle === handle)?.label : "";
    edges.push({ id: edgeId(source, handle), source, sourceHandle: handle, target, ...(label ? { label } : {}) });
  }
  return { nodes: flow.nodes, edges };
}

/**
 * A new block on an output. What the output led to before follows the new block (its first output), so
 * adding a delay between two sends keeps the journey going. Answers the new flow, laid out, and the id.
 */
export function addAfter(flow: Flow, source: string, handle: string, type: BlockType): { flow: Flow; id: string } {
  const id = nextBlockId(flow);
  const block = blankBlock(type);
  const previous = flow.edges.find((e) => e.source === source && e.sourceHandle === handle)?.target;
  let next: Flow = { nodes: [...flow.nodes, { id, type: "block", position: { x: 0, y: 0 }, data: { block } }], edges: flow.edges };
  next = connect(next, source, handle, id);
  const first = outputs(block)[0];
  if (previous && first) next = connect(next, id, first.handle, previous);
  return { flow: layout(next), id };
}

/** Removes a block; what led to it leads to what its first output led to (or nowhere). */
export function removeBlock(flow: Flow, id: string): Flow {
  const node = flow.nodes.find((n) => n.id === id);
  if (!node || node.type !== "block") return flow;
  const first = node.data.block ? outputs(node.data.block)[0] : undefined;
  const after = first && flow.edges.find((e) => e.source === id && e.sourceHandle === first.handle)?.target;
  const edges: FlowEdge[] = [];
  for (const e of flow.edges) {
    if (e.source === id) continue;
    if (e.target === id) {
      if (after && after !== e.source) edges.push({ ...e, target: after });
      continue;
    }
    edges.push(e);
  }
  return layout({ nodes: flow.nodes.filter((n) => n.id !== id), edges });
}

/**
 * A block's new fields. Outputs that no longer exist (a split with fewer branches) lose their edges;
 * labels follow (a random split's percentages).
 */
export function updateBlock(flow: Flow, id: string, block: Block): Flow {
  const handles = new Map(outputs(block).map((o) => [o.handle, o.label]));
  const nodes = flow.nodes.map((n) => (n.id === id ? { ...n, data: { block } } : n));
  const edges = flow.edges
    .filter((e) => e.source !== id || handles.has(e.sourceHandle))
    .map((e) => {
      if (e.source !== id) return e;
      const label = handles.get(e.sourceHandle);
      const { label: _old, ...rest } = e;
      return label ? { ...rest, label } : rest;
    });
  return { nodes, edges };
}

export function updateTrigger(flow: Flow, trigger: Trigger): Flow {
  return { nodes: flow.nodes.map((n) => (n.type === "trigger" ? { ...n, data: { trigger } } : n)), edges: flow.edges };
}

/**
 * Which node an API error's pointer concerns: "campaign/workflow/blocks/b3/next" -> "b3",
 * "campaign/trigger/name" -> the trigger, "campaign/workflow/start" -> the trigger (its output is the
 * start). Other fields (name, settings) belong to no node.
 */
export function nodeOfPointer(pointer: string): string | null {
  const path = pointer.replace(/^\//, "").replace(/^campaign\//, "");
  const block = /^workflow\/blocks\/([^/]+)/.exec(path);
  if (block) return decodeURIComponent(block[1]!.replace(/~1/g, "/").replace(/~0/g, "~"));
  if (path === "trigger" || path.startsWith("trigger/") || path === "workflow/start") return TRIGGER_ID;
  return null;
}

/**
 * The API's field errors grouped by the node they concern (the rest under null). A message names its
 * whole path ("campaign.workflow.blocks.b1.template_id: unknown template 9"): on its node, the part
 * naming the node goes ("template_id: unknown template 9").
 */
export function errorsByNode(fields: Record<string, string>): Map<string | null, string[]> {
  const found = new Map<string | null, string[]>();
  for (const [pointer, message] of Object.entries(fields)) {
    const node = nodeOfPointer(pointer);
    const prefix = node === null ? "" : node === TRIGGER_ID ? "campaign." : `campaign.workflow.blocks.${node}.`;
    const shown = prefix && message.startsWith(prefix) ? message.slice(prefix.length) : message;
    found.set(node, [...(found.get(node) ?? []), shown]);
  }
  return found;
}

/** A short human summary of a block, shown on its node. */
export function describeBlock(block: Block, templateName?: (id: string) => string | undefined): string {
  switch (block.type) {
    case "send": {
      const id = String(block.template_id ?? "");
      const name = id ? (templateName?.(id) ?? `template ${id}`) : "no template chosen";
      return `${String(block.channel).replace("_", "-")}: ${name}`;
    }
    case "delay":
      return `wait ${duration(Number(block.seconds ?? 0))}`;
    case "wait_until":
      return `${describeCondition(block.condition)}${block.max_seconds ? `, at most ${duration(Number(block.max_seconds))}` : ""}`;
    case "time_window": {
      const hours = (block.hours as number[] | undefined) ?? [0, 24];
      const days = (block.days as string[] | undefined) ?? [...DAYS];
      return `${hours[0]}:00–${hours[1]}:00, ${days.join(" ")}`;
    }
    case "branch":
      return `yes if ${describeCondition(block.condition)}`;
    case "multi_split": {
      const count = (block.branches as unknown[] | undefined)?.length ?? 0;
      return `${count} ${count === 1 ? "branch" : "branches"} + otherwise`;
    }
    case "random_split":
      return ((block.branches as { percent?: number }[] | undefined) ?? []).map((b) => `${b.percent ?? 0}%`).join(" / ");
    case "set_attribute":
      return `${String(block.attribute || "…")} = ${JSON.stringify(block.value ?? null)}`;
    case "segment":
      return `${block.action === "remove" ? "remove from" : "add to"} segment ${String(block.segment_id || "…")}`;
    case "exit":
      return "the journey ends";
  }
}

/** A condition in a few words: "plan is pro", "did purchased", "in segment 3", "all of 2 conditions". */
export function describeCondition(condition: unknown): string {
  if (!condition || typeof condition !== "object") return "…";
  const [key, value] = Object.entries(condition as Record<string, unknown>)[0] ?? ["", null];
  const inner = (value ?? {}) as Record<string, unknown>;
  switch (key) {
    case "attribute": {
      const op = ATTRIBUTE_OPERATORS.find((o) => o.value === inner.operator);
      const shown = op?.takes === "none" || inner.value === undefined ? "" : ` ${typeof inner.value === "object" ? JSON.stringify(inner.value) : String(inner.value)}`;
      return `${String(inner.field || "…")} ${op?.label ?? String(inner.operator)}${shown}`;
    }
    case "event":
      return `${inner.performed === false ? "did not do" : "did"} ${String(inner.name || "…")}`;
    case "segment":
      return `${inner.operator === "not_in" ? "not in" : "in"} segment ${String(inner.id || "…")}`;
    case "and":
    case "or":
      return `${key === "and" ? "all" : "any"} of ${Array.isArray(value) ? value.length : 0} conditions`;
    case "not":
      return `not (${describeCondition(value)})`;
    default:
      return `a ${key} condition`;
  }
}

export function describeTrigger(trigger: Trigger): string {
  switch (trigger.type) {
    case "event":
      return `event ${String(trigger.name || "…")}${trigger.filters ? " (filtered)" : ""}`;
    case "segment_entry":
      return `enters segment ${String(trigger.segment_id || "…")}`;
    case "segment_exit":
      return `leaves segment ${String(trigger.segment_id || "…")}`;
    case "attribute_change":
      return `${String(trigger.attribute || "…")} changes${trigger.to !== undefined && trigger.to !== null ? ` to ${JSON.stringify(trigger.to)}` : ""}`;
    case "date_attribute": {
      const offset = Number(trigger.offset_seconds ?? 0);
      return `${String(trigger.attribute || "…")}${offset ? ` ${offset < 0 ? "−" : "+"} ${duration(Math.abs(offset))}` : ""}`;
    }
    case "api":
      return "POST /v1/campaigns/{id}/triggers";
    case "broadcast":
      return `segment ${String(trigger.segment_id || "…")}${trigger.send_at ? " at a set time" : " at activation"}`;
  }
}

export const UNITS = [
  { unit: "days", seconds: 86400 },
  { unit: "hours", seconds: 3600 },
  { unit: "minutes", seconds: 60 },
  { unit: "seconds", seconds: 1 },
] as const;

/** Seconds in the largest unit that divides them: 172800 -> {amount: 2, unit: "days"}. */
export function toUnits(seconds: number): { amount: number; unit: (typeof UNITS)[number]["unit"] } {
  for (const u of UNITS) if (seconds > 0 && seconds % u.seconds === 0) return { amount: seconds / u.seconds, unit: u.unit };
  return { amount: seconds, unit: "seconds" };
}

export function duration(seconds: number): string {
  const { amount, unit } = toUnits(seconds);
  return `${amount} ${amount === 1 ? unit.slice(0, -1) : unit}`;
}
