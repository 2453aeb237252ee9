import { Alert, Button, Checkbox, Group, NativeSelect, NumberInput, Paper, Stack, Switch, Text, TextInput, Title } from "@mantine/core";
import { useState } from "react";
import { api, type ApiError } from "../api/client";
import type { Segment } from "../api/types";
import { asTyped } from "../components/numbers";
import { useApi } from "../components/useApi";
import type { Topic } from "../pages/SubscriptionTopics";
import { ConditionEditor } from "../segments/ConditionEditor";
import {
  BLOCK_LABELS,
  BLOCK_TYPES,
  CHANNELS,
  DAYS,
  TRIGGER_ID,
  TRIGGER_LABELS,
  TRIGGER_TYPES,
  UNITS,
  addAfter,
  blankTrigger,
  connect,
  describeBlock,
  outputs,
  removeBlock,
  toUnits,
  updateBlock,
  updateTrigger,
  type Block,
  type BlockType,
  type Condition,
  type Flow,
  type Output,
  type Trigger,
  type TriggerType,
} from "./graph";

export interface Template {
  id: string | number;
  name: string;
  channel: string;
}

interface Props {
  flow: Flow;
  selected: string;
  onSelect(id: string): void;
  onChange(flow: Flow): void;
  templates: Template[];
  segments: Segment[];
  error?: ApiError;
  nodeErrors: string[];
  readOnly: boolean;
}

/** Seconds as an amount and a unit, both labelled. */
function Duration({ label, seconds, onChange, error, readOnly, min = 1 }: { label: string; seconds: number; onChange(s: number): void; error?: string; readOnly: boolean; min?: number }) {
  const { amount, unit } = toUnits(seconds);
  const factor = UNITS.find((u) => u.unit === unit)!.seconds;
  return (
    <Group align="flex-start" gap="xs" wrap="nowrap">
      <NumberInput label={label} min={min} value={amount} readOnly={readOnly} onChange={(v) => onChange(Math.max(0, Math.round(Number(v) || 0)) * factor)} error={error} w={140} />
      <NativeSelect
        label={`${label}: unit`}
        value={unit}
        disabled={readOnly}
        onChange={(e) => onChange(amount * UNITS.find((u) => u.unit === e.currentTarget.value)!.seconds)}
        data={UNITS.map((u) => u.unit)}
      />
    </Group>
  );
}

function segmentOptions(segments: Segment[], manualOnly = false) {
  return [{ value: "", label: "Choose a segment" }, ...segments.filter((s) => !manualOnly || s.type === "manual").map((s) => ({ value: String(s.id), label: `${s.name} (${s.id})` }))];
}

