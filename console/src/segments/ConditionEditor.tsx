import { ActionIcon, Button, Group, Menu, NativeSelect, NumberInput, Paper, Stack, Switch, Text, TextInput } from "@mantine/core";
import type { ApiError } from "../api/client";
import type { Segment } from "../api/types";
import { ATTRIBUTE_OPERATORS, blank, keyOf, type Condition, type Kind } from "./conditions";

interface Props {
  value: Condition;
  onChange(next: Condition): void;
  onRemove?(): void;
  path: string; // the JSON pointer path of this condition ("conditions/and/0"), for errors from the API
  error?: ApiError;
  segments: Segment[];
  readOnly: boolean;
  attributesOnly?: boolean; // event, device and object filters take attribute conditions and groups only
  depth?: number;
}

const MAX_DEPTH = 6;

function Remove({ onRemove, readOnly, label }: { onRemove?: () => void; readOnly: boolean; label: string }) {
  if (!onRemove || readOnly) return null;
  return (
    <ActionIcon variant="subtle" color="gray" onClick={onRemove} aria-label={label}>
      ✕
    </ActionIcon>
  );
}

function AttributeEditor({ value, onChange, onRemove, path, error, readOnly, noun = "Attribute" }: Props & { noun?: string }) {
  const a = value.attribute as { field: string; operator: string; value?: unknown };
  const here = `${path}/attribute`;
  const op = ATTRIBUTE_OPERATORS.find((o) => o.value === a.operator) ?? ATTRIBUTE_OPERATORS[0]!;
  const set = (patch: Record<string, unknown>) => {
    const next: Record<string, unknown> = { ...a, ...patch };
    const takes = (ATTRIBUTE_OPERATORS.find((o) => o.value === next.operator) ?? op).takes;
    if (takes === "none") delete next.value;
    else if ("operator" in patch && patch.operator !== a.operator) {
      next.value = takes === "relative" ? { amount: 7, unit: "days", direction: "ago" } : takes === "list" ? [] : takes === "number" ? 0 : "";
    }
    onChange({ attribute: next });
  };
  const relative = (a.value ?? {}) as { amount?: number; unit?: string; direction?: string };
  return (
    <Group align="flex-start" gap="xs" wrap="wrap">
      <TextInput
        label={`${noun} name`}
        placeholder="plan"
        value={a.field}
        readOnly={readOnly}
        onChange={(e) => set({ field: e.currentTarget.value })}
        error={error?.field(`${here}/field`)}
        w={160}
      />
      <NativeSelect
        label="Operator"
        value={a.operator}
        disabled={readOnly}
        onChange={(e) => set({ operator: e.currentTarget.value })}
        data={ATTRIBUTE_OPERATORS.map((o) => ({ value: o.value, label: o.label }))}
        error={error?.field(`${here}/operator`)}
      />
      {op.takes === "text" && (
        <TextInput label="Value" value={String(a.value ?? "")} readOnly={readOnly} onChange={(e) => set({ value: e.currentTarget.value })} error={error?.field(`${here}/value`)} w={160} />
      )}
      {op.takes === "number" && (
        <NumberInput label="Value" value={Number(a.value ?? 0)} readOnly={readOnly} onChange={(v) => set({ value: Number(v) || 0 })} error={error?.field(`${here}/value`)} w={120} />
      )}
      {op.takes === "list" && (
        <TextInput
          label="Values (comma-separated)"
          value={Array.isArray(a.value) ? a.value.join(", ") : ""}
          readOnly={readOnly}
          onChange={(e) =>
            set({ value: e.currentTarget.value.split(",").map((s) => s.trim()).filter(Boolean) })
          }
          error={error?.field(`${here}/value`)}
          w={200}
        />
      )}
      {op.takes === "relative" && (
        <>
          <NumberInput label="Amount" min={1} value={relative.amount ?? 1} readOnly={readOnly} onChange={(v) => set({ value: { ...relative, amount: Number(v) || 1 } })} error={error?.field(`${here}/value/amount`)} w={90} />
          <NativeSelect label="Unit" value={relative.unit ?? "days"} disabled={readOnly} onChange={(e) => set({ value: { ...relative, unit: e.currentTarget.value } })} data={["minutes", "hours", "days"]} />
          <NativeSelect
            label="Direction"
            value={relative.direction ?? "ago"}
            disabled={readOnly}
            onChange={(e) => set({ value: { ...relative, direction: e.currentTarget.value } })}
            data={[
              { value: "ago", label: "ago" },
              { value: "from_now", label: "from now" },
            ]}
          />
        </>
      )}
      <Remove onRemove={onRemove} readOnly={readOnly} label={`Remove ${noun.toLowerCase()} condition`} />
    </Group>
  );
}

