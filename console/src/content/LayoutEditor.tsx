import { Alert, Anchor, Button, Group, NativeSelect, SimpleGrid, Stack, Text, TextInput, Title } from "@mantine/core";
import { useState } from "react";
import { Link, useNavigate } from "react-router";
import { ApiError, api, seg } from "../api/client";
import { LeaveGuard } from "../components/LeaveGuard";
import { useSession } from "../session";
import { CodeEditor } from "./LazyCodeEditor";
import { DeleteButton } from "./DeleteButton";
import { PreviewPane, usePreviewData, usePreviewPerson } from "./PreviewPane";
import { LANGUAGES, languageName, syntaxHint, type Layout } from "./types";

// A stand-in message the layout is previewed around.
const SAMPLE = "<p>Hello {{ customer.first_name }}: your message goes here.</p>";

export function LayoutEditor({ layout }: { layout: Layout | null }) {
  const { can } = useSession();
  const navigate = useNavigate();
  const readOnly = !can("edit");
  const [name, setName] = useState(layout?.name ?? "");
  const [language, setLanguage] = useState<string>(layout?.language ?? "liquid");
  const [body, setBody] = useState(layout?.body ?? "<html><body>\n{{ content }}\n</body></html>");
  const [person, setPerson] = usePreviewPerson();
  const [data, setData] = usePreviewData();
  const [saveError, setSaveError] = useState<ApiError>();
  const [previewError, setPreviewError] = useState<ApiError>();
  const [busy, setBusy] = useState(false);
  const payload = { name, language, body };
  const [base, setBase] = useState(() => (layout ? JSON.stringify(payload) : ""));
  const dirty = JSON.stringify(payload) !== base;
  const [saved, setSaved] = useState(false);

  async function save() {
    setBusy(true);
    setSaveError(undefined);
    try {
      if (layout) {
        await api.put(`/v1/layouts/${seg(layout.id)}`, payload);
        setBase(JSON.stringify(payload));
        setSaved(true);
      } else {
        const answer = await api.post<{ layout: Layout }>("/v1/layouts", payload);
        navigate(`/content/layouts/${seg(answer.layout.id)}`, { replace: true });
      }
    } catch (e) {
      setSaveError(e instanceof ApiError ? e : new ApiError(0, String(e), {}));
    } finally {
      setBusy(false);
    }
  }

  const bodyError = saveError?.field("body") ?? previewError?.field("layout/body");
  const generalError = saveError && !["name", "language", "body"].some((key) => saveError.field(key)) ? saveError : undefined;
  return (
    <Stack>
      {!readOnly && <LeaveGuard current={JSON.stringify(payload)} base={base} />}
      <Anchor component={Link} to="/content/layouts" size="sm">
        ← Layouts
      </Anchor>
      <Group justify="space-between">
        <Title order={2}>{layout ? layout.name : "New layout"}</Title>
        {layout && !readOnly && (
          <DeleteButton
            what="layout"
            consequence={`Templates that use “${layout.name}” fail to send until they are given another layout or none.`}
            onDelete={async () => {
              await api.delete(`/v1/layouts/${seg(layout.id)}`);
              navigate("/content/layouts", { replace: true });
            }}
          />
        )}
      </Group>
      <SimpleGrid cols={{ base: 1, md: 2 }}>
        <Stack>
          <TextInput label="Name" required value={name} readOnly={readOnly} onChange={(e) => setName(e.currentTarget.value)} error={saveError?.field("name")} />
          <NativeSelect label="Language" value={language} disabled={readOnly} onChange={(e) => setLanguage(e.currentTarget.value)} data={LANGUAGES} error={saveError?.field("language")} />
          <CodeEditor
            label={`Layout (HTML and ${languageName(language)})`}
            description={`{{ content }} places the message. ${syntaxHint(language)}`}
            value={body}
            readOnly={readOnly}
            onChange={setBody}
            error={bodyError}
          />
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
              {layout ? "Save layout" : "Create layout"}
            </Button>
          )}
        </Stack>
        <PreviewPane
          draft={{ template: { channel: "email", language, subject: "A message in this layout", body: SAMPLE }, layout: { body, language } }}
          person={person}
          onPerson={setPerson}
          data={data}
          onData={setData}
          onError={setPreviewError}
        />
      </SimpleGrid>
    </Stack>
  );
}
