// Settings › Subscriptions: the workspace's subscription topics (authors add, change and delete them) and
// the hosted subscription centre's name and colours (admins). People choose among the topics on the
// centre every marketing message links to ({{ subscription_center_url }}).
import { Alert, Badge, Button, Checkbox, ColorInput, Group, Modal, Stack, Table, Text, TextInput, Textarea, Title } from "@mantine/core";
import { useState, type FormEvent } from "react";
import { ApiError, api, seg } from "../api/client";
import { Empty, Loadable } from "../components/States";
import { useApi } from "../components/useApi";
import { useSession } from "../session";

export interface Topic {
  id: number;
  identifier: string;
  name: string;
  description: string;
  subscribed_by_default: boolean;
}

interface Look {
  name: string | null;
  accent_color: string;
  background_color: string;
}

function failure(error: unknown): ApiError {
  return error instanceof ApiError ? error : new ApiError(0, String(error), {});
}

function TopicForm({ topic, onDone }: { topic: Topic | null; onDone(changed: boolean): void }) {
  const [name, setName] = useState(topic?.name ?? "");
  const [description, setDescription] = useState(topic?.description ?? "");
  const [optOut, setOptOut] = useState(topic?.subscribed_by_default ?? true);
  const [error, setError] = useState<ApiError>();
  const [busy, setBusy] = useState(false);

  async function save(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    const body = { name: name.trim(), description: description.trim(), subscribed_by_default: optOut };
    try {
      if (topic) await api.put(`/v1/subscription_topics/${seg(String(topic.id))}`, body);
      else await api.post("/v1/subscription_topics", body);
      onDone(true);
    } catch (e) {
      setError(failure(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Stack component="form" onSubmit={save}>
      <TextInput label="Name" value={name} onChange={(e) => setName(e.currentTarget.value)} error={error?.field("name")} required data-autofocus />
      <Textarea
        label="Description"
        description="Shown under the name on the subscription centre"
        value={description}
        onChange={(e) => setDescription(e.currentTarget.value)}
        error={error?.field("description")}
        autosize
        minRows={2}
      />
      <Checkbox
        label="Everybody is subscribed until they opt out"
        description="Unticked: an opt-in topic, which people receive only once they choose it"
        checked={optOut}
        onChange={(e) => setOptOut(e.currentTarget.checked)}
      />
      {error && !error.field("name") && !error.field("description") && (
        <Alert color="red" role="alert">
          {error.message}
        </Alert>
      )}
      <Group justify="flex-end">
        <Button type="submit" loading={busy} disabled={!name.trim()}>
          {topic ? "Save topic" : "Add topic"}
        </Button>
      </Group>
    </Stack>
  );
}

function LookForm({ current, readOnly }: { current: Look; readOnly: boolean }) {
  const [name, setName] = useState(current.name ?? "");
  const [accent, setAccent] = useState(current.accent_color);
  const [background, setBackground] = useState(current.background_color);
  const [error, setError] = useState<ApiError>();
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);

  async function save(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    setSaved(false);
    try {
      await api.put("/v1/settings/subscription_center", { name: name.trim() || null, accent_color: accent, background_color: background });
      setSaved(true);
    } catch (e) {
      setError(failure(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Stack component="form" onSubmit={save} maw={640}>
      <Title order={4}>Subscription centre</Title>
      <TextInput
        label="Name shown on the centre"
        placeholder="Your brand"
        value={name}
        readOnly={readOnly}
        onChange={(e) => setName(e.currentTarget.value)}
        error={error?.field("name")}
      />
      <Group grow>
        <ColorInput label="Accent colour" format="hex" value={accent} readOnly={readOnly} onChange={setAccent} error={error?.field("accent_color")} />
        <ColorInput label="Background colour" format="hex" value={background} readOnly={readOnly} onChange={setBackground} error={error?.field("background_color")} />
      </Group>
      {saved && (
        <Alert color="green" role="status">
          Saved.
        </Alert>
      )}
      {!readOnly && (
        <Group>
          <Button type="submit" loading={busy}>
            Save the centre's look
          </Button>
        </Group>
      )}
    </Stack>
  );
}

export default function SubscriptionTopics() {
  const { can } = useSession();
  const editable = can("edit");
  const topics = useApi((signal) => api.get<{ topics: Topic[] }>("/v1/subscription_topics", { signal }), []);
  const look = useApi((signal) => api.get<{ subscription_center: Look }>("/v1/settings/subscription_center", { signal }), []);
  const [editing, setEditing] = useState<Topic | null | undefined>(undefined);
  const [error, setError] = useState<ApiError>();

  async function remove(topic: Topic) {
    setError(undefined);
    try {
      await api.delete(`/v1/subscription_topics/${seg(String(topic.id))}`);
      topics.reload();
    } catch (e) {
      setError(failure(e));
    }
  }

  return (
    <Stack gap="lg">
      <Stack gap="xs">
        <Group justify="space-between">
          <Title order={4}>Subscription topics</Title>
          {editable && (
            <Button size="xs" variant="light" onClick={() => setEditing(null)}>
              Add topic
            </Button>
          )}
        </Group>
        <Text size="sm" c="dimmed">
          A campaign's send block or a template names its topic; people choose theirs on the subscription centre that{" "}
          <code>{"{{ subscription_center_url }}"}</code> links to.
        </Text>
        {error && (
          <Alert color="red" role="alert">
            {error.message}
          </Alert>
        )}
        <Loadable state={topics} label="Loading topics">
          {(data) =>
            data.topics.length === 0 ? (
              <Empty title="No topics yet">Add one, then name it in a campaign's send block or a template.</Empty>
            ) : (
              <Table>
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th>Topic</Table.Th>
                    <Table.Th>Identifier</Table.Th>
                    <Table.Th>By default</Table.Th>
                    {editable && <Table.Th>Actions</Table.Th>}
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {data.topics.map((topic) => (
                    <Table.Tr key={topic.id}>
                      <Table.Td>
                        <Text fw={600}>{topic.name}</Text>
                        {topic.description && (
                          <Text size="sm" c="dimmed">
                            {topic.description}
                          </Text>
                        )}
                      </Table.Td>
                      <Table.Td>
                        <code>{topic.identifier}</code>
                      </Table.Td>
                      <Table.Td>
                        <Badge variant="light" color={topic.subscribed_by_default ? "green" : "gray"}>
                          {topic.subscribed_by_default ? "opt-out: subscribed" : "opt-in: not subscribed"}
                        </Badge>
                      </Table.Td>
                      {editable && (
                        <Table.Td>
                          <Group gap="xs" wrap="nowrap">
                            <Button size="compact-xs" variant="subtle" onClick={() => setEditing(topic)} aria-label={`Edit ${topic.name}`}>
                              Edit
                            </Button>
                            <Button size="compact-xs" variant="subtle" color="red" onClick={() => void remove(topic)} aria-label={`Delete ${topic.name}`}>
                              Delete
                            </Button>
                          </Group>
                        </Table.Td>
                      )}
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            )
          }
        </Loadable>
      </Stack>
      <Loadable state={look} label="Loading the centre's look">
        {(data) => <LookForm current={data.subscription_center} readOnly={!can("admin")} />}
      </Loadable>
      <Modal opened={editing !== undefined} onClose={() => setEditing(undefined)} title={editing ? `Edit ${editing.name}` : "Add a topic"}>
        {editing !== undefined && (
          <TopicForm
            topic={editing}
            onDone={(changed) => {
              setEditing(undefined);
              if (changed) topics.reload();
            }}
          />
        )}
      </Modal>
    </Stack>
  );
}
