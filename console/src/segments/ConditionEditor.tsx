import { ActionIcon, Button, Group, Menu, NativeSelect, NumberInput, Paper, Stack, Switch, Text, TextInput } from "@mantine/core";
import type { ApiError } from "../api/client";
import type { Segment } from "../api/types";
import { asTyped } from "../components/numbers";
import { ATTRIBUTE_OPERATORS, EVENT_TYPES, blank, fromDateTimeInput, keyOf, timeframeOf, toDateTimeInput, withKey, withOperator, type AttributeBody, type Condition, type Kind } from "./conditions";

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
  const a = value.attribute as AttributeBody & { field: string };
  const here = `${path}/attribute`;
  const op = ATTRIBUTE_OPERATORS.find((o) => o.value === a.operator) ?? ATTRIBUTE_OPERATORS[0]!;
  const set = (patch: Partial<AttributeBody>) => {
    const next = patch.operator !== undefined ? withOperator(a, patch.operator) : { ...a, ...patch };
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
        <NumberInput label="Value" value={typeof a.value === "number" ? a.value : ""} readOnly={readOnly} onChange={(v) => set({ value: asTyped(v) })} error={error?.field(`${here}/value`)} w={120} />
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
          <NumberInput label="Amount" min={1} value={relative.amount ?? ""} readOnly={readOnly} onChange={(v) => set({ value: { ...relative, amount: asTyped(v) } })} error={error?.field(`${here}/value/amount`)} w={90} />
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
    type?: string;
    timeframe?: { type: string; amount?: number; unit?: string; start?: number; end?: number };
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
        <NativeSelect label="Kind" value={e.type ?? ""} disabled={readOnly} onChange={(ev) => onChange({ event: withKey(e, "type", ev.currentTarget.value || undefined) })} data={EVENT_TYPES} error={error?.field(`${here}/type`)} />
        <TextInput label={e.type === "page" ? "Page URL" : "Event name"} placeholder={e.type === "page" ? "https://example.com/pricing" : "purchase"} value={e.name} readOnly={readOnly} onChange={(ev) => set({ name: ev.currentTarget.value })} error={error?.field(`${here}/name`)} w={160} />
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
        <NumberInput label="Times" min={0} max={1000} value={count.value ?? ""} readOnly={readOnly} onChange={(v) => set({ count: { ...count, value: asTyped(v) } })} error={error?.field(`${here}/count`)} w={90} />
        <NativeSelect
          label="When"
          value={timeframe.type}
          disabled={readOnly}
          onChange={(ev) => set({ timeframe: timeframeOf(ev.currentTarget.value) })}
          data={[
            { value: "ever", label: "ever" },
            { value: "within", label: "within the last" },
            { value: "between", label: "between two dates" },
          ]}
        />
        {timeframe.type === "between" && (
          <>
            <TextInput
              type="datetime-local"
              label="From (your time)"
              value={toDateTimeInput(timeframe.start ?? 0)}
              readOnly={readOnly}
              onChange={(ev) => {
                const start = fromDateTimeInput(ev.currentTarget.value);
                if (start !== null) set({ timeframe: { ...timeframe, start } });
              }}
              error={error?.field(`${here}/timeframe/start`)}
            />
            <TextInput
              type="datetime-local"
              label="Until (your time)"
              value={toDateTimeInput(timeframe.end ?? 0)}
              readOnly={readOnly}
              onChange={(ev) => {
                const end = fromDateTimeInput(ev.currentTarget.value);
                if (end !== null) set({ timeframe: { ...timeframe, end } });
              }}
              error={error?.field(`${here}/timeframe/end`) ?? error?.field(`${here}/timeframe`)}
            />
          </>
        )}
        {timeframe.type === "within" && (
          <>
            <NumberInput label="Amount" min={1} value={timeframe.amount ?? ""} readOnly={readOnly} onChange={(v) => set({ timeframe: { ...timeframe, amount: asTyped(v) } })} error={error?.field(`${here}/timeframe`)} w={90} />
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

/** An optional nested filter (an event's data, an object's attributes, its relationship's): shown when
 * set, with a button to add it and one to drop it. */
function NestedFilter(props: Props & { label: string; add: string; filter: Condition | undefined; set(filter: Condition | undefined): void; at: string }) {
  const { label, add, filter, set, at, readOnly } = props;
  if (!filter)
    return readOnly ? null : (
      <Button size="compact-xs" variant="subtle" w="fit-content" onClick={() => set(blank("attribute"))}>
        {add}
      </Button>
    );
  return (
    <Paper withBorder p="xs" ml="md">
      <Text size="xs" c="dimmed" mb={4}>
        {label}
      </Text>
      <ConditionEditor {...props} value={filter} onChange={set} onRemove={() => set(undefined)} path={at} attributesOnly depth={(props.depth ?? 0) + 1} />
    </Paper>
  );
}

function ObjectEditor(props: Props) {
  const { value, onChange, onRemove, path, error, readOnly } = props;
  const o = value.object as { object_type_id: string; filters?: Condition; relationship?: Condition };
  const here = `${path}/object`;
  return (
    <Paper withBorder p="xs">
      <Stack gap="xs">
        <Group align="flex-start" gap="xs">
          <TextInput
            label="Related to an object of type (id)"
            description="The object_type_id objects are tracked with (1 for the first type)"
            placeholder="1"
            value={String(o.object_type_id ?? "")}
            readOnly={readOnly}
            onChange={(ev) => onChange({ object: { ...o, object_type_id: ev.currentTarget.value } })}
            error={error?.field(`${here}/object_type_id`)}
            w={260}
          />
          <Remove onRemove={onRemove} readOnly={readOnly} label="Remove object condition" />
        </Group>
        <NestedFilter {...props} label="Where the object's attributes match" add="+ Filter on the object's attributes" filter={o.filters} set={(f) => onChange({ object: withKey(o, "filters", f) })} at={`${here}/filters`} />
        <NestedFilter {...props} label="Where the relationship's attributes match" add="+ Filter on the relationship's attributes" filter={o.relationship} set={(f) => onChange({ object: withKey(o, "relationship", f) })} at={`${here}/relationship`} />
      </Stack>
    </Paper>
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
  const kinds: Kind[] = attributesOnly ? ["attribute", "group"] : ["attribute", "event", "segment", "device", "object", "group"];
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
  if (key === "object") return <ObjectEditor {...props} />;
  // Kinds the builder does not edit (none today; message activity when it arrives): shown as JSON, kept.
  return (
    <Group gap="xs">
      <Text size="sm" ff="monospace" style={{ wordBreak: "break-all" }}>
        {JSON.stringify(value)}
      </Text>
      <Remove onRemove={props.onRemove} readOnly={props.readOnly} label="Remove condition" />
    </Group>
  );
}
