import "@xyflow/react/dist/style.css";
import { Accordion, Alert, Anchor, Badge, Button, Group, Modal, NativeSelect, Paper, SimpleGrid, Stack, Switch, Text, TextInput, Title } from "@mantine/core";
import { useMediaQuery } from "@mantine/hooks";
import { Background, Controls, ReactFlow, useReactFlow, type Edge, type NodeChange, type EdgeChange, type Connection } from "@xyflow/react";
import { useEffect, useMemo, useRef, useState } from "react";
import { Link } from "react-router";
import { ApiError, api, seg } from "../api/client";
import { LeaveGuard } from "../components/LeaveGuard";
import type { Campaign, Segment } from "../api/types";
import { number } from "../components/format";
import { useApi } from "../components/useApi";
import { ConditionEditor } from "../segments/ConditionEditor";
import { CanvasNode, type CanvasNodeType } from "./CanvasNode";
import {
  BLOCK_LABELS,
  TRIGGER_ID,
  TRIGGER_LABELS,
  connect,
  describeBlock,
  describeTrigger,
  errorsByNode,
  fromFlow,
  layout,
  outputs,
  removeBlock,
  toFlow,
  type Condition,
  type Definition,
  type Flow,
} from "./graph";
import { NodePanel, type Template } from "./NodePanel";

const NODE_TYPES = { step: CanvasNode };
const STATE_COLORS: Record<string, string> = { active: "green", draft: "gray", paused: "yellow", archived: "dark" };

interface Metrics {
  campaign: Record<string, number>;
  blocks: Record<string, Record<string, number>>;
  not_entered: Record<string, number>;
}

/** Fits the view again when blocks are added or removed: a new block is never off screen. */
function FitOnGrowth({ count }: { count: number }) {
  const { fitView } = useReactFlow();
  const first = useRef(count);
  useEffect(() => {
    // The first view is ReactFlow's own fitView, once the nodes are measured; this only follows changes.
    if (count === first.current) return;
    first.current = -1;
    void fitView({ padding: 0.2, maxZoom: 1, duration: 200 });
  }, [count, fitView]);
  return null;
}

const NEW_CAMPAIGN: Definition = { name: "", trigger: { type: "event", name: "" }, workflow: { start: "", blocks: {} } };

function asError(failure: unknown): ApiError {
  return failure instanceof ApiError ? failure : new ApiError(0, String(failure), {});
}

/** "Send to a segment" for an API-triggered campaign: the audience's size is confirmed before it starts. */
function Broadcast({ campaignId, segments }: { campaignId: string; segments: Segment[] }) {
  const [opened, setOpened] = useState(false);
  const [segmentId, setSegmentId] = useState("");
  const [count, setCount] = useState<number | null>(null);
  const [error, setError] = useState<ApiError>();
  const [sent, setSent] = useState<string>();
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    setCount(null);
    if (!segmentId) return;
    const controller = new AbortController();
    api
      .get<{ count: number }>(`/v1/segments/${seg(segmentId)}/customer_count`, { signal: controller.signal })
      .then((answer) => setCount(answer.count))
      .catch((failure: unknown) => !controller.signal.aborted && setError(asError(failure)));
    return () => controller.abort();
  }, [segmentId]);

  async function send() {
    setBusy(true);
    setError(undefined);
    try {
      const answer = await api.post<{ id: string }>(`/v1/campaigns/${seg(campaignId)}/triggers`, { recipients: { segment: { id: segmentId } } });
      setSent(answer.id);
      setOpened(false);
    } catch (failure) {
      setError(asError(failure));
    } finally {
      setBusy(false);
    }
  }

  return (
    <>
      <Button variant="light" onClick={() => setOpened(true)}>
        Send to a segment
      </Button>
      {sent && (
        <Text size="sm" role="status">
          Broadcast {sent} started.
        </Text>
      )}
      <Modal opened={opened} onClose={() => setOpened(false)} title="Send this campaign to a segment">
        <Stack>
          <NativeSelect
            label="Segment"
            value={segmentId}
            onChange={(e) => setSegmentId(e.currentTarget.value)}
            data={[{ value: "", label: "Choose a segment" }, ...segments.map((s) => ({ value: String(s.id), label: s.name }))]}
            error={error?.field("recipients")}
          />
          {segmentId && (
            <Text size="sm" aria-live="polite" data-testid="broadcast-audience">
              {count === null ? "Counting the audience…" : `This starts a journey for ${number.format(count)} ${count === 1 ? "person" : "people"}.`}
            </Text>
          )}
          {error && !error.field("recipients") && (
            <Alert color="red" role="alert">
              {error.message}
            </Alert>
          )}
          <Group justify="flex-end">
            <Button variant="default" onClick={() => setOpened(false)}>
              Cancel
            </Button>
            <Button disabled={!segmentId || count === null} loading={busy} onClick={() => void send()}>
              {count === null ? "Send" : `Send to ${number.format(count)}`}
            </Button>
          </Group>
        </Stack>
      </Modal>
    </>
  );
}

