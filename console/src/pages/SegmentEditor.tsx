import { Alert, Anchor, Badge, Button, Card, Group, Modal, SegmentedControl, SimpleGrid, Stack, Text, TextInput, Textarea, Title } from "@mantine/core";
import { useDebouncedValue } from "@mantine/hooks";
import { useEffect, useState } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { ApiError, api } from "../api/client";
import { LeaveGuard } from "../components/LeaveGuard";
import type { Segment, SegmentPreview } from "../api/types";
import { Failed, Loading } from "../components/States";
import { number } from "../components/format";
import { useApi } from "../components/useApi";
import { ConditionEditor } from "../segments/ConditionEditor";
import { blank, complete, type Condition } from "../segments/conditions";
import { useSession } from "../session";

function Preview({ conditions, onError }: { conditions: Condition | null; onError(error: ApiError | undefined): void }) {
  const [debounced] = useDebouncedValue(conditions, 400);
  const ready = debounced !== null && complete(debounced);
  const state = useApi(
    (signal) =>
      ready
        ? api.post<SegmentPreview>("/v1/segments/preview", { conditions: debounced }, { signal, query: { limit: 5 } })
        : Promise.resolve(null),
    [JSON.stringify(debounced), ready],
  );
  // A refused condition is shown at its field in the builder, as a refused save is.
  useEffect(() => onError(ready ? state.error : undefined), [ready, state.error, onError]);
  return (
    <Card withBorder aria-live="polite">
      <Title order={4}>Who matches</Title>
      {!ready ? (
        <Text c="dimmed" size="sm">
          Complete a condition to see how many people match.
        </Text>
      ) : state.error ? (
        <Text c="red" size="sm">
          {state.error.status === 400 ? "Fix the highlighted field to see a count." : state.error.message}
        </Text>
      ) : !state.data ? (
        <Text c="dimmed" size="sm">
          Counting…
        </Text>
      ) : (
        <Stack gap={4}>
          <Text fz={28} fw={700} data-testid="preview-count">
            {state.data.approximate ? "about " : ""}
            {number.format(state.data.count)}
          </Text>
          <Text size="xs" c="dimmed">
            {state.data.approximate
              ? `estimated from the newest ${number.format(state.data.evaluated)} people`
              : `among all ${number.format(state.data.evaluated)} people`}
          </Text>
          {state.data.sample.map((p) => (
            <Anchor key={p.cio_id} component={Link} to={`/people/${p.cio_id}`} size="sm">
              {p.email ?? p.id ?? p.cio_id}
            </Anchor>
          ))}
        </Stack>
      )}
    </Card>
  );
}

