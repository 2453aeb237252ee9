import { Button, Card, Group, Stack, Text, Title } from "@mantine/core";
import { useDebouncedValue } from "@mantine/hooks";
import { useEffect, useState } from "react";
import { ApiError, api } from "../api/client";
import type { Overview, Segment, SegmentPreview } from "../api/types";
import { number } from "../components/format";
import { useApi } from "../components/useApi";
import { ConditionEditor } from "../segments/ConditionEditor";
import { complete, type Condition } from "../segments/conditions";
import { audiencePaths, toRecipients } from "./form";

const START_INCLUDE: Condition = { and: [{ segment: { id: "", operator: "in" } }] };
const START_EXCLUDE: Condition = { or: [{ segment: { id: "", operator: "in" } }] };

/** How many people the audience matches now: the segment preview's count (everyone: the workspace's). */
function AudienceSize({ recipients, onError }: { recipients: Condition | null; onError(error: ApiError | undefined): void }) {
  const [debounced] = useDebouncedValue(JSON.stringify(recipients), 400);
  const ready = recipients === null || complete(recipients);
  const state = useApi(
    async (signal): Promise<{ count: number; approximate: boolean } | null> => {
      const conditions = JSON.parse(debounced) as Condition | null;
      if (conditions === null) {
        const overview = await api.get<Overview>("/v1/overview", { signal });
        return { count: overview.people, approximate: false };
      }
      if (!complete(conditions)) return null;
      const preview = await api.post<SegmentPreview>("/v1/segments/preview", { conditions }, { signal, query: { limit: 1 } });
      return { count: preview.count, approximate: preview.approximate };
    },
    [debounced],
  );
  useEffect(() => onError(state.error), [state.error, onError]);
  return (
    <Card withBorder aria-live="polite" p="sm">
      <Text size="xs" c="dimmed">
        Audience size now
      </Text>
      {!ready ? (
        <Text size="sm" c="dimmed">
          Complete the conditions to count the audience.
        </Text>
      ) : state.error ? (
        <Text size="sm" c="red">
          {state.error.status === 400 ? "Fix the highlighted field to see a count." : state.error.message}
        </Text>
      ) : state.data ? (
        <Text fz={24} fw={700} data-testid="audience-size">
          {state.data.approximate ? "about " : ""}
          {number.format(state.data.count)} {state.data.count === 1 ? "person" : "people"}
        </Text>
      ) : (
        <Text size="sm" c="dimmed">
          Counting…
        </Text>
      )}
      <Text size="xs" c="dimmed">
        Unsubscribed and suppressed people, and those over the message limit, are skipped when it is sent.
      </Text>
    </Card>
  );
}

/** Who a newsletter goes to: everyone, or people matching conditions (the segment builder's), minus
 * those matching the exclusions. Refusals are shown at the condition they name (`recipients/...`). */
export function AudienceEditor({
  include,
  exclude,
  onChange,
  segments,
  error,
  readOnly,
}: {
  include: Condition | null;
  exclude: Condition | null;
  onChange(next: { include: Condition | null; exclude: Condition | null }): void;
  segments: Segment[];
  error: ApiError | undefined;
  readOnly: boolean;
}) {
  const [previewError, setPreviewError] = useState<ApiError>();
  const shown = error ?? asRecipientsError(previewError);
  const paths = audiencePaths({ include, exclude });
  const recipients = toRecipients(include, exclude);
  // A refusal of the whole audience (a segment that does not exist) has no condition to point at.
  const whole = shown?.fields["recipients"];
  return (
    <Card withBorder>
      <Stack gap="sm">
        <Title order={4}>Audience</Title>
        {include === null ? (
          <Group justify="space-between">
            <Text size="sm">Everyone in the workspace.</Text>
            {!readOnly && (
              <Button size="xs" variant="light" onClick={() => onChange({ include: START_INCLUDE, exclude })}>
                Send to segments or people matching conditions
              </Button>
            )}
          </Group>
        ) : (
          <Stack gap={4}>
            <Group justify="space-between">
              <Text size="sm" fw={500}>
                People who match
              </Text>
              {!readOnly && (
                <Button size="compact-xs" variant="subtle" color="gray" onClick={() => onChange({ include: null, exclude })}>
                  Send to everyone instead
                </Button>
              )}
            </Group>
            <ConditionEditor value={include} onChange={(next) => onChange({ include: next, exclude })} path={paths.include} error={shown} segments={segments} readOnly={readOnly} />
          </Stack>
        )}
        {exclude === null ? (
          !readOnly && (
            <Button size="xs" variant="subtle" w="fit-content" onClick={() => onChange({ include, exclude: START_EXCLUDE })}>
              + Exclude people
            </Button>
          )
        ) : (
          <Stack gap={4}>
            <Group justify="space-between">
              <Text size="sm" fw={500}>
                Except people who match
              </Text>
              {!readOnly && (
                <Button size="compact-xs" variant="subtle" color="gray" onClick={() => onChange({ include, exclude: null })}>
                  Remove exclusions
                </Button>
              )}
            </Group>
            <ConditionEditor value={exclude} onChange={(next) => onChange({ include, exclude: next })} path={paths.exclude} error={shown} segments={segments} readOnly={readOnly} />
          </Stack>
        )}
        {whole && (
          <Text size="sm" c="red" role="alert">
            {whole}
          </Text>
        )}
        <AudienceSize recipients={recipients} onError={setPreviewError} />
      </Stack>
    </Card>
  );
}

/** The segment preview's refusals name `conditions/...`: as the audience's own (`recipients/...`). */
export function asRecipientsError(error: ApiError | undefined): ApiError | undefined {
  if (!error) return undefined;
  const fields = Object.fromEntries(Object.entries(error.fields).map(([key, value]) => [key.replace(/^conditions/, "recipients"), value]));
  return new ApiError(error.status, error.message, fields, error.code);
}
