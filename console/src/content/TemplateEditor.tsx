import { Alert, Anchor, Button, Group, NativeSelect, SimpleGrid, Stack, Text, TextInput, Title } from "@mantine/core";
import { useState } from "react";
import { Link, useNavigate } from "react-router";
import { ApiError, api, seg } from "../api/client";
import { LeaveGuard } from "../components/LeaveGuard";
import { useApi } from "../components/useApi";
import { useSession } from "../session";
import { useLocalRuntime } from "../Shell";
import { CodeEditor } from "./LazyCodeEditor";
import { DeleteButton } from "./DeleteButton";
import { PreviewPane, parseSampleData, usePreviewData, usePreviewPerson } from "./PreviewPane";
import { LANGUAGES, languageName, syntaxHint, type Layout, type Template } from "./types";

// The channels whose templates this editor writes (webhooks have a URL and headers: the API edits them),
// and each one's fields: short ones in a line, sources in the code editor.
export const CHANNELS = ["email", "sms", "push", "in_app"];
const FIELDS: Record<string, { key: string; label: string; code: boolean; required: boolean }[]> = {
  email: [
    { key: "subject", label: "Subject", code: false, required: true },
    { key: "body", label: "Body", code: true, required: true },
  ],
  sms: [{ key: "body", label: "Body", code: true, required: true }],
  push: [
    { key: "title", label: "Title", code: false, required: false },
    { key: "message", label: "Message", code: true, required: true },
  ],
  in_app: [
    { key: "title", label: "Title", code: false, required: false },
    { key: "body", label: "Body", code: true, required: true },
  ],
};
const fieldsOf = (channel: string) => FIELDS[channel] ?? [];
// What the answer carries that is not a field to send back.
const NOT_FIELDS = new Set(["id", "name", "channel", "language", "layout_id", "created_at", "updated_at"]);

function kept(template: Template | null, channel: string): Record<string, unknown> {
  // Fields this screen does not edit (preheader, from, headers, trigger_name, ...) go back unchanged.
  const edited = new Set(fieldsOf(channel).map((f) => f.key));
  return Object.fromEntries(Object.entries(template ?? {}).filter(([key, value]) => !NOT_FIELDS.has(key) && !edited.has(key) && value !== null));
}