function EventEditor(props: Props) {
  const { value, onChange, onRemove, path, error, readOnly } = props;
  const e = value.event as {
    name: string;
    performed?: boolean;
    count?: { operator: string; value: number };
    timeframe?: { type: string; amount?: number; unit?: string };
    filters?: Condition;
  };
  const here = `${path}/event`;
  const set = (patch: Record<string, unknown>) => onChange({ event: { ...e, ...patch } });
  const count = e.count ?? { operator: "at_least", value: 1 };
  const timeframe = e.timeframe ?? { type: "ever" };
  return (
    <Stack gap="xs">
      <Group align="flex-start" gap="xs" wrap="wrap">
        <NativeSelect
          label="Person"
          value={e.performed === false ? "no" : "yes"}
          disabled={readOnly}
          onChange={(ev) => set({ performed: ev.currentTarget.value === "yes" })}
          data={[
            { value: "yes", label: "performed" },
            { value: "no", label: "did not perform" },
          ]}
        />
        <TextInput label="Event name" placeholder="purchase" value={e.name} readOnly={readOnly} onChange={(ev) => set({ name: ev.currentTarget.value })} error={error?.field(`${here}/name`)} w={160} />
        <NativeSelect
          label="How often"
          value={count.operator}
          disabled={readOnly}
          onChange={(ev) => set({ count: { ...count, operator: ev.currentTarget.value } })}
          data={[
            { value: "at_least", label: "at least" },
            { value: "at_most", label: "at most" },
            { value: "exactly", label: "exactly" },
          ]}
        />
        <NumberInput label="Times" min={0} max={1000} value={count.value} readOnly={readOnly} onChange={(v) => set({ count: { ...count, value: Number(v) || 0 } })} error={error?.field(`${here}/count`)} w={90} />
        <NativeSelect
          label="When"
          value={timeframe.type}
          disabled={readOnly}
          onChange={(ev) =>
            set({ timeframe: ev.currentTarget.value === "within" ? { type: "within", amount: 30, unit: "days" } : { type: "ever" } })
          }
          data={[
            { value: "ever", label: "ever" },
            { value: "within", label: "within the last" },
          ]}
        />
        {timeframe.type === "within" && (
          <>
            <NumberInput label="Amount" min={1} value={timeframe.amount ?? 30} readOnly={readOnly} onChange={(v) => set({ timeframe: { ...timeframe, amount: Number(v) || 1 } })} error={error?.field(`${here}/timeframe`)} w={90} />
            <NativeSelect label="Unit" value={timeframe.unit ?? "days"} disabled={readOnly} onChange={(ev) => set({ timeframe: { ...timeframe, unit: ev.currentTarget.value } })} data={["minutes", "hours", "days"]} />
          </>
        )}
        <Remove onRemove={onRemove} readOnly={readOnly} label="Remove event condition" />
      </Group>
      {e.filters ? (
        <Paper withBorder p="xs" ml="md">
          <Text size="xs" c="dimmed" mb={4}>
            Where the event's data matches
          </Text>
          <ConditionEditor
            {...props}
            value={e.filters}
            onChange={(filters) => set({ filters })}
            onRemove={() => {
              const { filters: _dropped, ...rest } = e;
              void _dropped;
              onChange({ event: rest });
            }}
            path={`${here}/filters`}
            attributesOnly
            depth={(props.depth ?? 0) + 1}
          />
        </Paper>
      ) : (
        !readOnly && (
          <Button size="compact-xs" variant="subtle" w="fit-content" onClick={() => set({ filters: { attribute: { field: "", operator: "eq", value: "" } } })}>
            + Filter on event data
          </Button>
        )
      )}
    </Stack>
  );
}

function SegmentRef({ value, onChange, onRemove, path, error, readOnly, segments }: Props) {
  const s = value.segment as { id: string; operator: string };
  const here = `${path}/segment`;
  return (
    <Group align="flex-start" gap="xs">
      <NativeSelect
        label="Membership"
        value={s.operator}
        disabled={readOnly}
        onChange={(e) => onChange({ segment: { ...s, operator: e.currentTarget.value } })}
        data={[
          { value: "in", label: "is in segment" },
          { value: "not_in", label: "is not in segment" },
        ]}
      />
      <NativeSelect
        label="Segment"
        value={String(s.id)}
        disabled={readOnly}
        onChange={(e) => onChange({ segment: { ...s, id: e.currentTarget.value } })}
        data={[{ value: "", label: "Choose a segment" }, ...segments.map((x) => ({ value: String(x.id), label: x.name }))]}
        error={error?.field(`${here}/id`)}
      />
      <Remove onRemove={onRemove} readOnly={readOnly} label="Remove segment condition" />
    </Group>
  );
}

