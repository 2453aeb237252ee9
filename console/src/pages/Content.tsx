import { Alert, Anchor, Badge, Button, Card, Group, NativeSelect, SimpleGrid, Stack, Table, Text, TextInput, Textarea, Title } from "@mantine/core";
import { useDebouncedValue } from "@mantine/hooks";
import { useState } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { ApiError, api, seg } from "../api/client";
import { Empty, Failed, Loadable, Loading } from "../components/States";
import { when } from "../components/format";
import { useApi } from "../components/useApi";
import { useSession } from "../session";

interface Template {
  id: number;
  name: string;
  channel: string;
  subject?: string;
  body?: string;
  language?: string; // "liquid" | "jinja"; a template saved before languages existed reads "jinja"
  updated_at: number;
}

interface Preview {
  channel: string;
  to: string | null;
  subject?: string;
  html?: string;
  text?: string;
  body?: string;
  [key: string]: unknown;
}

// The channels whose templates are text bodies this editor handles (webhooks have a URL, edited by the API).
const CHANNELS = ["email", "sms", "push", "in_app"];
// Template languages; a new template is Liquid (Customer.io's), said outright so the choice is visible.
const LANGUAGES = [
  { value: "liquid", label: "Liquid" },
  { value: "jinja", label: "Jinja" },
];

