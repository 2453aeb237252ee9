import {
  Alert,
  Anchor,
  Badge,
  Button,
  Card,
  Group,
  Modal,
  NativeSelect,
  SimpleGrid,
  Stack,
  Table,
  Text,
  TextInput,
  Timeline,
  Title,
} from "@mantine/core";
import { useState, type FormEvent } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { ApiError, api, seg } from "../api/client";
import type { Customer, MessagesPage, Segment } from "../api/types";
import { Empty, Failed, Loadable, Loading } from "../components/States";
import { show, when } from "../components/format";
import { ShowMore } from "../components/ShowMore";
import { useApi } from "../components/useApi";
import { useMore } from "../components/useMore";
import { KINDS, asText, kindOf, parseValue, type AttributeKind } from "../people/attributeValue";
import { useSession } from "../session";

interface Activity {
  id?: string;
  type: string;
  name?: string | null;
  timestamp: number;
  data?: Record<string, unknown> | null;
}

const BY_CIO = { id_type: "cio_id" };
// Pages of a person's history: the newest first, older ones appended on demand.
const ACTIVITY_PAGE = 20;
const MESSAGE_PAGE = 20;

interface TopicState {
  id: number;
  identifier: string;
  name: string;
  subscribed: boolean;
  chosen: boolean;
}