function GroupEditor(props: Props & { negated: boolean; onNegate(negated: boolean): void; groupPath: string }) {
  const { value, onChange, onRemove, readOnly, attributesOnly, negated, onNegate, groupPath } = props;
  const depth = props.depth ?? 0;
  const join = keyOf(value) === "or" ? "or" : "and";
  const children = (value[join] as Condition[]) ?? [];
  const setChildren = (next: Condition[]) => onChange({ [join]: next });
  const kinds: Kind[] = attributesOnly ? ["attribute", "group"] : ["attribute", "event", "segment", "device", "group"];
  return (
    <Paper withBorder p="sm" bg={depth % 2 ? "gray.0" : undefined}>
      <Stack gap="sm">
        <Group gap="xs">
          <NativeSelect
            aria-label="Match"
            size="xs"
            value={join}
            disabled={readOnly}
            onChange={(e) => onChange({ [e.currentTarget.value]: children })}
            data={[
              { value: "and", label: "All of these (and)" },
              { value: "or", label: "Any of these (or)" },
            ]}
          />
          <Switch size="xs" label="Not" checked={negated} disabled={readOnly} onChange={(e) => onNegate(e.currentTarget.checked)} />
          <Remove onRemove={onRemove} readOnly={readOnly} label="Remove group" />
        </Group>
        {children.map((child, i) => (
          <ConditionEditor
            key={i}
            {...props}
            value={child}
            onChange={(next) => setChildren(children.map((c, j) => (j === i ? next : c)))}
            onRemove={children.length > 1 ? () => setChildren(children.filter((_, j) => j !== i)) : undefined}
            path={`${groupPath}/${join}/${i}`}
            depth={depth + 1}
          />
        ))}
        {!readOnly && (
          <Menu>
            <Menu.Target>
              <Button size="xs" variant="light" w="fit-content">
                + Add condition
              </Button>
            </Menu.Target>
            <Menu.Dropdown>
              {kinds
                .filter((k) => k !== "group" || depth + 1 < MAX_DEPTH)
                .map((k) => (
                  <Menu.Item key={k} onClick={() => setChildren([...children, blank(k)])}>
                    {k === "group" ? "Group (and / or)" : k[0]!.toUpperCase() + k.slice(1)}
                  </Menu.Item>
                ))}
            </Menu.Dropdown>
          </Menu>
        )}
      </Stack>
    </Paper>
  );
}

/** One condition of the tree, any kind; a `not` is shown as a switch on the group or condition it wraps. */
export function ConditionEditor(props: Props) {
  const { value, onChange, path } = props;
  const key = keyOf(value);
  if (key === "not") {
    const inner = value.not as Condition;
    const innerKey = keyOf(inner);
    if (innerKey === "and" || innerKey === "or")
      return <GroupEditor {...props} value={inner} onChange={(next) => onChange({ not: next })} negated onNegate={(n) => onChange(n ? { not: inner } : inner)} groupPath={`${path}/not`} />;
    return (
      <Group align="flex-start" gap="xs" wrap="nowrap">
        <Text size="sm" fw={600} mt={28}>
          NOT
        </Text>
        <div style={{ flex: 1 }}>
          <ConditionEditor {...props} value={inner} onChange={(next) => onChange({ not: next })} path={`${path}/not`} />
        </div>
      </Group>
    );
  }
  if (key === "and" || key === "or")
    return <GroupEditor {...props} negated={false} onNegate={(n) => onChange(n ? { not: value } : value)} groupPath={path} />;
  if (key === "attribute") return <AttributeEditor {...props} />;
  if (key === "event") return <EventEditor {...props} />;
  if (key === "segment") return <SegmentRef {...props} />;
  if (key === "device") {
    const inner = value.device as Condition;
    return (
      <Paper withBorder p="xs">
        <Text size="xs" c="dimmed" mb={4}>
          Has a device where
        </Text>
        <ConditionEditor
          {...props}
          value={inner}
          onChange={(next) => onChange({ device: next })}
          path={`${path}/device`}
          attributesOnly
          depth={(props.depth ?? 0) + 1}
        />
        {props.onRemove && !props.readOnly && (
          <Button size="compact-xs" variant="subtle" color="gray" onClick={props.onRemove} mt={4}>
            Remove device condition
          </Button>
        )}
      </Paper>
    );
  }
  // Kinds the builder does not edit yet (object conditions): shown as JSON, kept as they are.
  return (
    <Group gap="xs">
      <Text size="sm" ff="monospace" style={{ wordBreak: "break-all" }}>
        {JSON.stringify(value)}
      </Text>
      <Remove onRemove={props.onRemove} readOnly={props.readOnly} label="Remove condition" />
    </Group>
  );
}
