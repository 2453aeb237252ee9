import { Alert, Card, Stack, Text, TextInput, Textarea, Title } from "@mantine/core";
import { useDebouncedValue } from "@mantine/hooks";
import { useEffect, useState, type ReactNode } from "react";
import { ApiError, api } from "../api/client";
import { useApi } from "../components/useApi";
import type { Preview } from "./types";

// The person previews are rendered for, kept in memory (never in the browser's storage) while the console
// is open, so moving between templates, or saving a new one, keeps showing the same person.
let lastPerson = "";
export function usePreviewPerson(): [string, (person: string) => void] {
  const [person, setPerson] = useState(lastPerson);
  return [
    person,
    (chosen: string) => {
      lastPerson = chosen;
      setPerson(chosen);
    },
  ];
}

// Sample data for `trigger.*` (a transactional send's message_data), kept in memory as the person is.
let lastData = "";
export function usePreviewData(): [string, (data: string) => void] {
  const [data, setData] = useState(lastData);
  return [
    data,
    (text: string) => {
      lastData = text;
      setData(text);
    },
  ];
}

/** The sample data as the API takes it (`message_data`), or why it cannot be: an object in JSON. */
export function parseSampleData(text: string): { value?: Record<string, unknown>; error?: string } {
  if (!text.trim()) return {};
  try {
    const value: unknown = JSON.parse(text);
    if (value && typeof value === "object" && !Array.isArray(value)) return { value: value as Record<string, unknown> };
  } catch {
    // reported below, as any other shape
  }
  return { error: 'Sample data must be a JSON object, e.g. {"order_id": "A-1"}.' };
}

// The pointers of a draft preview's refusals that the editors show at their own fields; anything else
// (a person not found aside) is shown here.
const EDITOR_FIELDS = /^(template|layout|snippet)\//;

/**
 * What the server renders for `draft` (a body for `POST /v1/templates/preview`, without the person) for
 * the person chosen here, as it is typed: the request waits for 400 ms of quiet. Rendered HTML is shown in
 * an iframe with no permissions at all (no scripts, no same-origin access).
 */
export function PreviewPane({
  draft,
  person,
  onPerson,
  data,
  onData,
  onError,
  children,
  sampleData = true,
  title = "Preview",
}: {
  draft: Record<string, unknown>;
  person: string;
  onPerson(person: string): void;
  data: string;
  onData(data: string): void;
  onError(error: ApiError | undefined): void;
  children?: ReactNode;
  /** Whether to offer sample data for `trigger.*` (a newsletter has no trigger: it renders without). */
  sampleData?: boolean;
  title?: string;
}) {
  const sample: ReturnType<typeof parseSampleData> = sampleData ? parseSampleData(data) : {};
  const [debounced] = useDebouncedValue(JSON.stringify({ ...draft, person: person.trim(), message_data: sample.value }), 400);
  const state = useApi((signal) => {
    const { person: id, ...body } = JSON.parse(debounced) as Record<string, unknown>;
    return id
      ? api.post<{ preview: Preview }>("/v1/templates/preview", { ...body, identifiers: { id } }, { signal })
      : Promise.resolve(null);
  }, [debounced]);
  useEffect(() => onError(state.error), [state.error, onError]);

  const error = state.error;
  const personError = error?.field("identifiers") ?? (error?.status === 404 ? "No person has this id." : undefined);
  const dataError = sample.error ?? error?.field("message_data");
  const ownError = error && !personError && !error.field("message_data") && !Object.keys(error.fields).some((key) => EDITOR_FIELDS.test(key));
  const preview = state.data?.preview;
  return (
    <Card withBorder>
      <Title order={4} mb="xs">
        {title}
      </Title>
      <Stack gap="xs">
        <TextInput
          label="Preview for person (id)"
          description="Rendered by the server as it would be sent to them, as you type."
          placeholder="ann"
          value={person}
          onChange={(e) => onPerson(e.currentTarget.value)}
          error={personError}
        />
        {sampleData && (
        <Textarea
          label="Sample data for trigger.* (JSON)"
          description="What a transactional send's message_data would carry; the preview and a test use it."
          placeholder='{"order_id": "A-1"}'
          value={data}
          onChange={(e) => onData(e.currentTarget.value)}
          error={dataError}
          autosize
          minRows={1}
          maxRows={6}
          styles={{ input: { fontFamily: "var(--mantine-font-family-monospace)", fontSize: 13 } }}
        />
        )}
        {ownError && (
          <Alert color="red" role="alert">
            {error.message}
          </Alert>
        )}
        {error && !ownError && !personError && !dataError && (
          <Text size="sm" c="red">
            The content cannot be rendered: see the field marked in red.
          </Text>
        )}
        {!person.trim() && (
          <Text size="sm" c="dimmed">
            Choose a person to see the message rendered for them.
          </Text>
        )}
        {preview && !error && (
          <>
            <Text size="sm">To: {preview.to ?? "—"}</Text>
            {preview.subject !== undefined && (
              <Text size="sm">
                <b>Subject:</b> {preview.subject}
              </Text>
            )}
            {preview.title && (
              <Text size="sm">
                <b>Title:</b> {preview.title}
              </Text>
            )}
            {preview.html ? (
              <iframe
                title="Template preview"
                sandbox=""
                srcDoc={preview.html}
                style={{ width: "100%", minHeight: 320, border: "1px solid var(--mantine-color-gray-3)", borderRadius: 4, background: "white" }}
              />
            ) : (
              <Text ff="monospace" size="sm" style={{ whiteSpace: "pre-wrap" }} data-testid="preview-text">
                {String(preview.text ?? preview.body ?? "")}
              </Text>
            )}
          </>
        )}
        {children}
      </Stack>
    </Card>
  );
}