/** The person's subscription state: the global flag and each topic (their choice, else its default). */
function Subscriptions({ cio }: { cio: string }) {
  const state = useApi(
    (signal) =>
      api.get<{ customer: { unsubscribed: boolean; topics: TopicState[] } }>(`/v1/customers/${seg(cio)}/subscription_preferences`, {
        signal,
        query: BY_CIO,
      }),
    [cio],
  );
  return (
    <Card withBorder>
      <Title order={4} mb="xs">
        Subscriptions
      </Title>
      <Loadable state={state} label="Loading subscriptions">
        {(data) => (
          <Stack gap="xs">
            <Text size="sm">{data.customer.unsubscribed ? "Unsubscribed from all messages." : "Subscribed (not unsubscribed from all)."}</Text>
            {data.customer.topics.length === 0 ? (
              <Text c="dimmed" size="sm">
                The workspace has no subscription topics.
              </Text>
            ) : (
              <Table>
                <Table.Tbody>
                  {data.customer.topics.map((t) => (
                    <Table.Tr key={t.id}>
                      <Table.Th scope="row">
                        {t.name} <code>{t.identifier}</code>
                      </Table.Th>
                      {/* The state and whose choice it is in one cell: two columns fit a phone. */}
                      <Table.Td>
                        <Badge variant="light" color={t.subscribed ? "green" : "gray"} style={{ flexShrink: 0 }}>
                          {t.subscribed ? "subscribed" : "not subscribed"}
                        </Badge>
                        <Text size="xs" c="dimmed">
                          {t.chosen ? "their choice" : "the topic's default"}
                        </Text>
                      </Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            )}
          </Stack>
        )}
      </Loadable>
    </Card>
  );
}
// Identity fields are changed through the Track API (they decide who the person is), not here.
const RESERVED = new Set(["id", "email", "cio_id", "created_at"]);

function Attributes({ customer, reload }: { customer: Customer; reload(): void }) {
  const { can } = useSession();
  const editable = can("edit");
  const [editing, setEditing] = useState<string | null>(null);
  const [name, setName] = useState("");
  const [value, setValue] = useState("");
  const [kind, setKind] = useState<AttributeKind>("text");
  const [invalid, setInvalid] = useState<string>();
  const [error, setError] = useState<ApiError>();
  const [busy, setBusy] = useState(false);
  const cio = customer.identifiers.cio_id;

  function open(field: string | null) {
    setEditing(field ?? "");
    setName(field ?? "");
    const current = field === null ? undefined : customer.attributes[field];
    setKind(kindOf(current));
    setValue(asText(current));
    setInvalid(undefined);
    setError(undefined);
  }

  function chooseKind(next: AttributeKind) {
    setKind(next);
    setInvalid(undefined);
    if (next === "boolean" && value !== "true" && value !== "false") setValue("true");
  }

  async function save(remove = false) {
    const typed = remove ? { value: null } : parseValue(kind, value);
    if ("error" in typed) {
      setInvalid(typed.error);
      return;
    }
    setInvalid(undefined);
    setBusy(true);
    setError(undefined);
    try {
      await api.put(`/v1/customers/${seg(cio)}/attributes`, { attributes: { [name.trim()]: typed.value } }, { query: BY_CIO });
      setEditing(null);
      reload();
    } catch (failure) {
      setError(failure instanceof ApiError ? failure : new ApiError(0, String(failure), {}));
    } finally {
      setBusy(false);
    }
  }

  const entries = Object.entries(customer.attributes).sort(([a], [b]) => a.localeCompare(b));
  const pointer = name.trim() ? `attributes/${name.trim()}` : "attributes";
  return (
    <Card withBorder>
      <Group justify="space-between" mb="xs">
        <Title order={4}>Attributes</Title>
        {editable && (
          <Button size="xs" variant="light" onClick={() => open(null)}>
            Add attribute
          </Button>
        )}
      </Group>
      <Table>
        <Table.Tbody>
          {entries.map(([field, current]) => (
            <Table.Tr key={field}>
              <Table.Th scope="row" w="35%">
                {field}
              </Table.Th>
              <Table.Td style={{ wordBreak: "break-word" }}>{show(current)}</Table.Td>
              <Table.Td w={60}>
                {editable && !RESERVED.has(field) && (
                  <Button size="compact-xs" variant="subtle" onClick={() => open(field)} aria-label={`Edit ${field}`}>
                    Edit
                  </Button>
                )}
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      <Modal opened={editing !== null} onClose={() => setEditing(null)} title={editing ? `Edit ${editing}` : "Add an attribute"}>
        <Stack
          component="form"
          onSubmit={(event: FormEvent) => {
            event.preventDefault();
            void save();
          }}
        >
          <TextInput
            label="Attribute"
            value={name}
            disabled={!!editing}
            onChange={(e) => setName(e.currentTarget.value)}
            error={error?.fields["attributes"]} // about the name: blank, too long
            data-autofocus={!editing}
          />
          <NativeSelect label="Type" value={kind} onChange={(e) => chooseKind(e.currentTarget.value as AttributeKind)} data={KINDS} />
          {kind === "boolean" ? (
            <NativeSelect label="Value" value={value} onChange={(e) => setValue(e.currentTarget.value)} data={["true", "false"]} error={error?.field(pointer)} data-autofocus={!!editing} />
          ) : (
            <TextInput
              label="Value"
              value={value}
              onChange={(e) => {
                setValue(e.currentTarget.value);
                setInvalid(undefined);
              }}
              error={invalid ?? error?.field(pointer)}
              data-autofocus={!!editing}
            />
          )}
          {error && !error.field(pointer) && !error.fields["attributes"] && (
            <Alert color="red" role="alert">
              {error.message}
            </Alert>
          )}
          <Group justify="space-between">
            {editing ? (
              <Button color="red" variant="subtle" onClick={() => void save(true)} loading={busy}>
                Remove
              </Button>
            ) : (
              <span />
            )}
            <Button type="submit" loading={busy} disabled={!name.trim()}>
              Save
            </Button>
          </Group>
        </Stack>
      </Modal>
    </Card>
  );
}

function Actions({ customer }: { customer: Customer }) {
  const { can } = useSession();
  const navigate = useNavigate();
  const [confirm, setConfirm] = useState<"suppress" | "delete" | null>(null);
  const [error, setError] = useState<ApiError>();
  const [busy, setBusy] = useState(false);
  if (!can("edit")) return null;
  const cio = customer.identifiers.cio_id;

  async function run(action: "suppress" | "delete") {
    setBusy(true);
    setError(undefined);
    try {
      if (action === "delete") await api.delete(`/v1/customers/${seg(cio)}`, { query: BY_CIO });
      else await api.post(`/v1/customers/${seg(cio)}/suppress`, {}, { query: BY_CIO });
      navigate("/people");
    } catch (failure) {
      setError(failure instanceof ApiError ? failure : new ApiError(0, String(failure), {}));
      setBusy(false);
    }
  }

  return (
    <>
      <Group>
        <Button variant="light" color="orange" onClick={() => setConfirm("suppress")}>
          Suppress
        </Button>
        <Button variant="light" color="red" onClick={() => setConfirm("delete")}>
          Delete
        </Button>
      </Group>
      <Modal opened={confirm !== null} onClose={() => setConfirm(null)} title={confirm === "delete" ? "Delete this person?" : "Suppress this person?"}>
        <Stack>
          <Text size="sm">
            {confirm === "delete"
              ? "Their profile, devices and memberships are deleted. If your app identifies them again, they come back as a new person."
              : "Their profile is deleted and their id and email are blocked: the Track API ignores them until they are unsuppressed (People, “Unsuppress”)."}
          </Text>
          {error && (
            <Alert color="red" role="alert">
              {error.message}
            </Alert>
          )}
          <Group justify="flex-end">
            <Button variant="default" onClick={() => setConfirm(null)}>
              Cancel
            </Button>
            <Button color="red" loading={busy} onClick={() => confirm && void run(confirm)}>
              {confirm === "delete" ? "Delete" : "Suppress"}
            </Button>
          </Group>
        </Stack>
      </Modal>
    </>
  );
}

function AddToSegment({ cio, current, added }: { cio: string; current: Segment[]; added(): void }) {
  const { can } = useSession();
  const all = useApi((signal) => api.get<{ segments: Segment[] }>("/v1/segments", { signal }), []);
  const [chosen, setChosen] = useState("");
  const [error, setError] = useState<ApiError>();
  const [busy, setBusy] = useState(false);
  const inside = new Set(current.map((s) => String(s.id)));
  const manual = (all.data?.segments ?? []).filter((s) => s.type === "manual" && !inside.has(String(s.id)));
  if (!can("edit") || manual.length === 0) return null;

  async function add() {
    setBusy(true);
    setError(undefined);
    try {
      await api.post(`/v1/segments/${seg(chosen)}/add_customers`, { ids: [cio] }, { query: BY_CIO });
      setChosen("");
      added();
    } catch (failure) {
      setError(failure instanceof ApiError ? failure : new ApiError(0, String(failure), {}));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Group align="flex-end" gap="xs" mb="sm">
      <NativeSelect
        label="Add to a manual segment"
        size="xs"
        value={chosen}
        onChange={(e) => setChosen(e.currentTarget.value)}
        data={[{ value: "", label: "Choose a segment" }, ...manual.map((s) => ({ value: String(s.id), label: s.name }))]}
        error={error?.message}
      />
      <Button size="xs" variant="light" disabled={!chosen} loading={busy} onClick={() => void add()}>
        Add
      </Button>
    </Group>
  );
}

function Activities({ cio }: { cio: string }) {
  const list = useMore(
    (start, signal) =>
      api
        .get<{ activities: Activity[]; next: string }>(`/v1/customers/${seg(cio)}/activities`, {
          signal,
          query: { ...BY_CIO, limit: ACTIVITY_PAGE, start },
        })
        .then((page) => ({ items: page.activities, next: page.next })),
    [cio],
  );
  // A segment activity names its segment by id: shown by name when the segment still exists.
  const segments = useApi((signal) => api.get<{ segments: Segment[] }>("/v1/segments", { signal }), []);
  const named = (a: Activity) =>
    (a.type === "entered_segment" || a.type === "exited_segment") && a.name
      ? (segments.data?.segments.find((s) => String(s.id) === a.name)?.name ?? a.name)
      : a.name;
  return (
    <Loadable state={list} label="Loading activity">
      {(activities) =>
        activities.length === 0 ? (
          <Empty title="No activity yet" />
        ) : (
          <>
            <Timeline bulletSize={14} lineWidth={2}>
              {activities.map((a, i) => (
                <Timeline.Item key={a.id ?? i} title={`${a.type.replace(/_/g, " ")}${a.name ? `: ${named(a)}` : ""}`}>
                  <Text size="xs" c="dimmed">
                    {when(a.timestamp)}
                  </Text>
                  {a.data && Object.keys(a.data).length > 0 && (
                    <Text size="xs" ff="monospace" style={{ wordBreak: "break-word" }}>
                      {Object.entries(a.data)
                        .map(([key, value]) => `${key}: ${show(value)}`)
                        .join(" · ")}
                    </Text>
                  )}
                </Timeline.Item>
              ))}
            </Timeline>
            <ShowMore list={list} label="Show older activity" />
          </>
        )
      }
    </Loadable>
  );
}

function Messages({ cio }: { cio: string }) {
  const list = useMore(
    (start, signal) =>
      api
        .get<MessagesPage>(`/v1/customers/${seg(cio)}/messages`, { signal, query: { ...BY_CIO, limit: MESSAGE_PAGE, start } })
        .then((page) => ({ items: page.messages, next: page.next })),
    [cio],
  );
  return (
    <Loadable state={list} label="Loading messages">
      {(messages) =>
        messages.length === 0 ? (
          <Text c="dimmed">No messages yet.</Text>
        ) : (
          <>
            <Table>
              <Table.Tbody>
                {messages.map((m) => (
                  <Table.Tr key={m.id}>
                    <Table.Td>
                      <Anchor component={Link} to={`/messages/${m.id}`}>
                        {m.channel}
                      </Anchor>
                    </Table.Td>
                    <Table.Td>
                      <Badge variant="light" color={m.state === "failed" || m.state === "bounced" ? "red" : undefined}>
                        {m.state}
                      </Badge>
                    </Table.Td>
                    <Table.Td>{when(m.created)}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
            <ShowMore list={list} label="Show older messages" />
          </>
        )
      }
    </Loadable>
  );
}

export default function Person() {
  const { cioId = "" } = useParams();
  const person = useApi((signal) => api.get<{ customer: Customer }>(`/v1/customers/${seg(cioId)}/attributes`, { signal, query: BY_CIO }), [cioId]);
  const segments = useApi((signal) => api.get<{ segments: Segment[] }>(`/v1/customers/${seg(cioId)}/segments`, { signal, query: BY_CIO }), [cioId]);

  if (person.error)
    return (
      <Stack>
        <Anchor component={Link} to="/people" size="sm">
          ← People
        </Anchor>
        {person.error.status === 404 ? (
          <Failed error={new ApiError(404, "This person does not exist any more: they were deleted, or merged into another profile.", {})} />
        ) : (
          <Failed error={person.error} retry={person.reload} />
        )}
      </Stack>
    );
  if (!person.data) return <Loading label="Loading this person" />;
  const customer = person.data.customer;
  return (
    <Stack>
      <Anchor component={Link} to="/people" size="sm">
        ← People
      </Anchor>
      <Group justify="space-between">
        <div>
          <Title order={2}>{customer.identifiers.email ?? customer.identifiers.id ?? customer.identifiers.cio_id}</Title>
          <Text size="sm" c="dimmed">
            id {customer.identifiers.id ?? "—"} · cio_id {customer.identifiers.cio_id} · created {when(customer.created_at)}
            {customer.unsubscribed && " · "}
            {customer.unsubscribed && <Badge color="gray">unsubscribed</Badge>}
          </Text>
        </div>
        <Actions customer={customer} />
      </Group>
      <SimpleGrid cols={{ base: 1, md: 2 }}>
        <Stack>
          <Attributes customer={customer} reload={person.reload} />
          <Subscriptions cio={customer.identifiers.cio_id} />
          <Card withBorder>
            <Title order={4} mb="xs">
              Devices
            </Title>
            {customer.devices.length === 0 ? (
              <Text c="dimmed">No devices.</Text>
            ) : (
              customer.devices.map((d) => (
                <Text key={d.id} size="sm">
                  {d.platform ?? "device"} · {d.id} · last used {when(d.last_used)}
                </Text>
              ))
            )}
          </Card>
          <Card withBorder>
            <Title order={4} mb="xs">
              Segments
            </Title>
            <AddToSegment cio={customer.identifiers.cio_id} current={segments.data?.segments ?? []} added={segments.reload} />
            <Loadable state={segments}>
              {(data) =>
                data.segments.length === 0 ? (
                  <Text c="dimmed">In no segment.</Text>
                ) : (
                  <Group gap="xs">
                    {data.segments.map((s) => (
                      <Badge key={s.id} component={Link} to={`/segments/${s.id}`} variant="light" style={{ cursor: "pointer" }}>
                        {s.name}
                      </Badge>
                    ))}
                  </Group>
                )
              }
            </Loadable>
          </Card>
        </Stack>
        <Stack>
          <Card withBorder>
            <Title order={4} mb="xs">
              Messages
            </Title>
            <Messages cio={customer.identifiers.cio_id} />
          </Card>
          <Card withBorder>
            <Title order={4} mb="xs">
              Activity
            </Title>
            <Activities cio={customer.identifiers.cio_id} />
          </Card>
        </Stack>
      </SimpleGrid>
    </Stack>
  );
}