function TriggerFields({ trigger, onChange, segments, error, err, readOnly }: { trigger: Trigger; onChange(t: Trigger): void; segments: Segment[]; error?: ApiError; err(field: string): string | undefined; readOnly: boolean }) {
  const set = (patch: Record<string, unknown>) => onChange({ ...trigger, ...patch });
  const [hasTo, setHasTo] = useState(trigger.to !== undefined && trigger.to !== null);
  return (
    <Stack gap="xs">
      <NativeSelect
        label="Trigger"
        value={trigger.type}
        disabled={readOnly}
        onChange={(e) => onChange(blankTrigger(e.currentTarget.value as TriggerType))}
        data={TRIGGER_TYPES.map((t) => ({ value: t, label: TRIGGER_LABELS[t] }))}
        error={err("type")}
      />
      {trigger.type === "event" && (
        <>
          <TextInput label="Event name" required value={String(trigger.name ?? "")} readOnly={readOnly} onChange={(e) => set({ name: e.currentTarget.value })} error={err("name")} />
          <Switch
            label="Only events whose data match"
            checked={Boolean(trigger.filters)}
            disabled={readOnly}
            onChange={(e) => set({ filters: e.currentTarget.checked ? { and: [{ attribute: { field: "", operator: "eq", value: "" } }] } : null })}
          />
          {Boolean(trigger.filters) && (
            <ConditionEditor value={trigger.filters as Condition} onChange={(filters) => set({ filters })} path="campaign/trigger/filters" error={error} segments={segments} readOnly={readOnly} attributesOnly />
          )}
          {err("filters") && (
            <Text size="xs" c="red">
              {err("filters")}
            </Text>
          )}
        </>
      )}
      {(trigger.type === "segment_entry" || trigger.type === "segment_exit" || trigger.type === "broadcast") && (
        <NativeSelect label="Segment" value={String(trigger.segment_id ?? "")} disabled={readOnly} onChange={(e) => set({ segment_id: e.currentTarget.value })} data={segmentOptions(segments)} error={err("segment_id")} />
      )}
      {trigger.type === "broadcast" && (
        <TextInput
          label="Send at (optional, local date and time)"
          type="datetime-local"
          value={trigger.send_at ? new Date(Number(trigger.send_at) * 1000 - new Date().getTimezoneOffset() * 60000).toISOString().slice(0, 16) : ""}
          readOnly={readOnly}
          onChange={(e) => set({ send_at: e.currentTarget.value ? Math.floor(new Date(e.currentTarget.value).getTime() / 1000) : null })}
          error={err("send_at")}
        />
      )}
      {(trigger.type === "attribute_change" || trigger.type === "date_attribute") && (
        <TextInput label="Attribute" required value={String(trigger.attribute ?? "")} readOnly={readOnly} onChange={(e) => set({ attribute: e.currentTarget.value })} error={err("attribute")} />
      )}
      {trigger.type === "attribute_change" && (
        <>
          <Switch
            label="Only when it changes to a given value"
            checked={hasTo}
            disabled={readOnly}
            onChange={(e) => {
              setHasTo(e.currentTarget.checked);
              const { to: _to, ...rest } = trigger;
              onChange(e.currentTarget.checked ? { ...rest, to: "" } : (rest as Trigger));
            }}
          />
          {hasTo && <TextInput label="New value" value={String(trigger.to ?? "")} readOnly={readOnly} onChange={(e) => set({ to: e.currentTarget.value })} error={err("to")} />}
        </>
      )}
      {trigger.type === "date_attribute" && (
        <NumberInput
          label="Offset in days (negative: before the date)"
          value={Number(trigger.offset_seconds ?? 0) / 86400}
          readOnly={readOnly}
          onChange={(v) => set({ offset_seconds: Math.round((Number(v) || 0) * 86400) })}
          error={err("offset_seconds")}
          decimalScale={3}
        />
      )}
      {trigger.type === "api" && (
        <Text size="sm" c="dimmed">
          Started by <code>POST /v1/campaigns/{"{id}"}/triggers</code>, or from here with “Send to a segment” once active.
        </Text>
      )}
    </Stack>
  );
}

// The channels people unsubscribe from by topic (the API refuses a topic on in-app and webhook sends).
const TOPIC_CHANNELS = new Set(["email", "sms", "push"]);

/** A send block's subscription topic: people who left it (or never joined an opt-in one) are not sent it. */
function TopicSelect({ value, onChange, error, readOnly }: { value: unknown; onChange(topic: number | undefined): void; error?: string; readOnly: boolean }) {
  const topics = useApi((signal) => api.get<{ topics: Topic[] }>("/v1/subscription_topics", { signal }), []);
  const found = topics.data?.topics ?? [];
  return (
    <NativeSelect
      label="Subscription topic"
      description="Only people subscribed to it are sent this message"
      value={value === undefined || value === null ? "" : String(value)}
      disabled={readOnly || !topics.data}
      onChange={(e) => onChange(e.currentTarget.value ? Number(e.currentTarget.value) : undefined)}
      data={[{ value: "", label: found.length ? "None (everyone not unsubscribed)" : "No topics yet (Settings, Subscriptions)" }, ...found.map((t) => ({ value: String(t.id), label: t.name }))]}
      error={error ?? topics.error?.message}
    />
  );
}