function Editor({ segment, segments }: { segment: Segment | null; segments: Segment[] }) {
  const { can } = useSession();
  const navigate = useNavigate();
  const readOnly = !can("edit");
  const [name, setName] = useState(segment?.name ?? "");
  const [description, setDescription] = useState(segment?.description ?? "");
  const [manual, setManual] = useState(segment ? segment.type === "manual" : false);
  const [conditions, setConditions] = useState<Condition>(
    (segment?.conditions as Condition | undefined) ?? { and: [blank("attribute")] },
  );
  const [error, setError] = useState<ApiError>();
  const [busy, setBusy] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [previewError, setPreviewError] = useState<ApiError>();
  const body = { segment: { name, description, ...(manual ? {} : { conditions }) } };
  const [base] = useState(() => (segment ? JSON.stringify(body) : "")); // as opened: saving leaves the screen

  async function save() {
    setBusy(true);
    setError(undefined);
    try {
      if (segment) await api.put(`/v1/segments/${segment.id}`, body);
      else await api.post("/v1/segments", body);
      navigate("/segments", { replace: true }); // the screen's own move: never held by its LeaveGuard
    } catch (failure) {
      setError(failure instanceof ApiError ? failure : new ApiError(0, String(failure), {}));
      setBusy(false);
    }
  }

  async function remove() {
    if (!segment) return;
    setBusy(true);
    try {
      await api.delete(`/v1/segments/${segment.id}`);
      navigate("/segments", { replace: true });
    } catch (failure) {
      setError(failure instanceof ApiError ? failure : new ApiError(0, String(failure), {}));
      setConfirmDelete(false);
      setBusy(false);
    }
  }

  // The API names fields under segment/...: conditions' pointers start at segment/conditions.
  const scoped = error && new ApiError(error.status, error.message, Object.fromEntries(Object.entries(error.fields).map(([k, v]) => [k.replace(/^segment\//, ""), v])));
  const unplaced = scoped && !Object.keys(scoped.fields).length;
  return (
    <Stack>
      {!readOnly && <LeaveGuard current={JSON.stringify(body)} base={base} />}
      <Anchor component={Link} to="/segments" size="sm">
        ← Segments
      </Anchor>
      <Group justify="space-between">
        <Title order={2}>{segment ? segment.name : "New segment"}</Title>
        {segment?.state && <Badge variant="light">{segment.state === "building" ? `building ${segment.progress ?? 0}%` : segment.state}</Badge>}
      </Group>
      <SimpleGrid cols={{ base: 1, md: 3 }}>
        <Stack style={{ gridColumn: "span 2" }}>
          <TextInput label="Name" required value={name} readOnly={readOnly} onChange={(e) => setName(e.currentTarget.value)} error={scoped?.field("name")} />
          <Textarea label="Description" value={description} readOnly={readOnly} onChange={(e) => setDescription(e.currentTarget.value)} error={scoped?.field("description")} autosize minRows={1} />
          {!segment && (
            <SegmentedControl
              aria-label="Segment type"
              value={manual ? "manual" : "dynamic"}
              onChange={(v) => setManual(v === "manual")}
              data={[
                { value: "dynamic", label: "Dynamic: people who match conditions" },
                { value: "manual", label: "Manual: people you add" },
              ]}
            />
          )}
          {manual ? (
            <Text c="dimmed" size="sm">
              A manual segment holds the people added to it (from a person's profile, or `POST /v1/segments/{"{id}"}/add_customers`).
            </Text>
          ) : (
            <ConditionEditor value={conditions} onChange={setConditions} path="conditions" error={scoped ?? previewError} segments={segments.filter((s) => s.id !== segment?.id)} readOnly={readOnly} />
          )}
          {unplaced && (
            <Alert color="red" role="alert">
              {scoped.message}
            </Alert>
          )}
          {scoped?.field("conditions") && (
            <Alert color="red" role="alert">
              {scoped.field("conditions")}
            </Alert>
          )}
          {!readOnly && (
            <Group justify="space-between">
              {segment ? (
                <Button color="red" variant="subtle" onClick={() => setConfirmDelete(true)}>
                  Delete segment
                </Button>
              ) : (
                <span />
              )}
              <Button onClick={() => void save()} loading={busy}>
                {segment ? "Save changes" : "Create segment"}
              </Button>
            </Group>
          )}
        </Stack>
        {!manual && <Preview conditions={conditions} onError={setPreviewError} />}
      </SimpleGrid>
      <Modal opened={confirmDelete} onClose={() => setConfirmDelete(false)} title="Delete this segment?">
        <Stack>
          <Text size="sm">Campaigns and segments built on it stop matching anyone through it.</Text>
          <Group justify="flex-end">
            <Button variant="default" onClick={() => setConfirmDelete(false)}>
              Cancel
            </Button>
            <Button color="red" loading={busy} onClick={() => void remove()}>
              Delete
            </Button>
          </Group>
        </Stack>
      </Modal>
    </Stack>
  );
}

export default function SegmentEditor() {
  const { segmentId } = useParams();
  const list = useApi((signal) => api.get<{ segments: Segment[] }>("/v1/segments", { signal }), []);
  const one = useApi(
    (signal) => (segmentId ? api.get<{ segment: Segment }>(`/v1/segments/${segmentId}`, { signal }) : Promise.resolve(null)),
    [segmentId],
  );
  const [key, setKey] = useState(0);
  useEffect(() => setKey((k) => k + 1), [one.data]);
  if (one.error) return <Failed error={one.error} retry={one.reload} />;
  if (one.data === undefined || !list.data) return <Loading label="Loading the segment" />;
  return <Editor key={key} segment={one.data?.segment ?? null} segments={list.data.segments} />;
}