function Settings({ definition, triggerType, onChange, segments, error, readOnly }: { definition: Definition; triggerType: string; onChange(d: Definition): void; segments: Segment[]; error?: ApiError; readOnly: boolean }) {
  const settings = definition.settings ?? {};
  const set = (patch: Record<string, unknown>) => onChange({ ...definition, settings: { ...settings, ...patch } });
  const frequency = (settings.frequency as { type?: string; seconds?: number } | undefined) ?? { type: "once" };
  const goal = settings.goal as { event?: string; segment_id?: string } | null | undefined;
  const err = (field: string) => error?.field(`campaign/settings/${field}`);
  return (
    <Stack gap="xs">
      <SimpleGrid cols={{ base: 1, sm: 2 }}>
        <NativeSelect
          label="Re-entry"
          value={frequency.type ?? "once"}
          disabled={readOnly}
          onChange={(e) => set({ frequency: e.currentTarget.value === "interval" ? { type: "interval", seconds: 2592000 } : { type: e.currentTarget.value } })}
          data={[
            { value: "once", label: "Once per person" },
            { value: "every_match", label: "Every time the trigger matches" },
            { value: "interval", label: "At most once every 30 days" },
          ]}
          error={err("frequency")}
        />
        <NativeSelect
          label="Exit"
          value={String(settings.exit ?? "at_end")}
          disabled={readOnly}
          onChange={(e) => set({ exit: e.currentTarget.value })}
          data={[
            { value: "at_end", label: "At the end of the workflow" },
            { value: "when_unmatched", label: "When they no longer match the audience filter" },
            { value: "on_goal", label: "When they meet the goal" },
          ]}
          error={err("exit")}
        />
        <TextInput
          label="Goal: an event (optional)"
          value={goal?.event ?? ""}
          readOnly={readOnly}
          onChange={(e) => set({ goal: e.currentTarget.value ? { event: e.currentTarget.value } : null })}
          error={err("goal")}
        />
        <TextInput label="Time zone (time windows' fallback)" placeholder="UTC" value={String(settings.timezone ?? "")} readOnly={readOnly} onChange={(e) => set({ timezone: e.currentTarget.value || undefined })} error={err("timezone")} />
        {(triggerType === "segment_entry" || triggerType === "broadcast") && (
          <NativeSelect
            label="Audience"
            value={String(settings.audience ?? "future_only")}
            disabled={readOnly}
            onChange={(e) => set({ audience: e.currentTarget.value })}
            data={[
              { value: "future_only", label: "Only people who enter from now on" },
              { value: "current_and_future", label: "Current members too, at activation" },
            ]}
            error={err("audience")}
          />
        )}
      </SimpleGrid>
      <Switch
        label="Only people who match an audience filter"
        checked={Boolean(definition.filters)}
        disabled={readOnly}
        onChange={(e) => onChange({ ...definition, filters: e.currentTarget.checked ? { and: [{ attribute: { field: "", operator: "eq", value: "" } }] } : null })}
      />
      {definition.filters && (
        <ConditionEditor value={definition.filters as Condition} onChange={(filters) => onChange({ ...definition, filters })} path="campaign/filters" error={error} segments={segments} readOnly={readOnly} />
      )}
    </Stack>
  );
}