function BlockFields({ id, block, onChange, templates, segments, error, err, readOnly }: { id: string; block: Block; onChange(b: Block): void; templates: Template[]; segments: Segment[]; error?: ApiError; err(field: string): string | undefined; readOnly: boolean }) {
  const set = (patch: Record<string, unknown>) => onChange({ ...block, ...patch });
  const here = `campaign/workflow/blocks/${id}`;
  switch (block.type) {
    case "send": {
      const ofChannel = templates.filter((t) => t.channel === block.channel);
      return (
        <Stack gap="xs">
          <NativeSelect
            label="Channel"
            value={String(block.channel)}
            disabled={readOnly}
            onChange={(e) => {
              const channel = e.currentTarget.value;
              const topic = TOPIC_CHANNELS.has(channel) ? block.topic_id : undefined;
              // The template is the marketer's choice: a block never sends content nobody picked.
              set({ channel, template_id: "", topic_id: topic });
            }}
            data={CHANNELS.map((c) => ({ value: c, label: c.replace("_", "-") }))}
            error={err("channel")}
          />
          <NativeSelect
            label="Template"
            value={String(block.template_id ?? "")}
            disabled={readOnly}
            onChange={(e) => set({ template_id: e.currentTarget.value })}
            data={[{ value: "", label: ofChannel.length ? "Choose a template" : `No ${String(block.channel)} templates yet` }, ...ofChannel.map((t) => ({ value: String(t.id), label: t.name }))]}
            error={err("template_id")}
          />
          {TOPIC_CHANNELS.has(String(block.channel)) && <TopicSelect value={block.topic_id} onChange={(topic_id) => set({ topic_id })} error={err("topic_id")} readOnly={readOnly} />}
        </Stack>
      );
    }
    case "delay":
      return <Duration label="Wait for" seconds={Number(block.seconds ?? 0)} onChange={(seconds) => set({ seconds })} error={err("seconds")} readOnly={readOnly} />;
    case "wait_until":
      return (
        <Stack gap="xs">
          <Text size="sm" fw={600}>
            Wait until
          </Text>
          <ConditionEditor value={block.condition as Condition} onChange={(condition) => set({ condition })} path={`${here}/condition`} error={error} segments={segments} readOnly={readOnly} />
          <Duration label="Check every" seconds={Number(block.poll_seconds ?? 3600)} onChange={(poll_seconds) => set({ poll_seconds })} error={err("poll_seconds")} readOnly={readOnly} />
          <Switch label="Give up after a while" checked={block.max_seconds !== null && block.max_seconds !== undefined} disabled={readOnly} onChange={(e) => set({ max_seconds: e.currentTarget.checked ? 604800 : null })} />
          {block.max_seconds !== null && block.max_seconds !== undefined && (
            <>
              <Duration label="At most" seconds={Number(block.max_seconds)} onChange={(max_seconds) => set({ max_seconds })} error={err("max_seconds")} readOnly={readOnly} />
              <NativeSelect
                label="Then"
                value={String(block.on_timeout ?? "continue")}
                disabled={readOnly}
                onChange={(e) => set({ on_timeout: e.currentTarget.value })}
                data={[
                  { value: "continue", label: "carry on with the next block" },
                  { value: "exit", label: "exit the journey" },
                ]}
                error={err("on_timeout")}
              />
            </>
          )}
        </Stack>
      );
    case "time_window": {
      const hours = (block.hours as (number | undefined)[] | undefined) ?? [0, 24];
      const days = (block.days as string[] | undefined) ?? [...DAYS];
      return (
        <Stack gap="xs">
          <Group gap="xs" grow>
            <NumberInput label="From hour" min={0} max={24} value={hours[0] ?? ""} readOnly={readOnly} onChange={(v) => set({ hours: [asTyped(v), hours[1]] })} error={err("hours")} />
            <NumberInput label="Until hour" min={0} max={24} value={hours[1] ?? ""} readOnly={readOnly} onChange={(v) => set({ hours: [hours[0], asTyped(v)] })} />
          </Group>
          <Checkbox.Group label="Days" value={days} onChange={(value) => set({ days: DAYS.filter((d) => value.includes(d)) })} error={err("days")}>
            <Group gap="xs" mt={4}>
              {DAYS.map((d) => (
                <Checkbox key={d} value={d} label={d} disabled={readOnly} />
              ))}
            </Group>
          </Checkbox.Group>
        </Stack>
      );
    }
    case "branch":
      return (
        <Stack gap="xs">
          <Text size="sm" fw={600}>
            Yes when
          </Text>
          <ConditionEditor value={block.condition as Condition} onChange={(condition) => set({ condition })} path={`${here}/condition`} error={error} segments={segments} readOnly={readOnly} />
        </Stack>
      );
    case "multi_split": {
      const branches = (block.branches as { condition: Condition }[]) ?? [];
      return (
        <Stack gap="xs">
          {branches.map((branch, i) => (
            <Paper key={i} withBorder p="xs">
              <Text size="sm" fw={600}>
                Branch {i + 1} when
              </Text>
              <ConditionEditor
                value={branch.condition}
                onChange={(condition) => set({ branches: branches.map((b, j) => (j === i ? { ...b, condition } : b)) })}
                path={`${here}/branches/${i}/condition`}
                error={error}
                segments={segments}
                readOnly={readOnly}
              />
              {!readOnly && branches.length > 1 && (
                <Button size="compact-xs" variant="subtle" color="gray" onClick={() => set({ branches: branches.filter((_, j) => j !== i) })}>
                  Remove branch {i + 1}
                </Button>
              )}
            </Paper>
          ))}
          {!readOnly && branches.length < 20 && (
            <Button size="xs" variant="light" w="fit-content" onClick={() => set({ branches: [...branches, { condition: { attribute: { field: "", operator: "eq", value: "" } } }] })}>
              + Add branch
            </Button>
          )}
          <Text size="xs" c="dimmed">
            The first branch whose condition holds is taken; otherwise the “otherwise” output.
          </Text>
        </Stack>
      );
    }
    case "random_split": {
      const branches = (block.branches as { percent: number }[]) ?? [];
      const total = branches.reduce((sum, b) => sum + (Number(b.percent) || 0), 0);
      return (
        <Stack gap="xs">
          {branches.map((branch, i) => (
            <Group key={i} gap="xs" align="flex-end">
              <NumberInput label={`Cohort ${i + 1} (%)`} min={1} max={100} value={branch.percent} readOnly={readOnly} onChange={(v) => set({ branches: branches.map((b, j) => (j === i ? { ...b, percent: Number(v) || 0 } : b)) })} error={err(`branches/${i}/percent`)} w={130} />
              {!readOnly && branches.length > 2 && (
                <Button size="compact-xs" variant="subtle" color="gray" onClick={() => set({ branches: branches.filter((_, j) => j !== i) })}>
                  Remove cohort {i + 1}
                </Button>
              )}
            </Group>
          ))}
          {!readOnly && branches.length < 10 && (
            <Button size="xs" variant="light" w="fit-content" onClick={() => set({ branches: [...branches, { percent: 0 }] })}>
              + Add cohort
            </Button>
          )}
          <Text size="xs" c={total === 100 ? "dimmed" : "red"}>
            {total}% of 100% assigned{err("branches") ? `: ${err("branches")}` : ""}
          </Text>
        </Stack>
      );
    }
    case "set_attribute":
      return (
        <Stack gap="xs">
          <TextInput label="Attribute" required value={String(block.attribute ?? "")} readOnly={readOnly} onChange={(e) => set({ attribute: e.currentTarget.value })} error={err("attribute")} />
          <TextInput
            label="Value (JSON: true, 3, &quot;text&quot;; anything else is text)"
            value={typeof block.value === "string" ? block.value : JSON.stringify(block.value)}
            readOnly={readOnly}
            onChange={(e) => {
              const text = e.currentTarget.value;
              let value: unknown = text;
              try {
                value = JSON.parse(text);
              } catch {
                value = text;
              }
              set({ value });
            }}
            error={err("value")}
          />
        </Stack>
      );
    case "segment":
      return (
        <Stack gap="xs">
          <NativeSelect
            label="Action"
            value={String(block.action)}
            disabled={readOnly}
            onChange={(e) => set({ action: e.currentTarget.value })}
            data={[
              { value: "add", label: "Add to the segment" },
              { value: "remove", label: "Remove from the segment" },
            ]}
            error={err("action")}
          />
          <NativeSelect label="Manual segment" value={String(block.segment_id ?? "")} disabled={readOnly} onChange={(e) => set({ segment_id: e.currentTarget.value })} data={segmentOptions(segments, true)} error={err("segment_id")} />
        </Stack>
      );
    case "exit":
      return (
        <Text size="sm" c="dimmed">
          The journey ends here.
        </Text>
      );
  }
}

