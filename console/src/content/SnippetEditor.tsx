import { Alert, Anchor, Button, Code, Group, NativeSelect, SimpleGrid, Stack, Text, TextInput, Title } from "@mantine/core";
import { useState } from "react";
import { Link, useNavigate } from "react-router";
import { ApiError, api, seg } from "../api/client";
import { LeaveGuard } from "../components/LeaveGuard";
import { useSession } from "../session";
import { CodeEditor } from "./LazyCodeEditor";
import { DeleteButton } from "./DeleteButton";
import { PreviewPane, usePreviewData, usePreviewPerson } from "./PreviewPane";
import { LANGUAGES, languageName, syntaxHint, type Snippet } from "./types";

export function SnippetEditor({ snippet }: { snippet: Snippet | null }) {
  const { can } = useSession();
  const navigate = useNavigate();
  const readOnly = !can("edit");
  const [name, setName] = useState(snippet?.name ?? "");
  const [language, setLanguage] = useState<string>(snippet?.language ?? "liquid");
  const [value, setValue] = useState(snippet?.value ?? "");
  const [person, setPerson] = usePreviewPerson();
  const [data, setData] = usePreviewData();
  const [saveError, setSaveError] = useState<ApiError>();
  const [previewError, setPreviewError] = useState<ApiError>();
  const [busy, setBusy] = useState(false);
  const payload = { name, language, value };
  const [base, setBase] = useState(() => (snippet ? JSON.stringify(payload) : ""));
  const dirty = JSON.stringify(payload) !== base;
  const [saved, setSaved] = useState(false);

  async function save() {
    setBusy(true);
    setSaveError(undefined);
    try {
      if (snippet) {
        await api.put("/v1/snippets", payload); // Customer.io's form: creates or replaces by name
        setBase(JSON.stringify(payload));
        setSaved(true);
      } else {
        await api.post("/v1/snippets", payload); // only creates: a name already taken is a 409
        navigate(`/content/snippets/${seg(name)}`, { replace: true });
      }
    } catch (e) {
      setSaveError(e instanceof ApiError ? e : new ApiError(0, String(e), {}));
    } finally {
      setBusy(false);
    }
  }

  const usable = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(name);
  const nameError = saveError?.field("name") ?? (saveError?.status === 409 ? saveError.message : undefined) ?? previewError?.field("snippet/name");
  const valueError = saveError?.field("value") ?? previewError?.field("snippet/value");
  const generalError = saveError && !nameError && !valueError && !saveError.field("language") ? saveError : undefined;
  return (
    <Stack>
      {!readOnly && <LeaveGuard current={JSON.stringify(payload)} base={base} />}
      <Anchor component={Link} to="/content/snippets" size="sm">
        ← Snippets
      </Anchor>
      <Group justify="space-between">
        <Title order={2}>{snippet ? snippet.name : "New snippet"}</Title>
        {snippet && !readOnly && (
          <DeleteButton
            what="snippet"
            consequence={`Templates and layouts that use {{ snippets.${snippet.name} }} show nothing in its place.`}
            onDelete={async () => {
              await api.delete(`/v1/snippets/${seg(snippet.name)}`);
              navigate("/content/snippets", { replace: true });
            }}
          />
        )}
      </Group>
      <SimpleGrid cols={{ base: 1, md: 2 }}>
        <Stack>
          <TextInput
            label="Name"
            required
            value={name}
            readOnly={readOnly || !!snippet}
            description={snippet ? "A snippet's name is how content uses it: it does not change." : "Letters, digits and _; content uses it as {{ snippets.name }}."}
            onChange={(e) => setName(e.currentTarget.value)}
            error={nameError}
          />
          <NativeSelect label="Language" value={language} disabled={readOnly} onChange={(e) => setLanguage(e.currentTarget.value)} data={LANGUAGES} error={saveError?.field("language")} />
          <CodeEditor
            label={`Snippet (HTML and ${languageName(language)})`}
            description={syntaxHint(language)}
            value={value}
            readOnly={readOnly}
            onChange={setValue}
            error={valueError}
            minHeight={140}
          />
          {usable && (
            <Text size="sm">
              Use it as <Code>{`{{ snippets.${name} }}`}</Code>
            </Text>
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
              {snippet ? "Save snippet" : "Create snippet"}
            </Button>
          )}
        </Stack>
        <PreviewPane
          draft={
            usable && value
              ? { template: { channel: "email", language, subject: "A snippet", body: `{{ snippets.${name} }}` }, snippet: { name, value, language } }
              : { template: { channel: "email", language, subject: "A snippet", body: "" } }
          }
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