/** What a definition sends: only the fields the schema allows (the campaign's answer carries more). */
function definitionOf(campaign: Campaign | null): Definition {
  if (!campaign) return structuredClone(NEW_CAMPAIGN);
  const c = campaign as unknown as Definition;
  return { name: c.name, trigger: c.trigger, filters: c.filters ?? null, workflow: c.workflow, settings: c.settings ?? {} };
}

export function Builder({ campaign, templates, segments, canEdit, onSaved }: { campaign: Campaign | null; templates: Template[]; segments: Segment[]; canEdit: boolean; onSaved(c: Campaign): void }) {
  // Read at the first render (not in an effect): the canvas fits its view to the height it starts with.
  const phone = useMediaQuery("(max-width: 48em)", window.matchMedia("(max-width: 48em)").matches, { getInitialValueInEffect: false });
  const state = campaign?.state ?? "draft";
  const readOnly = !canEdit || state === "active" || state === "archived";
  const [definition, setDefinition] = useState<Definition>(() => definitionOf(campaign));
  const [flow, setFlow] = useState<Flow>(() => toFlow(definitionOf(campaign)));
  const [selected, setSelected] = useState<string>(TRIGGER_ID);
  const [dirty, setDirty] = useState(!campaign);
  const [error, setError] = useState<ApiError>();
  const [busy, setBusy] = useState<string>();
  const [savedId, setSavedId] = useState(campaign?.id);
  // The definition as last saved ("" for a new campaign), for asking before unsaved changes are left.
  const [base, setBase] = useState(() => (campaign ? JSON.stringify(body()) : ""));

  const metrics = useApi(
    (signal) => (campaign && state !== "draft" ? api.get<{ metrics: Metrics }>(`/v1/campaigns/${seg(String(campaign.id))}/metrics`, { signal }).then((a) => a.metrics) : Promise.resolve(null)),
    [campaign?.id, state],
  );
  // While live, the canvas's counts follow the journeys (a cheap read: one query per shard).
  useEffect(() => {
    if (state !== "active") return;
    const timer = window.setInterval(metrics.reload, 10_000);
    return () => window.clearInterval(timer);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [state]);

  const change = (next: Flow) => {
    setFlow(next);
    setDirty(true);
  };
  const templateName = (id: string) => templates.find((t) => String(t.id) === id)?.name;
  const byNode = useMemo(() => errorsByNode(error?.fields ?? {}), [error]);

  const nodes: CanvasNodeType[] = flow.nodes.map((n) => {
    const counts = n.type === "trigger" ? metrics.data?.campaign : metrics.data?.blocks[n.id];
    // The counts that mean something for the node: entered on the trigger, sent on a send; others once non-zero.
    const always = n.type === "trigger" ? "entered" : n.data.block?.type === "send" ? "sent" : "";
    const shown = n.type === "trigger" ? ["entered", "in_progress", "converted", "failed"] : ["sent", "waiting", "opened", "clicked", "bounced", "skipped"];
    return {
      id: n.id,
      type: "step",
      position: n.position,
      selected: n.id === selected,
      ariaLabel: n.type === "trigger" ? `Trigger: ${TRIGGER_LABELS[n.data.trigger!.type]}, ${describeTrigger(n.data.trigger!)}` : `Block ${n.id}: ${BLOCK_LABELS[n.data.block!.type]}`,
      deletable: !readOnly && n.type === "block",
      data: {
        kind: n.type,
        title: n.type === "trigger" ? "Trigger" : BLOCK_LABELS[n.data.block!.type],
        summary: n.type === "trigger" ? describeTrigger(n.data.trigger!) : describeBlock(n.data.block!, templateName),
        outputs: n.type === "trigger" ? [{ handle: "start", label: "" }] : outputs(n.data.block!),
        errors: byNode.get(n.id) ?? [],
        metrics: metrics.data ? (shown.map((m) => [m, counts?.[m] ?? 0]).filter(([m, c]) => c || m === always) as [string, number][]) : undefined,
      },
    };
  });
  // Outputs are labelled on their handles (yes / no, 50%), so edges carry no label of their own.
  const edges: Edge[] = flow.edges.map(({ label: _label, ...e }) => ({ ...e, deletable: !readOnly }));

  function onNodesChange(changes: NodeChange<CanvasNodeType>[]) {
    let next = flow;
    for (const c of changes) {
      // Dragging moves a node for this visit only: positions are not part of a definition.
      if (c.type === "position" && c.position) next = { ...next, nodes: next.nodes.map((n) => (n.id === c.id ? { ...n, position: c.position! } : n)) };
      if (c.type === "select" && c.selected) setSelected(c.id);
      if (c.type === "remove" && !readOnly && c.id !== TRIGGER_ID) {
        next = removeBlock(next, c.id);
        setDirty(true);
        if (selected === c.id) setSelected(TRIGGER_ID);
      }
    }
    if (next !== flow) setFlow(next);
  }
  function onEdgesChange(changes: EdgeChange[]) {
    if (readOnly) return;
    let next = flow;
    for (const c of changes) {
      if (c.type !== "remove") continue;
      const e = next.edges.find((x) => x.id === c.id);
      if (e) next = connect(next, e.source, e.sourceHandle, null);
    }
    if (next !== flow) change(next);
  }
  function onConnect(c: Connection) {
    if (readOnly || !c.sourceHandle || c.target === TRIGGER_ID || c.target === c.source) return;
    change(connect(flow, c.source, c.sourceHandle, c.target));
  }

  function body(): Definition {
    const { trigger, workflow } = fromFlow(flow);
    return { ...definition, trigger, workflow };
  }

  async function run(label: string, action: () => Promise<Campaign | null>) {
    setBusy(label);
    setError(undefined);
    try {
      const answer = await action();
      if (answer) onSaved(answer);
    } catch (failure) {
      setError(asError(failure));
    } finally {
      setBusy(undefined);
    }
  }

  async function save(): Promise<Campaign> {
    const sent = body();
    const answer = savedId !== undefined
      ? await api.put<{ campaign: Campaign }>(`/v1/campaigns/${seg(String(savedId))}`, { campaign: sent })
      : await api.post<{ campaign: Campaign }>("/v1/campaigns", { campaign: sent });
    // A new campaign saved just before its activation was refused stays one campaign: later saves update it.
    setSavedId(answer.campaign.id);
    setDirty(false);
    setBase(JSON.stringify(sent));
    return answer.campaign;
  }

  const transition = (action: string) => () =>
    run(action, async () => {
      let id = savedId;
      // Activating or resuming an edited campaign saves it first: what goes live is what is on screen.
      if ((action === "activate" || action === "resume") && (dirty || id === undefined)) id = (await save()).id;
      const answer = await api.post<{ campaign: Campaign }>(`/v1/campaigns/${seg(String(id))}/${action}`);
      return answer.campaign;
    });

  const general = [...(byNode.get(null) ?? [])].filter((m) => m !== error?.field("campaign/name"));
  const unplaced = error && Object.keys(error.fields).length === 0 ? error.message : null;
  const nodeErrors = byNode.get(selected) ?? [];
  const flagged = [...byNode.keys()].filter((k): k is string => k !== null); // the trigger or blocks

  return (
    <Stack>
      {!readOnly && <LeaveGuard current={JSON.stringify(body())} base={base} />}
      <Anchor component={Link} to="/campaigns" size="sm">
        ← Campaigns
      </Anchor>
      <Group justify="space-between" align="flex-end">
        <Group align="flex-end">
          <TextInput
            label="Campaign name"
            required
            value={definition.name}
            readOnly={readOnly}
            onChange={(e) => {
              setDefinition({ ...definition, name: e.currentTarget.value });
              setDirty(true);
            }}
            error={error?.field("campaign/name")?.replace(/^campaign\.name: /, "")}
            w={280}
          />
          <Badge color={STATE_COLORS[state] ?? "gray"} variant="light" mb={8} data-testid="campaign-state">
            {state}
          </Badge>
        </Group>
        {canEdit && (
          <Group gap="xs">
            {(state === "draft" || state === "paused") && (
              <Button variant="default" loading={busy === "save"} disabled={!dirty} onClick={() => void run("save", save)}>
                {campaign ? "Save" : "Save draft"}
              </Button>
            )}
            {state === "draft" && (
              <Button loading={busy === "activate"} onClick={() => void transition("activate")()}>
                Activate
              </Button>
            )}
            {state === "active" && (
              <Button variant="default" loading={busy === "pause"} onClick={() => void transition("pause")()}>
                Pause
              </Button>
            )}
            {state === "paused" && (
              <Button loading={busy === "resume"} onClick={() => void transition("resume")()}>
                Resume
              </Button>
            )}
            {campaign && (state === "active" || state === "paused") && (
              <Button variant="subtle" color="red" loading={busy === "archive"} onClick={() => void transition("archive")()}>
                Archive
              </Button>
            )}
            {campaign && state === "active" && (campaign.trigger as { type?: string } | undefined)?.type === "api" && <Broadcast campaignId={String(campaign.id)} segments={segments} />}
          </Group>
        )}
      </Group>
      {state === "active" && canEdit && (
        <Text size="sm" c="dimmed">
          An active campaign is read only: pause it to change it (running journeys finish on the version they started with).
        </Text>
      )}
      {(unplaced || general.length > 0) && (
        <Alert color="red" role="alert" title="The campaign was not saved">
          {unplaced ?? general.join("; ")}
        </Alert>
      )}
      {flagged.length > 0 && (
        <Text size="sm" c="red" role="status">
          {flagged.length === 1 ? (flagged[0] === TRIGGER_ID ? "The trigger needs" : "1 block needs") : `${flagged.length} steps need`} attention: outlined in red.
        </Text>
      )}
      <SimpleGrid cols={{ base: 1, md: 3 }}>
        <Paper withBorder style={{ gridColumn: phone ? undefined : "span 2", height: phone ? 400 : 560 }} aria-label="Campaign canvas" role="region">
          <ReactFlow
            nodes={nodes}
            edges={edges}
            nodeTypes={NODE_TYPES}
            onNodesChange={onNodesChange}
            onEdgesChange={onEdgesChange}
            onConnect={onConnect}
            nodesConnectable={!readOnly}
            deleteKeyCode={readOnly ? null : ["Delete", "Backspace"]}
            fitView
            fitViewOptions={{ padding: 0.2, maxZoom: 1 }}
            minZoom={0.2}
            panOnScroll={!phone}
          >
            <Background />
            <Controls showInteractive={false} />
            <FitOnGrowth count={flow.nodes.length} />
          </ReactFlow>
        </Paper>
        <Paper withBorder p="sm">
          <NodePanel
            key={selected}
            flow={flow}
            selected={selected}
            onSelect={setSelected}
            onChange={change}
            templates={templates}
            segments={segments}
            error={error}
            nodeErrors={nodeErrors}
            readOnly={readOnly}
          />
        </Paper>
      </SimpleGrid>
      <Group gap="xs">
        <Button size="xs" variant="subtle" onClick={() => setFlow(layout(flow))}>
          Tidy the layout
        </Button>
        {metrics.data && (
          <Text size="sm" c="dimmed" data-testid="campaign-metrics">
            entered {number.format(metrics.data.campaign.entered ?? 0)} · in progress {number.format(metrics.data.campaign.in_progress ?? 0)} · converted{" "}
            {number.format(metrics.data.campaign.converted ?? 0)} · sent {number.format(metrics.data.campaign.sent ?? 0)}
          </Text>
        )}
      </Group>
      <Accordion variant="contained">
        <Accordion.Item value="settings">
          <Accordion.Control>
            <Title order={5}>Settings: re-entry, exit, goal, audience filter</Title>
          </Accordion.Control>
          <Accordion.Panel>
            <Settings
              definition={definition}
              triggerType={flow.nodes.find((n) => n.type === "trigger")?.data.trigger?.type ?? ""}
              onChange={(d) => {
                setDefinition(d);
                setDirty(true);
              }}
              segments={segments}
              error={error}
              readOnly={readOnly}
            />
          </Accordion.Panel>
        </Accordion.Item>
      </Accordion>
    </Stack>
  );
}