function outputLabel(out: Output, count: number): string {
  if (count === 1 && !out.label) return "Then";
  if (out.handle === "true") return "If yes, then";
  if (out.handle === "false") return "If no, then";
  if (out.handle === "default") return "Otherwise, then";
  return `${out.label[0]!.toUpperCase()}${out.label.slice(1)}, then`;
}

/** The side panel: the selected node's fields, where its outputs lead, adding a block after it. */
export function NodePanel({ flow, selected, onSelect, onChange, templates, segments, error, nodeErrors, readOnly }: Props) {
  const node = flow.nodes.find((n) => n.id === selected) ?? flow.nodes[0]!;
  const isTrigger = node.type === "trigger";
  const outs: Output[] = isTrigger ? [{ handle: "start", label: "" }] : outputs(node.data.block!);
  const [after, setAfter] = useState(outs[0]?.handle ?? "");
  const [type, setType] = useState<BlockType>("send");
  const prefix = isTrigger ? "campaign/trigger" : `campaign/workflow/blocks/${node.id}`;
  const err = (field: string) => error?.field(`${prefix}/${field}`);
  const target = (handle: string) => flow.edges.find((e) => e.source === node.id && e.sourceHandle === handle)?.target ?? "";
  const chosenAfter = outs.some((o) => o.handle === after) ? after : (outs[0]?.handle ?? "");
  const name = (id: string) => {
    const other = flow.nodes.find((n) => n.id === id);
    return other?.data.block ? `${id}: ${BLOCK_LABELS[other.data.block.type]} (${describeBlock(other.data.block, (t) => templates.find((x) => String(x.id) === t)?.name)})` : id;
  };

  function add() {
    // A new send starts with no template ("Choose a template"): saving refuses it until one is picked.
    const added = addAfter(flow, node.id, chosenAfter, type);
    onChange(added.flow);
    onSelect(added.id);
  }

  return (
    <Stack gap="sm" aria-label="Selected block" role="region">
      <NativeSelect
        label="Selected block"
        value={node.id}
        onChange={(e) => onSelect(e.currentTarget.value)}
        data={flow.nodes.map((n) => ({ value: n.id, label: n.type === "trigger" ? "Trigger" : name(n.id) }))}
      />
      <Title order={4}>{isTrigger ? "Trigger" : `${BLOCK_LABELS[node.data.block!.type]} (${node.id})`}</Title>
      {nodeErrors.length > 0 && (
        <Alert color="red" role="alert" title="The API refused this block">
          {nodeErrors.map((m) => (
            <Text key={m} size="sm">
              {m}
            </Text>
          ))}
        </Alert>
      )}
      {isTrigger ? (
        <TriggerFields key={node.data.trigger!.type} trigger={node.data.trigger!} onChange={(t) => onChange(updateTrigger(flow, t))} segments={segments} error={error} err={err} readOnly={readOnly} />
      ) : (
        <BlockFields id={node.id} block={node.data.block!} onChange={(b) => onChange(updateBlock(flow, node.id, b))} templates={templates} segments={segments} error={error} err={err} readOnly={readOnly} />
      )}
      {outs.length > 0 && (
        <Stack gap="xs">
          {outs.map((out) => (
            <NativeSelect
              key={out.handle}
              label={isTrigger ? "First block" : outputLabel(out, outs.length)}
              value={target(out.handle)}
              disabled={readOnly}
              onChange={(e) => onChange(connect(flow, node.id, out.handle, e.currentTarget.value || null))}
              data={[{ value: "", label: isTrigger ? "(none yet)" : "End the journey" }, ...flow.nodes.filter((n) => n.type === "block" && n.id !== node.id).map((n) => ({ value: n.id, label: name(n.id) }))]}
              error={isTrigger ? error?.field("campaign/workflow/start") : err(out.handle.startsWith("branch-") ? `branches/${out.handle.slice(7)}/next` : out.handle)}
            />
          ))}
        </Stack>
      )}
      {!readOnly && outs.length > 0 && (
        <Paper withBorder p="xs">
          <Stack gap="xs">
            <Text size="sm" fw={600}>
              Add a block after this one
            </Text>
            {outs.length > 1 && (
              <NativeSelect label="On the output" value={chosenAfter} onChange={(e) => setAfter(e.currentTarget.value)} data={outs.map((o) => ({ value: o.handle, label: o.label }))} />
            )}
            <Group gap="xs" align="flex-end">
              <NativeSelect label="Block type" value={type} onChange={(e) => setType(e.currentTarget.value as BlockType)} data={BLOCK_TYPES.map((t) => ({ value: t, label: BLOCK_LABELS[t] }))} style={{ flex: 1 }} />
              <Button onClick={add}>Add block</Button>
            </Group>
          </Stack>
        </Paper>
      )}
      {!readOnly && !isTrigger && (
        <Button
          variant="subtle"
          color="red"
          w="fit-content"
          onClick={() => {
            const incoming = flow.edges.find((e) => e.target === node.id)?.source ?? TRIGGER_ID;
            onChange(removeBlock(flow, node.id));
            onSelect(incoming);
          }}
        >
          Remove block {node.id}
        </Button>
      )}
    </Stack>
  );
}