export function TemplateEditor({ template }: { template: Template | null }) {
  const { can, session } = useSession();
  const local = useLocalRuntime();
  const navigate = useNavigate();
  const readOnly = !can("edit");
  const [name, setName] = useState(template?.name ?? "");
  const [channel, setChannel] = useState(template?.channel ?? "email");
  const [language, setLanguage] = useState<string>(template?.language ?? (template ? "jinja" : "liquid"));
  const [layoutId, setLayoutId] = useState(template?.layout_id ?? "");
  const [values, setValues] = useState<Record<string, string>>(() =>
    Object.fromEntries(Object.values(FIELDS).flat().map((f) => [f.key, typeof template?.[f.key] === "string" ? (template[f.key] as string) : ""])),
  );
  const [person, setPerson] = usePreviewPerson();
  const [data, setData] = usePreviewData();
  const [saveError, setSaveError] = useState<ApiError>();
  const [previewError, setPreviewError] = useState<ApiError>();
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);
  const [tested, setTested] = useState<string>();
  const layouts = useApi((signal) => (channel === "email" ? api.get<{ layouts: Layout[] }>("/v1/layouts", { signal }) : Promise.resolve(null)), [channel]);

  const channelFields = fieldsOf(channel);
  const payload: Record<string, unknown> = { name, language, ...kept(template, channel) };
  for (const field of channelFields) {
    if (values[field.key] || field.required) payload[field.key] = values[field.key] ?? "";
  }
  if (channel === "email" && layoutId) payload.layout_id = layoutId;
  const [base, setBase] = useState(() => (template ? JSON.stringify(payload) : ""));
  const dirty = JSON.stringify(payload) !== base;
  const { name: _name, ...draftFields } = payload;
  const draft = { template: { ...draftFields, channel } };

  async function save(): Promise<Template | null> {
    setBusy(true);
    setSaveError(undefined);
    setTested(undefined);
    try {
      if (template) {
        const answer = await api.put<{ template: Template }>(`/v1/templates/${template.id}`, payload);
        setBase(JSON.stringify(payload));
        setSaved(true);
        return answer.template;
      }
      const answer = await api.post<{ template: Template }>("/v1/templates", { ...payload, channel });
      navigate(`/content/${answer.template.id}`, { replace: true });
      return answer.template;
    } catch (e) {
      setSaveError(e instanceof ApiError ? e : new ApiError(0, String(e), {}));
      return null;
    } finally {
      setBusy(false);
    }
  }

  async function sendTest() {
    if (!template) return;
    if (dirty && !(await save())) return;
    setBusy(true);
    setSaveError(undefined);
    try {
      const messageData = parseSampleData(data).value;
      const body = { ...(person.trim() ? { identifiers: { id: person.trim() } } : {}), ...(messageData ? { message_data: messageData } : {}) };
      const answer = await api.post<{ to: string }>(`/v1/templates/${template.id}/test`, body);
      setTested(answer.to);
    } catch (e) {
      setSaveError(e instanceof ApiError ? e : new ApiError(0, String(e), {}));
    } finally {
      setBusy(false);
    }
  }

  const fieldError = (key: string) => saveError?.field(key) ?? previewError?.field(`template/${key}`);
  const shownAtFields = ["name", "channel", "language", "layout_id", ...channelFields.map((f) => f.key)];
  const generalError = saveError && !shownAtFields.some((key) => saveError.field(key)) ? saveError : undefined;
  return (
    <Stack>
      {!readOnly && <LeaveGuard current={JSON.stringify(payload)} base={base} />}
      <Anchor component={Link} to="/content" size="sm">
        ← Templates
      </Anchor>
      <Group justify="space-between">
        <Title order={2}>{template ? template.name : "New template"}</Title>
        {template && !readOnly && (
          <DeleteButton
            what="template"
            consequence={`Campaigns and transactional sends that use “${template.name}” fail until they are given another template.`}
            onDelete={async () => {
              await api.delete(`/v1/templates/${seg(String(template.id))}`);
              navigate("/content", { replace: true });
            }}
          />
        )}
      </Group>
      <SimpleGrid cols={{ base: 1, md: 2 }}>
        <Stack>
          <TextInput label="Name" required value={name} readOnly={readOnly} onChange={(e) => setName(e.currentTarget.value)} error={saveError?.field("name")} />
          {template ? (
            <Text size="sm">
              Channel: <b>{channel}</b>
            </Text>
          ) : (
            <NativeSelect label="Channel" value={channel} onChange={(e) => setChannel(e.currentTarget.value)} data={CHANNELS} error={saveError?.field("channel")} />
          )}
          <NativeSelect label="Language" value={language} disabled={readOnly} onChange={(e) => setLanguage(e.currentTarget.value)} data={LANGUAGES} error={fieldError("language")} />
          {channel === "email" && (
            <NativeSelect
              label="Layout"
              description="The layout places this message where it says {{ content }}."
              value={layoutId}
              disabled={readOnly}
              onChange={(e) => setLayoutId(e.currentTarget.value)}
              data={[{ value: "", label: "No layout" }, ...(layouts.data?.layouts ?? []).map((l) => ({ value: l.id, label: l.name }))]}
              error={fieldError("layout_id")}
            />
          )}
          {channelFields.map((field) =>
            field.code ? (
              <CodeEditor
                key={field.key}
                label={`${field.label} (${channel === "email" ? "HTML and " : ""}${languageName(language)})`}
                description={syntaxHint(language)}
                value={values[field.key] ?? ""}
                readOnly={readOnly}
                onChange={(value) => setValues((v) => ({ ...v, [field.key]: value }))}
                error={fieldError(field.key)}
              />
            ) : (
              <TextInput
                key={field.key}
                label={field.label}
                required={field.required}
                value={values[field.key] ?? ""}
                readOnly={readOnly}
                onChange={(e) => {
                  const value = e.currentTarget.value;
                  setValues((v) => ({ ...v, [field.key]: value }));
                }}
                error={fieldError(field.key)}
              />
            ),
          )}
          {generalError && (
            <Alert color="red" role="alert">
              {generalError.message}
            </Alert>
          )}
          {saved && !dirty && !saveError && (
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
        <PreviewPane draft={draft} person={person} onPerson={setPerson} data={data} onData={setData} onError={setPreviewError}>
          {!readOnly && channel === "email" && (
            <Stack gap={4}>
              {template ? (
                <Button variant="light" onClick={() => void sendTest()} loading={busy} w="fit-content">
                  {dirty ? "Save and send a test to me" : "Send a test to me"}
                </Button>
              ) : (
                <Text size="sm" c="dimmed">
                  Create the template to send yourself a test.
                </Text>
              )}
              <Text size="xs" c="dimmed">
                A test goes to {session?.email} by email, rendered for the person above (or for no one), and is not billed.
              </Text>
              {tested && (
                <Text size="sm" c="green" role="status">
                  A test is on its way to {tested}.{" "}
                  {local && (
                    <Anchor href="/_local/outbox.html" target="_blank" rel="noopener">
                      Open the local outbox ↗
                    </Anchor>
                  )}
                </Text>
              )}
            </Stack>
          )}
        </PreviewPane>
      </SimpleGrid>
    </Stack>
  );
}