function TemplateList() {
  const { can } = useSession();
  const state = useApi((signal) => api.get<{ templates: Template[] }>("/v1/templates", { signal }), []);
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Content</Title>
        {can("edit") && (
          <Button component={Link} to="/content/new">
            New template
          </Button>
        )}
      </Group>
      <Text c="dimmed" size="sm">
        Templates for campaigns and transactional messages. Layouts and snippets are managed through the App API for now.
      </Text>
      <Loadable state={state} label="Loading templates">
        {(data) =>
          data.templates.length === 0 ? (
            <Empty title="No templates yet" />
          ) : (
            <Table striped highlightOnHover>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Name</Table.Th>
                  <Table.Th>Channel</Table.Th>
                  <Table.Th>Updated</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {data.templates.map((t) => (
                  <Table.Tr key={t.id}>
                    <Table.Td>
                      <Anchor component={Link} to={`/content/${t.id}`}>
                        {t.name}
                      </Anchor>
                    </Table.Td>
                    <Table.Td>
                      <Badge variant="light">{t.channel}</Badge>
                    </Table.Td>
                    <Table.Td>{when(t.updated_at)}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          )
        }
      </Loadable>
    </Stack>
  );
}

function PreviewPane({ templateId, dirty, version }: { templateId: number | null; dirty: boolean; version: number }) {
  const [person, setPerson] = useState("");
  const [debounced] = useDebouncedValue(person.trim(), 400);
  const state = useApi(
    (signal) =>
      templateId !== null && debounced
        ? api.post<{ preview: Preview }>(`/v1/templates/${templateId}/preview`, { identifiers: { id: debounced } }, { signal })
        : Promise.resolve(null),
    [templateId, debounced, version], // each save renders again
  );
  return (
    <Card withBorder>
      <Title order={4} mb="xs">
        Preview
      </Title>
      {templateId === null ? (
        <Text c="dimmed" size="sm">
          Save the template to preview it for a person.
        </Text>
      ) : (
        <Stack gap="xs">
          <TextInput label="Preview for person (id)" placeholder="ann" value={person} onChange={(e) => setPerson(e.currentTarget.value)} error={state.error?.field("identifiers") ?? (state.error?.status === 404 ? "No person has this id." : undefined)} />
          {dirty && (
            <Text size="xs" c="dimmed">
              The preview shows the saved version: save to see your changes.
            </Text>
          )}
          {state.error && state.error.status !== 404 && !state.error.field("identifiers") && (
            <Alert color="red" role="alert">
              {state.error.message}
            </Alert>
          )}
          {state.data?.preview && (
            <>
              <Text size="sm">To: {state.data.preview.to ?? "—"}</Text>
              {state.data.preview.subject && (
                <Text size="sm">
                  <b>Subject:</b> {state.data.preview.subject}
                </Text>
              )}
              {state.data.preview.html ? (
                // Rendered by the server; shown with no permissions at all (no scripts, no same-origin access).
                <iframe title="Template preview" sandbox="" srcDoc={state.data.preview.html} style={{ width: "100%", minHeight: 320, border: "1px solid var(--mantine-color-gray-3)", borderRadius: 4, background: "white" }} />
              ) : (
                <Text ff="monospace" size="sm" style={{ whiteSpace: "pre-wrap" }}>
                  {String(state.data.preview.text ?? state.data.preview.body ?? "")}
                </Text>
              )}
            </>
          )}
        </Stack>
      )}
    </Card>
  );
}

function Editor({ template }: { template: Template | null }) {
  const { can } = useSession();
  const navigate = useNavigate();
  const readOnly = !can("edit");
  const [name, setName] = useState(template?.name ?? "");
  const [channel, setChannel] = useState(template?.channel ?? "email");
  const [subject, setSubject] = useState(template?.subject ?? "");
  const [body, setBody] = useState(template?.body ?? "");
  const [language, setLanguage] = useState(template?.language ?? "liquid");
  const [error, setError] = useState<ApiError>();
  const [saved, setSaved] = useState(0);
  const [busy, setBusy] = useState(false);
  const [base, setBase] = useState(template); // the version last saved, which previews render
  const dirty = !!base && (name !== base.name || subject !== (base.subject ?? "") || body !== (base.body ?? "") || language !== (base.language ?? "jinja"));

  async function save() {
    setBusy(true);
    setError(undefined);
    const fields = { name, body, language, ...(channel === "email" ? { subject } : {}) };
    try {
      if (template) {
        const answer = await api.put<{ template: Template }>(`/v1/templates/${template.id}`, fields);
        setBase(answer.template);
        setSaved((n) => n + 1);
      } else {
        const answer = await api.post<{ template: Template }>("/v1/templates", { ...fields, channel });
        navigate(`/content/${answer.template.id}`, { replace: true });
      }
    } catch (e) {
      setError(e instanceof ApiError ? e : new ApiError(0, String(e), {}));
    } finally {
      setBusy(false);
    }
  }

  const bodyError = error?.field("body") ?? error?.field("template");
  return (
    <Stack>
      <Anchor component={Link} to="/content" size="sm">
        ← Content
      </Anchor>
      <Title order={2}>{template ? template.name : "New template"}</Title>
      <SimpleGrid cols={{ base: 1, md: 2 }}>
        <Stack>
          <TextInput label="Name" required value={name} readOnly={readOnly} onChange={(e) => setName(e.currentTarget.value)} error={error?.field("name")} />
          {!template && <NativeSelect label="Channel" value={channel} onChange={(e) => setChannel(e.currentTarget.value)} data={CHANNELS} error={error?.field("channel")} />}
          <NativeSelect label="Language" value={language} disabled={readOnly} onChange={(e) => setLanguage(e.currentTarget.value)} data={LANGUAGES} error={error?.field("language")} />
          {channel === "email" && <TextInput label="Subject" value={subject} readOnly={readOnly} onChange={(e) => setSubject(e.currentTarget.value)} error={error?.field("subject")} />}
          <Textarea
            label={`Body (${channel === "email" ? "HTML and " : ""}${language === "jinja" ? "Jinja" : "Liquid"})`}
            description={
              language === "jinja"
                ? "{{ customer.first_name|default('there') }}, {{ event.total }}, {% if %}…{% endif %}, {{ unsubscribe_url }}"
                : '{{ customer.first_name | default: "there" }}, {{ event.total }}, {% if %}…{% endif %}, {{ unsubscribe_url }}'
            }
            value={body}
            readOnly={readOnly}
            onChange={(e) => setBody(e.currentTarget.value)}
            error={bodyError}
            aria-invalid={bodyError ? true : undefined} // the autosizing textarea does not set it itself
            autosize
            minRows={10}
            maxRows={24}
            styles={{ input: { fontFamily: "var(--mantine-font-family-monospace)", fontSize: 13 } }}
          />
          {error && !error.field("name") && !error.field("channel") && !error.field("language") && !error.field("subject") && !bodyError && (
            <Alert color="red" role="alert">
              {error.message}
            </Alert>
          )}
          {saved > 0 && !dirty && !error && (
            <Text size="sm" c="green" role="status">
              Saved.
            </Text>
          )}
          {!readOnly && (
            <Button onClick={() => void save()} loading={busy} w="fit-content">
              {template ? "Save template" : "Create template"}
            </Button>
          )}
        </Stack>
        <PreviewPane templateId={template?.id ?? null} dirty={dirty} version={saved} />
      </SimpleGrid>
    </Stack>
  );
}

export default function Content() {
  const { templateId } = useParams();
  if (!templateId) return <TemplateList />;
  return <TemplateEditor templateId={templateId} />;
}

function TemplateEditor({ templateId }: { templateId: string }) {
  const state = useApi(
    (signal) => (templateId === "new" ? Promise.resolve(null) : api.get<{ template: Template }>(`/v1/templates/${seg(templateId)}`, { signal })),
    [templateId],
  );
  if (state.error) return <Failed error={state.error} retry={state.reload} />;
  if (state.data === undefined) return <Loading label="Loading the template" />;
  // Keyed by the template loaded, not the path: after "new" is saved the path changes before its template
  // arrives, and the form must start again from what the server stored.
  return <Editor key={state.data?.template.id ?? "new"} template={state.data?.template ?? null} />;
}
